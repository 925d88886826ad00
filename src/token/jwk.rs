//! JSON Web Keys (RFC 7517, RFC 7518 §6, RFC 8037): public verification keys in and out.
//!
//! Export writes public keys only: the public half of an asymmetric key, with its `alg`
//! and `"use":"sig"`. A symmetric (HMAC) key is a shared secret and is never exported, and
//! private key material never appears in a JWK this crate writes.
//!
//! Import is strict, because a JWK Set usually comes from the network:
//!
//! | the JWK | [`Key::from_jwk`] | in [`Keyset::from_jwks`] |
//! |---|---|---|
//! | `kty` `oct` (a shared secret) | [`Symmetric`](JwkErrorKind::Symmetric) | the set is refused |
//! | private members (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`, `k`) | [`PrivateKey`](JwkErrorKind::PrivateKey) | refused |
//! | `alg` or `crv` that contradicts `kty`/`crv` (`HS256` on an EC key, `ES384` on P-256, `none`, `crv` on RSA, an Ed25519 `EC` key) | [`AlgorithmMismatch`](JwkErrorKind::AlgorithmMismatch) | refused |
//! | missing or invalid members (wrong type, bad base64url, wrong coordinate size, a point off the curve, duplicate `key_ops`, members of another key type) | [`Malformed`](JwkErrorKind::Malformed) | refused |
//! | RSA modulus under [`MIN_RSA_BITS`] | [`WeakKey`](JwkErrorKind::WeakKey) | refused |
//! | invalid `kid` (see [`Keyset::with_key`]) | — | [`InvalidKid`](JwkErrorKind::InvalidKid), refused |
//! | a `kid` twice | — | [`DuplicateKid`](JwkErrorKind::DuplicateKid), refused |
//! | `use` other than `sig`, `key_ops` without `verify`, an encryption `alg` (`RSA-OAEP`, `ECDH-ES`, …), an X25519/X448 key | [`NotForSignatures`](JwkErrorKind::NotForSignatures) | skipped |
//! | unknown `kty`, curve or `alg` (P-521, Ed448, secp256k1, …) | [`Unsupported`](JwkErrorKind::Unsupported) | skipped |
//!
//! Skipping follows RFC 7517 §5 (ignore JWKs whose `kty` or parameters are not understood)
//! and lets a verifier read sets that also publish encryption keys, as Keycloak's do; a
//! skipped key is never used. A set with no usable key is [`NoKeys`](JwkErrorKind::NoKeys),
//! one with more than [`MAX_JWKS_KEYS`] entries [`TooManyKeys`](JwkErrorKind::TooManyKeys).
//! JSON objects that repeat a member are malformed (two parsers could read two different
//! keys from them).
//!
//! The key decides the algorithm: `alg` when present, otherwise the curve (`P-256` is
//! `ES256`, `P-384` is `ES384`, `Ed25519` is `EdDSA`), and `RS256` for an RSA key without
//! `alg` (the algorithm OpenID Connect requires). A JWK without `kid` is filed under Charon's
//! fallback kid `kid_not_set.<ALG>`, so it verifies tokens whose header has no `kid`.
//!
//! There is no opt-in for symmetric JWKs: a secret published in a JWK Set is no secret. Build
//! HMAC keys from their bytes with [`Key::hmac`] instead.

use std::borrow::Cow;
use std::collections::HashSet;
use std::error::Error as StdError;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{self as jwt_jwk, AlgorithmParameters, EllipticCurve};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::ser::SerializeMap as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::token::json::{StrictValue, strict_object};
use crate::token::key::{Key, MIN_RSA_BITS, alg_name};
use crate::token::keyset::{KID_NOT_SET_PREFIX, Keyset, check_kid};

type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Most entries a JWK Set may have for [`Keyset::from_jwks`]: 100. Identity providers
/// publish a handful; a set of thousands is an attempt to make every refresh expensive.
pub const MAX_JWKS_KEYS: usize = 100;

/// Members that hold private or secret key material: EC and OKP `d` (RFC 7518 §6.2.2,
/// RFC 8037 §2), RSA `d p q dp dq qi oth` (§6.3.2), symmetric `k` (§6.4.1).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// JWE key-management algorithms (RFC 7518 §4.1): a key carrying one is an encryption key.
const ENCRYPTION_ALGS: [&str; 18] = [
    "RSA1_5",
    "RSA-OAEP",
    "RSA-OAEP-256",
    "RSA-OAEP-384",
    "RSA-OAEP-512",
    "A128KW",
    "A192KW",
    "A256KW",
    "dir",
    "ECDH-ES",
    "ECDH-ES+A128KW",
    "ECDH-ES+A192KW",
    "ECDH-ES+A256KW",
    "A128GCMKW",
    "A192GCMKW",
    "A256GCMKW",
    "PBES2-HS256+A128KW",
    "PBES2-HS512+A256KW",
];

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// What is wrong with a JWK or a JWK Set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JwkErrorKind {
    /// Not JSON, not an object, a repeated member, a member of the wrong type, a missing
    /// member, bad base64url, a coordinate of the wrong size, a point off its curve.
    Malformed,
    /// A symmetric key: `kty` `oct` on import, an HMAC key on export. Shared secrets are
    /// never taken from nor written to a JWK.
    Symmetric,
    /// The JWK carries private key material (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`, `k`).
    PrivateKey,
    /// The key is not for verifying signatures: `use` other than `sig`, `key_ops` without
    /// `verify`, an encryption `alg`, a key-agreement curve (X25519, X448).
    NotForSignatures,
    /// `alg` contradicts the key type or curve (or is `none`), or `crv` sits on an RSA key.
    AlgorithmMismatch,
    /// A key type, curve or algorithm this crate does not verify with (P-521, Ed448, …).
    Unsupported,
    /// An RSA modulus shorter than [`MIN_RSA_BITS`].
    WeakKey,
    /// A `kid` that a [`Keyset`] refuses (empty, too long, control characters, a
    /// `kid_not_set.<ALG>` of another algorithm).
    InvalidKid,
    /// Two keys of a set have the same `kid`.
    DuplicateKid,
    /// A set without a single usable key.
    NoKeys,
    /// A set with more than [`MAX_JWKS_KEYS`] entries.
    TooManyKeys,
}

impl JwkErrorKind {
    /// A stable snake_case name for this kind, the variant name in snake case:
    /// `malformed`, `symmetric`, `private_key`, `not_for_signatures`, …
    pub const fn as_str(self) -> &'static str {
        match self {
            JwkErrorKind::Malformed => "malformed",
            JwkErrorKind::Symmetric => "symmetric",
            JwkErrorKind::PrivateKey => "private_key",
            JwkErrorKind::NotForSignatures => "not_for_signatures",
            JwkErrorKind::AlgorithmMismatch => "algorithm_mismatch",
            JwkErrorKind::Unsupported => "unsupported",
            JwkErrorKind::WeakKey => "weak_key",
            JwkErrorKind::InvalidKid => "invalid_kid",
            JwkErrorKind::DuplicateKid => "duplicate_kid",
            JwkErrorKind::NoKeys => "no_keys",
            JwkErrorKind::TooManyKeys => "too_many_keys",
        }
    }

    /// Whether a JWK Set import skips a key of this kind instead of refusing the set.
    const fn skipped_in_sets(self) -> bool {
        matches!(
            self,
            JwkErrorKind::NotForSignatures | JwkErrorKind::Unsupported
        )
    }
}

/// A JWK or JWK Set was refused. `Display` names the problem and, for a set, the index of
/// the key; it never contains key material.
#[derive(Debug, thiserror::Error)]
#[error("{}", match .index {
    Some(i) => format!("invalid JWK Set: key {i}: {message}"),
    None => format!("invalid JWK: {message}"),
})]
pub struct JwkError {
    kind: JwkErrorKind,
    message: Cow<'static, str>,
    index: Option<usize>,
    #[source]
    source: Option<BoxError>,
}

impl JwkError {
    pub(crate) fn new(kind: JwkErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            kind,
            message: message.into(),
            index: None,
            source: None,
        }
    }

    fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    fn at(mut self, index: usize) -> Self {
        self.index = Some(index);
        self
    }

    /// What is wrong.
    pub fn kind(&self) -> JwkErrorKind {
        self.kind
    }

    /// For a JWK Set, the position of the offending key in `keys` (from 0).
    pub fn key_index(&self) -> Option<usize> {
        self.index
    }
}

fn malformed(message: impl Into<Cow<'static, str>>) -> JwkError {
    JwkError::new(JwkErrorKind::Malformed, message)
}

// ---------------------------------------------------------------------------------------------
// Jwk
// ---------------------------------------------------------------------------------------------

/// A JSON Web Key (RFC 7517) as read from or written to JSON: the members of a public
/// EC, OKP or RSA key, and the names (never the values) of any other members.
///
/// Turn one into a [`Key`] with [`Key::from_jwk`] (strict, see the [module docs](self)),
/// and a key into one with [`Key::to_jwk`]. Parsing refuses objects that repeat a member.
///
/// ```
/// use charon_auth::token::{Algorithm, Jwk, Key};
/// // RFC 8037, appendix A.2.
/// let jwk: Jwk = serde_json::from_str(
///     r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
/// )?;
/// let key = Key::from_jwk(&jwk)?;
/// assert_eq!(key.algorithm(), Algorithm::EdDSA);
/// assert!(!key.can_sign());
/// assert_eq!(jwk.thumbprint()?, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"); // RFC 8037 A.3
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Jwk {
    kty: String,
    kid: Option<String>,
    key_use: Option<String>,
    key_ops: Option<Vec<String>>,
    alg: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
    n: Option<String>,
    e: Option<String>,
    /// Names of the other members, sorted; their values are not kept.
    other: Vec<String>,
}

impl Jwk {
    /// Parse one JWK from JSON. [`JwkErrorKind::Malformed`] for anything but one JSON
    /// object without repeated members whose known members have the right types.
    pub fn from_json(json: &[u8]) -> Result<Self, JwkError> {
        let map = strict_object(json)
            .ok_or_else(|| malformed("not one JSON object without repeated members"))?;
        Self::from_map(map)
    }

    /// The JSON text of this JWK (its known members only).
    pub fn to_json(&self) -> String {
        // Serialising strings and string arrays into a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    fn from_map(mut map: Map<String, Value>) -> Result<Self, JwkError> {
        let mut string = |name: &'static str| match map.remove(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(malformed(format!("member {name:?} is not a string"))),
        };
        let kty = string("kty")?.ok_or_else(|| malformed("member \"kty\" is missing"))?;
        let kid = string("kid")?;
        let key_use = string("use")?;
        let alg = string("alg")?;
        let crv = string("crv")?;
        let x = string("x")?;
        let y = string("y")?;
        let n = string("n")?;
        let e = string("e")?;
        let key_ops = match map.remove("key_ops") {
            None => None,
            Some(Value::Array(items)) => Some(
                items
                    .into_iter()
                    .map(|item| match item {
                        Value::String(s) => Ok(s),
                        _ => Err(malformed("member \"key_ops\" is not an array of strings")),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            Some(_) => return Err(malformed("member \"key_ops\" is not an array of strings")),
        };
        let mut other: Vec<String> = map.into_iter().map(|(name, _)| name).collect();
        other.sort_unstable();
        Ok(Self {
            kty,
            kid,
            key_use,
            key_ops,
            alg,
            crv,
            x,
            y,
            n,
            e,
            other,
        })
    }

    /// `kty`: `EC`, `OKP`, `RSA`, …
    pub fn kty(&self) -> &str {
        &self.kty
    }

    /// `kid`, if present.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// `alg`, if present.
    pub fn alg(&self) -> Option<&str> {
        self.alg.as_deref()
    }

    /// `use`, if present (`sig` for the keys this crate writes).
    pub fn key_use(&self) -> Option<&str> {
        self.key_use.as_deref()
    }

    /// `key_ops`, if present.
    pub fn key_ops(&self) -> Option<&[String]> {
        self.key_ops.as_deref()
    }

    /// `crv`, if present (`P-256`, `P-384`, `Ed25519`, …).
    pub fn crv(&self) -> Option<&str> {
        self.crv.as_deref()
    }

    /// Names of the members this type does not model (`x5c`, `d`, …), sorted. Their values
    /// are not kept.
    pub fn other_members(&self) -> &[String] {
        &self.other
    }

    /// This JWK with `kid` set to `kid`.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The RFC 7638 JWK thumbprint: base64url (no padding) of the SHA-256 of the required
    /// members in canonical form (`{"crv","kty","x","y"}` for EC, `{"crv","kty","x"}` for
    /// OKP, `{"e","kty","n"}` for RSA). A stable kid for a public key.
    ///
    /// [`JwkErrorKind::Symmetric`] for `oct`, [`JwkErrorKind::Unsupported`] for another
    /// `kty`, [`JwkErrorKind::Malformed`] when a required member is missing.
    pub fn thumbprint(&self) -> Result<String, JwkError> {
        let member = |name: &'static str, value: &Option<String>| {
            value
                .as_deref()
                .map(json_string)
                .ok_or_else(|| malformed(format!("member {name:?} is missing")))
        };
        let kty = json_string(&self.kty);
        let canonical = match self.kty.as_str() {
            "EC" => format!(
                r#"{{"crv":{},"kty":{kty},"x":{},"y":{}}}"#,
                member("crv", &self.crv)?,
                member("x", &self.x)?,
                member("y", &self.y)?,
            ),
            "OKP" => format!(
                r#"{{"crv":{},"kty":{kty},"x":{}}}"#,
                member("crv", &self.crv)?,
                member("x", &self.x)?,
            ),
            "RSA" => format!(
                r#"{{"e":{},"kty":{kty},"n":{}}}"#,
                member("e", &self.e)?,
                member("n", &self.n)?,
            ),
            "oct" => {
                return Err(JwkError::new(
                    JwkErrorKind::Symmetric,
                    "a symmetric key has no public thumbprint",
                ));
            }
            _ => {
                return Err(JwkError::new(JwkErrorKind::Unsupported, "unknown key type"));
            }
        };
        Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
    }
}

/// A JSON string literal with every needed escape.
fn json_string(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

impl Serialize for Jwk {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("kty", &self.kty)?;
        let optional = [
            ("kid", &self.kid),
            ("use", &self.key_use),
            ("alg", &self.alg),
            ("crv", &self.crv),
            ("x", &self.x),
            ("y", &self.y),
            ("n", &self.n),
            ("e", &self.e),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                map.serialize_entry(name, value)?;
            }
        }
        if let Some(ops) = &self.key_ops {
            map.serialize_entry("key_ops", ops)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Jwk {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let StrictValue(value) = StrictValue::deserialize(deserializer)?;
        match value {
            Value::Object(map) => Self::from_map(map).map_err(serde::de::Error::custom),
            _ => Err(serde::de::Error::custom("a JWK is a JSON object")),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JwkSet
// ---------------------------------------------------------------------------------------------

/// A JWK Set (RFC 7517 §5): `{"keys":[...]}`.
///
/// Build one from a [`Keyset`] with [`Keyset::to_jwks`] (public keys only), read one with
/// [`from_json`](Self::from_json) or serde, and turn it into a verify-only keyset with
/// [`Keyset::from_jwks`].
///
/// ```
/// use charon_auth::token::{JwkSet, Key, Keyset};
/// let generated = Key::generate_es256()?;
/// let signing = generated.keyset()?;
/// let jwks = signing.to_jwks()?;
/// let json = jwks.to_json();
/// assert!(json.contains(r#""use":"sig""#) && !json.contains(r#""d""#));
///
/// let verifier = Keyset::from_jwks(&JwkSet::from_json(json.as_bytes())?)?;
/// assert!(!verifier.can_sign());
/// assert!(verifier.get(generated.kid()).is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JwkSet {
    keys: Vec<Jwk>,
}

impl JwkSet {
    /// A set of these keys.
    pub fn new(keys: Vec<Jwk>) -> Self {
        Self { keys }
    }

    /// The keys, in document order.
    pub fn keys(&self) -> &[Jwk] {
        &self.keys
    }

    /// The first key whose `kid` is `kid`.
    pub fn find(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|k| k.kid() == Some(kid))
    }

    /// Parse a JWK Set: one JSON object without repeated members (at any depth) whose
    /// `keys` member is an array of JWK objects. Other top-level members are ignored.
    /// [`JwkErrorKind::Malformed`] otherwise, with the index of a bad key.
    pub fn from_json(json: &[u8]) -> Result<Self, JwkError> {
        let map = strict_object(json)
            .ok_or_else(|| malformed("not one JSON object without repeated members"))?;
        Self::from_map(map)
    }

    fn from_map(mut map: Map<String, Value>) -> Result<Self, JwkError> {
        let Some(Value::Array(items)) = map.remove("keys") else {
            return Err(malformed("member \"keys\" is missing or not an array"));
        };
        let keys = items
            .into_iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::Object(map) => Jwk::from_map(map).map_err(|e| e.at(i)),
                _ => Err(malformed("not a JSON object").at(i)),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { keys })
    }

    /// The JSON text of this set.
    pub fn to_json(&self) -> String {
        // Serialising strings and string arrays into a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl Serialize for JwkSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("keys", &self.keys)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for JwkSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let StrictValue(value) = StrictValue::deserialize(deserializer)?;
        match value {
            Value::Object(map) => Self::from_map(map).map_err(serde::de::Error::custom),
            _ => Err(serde::de::Error::custom("a JWK Set is a JSON object")),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Key <-> Jwk
// ---------------------------------------------------------------------------------------------

impl Key {
    /// A verify-only key from a public JWK (EC P-256/P-384, OKP Ed25519, RSA), bound to the
    /// algorithm the JWK decides (see the [module docs](crate::token::jwk)).
    ///
    /// Refused with a [`JwkError`]: symmetric keys, private members, `use`/`key_ops` not
    /// for verification, `alg` contradicting `kty`/`crv`, unsupported types, curves and
    /// algorithms, malformed members, RSA moduli under [`MIN_RSA_BITS`]. The `kid` is not
    /// looked at here ([`Keyset::from_jwks`] files the key under it).
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, JwkError> {
        if jwk.kty == "oct" {
            return Err(JwkError::new(
                JwkErrorKind::Symmetric,
                "a symmetric key (kty \"oct\") is a shared secret and is never read from a JWK",
            ));
        }
        if let Some(member) = jwk
            .other
            .iter()
            .find(|m| PRIVATE_MEMBERS.contains(&m.as_str()))
        {
            return Err(JwkError::new(
                JwkErrorKind::PrivateKey,
                format!("the JWK carries the private key member {member:?}"),
            ));
        }
        if let Some(key_use) = jwk.key_use.as_deref().filter(|u| *u != "sig") {
            return Err(JwkError::new(
                JwkErrorKind::NotForSignatures,
                format!("\"use\" is {key_use:?}, not \"sig\""),
            ));
        }
        if let Some(ops) = &jwk.key_ops {
            let distinct: HashSet<&str> = ops.iter().map(String::as_str).collect();
            if distinct.len() != ops.len() {
                return Err(malformed("\"key_ops\" repeats an operation"));
            }
            if !distinct.contains("verify") {
                return Err(JwkError::new(
                    JwkErrorKind::NotForSignatures,
                    "\"key_ops\" does not include \"verify\"",
                ));
            }
        }
        let alg = key_algorithm(jwk)?;
        match jwk.kty.as_str() {
            "EC" => ec_key(jwk, alg),
            "OKP" => okp_key(jwk),
            _ => rsa_key(jwk, alg),
        }
    }

    /// The public JWK of this key: `kty`, the public members, `alg` and `"use":"sig"`, no
    /// `kid` (add one with [`Jwk::with_kid`]). For a signing key, its public half.
    ///
    /// [`JwkErrorKind::Symmetric`] for an HMAC key: shared secrets are never exported.
    pub fn to_jwk(&self) -> Result<Jwk, JwkError> {
        if self.is_symmetric() {
            return Err(JwkError::new(
                JwkErrorKind::Symmetric,
                "a symmetric (HMAC) key is a shared secret and is never exported",
            ));
        }
        let alg = self.algorithm();
        let public = jwt_jwk::Jwk::from_decoding_key(self.decoding_key(), Some(alg))
            .map_err(|e| malformed("the public key could not be encoded").with_source(e))?;
        let mut jwk = Jwk {
            kty: String::new(),
            kid: None,
            key_use: Some("sig".to_owned()),
            key_ops: None,
            alg: Some(alg_name(alg).to_owned()),
            crv: None,
            x: None,
            y: None,
            n: None,
            e: None,
            other: Vec::new(),
        };
        match public.algorithm {
            AlgorithmParameters::EllipticCurve(p) => {
                jwk.kty = "EC".to_owned();
                jwk.crv = Some(
                    match p.curve {
                        EllipticCurve::P256 => "P-256",
                        EllipticCurve::P384 => "P-384",
                        _ => return Err(unsupported("unsupported curve")),
                    }
                    .to_owned(),
                );
                jwk.x = Some(p.x);
                jwk.y = Some(p.y);
            }
            AlgorithmParameters::OctetKeyPair(p) => {
                jwk.kty = "OKP".to_owned();
                jwk.crv = Some("Ed25519".to_owned());
                jwk.x = Some(p.x);
            }
            AlgorithmParameters::RSA(p) => {
                // RFC 7518 §6.3.1: the minimum number of octets, so thumbprints are stable.
                jwk.kty = "RSA".to_owned();
                jwk.n = Some(minimal_unsigned(&p.n)?);
                jwk.e = Some(minimal_unsigned(&p.e)?);
            }
            _ => return Err(unsupported("unsupported key type")),
        }
        Ok(jwk)
    }

    /// The RFC 7638 thumbprint of this key's public JWK (see [`Jwk::thumbprint`]): a
    /// stable kid, the same wherever the key is loaded. [`JwkErrorKind::Symmetric`] for an
    /// HMAC key.
    pub fn thumbprint(&self) -> Result<String, JwkError> {
        self.to_jwk()?.thumbprint()
    }
}

fn unsupported(message: &'static str) -> JwkError {
    JwkError::new(JwkErrorKind::Unsupported, message)
}

fn mismatch(message: impl Into<Cow<'static, str>>) -> JwkError {
    JwkError::new(JwkErrorKind::AlgorithmMismatch, message)
}

/// The algorithm the JWK is bound to: its `kty`/`crv`, checked against `alg` when present.
fn key_algorithm(jwk: &Jwk) -> Result<Algorithm, JwkError> {
    let crv = jwk.crv.as_deref();
    let inferred = match (jwk.kty.as_str(), crv) {
        ("EC", Some("P-256")) => Algorithm::ES256,
        ("EC", Some("P-384")) => Algorithm::ES384,
        ("OKP", Some("Ed25519")) => Algorithm::EdDSA,
        ("OKP", Some("X25519" | "X448")) => {
            return Err(JwkError::new(
                JwkErrorKind::NotForSignatures,
                "an X25519/X448 key is for key agreement",
            ));
        }
        ("EC" | "OKP", None) => return Err(malformed("member \"crv\" is missing")),
        ("EC", Some("Ed25519" | "Ed448" | "X25519" | "X448"))
        | ("OKP", Some("P-256" | "P-384" | "P-521" | "secp256k1")) => {
            return Err(mismatch(format!(
                "curve {:?} does not belong to a {} key",
                crv.unwrap_or_default(),
                jwk.kty
            )));
        }
        ("EC" | "OKP", Some(_)) => return Err(unsupported("unsupported curve")),
        ("RSA", Some(_)) => return Err(mismatch("an RSA key has no \"crv\"")),
        ("RSA", None) => Algorithm::RS256,
        _ => return Err(unsupported("unsupported key type")),
    };
    let Some(name) = jwk.alg.as_deref() else {
        return Ok(inferred);
    };
    if ENCRYPTION_ALGS.contains(&name) {
        return Err(JwkError::new(
            JwkErrorKind::NotForSignatures,
            format!("\"alg\" {name:?} is an encryption algorithm"),
        ));
    }
    let named = match name {
        "HS256" => Algorithm::HS256,
        "HS384" => Algorithm::HS384,
        "HS512" => Algorithm::HS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "EdDSA" => Algorithm::EdDSA,
        _ if name.eq_ignore_ascii_case("none") => {
            return Err(mismatch("\"alg\" none is never a key's algorithm"));
        }
        _ => return Err(unsupported("unsupported \"alg\"")),
    };
    let fits = match jwk.kty.as_str() {
        "RSA" => matches!(
            named,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        ),
        _ => named == inferred,
    };
    if fits {
        Ok(named)
    } else {
        Err(mismatch(format!(
            "\"alg\" {name:?} does not fit a {} key{}",
            jwk.kty,
            crv.map(|c| format!(" on {c}")).unwrap_or_default()
        )))
    }
}

/// Refuse the members of the other key types.
fn forbid_members(jwk: &Jwk, members: &[(&'static str, &Option<String>)]) -> Result<(), JwkError> {
    match members.iter().find(|(_, value)| value.is_some()) {
        Some((name, _)) => Err(malformed(format!(
            "member {name:?} does not belong to a {} key",
            jwk.kty
        ))),
        None => Ok(()),
    }
}

/// A required base64url member, decoded strictly (no padding, canonical last character).
fn decode_member(name: &'static str, value: &Option<String>) -> Result<Vec<u8>, JwkError> {
    let value = value
        .as_deref()
        .ok_or_else(|| malformed(format!("member {name:?} is missing")))?;
    URL_SAFE_NO_PAD
        .decode(value)
        .map_err(|e| malformed(format!("member {name:?} is not base64url")).with_source(e))
}

fn ec_key(jwk: &Jwk, alg: Algorithm) -> Result<Key, JwkError> {
    forbid_members(jwk, &[("n", &jwk.n), ("e", &jwk.e)])?;
    let size = if alg == Algorithm::ES256 { 32 } else { 48 };
    let x = decode_member("x", &jwk.x)?;
    let y = decode_member("y", &jwk.y)?;
    if x.len() != size || y.len() != size {
        return Err(malformed(format!(
            "EC coordinates on {} are {size} bytes each",
            jwk.crv.as_deref().unwrap_or_default()
        )));
    }
    let mut point = Vec::with_capacity(1 + 2 * size);
    point.push(0x04);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    validate_ec_point(alg, &point)?;
    Key::from_public(alg, DecodingKey::from_ec_der(&point))
        .map_err(|e| malformed("the EC key was refused").with_source(e))
}

/// Check that the point is on its curve, where the backend offers it (aws-lc-rs).
/// Without it, an off-curve point is refused at the first verification instead.
#[cfg(feature = "aws_lc_rs")]
fn validate_ec_point(alg: Algorithm, point: &[u8]) -> Result<(), JwkError> {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_FIXED, ParsedPublicKey};
    let verification = if alg == Algorithm::ES256 {
        &ECDSA_P256_SHA256_FIXED
    } else {
        &ECDSA_P384_SHA384_FIXED
    };
    ParsedPublicKey::new(verification, point)
        .map(|_| ())
        .map_err(|e| malformed("the EC point is not on its curve").with_source(e.to_string()))
}

#[cfg(not(feature = "aws_lc_rs"))]
fn validate_ec_point(_alg: Algorithm, _point: &[u8]) -> Result<(), JwkError> {
    Ok(())
}

fn okp_key(jwk: &Jwk) -> Result<Key, JwkError> {
    forbid_members(jwk, &[("y", &jwk.y), ("n", &jwk.n), ("e", &jwk.e)])?;
    let x = decode_member("x", &jwk.x)?;
    if x.len() != 32 {
        return Err(malformed("an Ed25519 public key is 32 bytes"));
    }
    Key::ed25519_public_from_bytes(&x)
        .map_err(|e| malformed("the Ed25519 key was refused").with_source(e))
}

fn rsa_key(jwk: &Jwk, alg: Algorithm) -> Result<Key, JwkError> {
    forbid_members(jwk, &[("x", &jwk.x), ("y", &jwk.y)])?;
    let n = decode_member("n", &jwk.n)?;
    let e = decode_member("e", &jwk.e)?;
    let n = strip_leading_zeros(&n);
    let e = strip_leading_zeros(&e);
    if e.is_empty() || e.len() > 8 {
        return Err(malformed("the RSA exponent is out of range"));
    }
    let bits = n.first().map_or(0, |top| {
        (n.len() as u64 - 1) * 8 + u64::from(8 - top.leading_zeros())
    });
    if bits < MIN_RSA_BITS as u64 {
        return Err(JwkError::new(
            JwkErrorKind::WeakKey,
            format!("RSA modulus must be at least {MIN_RSA_BITS} bits, got {bits}"),
        ));
    }
    Key::from_public(alg, DecodingKey::from_rsa_raw_components(n, e))
        .map_err(|e| malformed("the RSA key was refused").with_source(e))
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

/// Re-encode a base64url big-endian integer without leading zero octets.
fn minimal_unsigned(b64: &str) -> Result<String, JwkError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(b64)
        .map_err(|e| malformed("the backend wrote an invalid RSA component").with_source(e))?;
    Ok(URL_SAFE_NO_PAD.encode(strip_leading_zeros(&bytes)))
}

// ---------------------------------------------------------------------------------------------
// Keyset <-> JwkSet
// ---------------------------------------------------------------------------------------------

/// A verify-only keyset read from a JWK Set, and how many keys were skipped.
pub(crate) fn import_jwks(jwks: &JwkSet) -> Result<(Keyset, usize), JwkError> {
    if jwks.keys.len() > MAX_JWKS_KEYS {
        return Err(JwkError::new(
            JwkErrorKind::TooManyKeys,
            format!(
                "the set has {} keys, more than {MAX_JWKS_KEYS}",
                jwks.keys.len()
            ),
        ));
    }
    let mut keys: Vec<(String, Key)> = Vec::with_capacity(jwks.keys.len());
    let mut kids = HashSet::with_capacity(jwks.keys.len());
    let mut skipped = 0;
    for (i, jwk) in jwks.keys.iter().enumerate() {
        let key = match Key::from_jwk(jwk) {
            Ok(key) => key,
            Err(e) if e.kind.skipped_in_sets() => {
                skipped += 1;
                continue;
            }
            Err(e) => return Err(e.at(i)),
        };
        let kid = jwk
            .kid
            .clone()
            .unwrap_or_else(|| format!("{KID_NOT_SET_PREFIX}{}", alg_name(key.algorithm())));
        check_kid(&kid, &key).map_err(|e| {
            JwkError::new(JwkErrorKind::InvalidKid, "the kid is not valid")
                .with_source(e)
                .at(i)
        })?;
        if !kids.insert(kid.clone()) {
            return Err(JwkError::new(
                JwkErrorKind::DuplicateKid,
                format!("kid {kid:?} appears twice"),
            )
            .at(i));
        }
        keys.push((kid, key));
    }
    if keys.is_empty() {
        return Err(JwkError::new(
            JwkErrorKind::NoKeys,
            format!("no key for verifying signatures ({skipped} skipped)"),
        ));
    }
    let keyset = Keyset::verify_only(keys).map_err(|e| {
        JwkError::new(JwkErrorKind::InvalidKid, "the keys do not form a keyset").with_source(e)
    })?;
    Ok((keyset, skipped))
}

impl Keyset {
    /// A verify-only keyset from a JWK Set: every usable key under its `kid` (or
    /// `kid_not_set.<ALG>` when it has none). Keys that are not for signatures or of an
    /// unsupported type are skipped; anything hostile refuses the whole set (see the
    /// [module docs](crate::token::jwk)).
    pub fn from_jwks(jwks: &JwkSet) -> Result<Self, JwkError> {
        import_jwks(jwks).map(|(keyset, _)| keyset)
    }

    /// The JWK Set of this keyset's public keys, sorted by kid, each with its `kid`, `alg`
    /// and `"use":"sig"`. Symmetric (HMAC) keys are left out: they are never published.
    pub fn to_jwks(&self) -> Result<JwkSet, JwkError> {
        let mut entries: Vec<(&str, &Key)> = self.iter().collect();
        entries.sort_unstable_by_key(|(kid, _)| *kid);
        let mut keys = Vec::with_capacity(entries.len());
        for (kid, key) in entries {
            if key.is_symmetric() {
                continue;
            }
            keys.push(key.to_jwk()?.with_kid(kid));
        }
        Ok(JwkSet { keys })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_snake_case_names() {
        let kinds = [
            (JwkErrorKind::Malformed, "Malformed"),
            (JwkErrorKind::Symmetric, "Symmetric"),
            (JwkErrorKind::PrivateKey, "PrivateKey"),
            (JwkErrorKind::NotForSignatures, "NotForSignatures"),
            (JwkErrorKind::AlgorithmMismatch, "AlgorithmMismatch"),
            (JwkErrorKind::Unsupported, "Unsupported"),
            (JwkErrorKind::WeakKey, "WeakKey"),
            (JwkErrorKind::InvalidKid, "InvalidKid"),
            (JwkErrorKind::DuplicateKid, "DuplicateKid"),
            (JwkErrorKind::NoKeys, "NoKeys"),
            (JwkErrorKind::TooManyKeys, "TooManyKeys"),
        ];
        for (kind, variant) in kinds {
            assert_eq!(format!("{kind:?}"), variant);
            let mut snake = String::new();
            for c in variant.chars() {
                if c.is_ascii_uppercase() && !snake.is_empty() {
                    snake.push('_');
                }
                snake.push(c.to_ascii_lowercase());
            }
            assert_eq!(kind.as_str(), snake);
        }
    }

    #[test]
    fn strip_and_minimal_encoding() {
        assert_eq!(strip_leading_zeros(&[0, 0, 1, 0]), &[1, 0]);
        assert_eq!(strip_leading_zeros(&[0, 0]), &[] as &[u8]);
        assert_eq!(minimal_unsigned("AAEAAQ").unwrap(), "AQAB");
    }

    #[test]
    fn repeated_members_are_malformed() {
        let err = Jwk::from_json(br#"{"kty":"OKP","kty":"RSA"}"#).unwrap_err();
        assert_eq!(err.kind(), JwkErrorKind::Malformed);
        let err = JwkSet::from_json(br#"{"keys":[],"keys":[]}"#).unwrap_err();
        assert_eq!(err.kind(), JwkErrorKind::Malformed);
        let err = serde_json::from_str::<JwkSet>(r#"{"keys":[{"kty":"EC","x":"a","x":"b"}]}"#);
        assert!(err.is_err());
    }
}
