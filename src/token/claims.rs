//! Token claims: the nine reserved claims of every Charon token plus extra claims.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde::{Deserialize, Serialize as DeriveSerialize};
use serde_json::{Map, Value};

use crate::clock::UnixTime;
use crate::error::{AuthError, AuthErrorKind};
use crate::session::{SessionType, is_valid_session_id, is_valid_user_id};
use crate::token::json::StrictValue;

/// The reserved claim names, in the order they are checked and serialized.
pub const RESERVED_CLAIMS: [&str; 9] = [
    "exp", "nbf", "iat", "iss", "sub", "sid", "styp", "type", "jti",
];

/// Latest accepted time claim (9999-12-31T23:59:59Z). Later ones, and negative ones, are
/// refused: no token of ours carries them, and they only serve to confuse clock arithmetic.
pub const MAX_NUMERIC_DATE: UnixTime = 253_402_300_799;

/// Longest accepted `jti`, in bytes. Ours are 22.
pub const MAX_JTI_LEN: usize = 256;

/// The kind of a token (`type` claim).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, DeriveSerialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    /// An access token (`"access"`): short-lived, presented on every request.
    Access,
    /// A refresh token (`"refresh"`): long-lived, presented only to obtain new tokens.
    Refresh,
}

impl TokenType {
    /// The claim value: `"access"` or `"refresh"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
        }
    }

    fn from_claim(value: &str) -> Option<Self> {
        match value {
            "access" => Some(Self::Access),
            "refresh" => Some(Self::Refresh),
            _ => None,
        }
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The claims of a Charon token.
///
/// Every reserved claim is required and strictly typed: the three times are integer
/// NumericDates (seconds since the Unix epoch; floats, strings and booleans are refused),
/// the others are strings. Extra claims live in a separate map that can never hold a
/// reserved name, so an extra claim cannot replace `sub`, `exp` or any other reserved claim.
///
/// ```
/// use charon_auth::token::{Claims, TokenType};
/// let mut claims = Claims::new(TokenType::Access, "my-app", "user-1", "sid-1", "full", "jti-1")
///     .with_validity(1_700_000_000, 1_700_000_900);
/// claims.insert_extra("role", "admin".into())?;
/// assert!(claims.insert_extra("sub", "admin".into()).is_err());
/// assert_eq!(claims.nbf, claims.iat);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq)]
pub struct Claims {
    /// Issuer (`iss`).
    pub iss: String,
    /// Subject: the user id (`sub`).
    pub sub: String,
    /// Session id (`sid`).
    pub sid: String,
    /// Session type (`styp`).
    pub styp: String,
    /// Token type (`type`).
    pub token_type: TokenType,
    /// Token id (`jti`): the session's refresh token id for refresh tokens, random for
    /// access tokens.
    pub jti: String,
    /// Issued at (`iat`), Unix seconds.
    pub iat: UnixTime,
    /// Not before (`nbf`), Unix seconds.
    pub nbf: UnixTime,
    /// Expires at (`exp`), Unix seconds.
    pub exp: UnixTime,
    extra: Map<String, Value>,
}

impl fmt::Debug for Claims {
    /// Every claim, except that a refresh token's `jti` (the session's current refresh
    /// token id, which the session's own `Debug` hides too) is `REDACTED`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let jti: &dyn fmt::Debug = match self.token_type {
            TokenType::Refresh => &"REDACTED",
            TokenType::Access => &self.jti,
        };
        f.debug_struct("Claims")
            .field("iss", &self.iss)
            .field("sub", &self.sub)
            .field("sid", &self.sid)
            .field("styp", &self.styp)
            .field("token_type", &self.token_type)
            .field("jti", jti)
            .field("iat", &self.iat)
            .field("nbf", &self.nbf)
            .field("exp", &self.exp)
            .field("extra", &self.extra)
            .finish()
    }
}

impl Claims {
    /// Claims with the given identity, all times zero and no extra claims; set the times
    /// with [`with_validity`](Self::with_validity) or the public fields.
    pub fn new(
        token_type: TokenType,
        iss: impl Into<String>,
        sub: impl Into<String>,
        sid: impl Into<String>,
        styp: impl Into<String>,
        jti: impl Into<String>,
    ) -> Self {
        Self {
            iss: iss.into(),
            sub: sub.into(),
            sid: sid.into(),
            styp: styp.into(),
            token_type,
            jti: jti.into(),
            iat: 0,
            nbf: 0,
            exp: 0,
            extra: Map::new(),
        }
    }

    /// Set `iat` and `nbf` to `issued_at`, and `exp` to `expires_at`.
    #[must_use]
    pub fn with_validity(mut self, issued_at: UnixTime, expires_at: UnixTime) -> Self {
        self.iat = issued_at;
        self.nbf = issued_at;
        self.exp = expires_at;
        self
    }

    /// Add or replace an extra claim. A reserved name (see [`RESERVED_CLAIMS`]) is refused
    /// and leaves the claims unchanged.
    pub fn insert_extra(
        &mut self,
        name: impl Into<String>,
        value: Value,
    ) -> Result<Option<Value>, ReservedClaimError> {
        let name = name.into();
        if is_reserved(&name) {
            return Err(ReservedClaimError { name });
        }
        Ok(self.extra.insert(name, value))
    }

    /// Remove an extra claim, returning its value.
    pub fn remove_extra(&mut self, name: &str) -> Option<Value> {
        self.extra.remove(name)
    }

    /// One extra claim.
    pub fn extra(&self, name: &str) -> Option<&Value> {
        self.extra.get(name)
    }

    /// All extra claims (never a reserved name).
    pub fn extras(&self) -> &Map<String, Value> {
        &self.extra
    }

    /// Parse and type-check claims from a JWS payload.
    ///
    /// The payload must be one JSON object without duplicate keys
    /// ([`AuthErrorKind::TokenMalformed`] otherwise). Reserved claims are then checked in the
    /// order of [`RESERVED_CLAIMS`]: the first missing one gives
    /// [`AuthError::claim_not_found`], the first with a wrong type or value gives
    /// [`AuthError::claim_invalid`]. Everything else becomes an extra claim. No time, issuer
    /// or type check happens here; [`JwtCodec::verify`](crate::token::JwtCodec::verify) does
    /// those.
    pub fn from_payload(payload: &[u8]) -> Result<Self, AuthError> {
        // One pass: reserved claims land in fixed slots (no key allocation, no map
        // round trip); the rest becomes the extra map. Duplicates are refused at every
        // level, as `strict_object` does.
        let malformed = || AuthError::new(AuthErrorKind::TokenMalformed);
        let mut de = serde_json::Deserializer::from_slice(payload);
        let RawClaims {
            mut reserved,
            extra,
        } = RawClaims::deserialize(&mut de).map_err(|_| malformed())?;
        de.end().map_err(|_| malformed())?;
        let mut slot = |name: &'static str| {
            let index = RESERVED_CLAIMS.iter().position(|n| *n == name);
            index
                .and_then(|i| reserved.get_mut(i))
                .and_then(Option::take)
        };
        let exp = time_claim(slot("exp"), "exp")?;
        let nbf = time_claim(slot("nbf"), "nbf")?;
        let iat = time_claim(slot("iat"), "iat")?;
        let iss = string_claim(slot("iss"), "iss", |s| !s.is_empty())?;
        let sub = string_claim(slot("sub"), "sub", is_valid_user_id)?;
        let sid = string_claim(slot("sid"), "sid", is_valid_session_id)?;
        let styp = string_claim(slot("styp"), "styp", SessionType::is_valid)?;
        let token_type = TokenType::from_claim(&string_claim(slot("type"), "type", |_| true)?)
            .ok_or_else(|| AuthError::claim_invalid("type"))?;
        let jti = string_claim(slot("jti"), "jti", |s| {
            !s.is_empty() && s.len() <= MAX_JTI_LEN
        })?;
        Ok(Self {
            iss,
            sub,
            sid,
            styp,
            token_type,
            jti,
            iat,
            nbf,
            exp,
            extra,
        })
    }
}

impl Serialize for Claims {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(RESERVED_CLAIMS.len() + self.extra.len()))?;
        map.serialize_entry("iss", &self.iss)?;
        map.serialize_entry("sub", &self.sub)?;
        map.serialize_entry("sid", &self.sid)?;
        map.serialize_entry("styp", &self.styp)?;
        map.serialize_entry("type", self.token_type.as_str())?;
        map.serialize_entry("jti", &self.jti)?;
        map.serialize_entry("iat", &self.iat)?;
        map.serialize_entry("nbf", &self.nbf)?;
        map.serialize_entry("exp", &self.exp)?;
        // `insert_extra` and `from_payload` guarantee no reserved name in `extra`.
        for (name, value) in &self.extra {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// An extra claim tried to use a reserved claim name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservedClaimError {
    name: String,
}

impl ReservedClaimError {
    /// The refused claim name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for ReservedClaimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "claim {:?} is reserved and cannot be set as an extra claim",
            self.name
        )
    }
}

impl std::error::Error for ReservedClaimError {}

fn is_reserved(name: &str) -> bool {
    RESERVED_CLAIMS.contains(&name)
}

/// An integer NumericDate within `0..=MAX_NUMERIC_DATE`.
fn time_claim(value: Option<Value>, name: &'static str) -> Result<UnixTime, AuthError> {
    match value {
        None => Err(AuthError::claim_not_found(name)),
        // `as_i64` is `None` for floats (`1.0`, `1e3`) and for integers beyond `i64`.
        Some(Value::Number(n)) => n
            .as_i64()
            .filter(|t| (0..=MAX_NUMERIC_DATE).contains(t))
            .ok_or_else(|| AuthError::claim_invalid(name)),
        Some(_) => Err(AuthError::claim_invalid(name)),
    }
}

/// A string claim whose value passes `valid` (empty and hostile values are refused here,
/// before any store sees them).
fn string_claim(
    value: Option<Value>,
    name: &'static str,
    valid: impl Fn(&str) -> bool,
) -> Result<String, AuthError> {
    match value {
        None => Err(AuthError::claim_not_found(name)),
        Some(Value::String(s)) if valid(&s) => Ok(s),
        Some(_) => Err(AuthError::claim_invalid(name)),
    }
}

/// A claims object as read: reserved claims by their index in [`RESERVED_CLAIMS`], each
/// still untyped, and the extra claims.
struct RawClaims {
    reserved: [Option<Value>; RESERVED_CLAIMS.len()],
    extra: Map<String, Value>,
}

impl<'de> Deserialize<'de> for RawClaims {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(RawClaimsVisitor)
    }
}

struct RawClaimsVisitor;

impl<'de> Visitor<'de> for RawClaimsVisitor {
    type Value = RawClaims;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of claims without duplicate keys")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<RawClaims, A::Error> {
        let mut raw = RawClaims {
            reserved: Default::default(),
            extra: Map::new(),
        };
        while let Some(key) = access.next_key_seed(ClaimName)? {
            let StrictValue(value) = access.next_value()?;
            let duplicate = match key {
                ClaimKey::Reserved(index) => match raw.reserved.get_mut(index) {
                    Some(slot @ None) => {
                        *slot = Some(value);
                        false
                    }
                    _ => true,
                },
                ClaimKey::Extra(name) => {
                    if raw.extra.contains_key(&name) {
                        true
                    } else {
                        raw.extra.insert(name, value);
                        false
                    }
                }
            };
            if duplicate {
                return Err(de::Error::custom("duplicate claim"));
            }
        }
        Ok(raw)
    }
}

/// A claim name: the index of a reserved one (matched without allocating), or an extra.
enum ClaimKey {
    Reserved(usize),
    Extra(String),
}

struct ClaimName;

impl<'de> DeserializeSeed<'de> for ClaimName {
    type Value = ClaimKey;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<ClaimKey, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for ClaimName {
    type Value = ClaimKey;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a claim name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<ClaimKey, E> {
        Ok(match RESERVED_CLAIMS.iter().position(|n| *n == name) {
            Some(index) => ClaimKey::Reserved(index),
            None => ClaimKey::Extra(name.to_owned()),
        })
    }

    fn visit_string<E: de::Error>(self, name: String) -> Result<ClaimKey, E> {
        Ok(match RESERVED_CLAIMS.iter().position(|n| *n == name) {
            Some(index) => ClaimKey::Reserved(index),
            None => ClaimKey::Extra(name),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Claims {
        Claims::new(TokenType::Refresh, "iss", "u", "s", "full", "j").with_validity(10, 20)
    }

    fn payload(value: &Value) -> Vec<u8> {
        serde_json::to_vec(value).unwrap()
    }

    #[test]
    fn round_trips_through_json() {
        let mut claims = sample();
        claims.insert_extra("role", json!(["a", "b"])).unwrap();
        let bytes = serde_json::to_vec(&claims).unwrap();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            r#"{"iss":"iss","sub":"u","sid":"s","styp":"full","type":"refresh","jti":"j","iat":10,"nbf":10,"exp":20,"role":["a","b"]}"#
        );
        assert_eq!(Claims::from_payload(&bytes).unwrap(), claims);
    }

    #[test]
    fn extra_claims_cannot_replace_reserved_ones() {
        let mut claims = sample();
        for name in RESERVED_CLAIMS {
            let err = claims.insert_extra(name, json!("x")).unwrap_err();
            assert_eq!(err.name(), name);
        }
        assert!(claims.extras().is_empty());
        assert_eq!(claims.insert_extra("aud", json!("x")).unwrap(), None);
        assert_eq!(claims.remove_extra("aud"), Some(json!("x")));
    }

    #[test]
    fn missing_claims_are_named() {
        let full = serde_json::to_value(sample()).unwrap();
        for name in RESERVED_CLAIMS {
            let mut value = full.clone();
            value.as_object_mut().unwrap().remove(name);
            let err = Claims::from_payload(&payload(&value)).unwrap_err();
            assert_eq!(err, AuthError::claim_not_found(name));
        }
    }

    #[test]
    fn wrongly_typed_claims_are_named() {
        let full = serde_json::to_value(sample()).unwrap();
        let bad_times = [
            json!(1.0),
            json!(1e3),
            json!("10"),
            json!(true),
            json!(null),
            json!(u64::MAX),
        ];
        for name in ["exp", "nbf", "iat"] {
            for bad in &bad_times {
                let mut value = full.clone();
                value[name] = bad.clone();
                let err = Claims::from_payload(&payload(&value)).unwrap_err();
                assert_eq!(err, AuthError::claim_invalid(name), "{name} = {bad}");
            }
        }
        for name in ["iss", "sub", "sid", "styp", "type", "jti"] {
            for bad in [json!(1), json!(null), json!(["x"]), json!({"a": 1})] {
                let mut value = full.clone();
                value[name] = bad.clone();
                let err = Claims::from_payload(&payload(&value)).unwrap_err();
                assert_eq!(err, AuthError::claim_invalid(name), "{name} = {bad}");
            }
        }
        let mut value = full;
        value["type"] = json!("Access");
        let err = Claims::from_payload(&payload(&value)).unwrap_err();
        assert_eq!(err, AuthError::claim_invalid("type"));
    }

    #[test]
    fn negative_and_absurd_times_are_refused() {
        let full = serde_json::to_value(sample()).unwrap();
        for name in ["exp", "nbf", "iat"] {
            for bad in [
                json!(-1),
                json!(-5),
                json!(i64::MIN),
                json!(MAX_NUMERIC_DATE + 1),
            ] {
                let mut value = full.clone();
                value[name] = bad.clone();
                let err = Claims::from_payload(&payload(&value)).unwrap_err();
                assert_eq!(err, AuthError::claim_invalid(name), "{name} = {bad}");
            }
            let mut value = full.clone();
            value[name] = json!(MAX_NUMERIC_DATE);
            assert!(Claims::from_payload(&payload(&value)).is_ok(), "{name}");
        }
    }

    #[test]
    fn empty_and_hostile_identity_claims_are_refused() {
        let full = serde_json::to_value(sample()).unwrap();
        let long_sid = "s".repeat(129);
        let long_jti = "j".repeat(MAX_JTI_LEN + 1);
        let cases: [(&str, &[&str]); 5] = [
            ("iss", &[""]),
            ("sub", &["", "a\u{0}b", "a\r\nb"]),
            (
                "sid",
                &[
                    "", "a\"b", "a;b", "a\u{0}b", "{x}", "a\r\nb", "a.b", &long_sid,
                ],
            ),
            ("styp", &["", "a b", "{x}", "a\r\n"]),
            ("jti", &["", &long_jti]),
        ];
        for (name, values) in cases {
            for bad in values {
                let mut value = full.clone();
                value[name] = json!(bad);
                let err = Claims::from_payload(&payload(&value)).unwrap_err();
                assert_eq!(err, AuthError::claim_invalid(name), "{name} = {bad:?}");
            }
        }
    }

    #[test]
    fn malformed_payloads() {
        let text = r#"{"exp":20,"exp":30,"nbf":10,"iat":10,"iss":"i","sub":"u","sid":"s","styp":"f","type":"access","jti":"j"}"#;
        for bad in [text.as_bytes(), b"[]", b"not json", b""] {
            let err = Claims::from_payload(bad).unwrap_err();
            assert_eq!(err.kind(), AuthErrorKind::TokenMalformed);
        }
    }

    #[test]
    fn token_type_names() {
        assert_eq!(TokenType::Access.as_str(), "access");
        assert_eq!(TokenType::Refresh.to_string(), "refresh");
        assert_eq!(
            serde_json::to_string(&TokenType::Access).unwrap(),
            r#""access""#
        );
        let parsed: TokenType = serde_json::from_str(r#""refresh""#).unwrap();
        assert_eq!(parsed, TokenType::Refresh);
    }
}
