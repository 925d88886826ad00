//! The JOSE header: the fixed form this crate writes and the checks on the headers it reads.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use crate::error::{AuthError, AuthErrorKind};
use crate::token::json::strict_object;

/// The only header parameters a token may carry; any other makes it refused
/// ([`AuthErrorKind::HeaderForbidden`]).
///
/// `alg` and `kid` choose the key (the key then fixes the algorithm); `typ`, when present,
/// must be `JWT` or `at+jwt` (RFC 9068), in any casing, with or without the `application/`
/// prefix; `x5t` and `x5t#S256` (certificate thumbprints some identity providers add) are
/// tolerated as hints and never used.
pub const ALLOWED_HEADER_PARAMS: [&str; 5] = ["alg", "typ", "kid", "x5t", "x5t#S256"];

/// Header parameters that are known to be dangerous, named in the error detail when a
/// token carries one (every parameter outside [`ALLOWED_HEADER_PARAMS`] is refused too).
///
/// `crit` demands extensions this crate does not implement; `zip`, `enc`, `epk`, `p2s`,
/// `p2c`, `apu`, `apv`, `iv` and `tag` belong to JWE; `cty` announces a nested token; `jku`,
/// `jwk`, `x5u` and `x5c` would let the token name its own verification key.
pub const FORBIDDEN_HEADER_PARAMS: [&str; 16] = [
    "crit", "zip", "enc", "jku", "jwk", "x5u", "x5c", "cty", "epk", "p2s", "p2c", "apu", "apv",
    "iv", "tag", "b64",
];

/// The header fields this crate acts on.
#[derive(Debug)]
pub(crate) struct Header {
    pub(crate) alg: String,
    pub(crate) kid: Option<String>,
}

/// The base64url form of `{"alg":"<alg>","typ":"JWT","kid":"<kid>"}`, field order fixed
/// (Charon's layout, which its verification fast path depends on).
pub(crate) fn encode(alg: &str, kid: &str) -> String {
    // `Value::to_string` writes a JSON string literal with every needed escape.
    let kid = Value::String(kid.to_owned());
    let json = format!(r#"{{"alg":"{alg}","typ":"JWT","kid":{kid}}}"#);
    URL_SAFE_NO_PAD.encode(json)
}

/// Decode and check a header segment.
///
/// - not base64url, not one JSON object, or a duplicate key: [`AuthErrorKind::TokenMalformed`];
/// - `alg` missing or not a string, `kid` present but not a string: `TokenMalformed`;
/// - any parameter outside [`ALLOWED_HEADER_PARAMS`] (its detail names it when it is one of
///   [`FORBIDDEN_HEADER_PARAMS`], else `unlisted`), or a `typ` other than `JWT` / `at+jwt`:
///   [`AuthErrorKind::HeaderForbidden`];
/// - `alg` equal to `none` in any casing: [`AuthErrorKind::AlgorithmMismatch`] (no key has
///   that algorithm).
pub(crate) fn parse(segment: &str) -> Result<Header, AuthError> {
    let malformed = || AuthError::new(AuthErrorKind::TokenMalformed);
    let bytes = URL_SAFE_NO_PAD.decode(segment).map_err(|_| malformed())?;
    let mut map = strict_object(&bytes).ok_or_else(malformed)?;
    if let Some(name) = map
        .keys()
        .find(|name| !ALLOWED_HEADER_PARAMS.contains(&name.as_str()))
    {
        // Never echo attacker-chosen text: name only the parameters we list.
        let detail = FORBIDDEN_HEADER_PARAMS
            .iter()
            .find(|known| **known == name.as_str())
            .copied()
            .unwrap_or("unlisted");
        return Err(AuthError::with_detail(
            AuthErrorKind::HeaderForbidden,
            detail,
        ));
    }
    match map.get("typ") {
        None => {}
        Some(Value::String(typ)) if is_jwt_type(typ) => {}
        Some(_) => {
            return Err(AuthError::with_detail(
                AuthErrorKind::HeaderForbidden,
                "typ",
            ));
        }
    }
    let Some(Value::String(alg)) = map.remove("alg") else {
        return Err(malformed());
    };
    if alg.eq_ignore_ascii_case("none") {
        return Err(AuthError::new(AuthErrorKind::AlgorithmMismatch));
    }
    let kid = match map.remove("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid),
        Some(_) => return Err(malformed()),
    };
    Ok(Header { alg, kid })
}

/// `JWT` or `at+jwt`, case-insensitively, optionally with the `application/` prefix
/// (RFC 7515 section 4.1.9, RFC 9068 section 2.1).
fn is_jwt_type(typ: &str) -> bool {
    let bare = match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => typ.get(12..).unwrap_or(""),
        _ => typ,
    };
    bare.eq_ignore_ascii_case("JWT") || bare.eq_ignore_ascii_case("at+jwt")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn b64(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn encodes_charon_layout() {
        let seg = encode("HS256", "default");
        let json = URL_SAFE_NO_PAD.decode(seg).unwrap();
        assert_eq!(json, br#"{"alg":"HS256","typ":"JWT","kid":"default"}"#);
        let seg = encode("EdDSA", "a\"b");
        let json = URL_SAFE_NO_PAD.decode(seg).unwrap();
        assert_eq!(json, br#"{"alg":"EdDSA","typ":"JWT","kid":"a\"b"}"#);
    }

    #[test]
    fn allowed_parameters_and_types() {
        for typ in [
            "JWT",
            "jwt",
            "at+jwt",
            "AT+JWT",
            "application/at+jwt",
            "application/JWT",
        ] {
            let json =
                format!(r#"{{"alg":"HS256","typ":"{typ}","kid":"k","x5t":"t","x5t#S256":"t"}}"#);
            assert!(parse(&b64(&json)).is_ok(), "{typ}");
        }
    }

    #[test]
    fn parses_alg_and_kid() {
        let h = parse(&b64(r#"{"alg":"HS256","kid":"k","typ":"JWT"}"#)).unwrap();
        assert_eq!((h.alg.as_str(), h.kid.as_deref()), ("HS256", Some("k")));
        let h = parse(&b64(r#"{"alg":"HS256"}"#)).unwrap();
        assert_eq!(h.kid, None);
    }

    #[test]
    fn refuses_bad_headers() {
        let cases = [
            (r#"{"kid":"k"}"#, AuthErrorKind::TokenMalformed),
            (r#"{"alg":1}"#, AuthErrorKind::TokenMalformed),
            (r#"{"alg":"HS256","kid":5}"#, AuthErrorKind::TokenMalformed),
            (
                r#"{"alg":"HS256","alg":"HS256"}"#,
                AuthErrorKind::TokenMalformed,
            ),
            (r#"["alg"]"#, AuthErrorKind::TokenMalformed),
            (r#"{"alg":"none"}"#, AuthErrorKind::AlgorithmMismatch),
            (
                r#"{"alg":"NoNe","kid":"k"}"#,
                AuthErrorKind::AlgorithmMismatch,
            ),
        ];
        for (json, kind) in cases {
            assert_eq!(parse(&b64(json)).unwrap_err().kind(), kind, "{json}");
        }
        for name in FORBIDDEN_HEADER_PARAMS {
            let json = format!(r#"{{"alg":"HS256","kid":"k","{name}":null}}"#);
            let err = parse(&b64(&json)).unwrap_err();
            assert_eq!(err.kind(), AuthErrorKind::HeaderForbidden, "{name}");
            assert_eq!(err.detail(), Some(name));
        }
        // Outside the allowlist: refused, and the name is not echoed.
        let err = parse(&b64(r#"{"alg":"HS256","x-evil\"name":1}"#)).unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::HeaderForbidden);
        assert_eq!(err.detail(), Some("unlisted"));
        for typ in [r#""JOSE""#, r#""secevent+jwt""#, "1", "null", r#""""#] {
            let json = format!(r#"{{"alg":"HS256","typ":{typ}}}"#);
            let err = parse(&b64(&json)).unwrap_err();
            assert_eq!(err.kind(), AuthErrorKind::HeaderForbidden, "{typ}");
        }
        assert_eq!(
            parse("e30=").unwrap_err().kind(),
            AuthErrorKind::TokenMalformed
        );
    }
}
