//! Typed session payload and typed extra claims: [`PayloadError`] and the conversions.

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{SessionError, SessionErrorKind};

/// What went wrong with a typed payload or typed claims ([`PayloadError::kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PayloadErrorKind {
    /// The value could not be serialized to JSON (e.g. a map with non-string keys).
    Serialize,
    /// The value is not a JSON object (a payload and a set of claims are objects).
    NotAnObject,
    /// Typed claims name a reserved claim (`sub`, `exp`, … see
    /// [`RESERVED_CLAIMS`](crate::token::RESERVED_CLAIMS)).
    ReservedClaim,
    /// The stored payload does not deserialize into the type asked for.
    Deserialize,
}

impl PayloadErrorKind {
    /// A stable snake_case name: `serialize`, `not_an_object`, `reserved_claim`,
    /// `deserialize`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Serialize => "serialize",
            Self::NotAnObject => "not_an_object",
            Self::ReservedClaim => "reserved_claim",
            Self::Deserialize => "deserialize",
        }
    }
}

/// A typed session payload or typed extra claims could not be converted: a programming
/// error of the caller's type (or, for [`Deserialize`](PayloadErrorKind::Deserialize), a
/// payload stored by an older version of it), never a panic. serde's complaint is kept as
/// the [`source`](std::error::Error::source).
#[derive(Debug)]
pub struct PayloadError {
    kind: PayloadErrorKind,
    claim: Option<String>,
    source: Option<serde_json::Error>,
}

impl PayloadError {
    fn new(kind: PayloadErrorKind) -> Self {
        Self {
            kind,
            claim: None,
            source: None,
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> PayloadErrorKind {
        self.kind
    }

    /// The reserved claim name refused, for [`ReservedClaim`](PayloadErrorKind::ReservedClaim).
    pub fn claim(&self) -> Option<&str> {
        self.claim.as_deref()
    }
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.kind, &self.claim) {
            (PayloadErrorKind::ReservedClaim, Some(name)) => write!(
                f,
                "claim {name:?} is reserved and cannot be set as an extra claim"
            ),
            (PayloadErrorKind::Serialize, _) => f.write_str("the value does not serialize to JSON"),
            (PayloadErrorKind::NotAnObject, _) => f.write_str("the value is not a JSON object"),
            (PayloadErrorKind::Deserialize, _) => {
                f.write_str("the session payload does not deserialize into the type asked for")
            }
            (_, _) => f.write_str(self.kind.as_str()),
        }
    }
}

impl std::error::Error for PayloadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// `value` as a JSON object.
pub(crate) fn to_object<T: Serialize + ?Sized>(
    value: &T,
) -> Result<Map<String, Value>, PayloadError> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(PayloadError::new(PayloadErrorKind::NotAnObject)),
        Err(e) => Err(PayloadError {
            source: Some(e),
            ..PayloadError::new(PayloadErrorKind::Serialize)
        }),
    }
}

/// The error for typed claims naming the reserved claim `name` (the session API checks).
pub(crate) fn reserved_claim(name: String) -> PayloadError {
    PayloadError {
        claim: Some(name),
        ..PayloadError::new(PayloadErrorKind::ReservedClaim)
    }
}

/// `map` as a `T`.
pub(crate) fn from_object<T: DeserializeOwned>(
    map: &Map<String, Value>,
) -> Result<T, PayloadError> {
    T::deserialize(map).map_err(|e| PayloadError {
        source: Some(e),
        ..PayloadError::new(PayloadErrorKind::Deserialize)
    })
}

/// A payload that cannot be stored is the caller's input: `invalid_input` (400), with the
/// payload error as the source. So `?` works on typed payloads and claims inside a handler
/// that returns [`SessionError`].
impl From<PayloadError> for SessionError {
    fn from(e: PayloadError) -> Self {
        SessionError::new(
            SessionErrorKind::InvalidInput,
            "invalid session payload or claims",
        )
        .with_source(e)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeMap;
    use std::error::Error as _;

    use super::*;
    use serde_json::json;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Cart {
        items: Vec<String>,
        total_cents: u64,
    }

    #[test]
    fn objects_round_trip() {
        let cart = Cart {
            items: vec!["tea".into()],
            total_cents: 350,
        };
        let map = to_object(&cart).unwrap();
        assert_eq!(
            Value::Object(map.clone()),
            json!({"items": ["tea"], "total_cents": 350})
        );
        assert_eq!(from_object::<Cart>(&map).unwrap(), cart);
    }

    #[test]
    fn a_payload_error_is_a_sessions_invalid_input() {
        let err = to_object(&[1, 2]).unwrap_err();
        let session: SessionError = err.into();
        assert_eq!(session.kind(), SessionErrorKind::InvalidInput);
        assert_eq!(session.status(), http::StatusCode::BAD_REQUEST);
        assert!(
            session.source().is_some(),
            "the payload error is the source"
        );
    }

    #[test]
    fn typed_errors_not_panics() {
        let err = to_object(&[1, 2]).unwrap_err();
        assert_eq!(err.kind(), PayloadErrorKind::NotAnObject);
        let mut weird: BTreeMap<(u8, u8), u8> = BTreeMap::new();
        weird.insert((1, 2), 3);
        let err = to_object(&weird).unwrap_err();
        assert_eq!(err.kind(), PayloadErrorKind::Serialize);
        assert!(err.source().is_some());
        let err = from_object::<Cart>(&Map::new()).unwrap_err();
        assert_eq!(err.kind(), PayloadErrorKind::Deserialize);
        assert!(
            err.source().unwrap().to_string().contains("items"),
            "{err:?}"
        );
        let err = reserved_claim("sub".into());
        assert_eq!(err.kind(), PayloadErrorKind::ReservedClaim);
        assert_eq!(err.claim(), Some("sub"));
        assert!(err.to_string().contains("\"sub\""), "{err}");
    }
}
