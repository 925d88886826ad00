//! Token claims: the nine reserved claims of every Charon token plus extra claims.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde::{Deserialize, Serialize as DeriveSerialize};
use serde_json::{Map, Value};

use crate::clock::UnixTime;
use crate::error::{AuthError, AuthErrorKind};
use crate::session::{SessionMemo, SessionType, UserId, is_valid_session_id, is_valid_user_id};
use crate::token::json::StrictValue;

/// The claim names this crate reads itself, in the order their absence is reported: the
/// nine claims of every Charon token, then `aud` (optional). With the
/// [`External`](ClaimsProfile::External) profile, `sid`, `styp` and `type` are ordinary extra
/// claims. An extra claim can never take one of these names.
pub const RESERVED_CLAIMS: [&str; 10] = [
    "exp", "nbf", "iat", "iss", "sub", "sid", "styp", "type", "jti", "aud",
];

/// Index of each reserved claim in [`RESERVED_CLAIMS`].
mod slot {
    pub(super) const EXP: usize = 0;
    pub(super) const NBF: usize = 1;
    pub(super) const IAT: usize = 2;
    pub(super) const ISS: usize = 3;
    pub(super) const SUB: usize = 4;
    pub(super) const SID: usize = 5;
    pub(super) const STYP: usize = 6;
    pub(super) const TYPE: usize = 7;
    pub(super) const JTI: usize = 8;
    pub(super) const AUD: usize = 9;
}

/// Latest accepted time claim (9999-12-31T23:59:59Z). Later ones, and negative ones, are
/// refused: no token of ours carries them, and they only serve to confuse clock arithmetic.
pub const MAX_NUMERIC_DATE: UnixTime = 253_402_300_799;

/// Longest accepted `jti`, in bytes. Ours are 22.
pub const MAX_JTI_LEN: usize = 256;

/// Most `aud` values accepted in one token.
pub const MAX_AUDIENCES: usize = 16;

/// Which claims a token must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ClaimsProfile {
    /// Tokens minted by charon-auth or Elixir Charon: `exp nbf iat iss sub sid styp type jti`
    /// all required and strictly typed (`aud` optional). The default.
    #[default]
    Charon,
    /// Tokens of another issuer (an outside identity provider): `iss`, `sub` and `exp`
    /// required; `nbf`, `iat`, `jti`, `aud` typed and checked when present; `sid`, `styp`
    /// and `type` not interpreted (they stay extra claims). Such tokens name no session.
    External,
}

impl ClaimsProfile {
    /// Whether this profile reads the claim at `index` of [`RESERVED_CLAIMS`] itself.
    fn reads(self, index: usize) -> bool {
        match self {
            ClaimsProfile::Charon => true,
            ClaimsProfile::External => !matches!(index, slot::SID | slot::STYP | slot::TYPE),
        }
    }
}

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

/// The session a Charon token belongs to: claims `sid`, `styp` and `type`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionClaims {
    /// Session id (`sid`).
    pub sid: String,
    /// Session type (`styp`).
    pub styp: String,
    /// Token type (`type`).
    pub token_type: TokenType,
}

/// The claims of a verified token.
///
/// A Charon token ([`ClaimsProfile::Charon`]) carries all nine Charon claims: the three
/// times are integer NumericDates (seconds since the Unix epoch; floats, strings and
/// booleans are refused), `jti` a string, and its session in [`session`](Self::session).
/// A token of another issuer ([`ClaimsProfile::External`]) needs only `iss`, `sub` and `exp`
/// and names no session. Extra claims live in a separate map that can never hold a reserved
/// name, so an extra claim cannot replace `sub`, `exp` or any other reserved claim.
///
/// ```
/// use charon_auth::token::{Claims, TokenType};
/// let mut claims = Claims::new(TokenType::Access, "my-app", "user-1", "sid-1", "full", "jti-1")
///     .with_validity(1_700_000_000, 1_700_000_900);
/// claims.insert_extra("role", "admin".into())?;
/// assert!(claims.insert_extra("sub", "admin".into()).is_err());
/// assert_eq!(claims.nbf, claims.iat);
/// assert_eq!(claims.session_id(), Some("sid-1"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq)]
pub struct Claims {
    /// Issuer (`iss`).
    pub iss: String,
    /// Subject: the user id (`sub`), a positive integer or a string, kept with its JSON
    /// type ([`UserId`]).
    pub sub: UserId,
    /// Audiences (`aud`, a string or an array of strings); empty when absent.
    pub aud: Vec<String>,
    /// Expires at (`exp`), Unix seconds.
    pub exp: UnixTime,
    /// Not before (`nbf`), Unix seconds; always present in Charon tokens.
    pub nbf: Option<UnixTime>,
    /// Issued at (`iat`), Unix seconds; always present in Charon tokens.
    pub iat: Option<UnixTime>,
    /// Token id (`jti`): the session's refresh token id for refresh tokens, random for
    /// access tokens; always present in Charon tokens.
    pub jti: Option<String>,
    /// The session of a Charon token; `None` for tokens of other issuers.
    pub session: Option<SessionClaims>,
    extra: Map<String, Value>,
    /// Which session-cache entry served this token's session (not a claim: empty in a
    /// clone, ignored by `==`).
    session_memo: SessionMemo,
}

impl fmt::Debug for Claims {
    /// Every claim, except that a refresh token's `jti` (the session's current refresh
    /// token id, which the session's own `Debug` hides too) is `REDACTED`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let jti: &dyn fmt::Debug = match self.token_type() {
            Some(TokenType::Refresh) => &"REDACTED",
            _ => &self.jti,
        };
        f.debug_struct("Claims")
            .field("iss", &self.iss)
            .field("sub", &self.sub)
            .field("aud", &self.aud)
            .field("session", &self.session)
            .field("jti", jti)
            .field("iat", &self.iat)
            .field("nbf", &self.nbf)
            .field("exp", &self.exp)
            .field("extra", &self.extra)
            .finish()
    }
}

impl Claims {
    /// The claims of a Charon token with the given identity, all times zero, no audience and
    /// no extra claims; set the times with [`with_validity`](Self::with_validity).
    pub fn new(
        token_type: TokenType,
        iss: impl Into<String>,
        sub: impl Into<UserId>,
        sid: impl Into<String>,
        styp: impl Into<String>,
        jti: impl Into<String>,
    ) -> Self {
        Self {
            iss: iss.into(),
            sub: sub.into(),
            aud: Vec::new(),
            exp: 0,
            nbf: Some(0),
            iat: Some(0),
            jti: Some(jti.into()),
            session: Some(SessionClaims {
                sid: sid.into(),
                styp: styp.into(),
                token_type,
            }),
            extra: Map::new(),
            session_memo: SessionMemo::default(),
        }
    }

    /// The claims of a token naming no session (what another issuer mints): `iss`, `sub`,
    /// `exp`, nothing else.
    pub fn external(iss: impl Into<String>, sub: impl Into<UserId>, exp: UnixTime) -> Self {
        Self {
            iss: iss.into(),
            sub: sub.into(),
            aud: Vec::new(),
            exp,
            nbf: None,
            iat: None,
            jti: None,
            session: None,
            extra: Map::new(),
            session_memo: SessionMemo::default(),
        }
    }

    /// Set `iat` and `nbf` to `issued_at`, and `exp` to `expires_at`.
    #[must_use]
    pub fn with_validity(mut self, issued_at: UnixTime, expires_at: UnixTime) -> Self {
        self.iat = Some(issued_at);
        self.nbf = Some(issued_at);
        self.exp = expires_at;
        self
    }

    /// Set the audiences (`aud`): one is written as a string, several as an array.
    #[must_use]
    pub fn with_audience<I, S>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.aud = audiences.into_iter().map(Into::into).collect();
        self
    }

    /// Which session-cache entry served this token's session, for the cached session check.
    pub(crate) fn session_memo(&self) -> &SessionMemo {
        &self.session_memo
    }

    /// The session id (`sid`) of a Charon token.
    pub fn session_id(&self) -> Option<&str> {
        self.session.as_ref().map(|s| s.sid.as_str())
    }

    /// The session type (`styp`) of a Charon token.
    pub fn session_type(&self) -> Option<&str> {
        self.session.as_ref().map(|s| s.styp.as_str())
    }

    /// The token type (`type`) of a Charon token.
    pub fn token_type(&self) -> Option<TokenType> {
        self.session.as_ref().map(|s| s.token_type)
    }

    /// Whether `aud` names `audience`.
    pub fn has_audience(&self, audience: &str) -> bool {
        self.aud.iter().any(|a| a == audience)
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

    /// All extra claims (never a reserved name of the profile the token was read with).
    pub fn extras(&self) -> &Map<String, Value> {
        &self.extra
    }

    /// Parse and type-check the claims of a Charon token ([`ClaimsProfile::Charon`]); see
    /// [`from_payload_with`](Self::from_payload_with).
    pub fn from_payload(payload: &[u8]) -> Result<Self, AuthError> {
        Self::from_payload_with(payload, ClaimsProfile::Charon)
    }

    /// Parse and type-check claims from a JWS payload.
    ///
    /// The payload must be one JSON object without duplicate keys
    /// ([`AuthErrorKind::TokenMalformed`] otherwise). The claims the profile requires are
    /// then checked in the order of [`RESERVED_CLAIMS`]: the first missing one gives
    /// [`AuthError::claim_not_found`], the first with a wrong type or value (an empty or
    /// hostile id, a negative time) gives [`AuthError::claim_invalid`]. Everything else
    /// becomes an extra claim. No time, issuer, audience or type check happens here;
    /// [`JwtCodec::verify`](crate::token::JwtCodec::verify) does those.
    pub fn from_payload_with(payload: &[u8], profile: ClaimsProfile) -> Result<Self, AuthError> {
        // One pass: reserved claims land in fixed slots (no key allocation, no map
        // round trip); the rest becomes the extra map. Duplicates are refused at every
        // level, as `strict_object` does.
        let malformed = || AuthError::new(AuthErrorKind::TokenMalformed);
        let mut de = serde_json::Deserializer::from_slice(payload);
        let RawClaims {
            mut reserved,
            extra,
        } = ClaimsSeed(profile)
            .deserialize(&mut de)
            .map_err(|_| malformed())?;
        de.end().map_err(|_| malformed())?;
        let mut take = |index: usize| reserved.get_mut(index).and_then(Option::take);
        let charon = profile == ClaimsProfile::Charon;
        let exp = required(time_claim(take(slot::EXP), "exp")?, "exp")?;
        let nbf = time_claim(take(slot::NBF), "nbf")?;
        let iat = time_claim(take(slot::IAT), "iat")?;
        if charon {
            required(nbf, "nbf")?;
            required(iat, "iat")?;
        }
        let iss = required(
            string_claim(take(slot::ISS), "iss", |s| !s.is_empty())?,
            "iss",
        )?;
        let sub = required(user_id_claim(take(slot::SUB))?, "sub")?;
        let session = if charon {
            let sid = string_claim(take(slot::SID), "sid", is_valid_session_id)?;
            let sid = required(sid, "sid")?;
            let styp = string_claim(take(slot::STYP), "styp", SessionType::is_valid)?;
            let styp = required(styp, "styp")?;
            let token_type = required(string_claim(take(slot::TYPE), "type", |_| true)?, "type")?;
            let token_type = TokenType::from_claim(&token_type)
                .ok_or_else(|| AuthError::claim_invalid("type"))?;
            Some(SessionClaims {
                sid,
                styp,
                token_type,
            })
        } else {
            None
        };
        let jti = string_claim(take(slot::JTI), "jti", |s| {
            !s.is_empty() && s.len() <= MAX_JTI_LEN
        })?;
        if charon {
            required(jti.as_deref(), "jti")?;
        }
        let aud = audience_claim(take(slot::AUD))?;
        Ok(Self {
            iss,
            sub,
            aud,
            exp,
            nbf,
            iat,
            jti,
            session,
            extra,
            session_memo: SessionMemo::default(),
        })
    }
}

impl Serialize for Claims {
    /// A fixed order: `iss sub sid styp type jti iat nbf exp`, then `aud` (a string when
    /// there is one audience) and the extra claims. Absent claims are not written. (Charon
    /// itself writes claims in alphabetical order; a JWT's claim order carries no meaning,
    /// so only the set of claims matters for interop: see the Charon compatibility guide.)
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("iss", &self.iss)?;
        map.serialize_entry("sub", &self.sub)?;
        if let Some(session) = &self.session {
            map.serialize_entry("sid", &session.sid)?;
            map.serialize_entry("styp", &session.styp)?;
            map.serialize_entry("type", session.token_type.as_str())?;
        }
        if let Some(jti) = &self.jti {
            map.serialize_entry("jti", jti)?;
        }
        if let Some(iat) = self.iat {
            map.serialize_entry("iat", &iat)?;
        }
        if let Some(nbf) = self.nbf {
            map.serialize_entry("nbf", &nbf)?;
        }
        map.serialize_entry("exp", &self.exp)?;
        match self.aud.as_slice() {
            [] => {}
            [one] => map.serialize_entry("aud", one)?,
            many => map.serialize_entry("aud", many)?,
        }
        // `insert_extra` and `from_payload` guarantee no reserved name in `extra`.
        for (name, value) in &self.extra {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// An extra claim tried to use a reserved claim name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("claim {name:?} is reserved and cannot be set as an extra claim")]
pub struct ReservedClaimError {
    name: String,
}

impl ReservedClaimError {
    /// The refused claim name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

fn is_reserved(name: &str) -> bool {
    RESERVED_CLAIMS.contains(&name)
}

/// The check of [`Claims::insert_extra`], for extra claims collected before the claims
/// exist ([`CreateSession::access_claim`](crate::CreateSession::access_claim)).
fn check_extra_name(name: &str) -> Result<(), ReservedClaimError> {
    if is_reserved(name) {
        return Err(ReservedClaimError {
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// Put one extra claim in a map collected before the claims exist (the claim setters of
/// [`CreateSession`](crate::CreateSession) and [`RefreshSession`](crate::RefreshSession)),
/// refusing a reserved name as [`Claims::insert_extra`] does.
pub(crate) fn collect_extra(
    claims: &mut Map<String, Value>,
    name: impl Into<String>,
    value: impl Into<Value>,
) -> Result<(), ReservedClaimError> {
    let name = name.into();
    check_extra_name(&name)?;
    claims.insert(name, value.into());
    Ok(())
}

/// `Err(claim_not_found)` when a required claim is absent.
fn required<T>(value: Option<T>, name: &'static str) -> Result<T, AuthError> {
    value.ok_or_else(|| AuthError::claim_not_found(name))
}

/// An integer NumericDate within `0..=MAX_NUMERIC_DATE`, if present.
fn time_claim(value: Option<Value>, name: &'static str) -> Result<Option<UnixTime>, AuthError> {
    match value {
        None => Ok(None),
        // `as_i64` is `None` for floats (`1.0`, `1e3`) and for integers beyond `i64`.
        Some(Value::Number(n)) => n
            .as_i64()
            .filter(|t| (0..=MAX_NUMERIC_DATE).contains(t))
            .map(Some)
            .ok_or_else(|| AuthError::claim_invalid(name)),
        Some(_) => Err(AuthError::claim_invalid(name)),
    }
}

/// `sub`, if present: a positive integer (Charon signs an integer user id as a JSON
/// number) or a valid user id string. `0`, negative numbers, floats (`42.0` too), booleans
/// and anything else are refused.
fn user_id_claim(value: Option<Value>) -> Result<Option<UserId>, AuthError> {
    match value {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .filter(|&n| n > 0)
            .map(|n| Some(UserId::from(n)))
            .ok_or_else(|| AuthError::claim_invalid("sub")),
        Some(Value::String(s)) if is_valid_user_id(&s) => Ok(Some(UserId::from(s))),
        Some(_) => Err(AuthError::claim_invalid("sub")),
    }
}

/// A string claim whose value passes `valid`, if present (empty and hostile values are
/// refused here, before any store sees them).
fn string_claim(
    value: Option<Value>,
    name: &'static str,
    valid: impl Fn(&str) -> bool,
) -> Result<Option<String>, AuthError> {
    match value {
        None => Ok(None),
        Some(Value::String(s)) if valid(&s) => Ok(Some(s)),
        Some(_) => Err(AuthError::claim_invalid(name)),
    }
}

/// `aud`: a non-empty string or a non-empty array of at most [`MAX_AUDIENCES`] non-empty
/// strings (RFC 7519 section 4.1.3); absent is empty.
fn audience_claim(value: Option<Value>) -> Result<Vec<String>, AuthError> {
    let invalid = || AuthError::claim_invalid("aud");
    match value {
        None => Ok(Vec::new()),
        Some(Value::String(s)) if !s.is_empty() => Ok(vec![s]),
        Some(Value::Array(items)) if !items.is_empty() && items.len() <= MAX_AUDIENCES => items
            .into_iter()
            .map(|item| match item {
                Value::String(s) if !s.is_empty() => Ok(s),
                _ => Err(invalid()),
            })
            .collect(),
        Some(_) => Err(invalid()),
    }
}

/// A claims object as read: the profile's reserved claims by their index in
/// [`RESERVED_CLAIMS`], each still untyped, and the extra claims.
struct RawClaims {
    reserved: [Option<Value>; RESERVED_CLAIMS.len()],
    extra: Map<String, Value>,
}

/// Reads a [`RawClaims`] for one profile.
struct ClaimsSeed(ClaimsProfile);

impl<'de> DeserializeSeed<'de> for ClaimsSeed {
    type Value = RawClaims;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<RawClaims, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ClaimsSeed {
    type Value = RawClaims;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of claims without duplicate keys")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<RawClaims, A::Error> {
        let mut raw = RawClaims {
            reserved: Default::default(),
            extra: Map::new(),
        };
        while let Some(key) = access.next_key_seed(ClaimName(self.0))? {
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

/// Reads a claim name, reserved or not for one profile.
struct ClaimName(ClaimsProfile);

impl ClaimName {
    fn reserved_index(&self, name: &str) -> Option<usize> {
        RESERVED_CLAIMS
            .iter()
            .position(|n| *n == name)
            .filter(|&i| self.0.reads(i))
    }
}

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
        Ok(match self.reserved_index(name) {
            Some(index) => ClaimKey::Reserved(index),
            None => ClaimKey::Extra(name.to_owned()),
        })
    }

    fn visit_string<E: de::Error>(self, name: String) -> Result<ClaimKey, E> {
        Ok(match self.reserved_index(&name) {
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
        assert_eq!(claims.insert_extra("role", json!("x")).unwrap(), None);
        assert_eq!(claims.remove_extra("role"), Some(json!("x")));
    }

    #[test]
    fn missing_claims_are_named() {
        let full = serde_json::to_value(sample()).unwrap();
        // Every Charon claim is required; `aud` is optional.
        for name in &RESERVED_CLAIMS[..9] {
            let mut value = full.clone();
            value.as_object_mut().unwrap().remove(*name);
            let err = Claims::from_payload(&payload(&value)).unwrap_err();
            assert_eq!(err, AuthError::claim_not_found(*name));
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
        for name in ["iss", "sid", "styp", "type", "jti"] {
            for bad in [json!(1), json!(null), json!(["x"]), json!({"a": 1})] {
                let mut value = full.clone();
                value[name] = bad.clone();
                let err = Claims::from_payload(&payload(&value)).unwrap_err();
                assert_eq!(err, AuthError::claim_invalid(name), "{name} = {bad}");
            }
        }
        // `sub` may be a positive integer (Charon's integer user ids), nothing else but a
        // string.
        for bad in [
            json!(0),
            json!(-1),
            json!(42.0),
            json!(4.2),
            json!(1e3),
            json!(true),
            json!(null),
            json!(["x"]),
            json!({"a": 1}),
        ] {
            let mut value = full.clone();
            value["sub"] = bad.clone();
            let err = Claims::from_payload(&payload(&value)).unwrap_err();
            assert_eq!(err, AuthError::claim_invalid("sub"), "sub = {bad}");
        }
        let mut value = full;
        value["type"] = json!("Access");
        let err = Claims::from_payload(&payload(&value)).unwrap_err();
        assert_eq!(err, AuthError::claim_invalid("type"));
    }

    #[test]
    fn integer_sub_keeps_its_json_type() {
        // What Charon signs for an Ecto primary key: `"sub": 42`.
        let mut value = serde_json::to_value(sample()).unwrap();
        for (sub, want) in [
            (json!(42), UserId::from(42_u64)),
            (json!(u64::MAX), UserId::from(u64::MAX)),
            (json!("42"), UserId::from("42")),
        ] {
            value["sub"] = sub.clone();
            let claims = Claims::from_payload(&payload(&value)).unwrap();
            assert_eq!(claims.sub, want, "{sub}");
            // Signed again with the same JSON type.
            let again = serde_json::to_value(&claims).unwrap();
            assert_eq!(again["sub"], sub);
        }
        let claims = Claims::new(TokenType::Access, "i", 42_u64, "s", "full", "j");
        assert_eq!(serde_json::to_value(&claims).unwrap()["sub"], json!(42));
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
    fn audiences_are_a_string_or_an_array_of_strings() {
        let claims = sample().with_audience(["api"]);
        let value = serde_json::to_value(&claims).unwrap();
        assert_eq!(
            value["aud"],
            json!("api"),
            "one audience is written as a string"
        );
        assert_eq!(Claims::from_payload(&payload(&value)).unwrap(), claims);
        let two = sample().with_audience(["api", "admin"]);
        let value = serde_json::to_value(&two).unwrap();
        assert_eq!(value["aud"], json!(["api", "admin"]));
        let back = Claims::from_payload(&payload(&value)).unwrap();
        assert!(back.has_audience("admin") && !back.has_audience("other"));
        let full = serde_json::to_value(sample()).unwrap();
        let many: Vec<String> = (0..=MAX_AUDIENCES).map(|i| i.to_string()).collect();
        for bad in [
            json!(""),
            json!([]),
            json!([1]),
            json!([""]),
            json!(5),
            json!(many),
        ] {
            let mut value = full.clone();
            value["aud"] = bad.clone();
            let err = Claims::from_payload(&payload(&value)).unwrap_err();
            assert_eq!(err, AuthError::claim_invalid("aud"), "{bad}");
        }
    }

    #[test]
    fn the_external_profile_needs_only_iss_sub_exp() {
        let minimal = json!({"iss": "https://idp.example", "sub": "u-1", "exp": 100});
        let claims =
            Claims::from_payload_with(&payload(&minimal), ClaimsProfile::External).unwrap();
        assert_eq!(claims, Claims::external("https://idp.example", "u-1", 100));
        assert_eq!(claims.session_id(), None);
        assert_eq!(claims.token_type(), None);
        // A Charon token is refused without its session claims.
        let err = Claims::from_payload(&payload(&minimal)).unwrap_err();
        assert_eq!(err, AuthError::claim_not_found("nbf"));
        // `sid`, `styp`, `type` mean nothing to the external profile: extras, any shape
        // (an OIDC `sid` is common).
        let oidc = json!({"iss": "i", "sub": "u", "exp": 9, "sid": "a.b", "type": 3, "iat": 1});
        let claims = Claims::from_payload_with(&payload(&oidc), ClaimsProfile::External).unwrap();
        assert_eq!(claims.extra("sid"), Some(&json!("a.b")));
        assert_eq!(claims.extra("type"), Some(&json!(3)));
        assert_eq!(claims.iat, Some(1));
        // What is present is still typed and checked.
        for (name, bad) in [
            ("exp", json!(null)),
            ("nbf", json!(-1)),
            ("iat", json!("1")),
            ("sub", json!("")),
            ("iss", json!(1)),
            ("jti", json!("")),
            ("aud", json!([])),
        ] {
            let mut value = minimal.clone();
            value[name] = bad.clone();
            let err =
                Claims::from_payload_with(&payload(&value), ClaimsProfile::External).unwrap_err();
            assert_eq!(err, AuthError::claim_invalid(name), "{name} = {bad}");
        }
        for name in ["iss", "sub", "exp"] {
            let mut value = minimal.clone();
            value.as_object_mut().unwrap().remove(name);
            let err =
                Claims::from_payload_with(&payload(&value), ClaimsProfile::External).unwrap_err();
            assert_eq!(err, AuthError::claim_not_found(name));
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
