//! Why a token could not be signed.

use std::error::Error as StdError;
use std::fmt;

/// A token could not be signed: the crypto backend refused the key or the claims could not
/// be encoded. `Display` is Charon's `"could not create jwt"`; the cause is `source()`.
#[derive(Debug)]
pub struct SignError {
    source: Box<dyn StdError + Send + Sync + 'static>,
}

impl SignError {
    pub(crate) fn new(source: impl StdError + Send + Sync + 'static) -> Self {
        Self {
            source: Box::new(source),
        }
    }
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("could not create jwt")
    }
}

impl StdError for SignError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}
