//! Fuzz harnesses, shared by the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`, through
//! `#[path = "../harness.rs"] mod harness;`) and by the corpus replay test of the main crate
//! (`tests/repository/fuzz_corpus.rs`), so a corpus file runs through the same code in both.
//!
//! Each harness takes arbitrary bytes. The library must never panic on them; the `assert!`s
//! here are the invariants checked on top, and a failing one is a finding like a panic.
//! Only the main crate's own dependencies are used, so the test can include this file.

// Each fuzz target calls one harness; the replay test calls them all.
#![allow(dead_code)]

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use charon_auth::AuthErrorKind;
use charon_auth::internals::redis_blob::{BLOB_TAG, decode_blob, encode_blob};
use charon_auth::session::{Session, SessionKey, SessionType};
use charon_auth::store::redis::SigningKey;
use charon_auth::token::{Claims, JwtCodec, Key, Keyset, MAX_TOKEN_LEN, TokenType};
use charon_auth::transport::{DEFAULT_ACCESS_COOKIE_NAME, GateLimits, Transport, extract_token};
use hmac::{Hmac, Mac};
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName, HeaderValue};
use sha2::Sha256;

// ------------------------------------------------------------------------------------------
// gate: headers and cookies -> token or error
// ------------------------------------------------------------------------------------------

/// The request gate, [`extract_token`], with the default cookie name, under the default
/// limits and under the smallest allowed `max_token_len`.
///
/// Input: one header per line, `name:value` (one space after the colon is dropped, a
/// trailing `\r` too). Lines whose name or value `http` refuses are skipped, as no
/// `HeaderMap` can hold them.
///
/// Invariants: an error is `MalformedRequest` or `TokenNotFound`; a token is non-empty,
/// within the cap, visible ASCII only (the documented contract: the gate checks the shape
/// of the request, the base64url alphabet is the token gate's job), matches the headers it
/// came from for its transport, and passes the gate again when sent alone as a bearer token.
pub(crate) fn gate(data: &[u8]) {
    let headers = header_map(data);
    let limits = [
        GateLimits::default(),
        GateLimits::default().with_max_token_len(GateLimits::MIN_MAX_TOKEN_LEN),
    ];
    for limits in &limits {
        check_gate(&headers, limits);
    }
}

fn header_map(data: &[u8]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for line in data.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = line.split_at(colon);
        let value = value.get(1..).unwrap_or_default();
        let value = value.strip_prefix(b" ").unwrap_or(value);
        let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        else {
            continue;
        };
        map.append(name, value);
    }
    map
}

fn check_gate(headers: &HeaderMap, limits: &GateLimits) {
    let extracted = match extract_token(headers, DEFAULT_ACCESS_COOKIE_NAME, limits) {
        Ok(extracted) => extracted,
        Err(e) => {
            assert!(
                matches!(
                    e.kind(),
                    AuthErrorKind::MalformedRequest | AuthErrorKind::TokenNotFound
                ),
                "unexpected error kind {:?}",
                e.kind()
            );
            return;
        }
    };
    let token: &str = &extracted.token;
    assert!(!token.is_empty(), "empty token");
    assert!(token.len() <= limits.max_token_len(), "token over the cap");
    assert!(
        token.bytes().all(|b| b.is_ascii_graphic()),
        "token holds bytes other than visible ASCII"
    );
    let bearer = bearer_credentials(headers);
    match extracted.transport {
        Transport::Bearer => {
            assert_eq!(bearer, Some(token), "bearer token differs from the header");
        }
        Transport::Cookie => {
            let header = bearer.expect("a stitched token without an authorization header");
            let signature = token
                .strip_prefix(header)
                .expect("a stitched token not starting with the header part");
            assert_eq!(header.bytes().filter(|&b| b == b'.').count(), 1);
            assert!(signature.starts_with('.'), "cookie part without a dot");
            assert!(
                signature.bytes().all(cookie_octet),
                "cookie part not cookie octets"
            );
        }
        Transport::CookieOnly => {
            assert_eq!(bearer, None, "cookie-only token despite a bearer header");
            assert!(!token.starts_with('.'), "a lone signature taken as a token");
            assert!(
                token.bytes().all(cookie_octet),
                "cookie token not cookie octets"
            );
        }
        other => panic!("unknown transport {other:?}"),
    }
    // Whatever the gate hands out, it accepts again as a plain bearer token.
    let mut alone = HeaderMap::new();
    let value = HeaderValue::from_str(&format!("Bearer {token}")).expect("header value");
    alone.insert(AUTHORIZATION, value);
    let again = extract_token(&alone, DEFAULT_ACCESS_COOKIE_NAME, limits)
        .expect("an extracted token refused as a bearer token");
    assert_eq!(&*again.token, token);
    assert_eq!(again.transport, Transport::Bearer);
}

/// The credentials of a single `Authorization: Bearer <credentials>` header.
fn bearer_credentials(headers: &HeaderMap) -> Option<&str> {
    let mut all = headers.get_all(AUTHORIZATION).iter();
    let value = all.next()?.to_str().ok()?;
    if all.next().is_some() {
        return None;
    }
    let (scheme, credentials) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(credentials)
}

fn cookie_octet(b: u8) -> bool {
    b.is_ascii_graphic() && !matches!(b, b'"' | b',' | b';' | b'\\')
}

// ------------------------------------------------------------------------------------------
// verify: bytes as a token against a fixed keyset
// ------------------------------------------------------------------------------------------

/// Issuer of the fixed codec.
pub(crate) const ISSUER: &str = "charon-fuzz";
/// The time most checks run at (the seeds are valid then).
pub(crate) const NOW: i64 = 1_700_000_000;
/// Secret of the HS256 signing key `k1`.
pub(crate) const HS_SECRET: [u8; 32] = [0x5a; 32];
/// RFC 7515 A.1 HMAC key, the keyset's `kid_not_set.HS256` entry.
pub(crate) const RFC7515_A1_K: &str =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
/// RFC 8037 A.1 Ed25519 seed, the keyset's EdDSA key `ed` (also `kid_not_set.EdDSA`).
pub(crate) const RFC8037_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";

const TIMES: [i64; 4] = [i64::MIN, 0, NOW, i64::MAX];

struct Codecs {
    /// `k1` (HS256, signing), `ed` (EdDSA), `kid_not_set.HS256`, `kid_not_set.EdDSA`.
    main: JwtCodec,
    /// Signs with `ed`.
    ed: JwtCodec,
    /// The encoded header the main codec writes for `k1`.
    k1_header: String,
    rfc7515_key: Vec<u8>,
}

fn codecs() -> &'static Codecs {
    static CODECS: OnceLock<Codecs> = OnceLock::new();
    CODECS.get_or_init(|| {
        let rfc7515_key = URL_SAFE_NO_PAD.decode(RFC7515_A1_K).expect("RFC 7515 key");
        let seed = URL_SAFE_NO_PAD.decode(RFC8037_D).expect("RFC 8037 seed");
        let ed_key = || Key::ed25519_from_seed(&seed).expect("ed25519 key");
        let keyset = Keyset::new("k1", Key::hs256(&HS_SECRET).expect("hs256 key"))
            .and_then(|k| k.with_key("ed", ed_key()))
            .and_then(|k| {
                k.with_key(
                    "kid_not_set.HS256",
                    Key::hs256(&rfc7515_key).expect("hs256 key"),
                )
            })
            .and_then(|k| k.with_key("kid_not_set.EdDSA", ed_key()))
            .expect("keyset");
        let main = JwtCodec::new(keyset, ISSUER).expect("codec");
        let ed =
            JwtCodec::new(Keyset::new("ed", ed_key()).expect("keyset"), ISSUER).expect("codec");
        let sample = Claims::new(TokenType::Access, ISSUER, "u", "s", "full", "j");
        let token = main.sign(&sample).expect("sign");
        let k1_header = token.split('.').next().unwrap_or_default().to_owned();
        Codecs {
            main,
            ed,
            k1_header,
            rfc7515_key,
        }
    })
}

/// Token verification: [`verify_raw`] and [`verify_signed`] on the same input.
pub(crate) fn verify(data: &[u8]) {
    verify_raw(data);
    verify_signed(data);
}

/// The input, if UTF-8, as a token: `verify_signature`, and `verify` for both token types at
/// several times. Invariants: `verify` succeeds only if `verify_signature` does, with the
/// expected type and issuer, for a kid of the keyset; its claims, signed again, verify to
/// the same claims.
pub(crate) fn verify_raw(data: &[u8]) {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let c = codecs();
    let jws = c.main.verify_signature(token);
    if let Ok(jws) = &jws {
        assert!(c.main.keyset().get(jws.kid()).is_some(), "unknown kid");
    }
    for now in TIMES {
        for expected in [TokenType::Access, TokenType::Refresh] {
            let Ok(claims) = c.main.verify(token, now, expected) else {
                continue;
            };
            assert!(jws.is_ok(), "claims verified without a valid signature");
            assert_eq!(claims.token_type(), Some(expected));
            assert_eq!(claims.iss, ISSUER);
            let again = c.main.sign(&claims).expect("sign verified claims");
            if again.len() <= MAX_TOKEN_LEN {
                let back = c.main.verify(&again, now, expected);
                assert_eq!(back.as_ref().ok(), Some(&claims), "re-signed claims differ");
            }
        }
    }
}

/// Signed variant, to get past the signature check: the first byte picks how the rest is
/// turned into a validly signed token, which then goes through [`verify_raw`].
///
/// - `0 mod 4`: the rest is the payload, under `k1`'s exact header (the fast path);
/// - `1 mod 4`: the rest is `header JSON \0 payload`, HS256-signed with `k1`'s secret (the
///   header parser);
/// - `2 mod 4`: the rest is the payload, under `{"alg":"HS256"}` signed with the RFC 7515
///   key (`kid_not_set.HS256`);
/// - `3 mod 4`: the rest, if it parses as claims, is signed with the EdDSA key.
///
/// Invariants: modes 0 and 2 (and 3) pass `verify_signature`, with the right kid, and the
/// payload comes back byte for byte.
pub(crate) fn verify_signed(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let c = codecs();
    // The token, the kid it must verify under (if predictable) and its payload.
    let (token, kid, payload) = match mode % 4 {
        0 => (
            hs256_token(&c.k1_header, rest, &HS_SECRET),
            Some("k1"),
            Some(rest),
        ),
        1 => {
            let (header, payload) = match rest.iter().position(|&b| b == 0) {
                Some(i) => (
                    rest.get(..i).unwrap_or_default(),
                    rest.get(i + 1..).unwrap_or_default(),
                ),
                None => (rest, &[][..]),
            };
            let header = URL_SAFE_NO_PAD.encode(header);
            (
                hs256_token(&header, payload, &HS_SECRET),
                None,
                Some(payload),
            )
        }
        2 => {
            let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256"}"#);
            (
                hs256_token(&header, rest, &c.rfc7515_key),
                Some("kid_not_set.HS256"),
                Some(rest),
            )
        }
        _ => {
            let Ok(claims) = Claims::from_payload(rest) else {
                return;
            };
            (c.ed.sign(&claims).expect("sign with ed"), Some("ed"), None)
        }
    };
    let jws = c.main.verify_signature(&token);
    if let Some(kid) = kid.filter(|_| token.len() <= MAX_TOKEN_LEN) {
        let jws = jws.as_ref().expect("a validly signed token refused");
        assert_eq!(jws.kid(), kid);
    }
    if let (Ok(jws), Some(payload)) = (&jws, payload) {
        assert_eq!(jws.payload(), payload, "payload changed");
    }
    verify_raw(token.as_bytes());
}

/// `header.base64url(payload).HS256(secret)`.
fn hs256_token(header: &str, payload: &[u8], secret: &[u8]) -> String {
    let mut token = format!("{header}.{}", URL_SAFE_NO_PAD.encode(payload));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("hmac key");
    mac.update(token.as_bytes());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(mac.finalize().into_bytes(), &mut token);
    token
}

// ------------------------------------------------------------------------------------------
// blob: stored session blobs
// ------------------------------------------------------------------------------------------

/// Key of the fixed blob signer.
pub(crate) const BLOB_KEY: [u8; 32] = [7; 32];
/// The session id, user id (and default type `full`) blobs are decoded for.
pub(crate) const BLOB_SESSION_ID: &str = "sid-fuzz";
/// See [`BLOB_SESSION_ID`].
pub(crate) const BLOB_USER_ID: &str = "user-fuzz";

/// Stored-blob decoding: [`blob_raw`] and [`blob_signed`] on the same input.
pub(crate) fn blob(data: &[u8]) {
    blob_raw(data);
    blob_signed(data);
}

/// The input as a stored blob (`decode_blob` with a fixed key and expected session) and as
/// a serialized session (`Session::from_versioned_bytes`). Invariants: a decoded session
/// belongs to the expected key, and re-serializes and re-encodes to itself.
pub(crate) fn blob_raw(data: &[u8]) {
    let key = SigningKey::from_bytes(BLOB_KEY);
    let session_type = SessionType::default();
    let expected = SessionKey::new(BLOB_SESSION_ID, BLOB_USER_ID, &session_type);
    if let Some(session) = decode_blob(&key, data, expected) {
        assert!(session.matches(&expected), "decoded another session");
        check_session(&session);
    }
    if let Some(session) = Session::from_versioned_bytes(data) {
        check_session(&session);
    }
}

/// Signed variant, to get past the HMAC: the input is the payload of a validly signed blob.
/// Invariants: the blob decodes exactly when the payload parses as a session of the
/// expected key, to that session; under another key it never decodes.
pub(crate) fn blob_signed(payload: &[u8]) {
    let key = SigningKey::from_bytes(BLOB_KEY);
    let session_type = SessionType::default();
    let expected = SessionKey::new(BLOB_SESSION_ID, BLOB_USER_ID, &session_type);
    let blob = sign_blob(&BLOB_KEY, payload);
    let decoded = decode_blob(&key, &blob, expected);
    let parsed = Session::from_versioned_bytes(payload).filter(|s| s.matches(&expected));
    assert_eq!(decoded, parsed, "decode_blob disagrees with the payload");
    if let Some(session) = &decoded {
        check_session(session);
    }
    let other = SigningKey::from_bytes([8; 32]);
    assert_eq!(
        decode_blob(&other, &blob, expected),
        None,
        "wrong key accepted"
    );
}

/// `c1.` || HMAC-SHA256(key, payload) || payload.
pub(crate) fn sign_blob(key: &[u8; 32], payload: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("hmac key");
    mac.update(payload);
    let mut blob = BLOB_TAG.to_vec();
    blob.extend_from_slice(&mac.finalize().into_bytes());
    blob.extend_from_slice(payload);
    blob
}

fn check_session(session: &Session) {
    let bytes = session.to_versioned_bytes();
    assert_eq!(
        Session::from_versioned_bytes(&bytes).as_ref(),
        Some(session),
        "session does not survive serialization"
    );
    let key = SigningKey::from_bytes(BLOB_KEY);
    let blob = encode_blob(&key, session);
    assert_eq!(
        decode_blob(&key, &blob, session.key()).as_ref(),
        Some(session),
        "session does not survive encoding"
    );
}
