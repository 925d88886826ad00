//! [`UserId`]: whom a session belongs to (claim `sub`), a positive integer or a string.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::is_valid_user_id;

/// A user id: the user a session belongs to and its tokens' `sub` claim.
///
/// As in Charon, a user id is a **positive integer** (an Ecto primary key: the common case)
/// or a **string**, and it keeps its JSON type: a session created for `42` is signed
/// `"sub": 42` on login and on every refresh, a session created for `"42"` is signed
/// `"sub": "42"`, and the stored session keeps the type too. The two are different user
/// ids (`UserId::from(42) != UserId::from("42")`), as they are in Charon.
///
/// [`as_str`](Self::as_str) is the text form (the decimal digits of an integer); stores key
/// sessions by it, as Charon's Redis store keys them by `to_string(user_id)`, so `42` and
/// `"42"` share a store key, and a token's `sub` must match its session's user id in value
/// and type ([the session model](crate::session) says more).
///
/// Serialized as a JSON number or string; deserialized from an integer in `0..=u64::MAX`
/// or a string (negative numbers, floats, booleans, `null`, arrays and objects are
/// refused). Like the `From` conversions, deserialization does not judge the value: `0`
/// and `""` deserialize, are not [valid](Self::is_valid), and a login with them fails
/// with `InvalidInput`. A token's `sub` is checked strictly when it is verified (a
/// positive integer or a valid string, nothing else).
///
/// ```
/// use charon_auth::session::UserId;
/// let int = UserId::from(42_u64);
/// assert_eq!((int.as_str(), int.as_u64()), ("42", Some(42)));
/// let text = UserId::from("42");
/// assert_eq!((text.as_str(), text.as_u64()), ("42", None));
/// assert_ne!(int, text);
/// assert_eq!(serde_json::to_string(&int)?, "42");
/// assert_eq!(serde_json::to_string(&text)?, r#""42""#);
/// let back: UserId = serde_json::from_str("42")?;
/// assert_eq!(back, int);
/// assert!(serde_json::from_str::<UserId>("4.2").is_err());
/// assert!(!serde_json::from_str::<UserId>("0")?.is_valid());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct UserId {
    /// The text form: the string, or the integer's decimal digits.
    text: String,
    /// `Some` for an integer id (then `text` is its decimal form).
    integer: Option<u64>,
}

impl UserId {
    /// The text form: the string itself, or an integer's decimal digits (`42` → `"42"`).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The integer, for an integer user id; `None` for a string (even `"42"`).
    pub fn as_u64(&self) -> Option<u64> {
        self.integer
    }

    /// Whether this is an integer user id (signed as a JSON number).
    pub fn is_integer(&self) -> bool {
        self.integer.is_some()
    }

    /// Whether a session may be created for this id: a positive integer, or a string of 1
    /// to [`MAX_USER_ID_LEN`](super::MAX_USER_ID_LEN) bytes without control characters
    /// ([`is_valid_user_id`]). Ids read from tokens and stores always are.
    pub fn is_valid(&self) -> bool {
        match self.integer {
            Some(n) => n > 0,
            None => is_valid_user_id(&self.text),
        }
    }

    /// The id as JSON: a number or a string.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        match self.integer {
            Some(n) => serde_json::Value::from(n),
            None => serde_json::Value::from(self.text.as_str()),
        }
    }
}

impl AsRef<str> for UserId {
    /// The text form ([`as_str`](UserId::as_str)).
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl From<u64> for UserId {
    fn from(n: u64) -> Self {
        Self {
            text: n.to_string(),
            integer: Some(n),
        }
    }
}

impl From<u32> for UserId {
    fn from(n: u32) -> Self {
        Self::from(u64::from(n))
    }
}

impl From<String> for UserId {
    fn from(text: String) -> Self {
        Self {
            text,
            integer: None,
        }
    }
}

impl From<&str> for UserId {
    fn from(text: &str) -> Self {
        Self::from(text.to_owned())
    }
}

impl From<&String> for UserId {
    fn from(text: &String) -> Self {
        Self::from(text.clone())
    }
}

impl From<&UserId> for UserId {
    fn from(id: &UserId) -> Self {
        id.clone()
    }
}

impl From<&UserId> for serde_json::Value {
    /// A JSON number for an integer id, a string otherwise.
    fn from(id: &UserId) -> Self {
        id.to_json()
    }
}

impl From<UserId> for serde_json::Value {
    /// A JSON number for an integer id, a string otherwise.
    fn from(id: UserId) -> Self {
        match id.integer {
            Some(n) => serde_json::Value::from(n),
            None => serde_json::Value::String(id.text),
        }
    }
}

impl fmt::Display for UserId {
    /// The text form ([`as_str`](UserId::as_str)).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for UserId {
    /// As JSON: `42` for an integer, `"42"` for a string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.integer {
            Some(n) => fmt::Debug::fmt(&n, f),
            None => fmt::Debug::fmt(&self.text, f),
        }
    }
}

impl Serialize for UserId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.integer {
            Some(n) => serializer.serialize_u64(n),
            None => serializer.serialize_str(&self.text),
        }
    }
}

impl<'de> Deserialize<'de> for UserId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UserIdVisitor)
    }
}

struct UserIdVisitor;

impl Visitor<'_> for UserIdVisitor {
    type Value = UserId;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a user id: a positive integer or a string")
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<UserId, E> {
        Ok(UserId::from(n))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<UserId, E> {
        u64::try_from(n)
            .map(UserId::from)
            .map_err(|_| E::invalid_value(de::Unexpected::Signed(n), &self))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<UserId, E> {
        Ok(UserId::from(text))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<UserId, E> {
        Ok(UserId::from(text))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_its_json_type() {
        let int = UserId::from(42_u64);
        let text = UserId::from("42");
        assert_ne!(int, text, "42 and \"42\" are different user ids");
        assert_eq!(int.as_str(), text.as_str(), "with the same text form");
        assert_eq!(serde_json::to_value(&int).unwrap(), json!(42));
        assert_eq!(serde_json::to_value(&text).unwrap(), json!("42"));
        assert_eq!(serde_json::Value::from(&int), json!(42));
        assert_eq!(serde_json::Value::from(text.clone()), json!("42"));
        assert_eq!(format!("{int:?} {text:?}"), r#"42 "42""#);
        assert_eq!(format!("{int} {text}"), "42 42");
        assert!(int.is_integer() && !text.is_integer());
        assert_eq!(UserId::from(7_u32), UserId::from(7_u64));
        assert_eq!(UserId::from(&"a".to_owned()), UserId::from("a"));
    }

    #[test]
    fn deserializes_integers_and_strings_only() {
        for (good, want) in [
            (json!(42), UserId::from(42_u64)),
            (json!(u64::MAX), UserId::from(u64::MAX)),
            (json!("42"), UserId::from("42")),
            (
                json!("alice@example.com"),
                UserId::from("alice@example.com"),
            ),
            // Deserialized as `From` converts: judged by `is_valid`, not here.
            (json!(0), UserId::from(0_u64)),
            (json!(""), UserId::from("")),
        ] {
            assert_eq!(
                serde_json::from_value::<UserId>(good.clone()).unwrap(),
                want
            );
            // From text too, so the borrowed-string and integer paths of the visitor run.
            assert_eq!(
                serde_json::from_str::<UserId>(&good.to_string()).unwrap(),
                want
            );
        }
        for bad in [
            json!(-1),
            json!(i64::MIN),
            json!(4.2),
            json!(42.0),
            json!(true),
            json!(null),
            json!([42]),
            json!({"id": 42}),
        ] {
            assert!(
                serde_json::from_value::<UserId>(bad.clone()).is_err(),
                "{bad}"
            );
            assert!(
                serde_json::from_str::<UserId>(&bad.to_string()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn validity() {
        assert!(UserId::from(1_u64).is_valid());
        assert!(!UserId::from(0_u64).is_valid());
        assert!(UserId::from("0").is_valid());
        assert!(!UserId::from("").is_valid());
        assert!(!UserId::from("a\0").is_valid());
    }
}
