//! [`ClaimChecks`]: the ordered list of claim checks a layer requires.

use std::sync::Arc;

use serde_json::Value;

use crate::error::AuthError;
use crate::token::Claims;
use crate::verifier::ClaimCheck;

/// The claim checks of one layer, in the order added (the first failure wins). Cheap to
/// clone.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClaimChecks(Arc<[ClaimCheck]>);

impl ClaimChecks {
    fn push(self, check: ClaimCheck) -> Self {
        let mut checks = self.0.to_vec();
        checks.push(check);
        Self(checks.into())
    }

    pub(crate) fn as_slice(&self) -> &[ClaimCheck] {
        &self.0
    }

    pub(crate) fn equals(self, claim: impl Into<String>, value: impl Into<Value>) -> Self {
        self.push(ClaimCheck::Equals(claim.into(), value.into()))
    }

    pub(crate) fn one_of<V: Into<Value>>(
        self,
        claim: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        let values = values.into_iter().map(Into::into).collect();
        self.push(ClaimCheck::OneOf(claim.into(), values))
    }

    pub(crate) fn contains_all<V: Into<Value>>(
        self,
        claim: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        let values = values.into_iter().map(Into::into).collect();
        self.push(ClaimCheck::ContainsAll(claim.into(), values))
    }

    pub(crate) fn contains_any<V: Into<Value>>(
        self,
        claim: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        let values = values.into_iter().map(Into::into).collect();
        self.push(ClaimCheck::ContainsAny(claim.into(), values))
    }

    pub(crate) fn custom(
        self,
        check: impl Fn(&Claims) -> Result<(), AuthError> + Send + Sync + 'static,
    ) -> Self {
        self.push(ClaimCheck::Custom(Arc::new(check)))
    }
}
