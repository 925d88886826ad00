//! The validated session type (Charon's `type`, claim `styp`).

use std::fmt;

use crate::error::{ConfigError, ConfigErrorKind};

/// Longest accepted session type, in bytes.
pub const MAX_SESSION_TYPE_LEN: usize = 64;

/// A session type: partitions sessions per user (`full`, `oauth2`, …). Claim `styp`.
///
/// 1 to 64 bytes of `[A-Za-z0-9_.-]`. Defaults to `full`. Serialized (serde) and parsed
/// ([`FromStr`](std::str::FromStr)) as the string itself, validated both ways: a request
/// body can carry it typed.
///
/// ```
/// use charon_auth::session::SessionType;
/// assert_eq!(SessionType::default().as_str(), "full");
/// assert!(SessionType::new("oauth2").is_ok());
/// assert!(SessionType::new("no spaces").is_err());
/// let t: SessionType = "oauth2".parse()?;
/// assert_eq!(serde_json::to_string(&t)?, r#""oauth2""#);
/// let back: SessionType = serde_json::from_str(r#""oauth2""#)?;
/// assert_eq!(back, t);
/// assert!(serde_json::from_str::<SessionType>(r#""no spaces""#).is_err());
/// assert!("".parse::<SessionType>().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct SessionType(String);

impl SessionType {
    /// Validate and wrap a session type.
    pub fn new(value: impl Into<String>) -> Result<Self, ConfigError> {
        let value = value.into();
        if Self::is_valid(&value) {
            Ok(Self(value))
        } else {
            Err(ConfigError::new(
                ConfigErrorKind::InvalidSessionType,
                "session type must be 1 to 64 characters of [A-Za-z0-9_.-]",
            ))
        }
    }

    /// Whether `value` is a valid session type.
    pub fn is_valid(value: &str) -> bool {
        !value.is_empty()
            && value.len() <= MAX_SESSION_TYPE_LEN
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    }

    /// The type as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for SessionType {
    fn default() -> Self {
        Self("full".to_owned())
    }
}

impl fmt::Debug for SessionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for SessionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for SessionType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::new(s).map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for SessionType {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        assert!(SessionType::new("full").is_ok());
        assert!(SessionType::new("a.b-c_D9").is_ok());
        assert!(SessionType::new("").is_err());
        assert!(SessionType::new("x".repeat(65)).is_err());
        assert!(SessionType::new("x".repeat(64)).is_ok());
        for bad in ["a b", "a{b", "a}b", "a:b", "a%b", "é", "a\nb"] {
            assert!(SessionType::new(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn deserialize_validates() {
        assert!(serde_json::from_str::<SessionType>("\"full\"").is_ok());
        assert!(serde_json::from_str::<SessionType>("\"a b\"").is_err());
    }

    #[test]
    fn serde_and_from_str_round_trip() {
        for name in ["full", "oauth2", "a.b-c_D9"] {
            let parsed: SessionType = name.parse().unwrap_or_default();
            assert_eq!(parsed.as_str(), name);
            let json = serde_json::to_string(&parsed).unwrap_or_default();
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(
                serde_json::from_str::<SessionType>(&json).ok(),
                Some(parsed)
            );
        }
        for bad in ["", "a b", "é"] {
            let err = bad.parse::<SessionType>().err().map(|e| e.kind());
            assert_eq!(err, Some(ConfigErrorKind::InvalidSessionType), "{bad:?}");
        }
    }
}
