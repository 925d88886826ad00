//! Integration tests of the token module: RFC vectors, every algorithm, rotation, and the
//! rejection catalogue.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use charon_auth::token::{
    Algorithm, Claims, ClaimsProfile, FORBIDDEN_HEADER_PARAMS, JwtCodec, Key, Keyset,
    MAX_TOKEN_LEN, RESERVED_CLAIMS, TokenType,
};
use charon_auth::{AuthError, AuthErrorKind, ConfigErrorKind};
use serde_json::{Value, json};
use std::time::Duration;

const NOW: i64 = 1_700_000_000;
const ISS: &str = "charon-test";
const SECRET: [u8; 32] = [0x5a; 32];

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/keys/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(path).unwrap()
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn claims(token_type: TokenType) -> Claims {
    Claims::new(token_type, ISS, "user-1", "sid-1", "full", "jti-1").with_validity(NOW, NOW + 900)
}

fn hs_codec() -> JwtCodec {
    JwtCodec::new(
        Keyset::new("k1", Key::hs256(&SECRET).unwrap()).unwrap(),
        ISS,
    )
    .unwrap()
}

/// A token with an arbitrary header and payload, HMAC-SHA256-signed with `SECRET`.
fn forge(header: &Value, payload: &[u8]) -> String {
    let _ = hs_codec(); // makes sure a crypto provider is installed (all-features builds)
    let input = format!("{}.{}", b64(header.to_string()), b64(payload));
    let sig = jsonwebtoken::crypto::sign(
        input.as_bytes(),
        &jsonwebtoken::EncodingKey::from_secret(&SECRET),
        Algorithm::HS256,
    )
    .unwrap();
    format!("{input}.{sig}")
}

fn hs_header() -> Value {
    json!({"alg": "HS256", "typ": "JWT", "kid": "k1"})
}

fn payload(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap()
}

fn kind<T: std::fmt::Debug>(r: Result<T, AuthError>) -> AuthErrorKind {
    r.unwrap_err().kind()
}

// ------------------------------------------------------------------------------------------
// RFC vectors
// ------------------------------------------------------------------------------------------

const RFC7515_A1_K: &str =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
const RFC7515_A1_TOKEN: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

const RFC8037_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
const RFC8037_A4_TOKEN: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

#[test]
fn rfc7515_a1_hs256_verifies_through_kid_not_set() {
    let k = URL_SAFE_NO_PAD.decode(RFC7515_A1_K).unwrap();
    let keyset = Keyset::new("k1", Key::hs256(&SECRET).unwrap())
        .unwrap()
        .with_key("kid_not_set.HS256", Key::hs256(&k).unwrap())
        .unwrap();
    let codec = JwtCodec::new(keyset, ISS).unwrap();
    let jws = codec.verify_signature(RFC7515_A1_TOKEN).unwrap();
    assert_eq!(jws.kid(), "kid_not_set.HS256");
    assert_eq!(
        jws.payload(),
        b"{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}"
    );

    // Without the explicit fallback entry there is no key for a kid-less token.
    let codec = JwtCodec::new(Keyset::new("k1", Key::hs256(&k).unwrap()).unwrap(), ISS).unwrap();
    assert_eq!(
        kind(codec.verify_signature(RFC7515_A1_TOKEN)),
        AuthErrorKind::KeyNotFound
    );
}

#[test]
fn rfc8037_a4_ed25519_verifies_through_kid_not_set() {
    let d = URL_SAFE_NO_PAD.decode(RFC8037_D).unwrap();
    let x = URL_SAFE_NO_PAD.decode(RFC8037_X).unwrap();
    for key in [
        Key::ed25519_from_seed(&d).unwrap(),
        Key::ed25519_public_from_bytes(&x).unwrap(),
    ] {
        let keyset = Keyset::new("k1", Key::hs256(&SECRET).unwrap())
            .unwrap()
            .with_key("kid_not_set.EdDSA", key)
            .unwrap();
        let codec = JwtCodec::new(keyset, ISS).unwrap();
        let jws = codec.verify_signature(RFC8037_A4_TOKEN).unwrap();
        assert_eq!(jws.payload(), b"Example of Ed25519 signing");
        assert_eq!(jws.algorithm(), Algorithm::EdDSA);
    }

    // The PKCS#8 built from the seed signs exactly the RFC's signature (Ed25519 is
    // deterministic), so the seed constructor is right byte for byte.
    let mut der = hex::decode("302e020100300506032b657004220420").unwrap();
    der.extend_from_slice(&d);
    let key = Key::ed25519_from_pkcs8_der(&der).unwrap();
    assert!(key.can_sign());
    let (input, sig) = RFC8037_A4_TOKEN.rsplit_once('.').unwrap();
    let ours = jsonwebtoken::crypto::sign(
        input.as_bytes(),
        &jsonwebtoken::EncodingKey::from_ed_der(&der),
        Algorithm::EdDSA,
    )
    .unwrap();
    assert_eq!(ours, sig);
}

// ------------------------------------------------------------------------------------------
// Keys and round trips
// ------------------------------------------------------------------------------------------

/// (algorithm, private key, public key)
fn asymmetric_keys() -> Vec<(Algorithm, Key, Key)> {
    let ed = (
        Algorithm::EdDSA,
        Key::ed25519_from_pem(&fixture("ed25519.pem")).unwrap(),
        Key::ed25519_public_from_pem(&fixture("ed25519.pub.pem")).unwrap(),
    );
    let mut keys = vec![ed];
    for (alg, name) in [(Algorithm::ES256, "es256"), (Algorithm::ES384, "es384")] {
        let private = Key::ec_from_pem(alg, &fixture(&format!("{name}.pem"))).unwrap();
        let public = Key::ec_public_from_pem(alg, &fixture(&format!("{name}.pub.pem"))).unwrap();
        keys.push((alg, private, public));
    }
    for alg in [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
    ] {
        let private = Key::rsa_from_pem(alg, &fixture("rsa2048.pem")).unwrap();
        let public = Key::rsa_public_from_pem(alg, &fixture("rsa2048.pub.pem")).unwrap();
        keys.push((alg, private, public));
    }
    keys
}

#[test]
fn round_trip_every_algorithm() {
    let mut keys: Vec<(Algorithm, Key, Option<Key>)> = vec![
        (Algorithm::HS256, Key::hs256(&[1; 32]).unwrap(), None),
        (Algorithm::HS384, Key::hs384(&[2; 48]).unwrap(), None),
        (Algorithm::HS512, Key::hs512(&[3; 64]).unwrap(), None),
    ];
    keys.extend(
        asymmetric_keys()
            .into_iter()
            .map(|(alg, private, public)| (alg, private, Some(public))),
    );
    for (alg, private, public) in keys {
        assert_eq!(private.algorithm(), alg);
        assert!(private.can_sign());
        let codec = JwtCodec::new(Keyset::new("main", private).unwrap(), ISS).unwrap();
        let mut claims = claims(TokenType::Access);
        claims.insert_extra("scope", json!("read")).unwrap();
        let token = codec.sign(&claims).unwrap();

        let header = URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap();
        let expected = format!(r#"{{"alg":"{alg:?}","typ":"JWT","kid":"main"}}"#);
        assert_eq!(String::from_utf8(header).unwrap(), expected);

        assert_eq!(
            codec.verify(&token, NOW, TokenType::Access).unwrap(),
            claims,
            "{alg:?}"
        );

        if let Some(public) = public {
            assert_eq!(public.algorithm(), alg);
            assert!(!public.can_sign());
            // A verifier holding only the public key under the same kid.
            let keyset = Keyset::new("own", Key::hs256(&SECRET).unwrap())
                .unwrap()
                .with_key("main", public)
                .unwrap();
            let verifier = JwtCodec::new(keyset, ISS).unwrap();
            assert_eq!(
                verifier.verify(&token, NOW, TokenType::Access).unwrap(),
                claims
            );
        }
    }
}

#[test]
fn key_construction_errors() {
    let too_short = [
        Key::rsa_from_pem(Algorithm::RS256, &fixture("rsa1024.pem")),
        Key::rsa_public_from_pem(Algorithm::PS256, &fixture("rsa1024.pub.pem")),
        Key::hs256(&[0; 31]),
        Key::hs384(&[0; 47]),
        Key::hs512(&[0; 63]),
    ];
    for r in too_short {
        assert_eq!(r.unwrap_err().kind(), ConfigErrorKind::KeyTooShort);
    }
    let invalid = [
        Key::ec_from_pem(Algorithm::ES256, &fixture("es384.pem")),
        Key::ec_from_pem(Algorithm::ES384, &fixture("es256.pem")),
        Key::ec_public_from_pem(Algorithm::ES384, &fixture("es256.pub.pem")),
        Key::ec_from_pem(Algorithm::RS256, &fixture("es256.pem")),
        Key::rsa_from_pem(Algorithm::ES256, &fixture("rsa2048.pem")),
        Key::rsa_from_pem(Algorithm::RS256, &fixture("ed25519.pem")),
        Key::ed25519_from_pem(&fixture("es256.pem")),
        Key::ed25519_from_pem(&fixture("ed25519.pub.pem")),
        Key::ed25519_public_from_pem(&fixture("ed25519.pem")),
        Key::ed25519_from_pem(b"not a pem"),
        Key::ed25519_from_pkcs8_der(&[0x30, 0x00]),
    ];
    for (i, r) in invalid.into_iter().enumerate() {
        assert_eq!(
            r.unwrap_err().kind(),
            ConfigErrorKind::InvalidKey,
            "case {i}"
        );
    }
}

#[test]
fn keys_never_print_material() {
    let (_, ed, _) = asymmetric_keys().remove(0);
    assert_eq!(
        format!("{ed:?}"),
        r#"Key { alg: EdDSA, material: "REDACTED" }"#
    );
    let hs = Key::hs256(&SECRET).unwrap();
    assert_eq!(
        format!("{hs:?}"),
        r#"Key { alg: HS256, material: "REDACTED" }"#
    );
    let codec = hs_codec();
    let text = format!("{codec:?}");
    assert!(text.contains(r#"kids: ["k1"]"#), "{text}");
    assert!(!text.contains("90, 90") && !text.contains("5a5a") && !text.contains("ZZZZ"));
}

#[test]
fn verify_only_key_cannot_sign() {
    let public = Key::ed25519_public_from_pem(&fixture("ed25519.pub.pem")).unwrap();
    let err = Keyset::new("pub", public.clone()).unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::InvalidKey);
    let err = Keyset::new("k1", Key::hs256(&SECRET).unwrap())
        .unwrap()
        .with_key("pub", public)
        .unwrap()
        .with_signing_kid("pub")
        .unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::InvalidKey);
}

#[test]
fn default_keyset_from_base_secret() {
    // Same vector as the unit test of `derive_key`, computed with Python's hashlib.
    let derived =
        hex::decode("602cc96ede5fd019c5344c5509d22fdc40d72927f3c544aea3de2da2514245ab").unwrap();
    let keyset = Keyset::from_base_secret(b"a base secret of at least 32 bytes!!").unwrap();
    assert_eq!(keyset.signing_kid(), Some("default"));
    let codec = JwtCodec::new(keyset, ISS).unwrap();
    let token = codec.sign(&claims(TokenType::Refresh)).unwrap();
    // A codec holding the independently derived key verifies it.
    let other = JwtCodec::new(
        Keyset::new("default", Key::hs256(&derived).unwrap()).unwrap(),
        ISS,
    )
    .unwrap();
    assert!(other.verify(&token, NOW, TokenType::Refresh).is_ok());
}

// ------------------------------------------------------------------------------------------
// Rotation and kid handling
// ------------------------------------------------------------------------------------------

#[test]
fn rotation_keeps_old_tokens_valid() {
    let old_key = Key::hs256(&[1; 32]).unwrap();
    let new_key = Key::ed25519_from_pem(&fixture("ed25519.pem")).unwrap();
    let before = JwtCodec::new(Keyset::new("2024", old_key.clone()).unwrap(), ISS).unwrap();
    let old_token = before.sign(&claims(TokenType::Access)).unwrap();

    let rotated = Keyset::new("2024", old_key)
        .unwrap()
        .with_key("2025", new_key)
        .unwrap()
        .with_signing_kid("2025")
        .unwrap();
    let after = JwtCodec::new(rotated, ISS).unwrap();
    let new_token = after.sign(&claims(TokenType::Access)).unwrap();
    assert!(new_token.starts_with(&b64(r#"{"alg":"EdDSA","typ":"JWT","kid":"2025"}"#)));
    assert_eq!(after.verify_signature(&old_token).unwrap().kid(), "2024");
    assert_eq!(after.verify_signature(&new_token).unwrap().kid(), "2025");
    assert!(after.verify(&old_token, NOW, TokenType::Access).is_ok());
    // The old codec does not know the new key.
    assert_eq!(
        kind(before.verify_signature(&new_token)),
        AuthErrorKind::KeyNotFound
    );
}

#[test]
fn non_canonical_headers_take_the_slow_path() {
    // Same key, header fields in another order and without typ: still verifies.
    let codec = hs_codec();
    let token = forge(
        &json!({"kid": "k1", "alg": "HS256"}),
        &serde_json::to_vec(&claims(TokenType::Access)).unwrap(),
    );
    assert!(codec.verify(&token, NOW, TokenType::Access).is_ok());
}

#[test]
fn kid_not_set_fallback_needs_an_explicit_entry() {
    let body = serde_json::to_vec(&claims(TokenType::Access)).unwrap();
    let token = forge(&json!({"alg": "HS256", "typ": "JWT"}), &body);
    assert_eq!(
        kind(hs_codec().verify_signature(&token)),
        AuthErrorKind::KeyNotFound
    );
    let keyset = Keyset::new("k1", Key::hs256(&SECRET).unwrap())
        .unwrap()
        .with_key("kid_not_set.HS256", Key::hs256(&SECRET).unwrap())
        .unwrap();
    let codec = JwtCodec::new(keyset, ISS).unwrap();
    assert!(codec.verify(&token, NOW, TokenType::Access).is_ok());
}

// ------------------------------------------------------------------------------------------
// Rejections: form, header, signature
// ------------------------------------------------------------------------------------------

#[test]
fn forbidden_header_parameters() {
    let codec = hs_codec();
    let body = serde_json::to_vec(&claims(TokenType::Access)).unwrap();
    for name in FORBIDDEN_HEADER_PARAMS {
        let mut header = hs_header();
        header[name] = json!(["x"]);
        let token = forge(&header, &body);
        let err = codec.verify_signature(&token).unwrap_err();
        assert_eq!(err.kind(), AuthErrorKind::HeaderForbidden, "{name}");
        assert_eq!(err.detail(), Some(name));
        assert_eq!(err.to_string(), "bearer token signature invalid");
    }
}

#[test]
fn alg_none_and_mismatches() {
    let keyset = Keyset::new("k1", Key::hs256(&SECRET).unwrap())
        .unwrap()
        .with_key(
            "ed",
            Key::ed25519_from_pem(&fixture("ed25519.pem")).unwrap(),
        )
        .unwrap()
        .with_key("kid_not_set.HS256", Key::hs256(&SECRET).unwrap())
        .unwrap();
    let codec = JwtCodec::new(keyset, ISS).unwrap();
    let body = serde_json::to_vec(&claims(TokenType::Access)).unwrap();

    for alg in ["none", "None", "NONE"] {
        for header in [json!({"alg": alg, "kid": "k1"}), json!({"alg": alg})] {
            let (input, _) = forge(&header, &body)
                .rsplit_once('.')
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .unwrap();
            for token in [format!("{input}."), format!("{input}.AAAA")] {
                let err = kind(codec.verify_signature(&token));
                assert!(
                    matches!(
                        err,
                        AuthErrorKind::AlgorithmMismatch
                            | AuthErrorKind::TokenMalformed
                            | AuthErrorKind::SignatureInvalid
                    ),
                    "{header} {token}: {err:?}"
                );
            }
            let token = format!("{input}.AAAA");
            assert_eq!(
                kind(codec.verify_signature(&token)),
                AuthErrorKind::AlgorithmMismatch
            );
        }
    }
    // An HS256 header naming the EdDSA key, HMAC'd with a known secret: refused on alg.
    let token = forge(&json!({"alg": "HS256", "kid": "ed"}), &body);
    assert_eq!(
        kind(codec.verify_signature(&token)),
        AuthErrorKind::AlgorithmMismatch
    );
    // An EdDSA header naming the HMAC key.
    let token = forge(&json!({"alg": "EdDSA", "kid": "k1"}), &body);
    assert_eq!(
        kind(codec.verify_signature(&token)),
        AuthErrorKind::AlgorithmMismatch
    );
    // Unknown algorithm names and unknown kids.
    let token = forge(&json!({"alg": "HS999", "kid": "k1"}), &body);
    assert_eq!(
        kind(codec.verify_signature(&token)),
        AuthErrorKind::AlgorithmMismatch
    );
    let token = forge(&json!({"alg": "HS512"}), &body);
    assert_eq!(
        kind(codec.verify_signature(&token)),
        AuthErrorKind::KeyNotFound
    );
    let token = forge(&json!({"alg": "HS256", "kid": "nope"}), &body);
    assert_eq!(
        kind(codec.verify_signature(&token)),
        AuthErrorKind::KeyNotFound
    );
}

#[test]
fn malformed_tokens() {
    let codec = hs_codec();
    let token = codec.sign(&claims(TokenType::Access)).unwrap();
    let (h, rest) = token.split_once('.').unwrap();
    let (p, s) = rest.split_once('.').unwrap();
    let oversized = format!("{h}.{}.{s}", "A".repeat(MAX_TOKEN_LEN));
    let cases = [
        format!("{h}.{p}"),
        format!("{h}.{p}.{s}.{s}"),
        format!("{h}.{p}.{s}="),
        format!("{h}.{p}+.{s}"),
        format!("{h}.{p}.{s} "),
        format!(" {h}.{p}.{s}"),
        format!("{h}.{p}."),
        format!(".{p}.{s}"),
        format!("{h}x.{p}.{s}"),          // header no longer base64url
        format!("{h}.{p}.{s}A"),          // signature length 4n+1: not base64url
        format!("{h}.{}.{s}", b64("{}")), // wrong payload with the right header: signature fails first
        oversized,
        String::new(),
    ];
    for (i, bad) in cases.iter().enumerate() {
        let err = kind(codec.verify(bad, NOW, TokenType::Access));
        assert!(
            matches!(
                err,
                AuthErrorKind::TokenMalformed | AuthErrorKind::SignatureInvalid
            ),
            "case {i}: {err:?}"
        );
    }
    for i in [1, 2, 3, 4, 5, 7, 8, 11, 12] {
        let err = kind(codec.verify(&cases[i], NOW, TokenType::Access));
        assert_eq!(err, AuthErrorKind::TokenMalformed, "case {i}");
    }
    // No signature segment (`h.p`, `h.p.`): the signature is what is wrong.
    for i in [0, 6, 9, 10] {
        let err = kind(codec.verify(&cases[i], NOW, TokenType::Access));
        assert_eq!(err, AuthErrorKind::SignatureInvalid, "case {i}");
    }
    // A header that is valid base64url but not JSON.
    let bad_header = format!("{}.{p}.{s}", b64("not json"));
    assert_eq!(
        kind(codec.verify(&bad_header, NOW, TokenType::Access)),
        AuthErrorKind::TokenMalformed
    );
}

#[test]
fn tampering_breaks_the_signature() {
    for (_, key, _) in asymmetric_keys().into_iter().take(2).chain([(
        Algorithm::HS256,
        Key::hs256(&SECRET).unwrap(),
        Key::hs256(&SECRET).unwrap(),
    )]) {
        let codec = JwtCodec::new(Keyset::new("k1", key).unwrap(), ISS).unwrap();
        let token = codec.sign(&claims(TokenType::Access)).unwrap();
        let (input, sig) = token.rsplit_once('.').unwrap();
        let (h, _) = input.split_once('.').unwrap();

        let mut other = claims(TokenType::Access);
        other.sub = "admin".into();
        let tampered = format!("{h}.{}.{sig}", b64(serde_json::to_vec(&other).unwrap()));
        assert_eq!(
            kind(codec.verify(&tampered, NOW, TokenType::Access)),
            AuthErrorKind::SignatureInvalid
        );

        let mut bytes = URL_SAFE_NO_PAD.decode(sig).unwrap();
        bytes[0] ^= 1;
        let flipped = format!("{input}.{}", b64(&bytes));
        assert_eq!(
            kind(codec.verify(&flipped, NOW, TokenType::Access)),
            AuthErrorKind::SignatureInvalid
        );

        let truncated = format!("{input}.{}", b64(&bytes[..bytes.len() - 1]));
        assert_eq!(
            kind(codec.verify(&truncated, NOW, TokenType::Access)),
            AuthErrorKind::SignatureInvalid
        );
        let cut = format!("{input}.{}", &sig[..sig.len() - 4]);
        assert_eq!(
            kind(codec.verify(&cut, NOW, TokenType::Access)),
            AuthErrorKind::SignatureInvalid
        );
    }
}

// ------------------------------------------------------------------------------------------
// Rejections: claims
// ------------------------------------------------------------------------------------------

#[test]
fn expiry_and_leeway_boundaries() {
    let codec = hs_codec();
    let token = codec.sign(&claims(TokenType::Access)).unwrap();
    let exp = NOW + 900;
    assert!(codec.verify(&token, exp, TokenType::Access).is_ok());
    assert!(codec.verify(&token, exp + 4, TokenType::Access).is_ok());
    let err = codec
        .verify(&token, exp + 5, TokenType::Access)
        .unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::Expired);
    assert_eq!(err.to_string(), "bearer token expired");

    let strict = hs_codec().with_leeway(Duration::ZERO).unwrap();
    assert!(strict.verify(&token, exp - 1, TokenType::Access).is_ok());
    assert_eq!(
        kind(strict.verify(&token, exp, TokenType::Access)),
        AuthErrorKind::Expired
    );

    let wide = hs_codec().with_leeway(Duration::from_secs(60)).unwrap();
    assert!(wide.verify(&token, exp + 59, TokenType::Access).is_ok());
    assert_eq!(wide.leeway(), Duration::from_secs(60));
    let err = hs_codec()
        .with_leeway(Duration::from_millis(60_001))
        .unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::LeewayTooLarge);
}

#[test]
fn not_yet_valid() {
    let codec = hs_codec();
    let mut c = claims(TokenType::Access);
    c.nbf = Some(NOW + 60);
    let token = codec.sign(&c).unwrap();
    assert_eq!(
        kind(codec.verify(&token, NOW, TokenType::Access)),
        AuthErrorKind::NotYetValid
    );
    assert_eq!(
        kind(codec.verify(&token, NOW + 54, TokenType::Access)),
        AuthErrorKind::NotYetValid
    );
    assert!(codec.verify(&token, NOW + 55, TokenType::Access).is_ok());

    let mut c = claims(TokenType::Access);
    c.iat = Some(NOW + 60);
    let token = codec.sign(&c).unwrap();
    let err = codec.verify(&token, NOW, TokenType::Access).unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::NotYetValid);
    assert_eq!(err.to_string(), "bearer token not yet valid");
    assert!(codec.verify(&token, NOW + 55, TokenType::Access).is_ok());
}

#[test]
fn issuer_and_type() {
    let codec = hs_codec();
    let mut c = claims(TokenType::Access);
    c.iss = "someone-else".into();
    let token = codec.sign(&c).unwrap();
    let err = codec.verify(&token, NOW, TokenType::Access).unwrap_err();
    assert_eq!(err, AuthError::claim_invalid("iss"));
    assert_eq!(err.to_string(), "bearer token claim iss invalid");

    let access = codec.sign(&claims(TokenType::Access)).unwrap();
    let refresh = codec.sign(&claims(TokenType::Refresh)).unwrap();
    assert_eq!(
        codec.verify(&access, NOW, TokenType::Refresh).unwrap_err(),
        AuthError::claim_invalid("type")
    );
    assert_eq!(
        codec.verify(&refresh, NOW, TokenType::Access).unwrap_err(),
        AuthError::claim_invalid("type")
    );
    assert_eq!(
        codec
            .verify(&refresh, NOW, TokenType::Refresh)
            .unwrap()
            .token_type(),
        Some(TokenType::Refresh)
    );
    assert_eq!(
        JwtCodec::new(Keyset::new("k", Key::hs256(&SECRET).unwrap()).unwrap(), "")
            .unwrap_err()
            .kind(),
        ConfigErrorKind::Missing
    );
}

#[test]
fn missing_and_mistyped_claims() {
    let codec = hs_codec();
    let full = serde_json::to_value(claims(TokenType::Access)).unwrap();
    // The nine Charon claims are required (`aud`, the tenth reserved name, is optional).
    for name in &RESERVED_CLAIMS[..9] {
        let name = *name;
        let mut value = full.clone();
        value.as_object_mut().unwrap().remove(name);
        let token = forge(&hs_header(), &payload(&value));
        let err = codec.verify(&token, NOW, TokenType::Access).unwrap_err();
        assert_eq!(err, AuthError::claim_not_found(name));
        assert_eq!(
            err.to_string(),
            format!("bearer token claim {name} not found")
        );
    }
    for bad in [
        json!(1_700_000_900.0),
        json!("1700000900"),
        json!(true),
        json!(1.7e9),
    ] {
        let mut value = full.clone();
        value["exp"] = bad.clone();
        let token = forge(&hs_header(), &payload(&value));
        let err = codec.verify(&token, NOW, TokenType::Access).unwrap_err();
        assert_eq!(err, AuthError::claim_invalid("exp"), "{bad}");
    }
    // Duplicate claims are refused even when both values agree.
    let dup = br#"{"iss":"charon-test","sub":"u","sub":"admin","sid":"s","styp":"full","type":"access","jti":"j","iat":1700000000,"nbf":1700000000,"exp":1700000900}"#;
    let token = forge(&hs_header(), dup);
    assert_eq!(
        kind(codec.verify(&token, NOW, TokenType::Access)),
        AuthErrorKind::TokenMalformed
    );
    // A signed payload that is not JSON passes the signature check but not claim parsing.
    let token = forge(&hs_header(), b"Example of a non-JSON payload");
    assert!(codec.verify_signature(&token).is_ok());
    assert_eq!(
        kind(codec.verify(&token, NOW, TokenType::Access)),
        AuthErrorKind::TokenMalformed
    );
}

#[test]
fn extra_claims_survive_and_cannot_shadow() {
    let codec = hs_codec();
    let mut c = claims(TokenType::Access);
    c.insert_extra("roles", json!(["a", "b"])).unwrap();
    assert!(c.insert_extra("exp", json!(9_999_999_999i64)).is_err());
    let token = codec.sign(&c).unwrap();
    let back = codec.verify(&token, NOW, TokenType::Access).unwrap();
    assert_eq!(back.extra("roles"), Some(&json!(["a", "b"])));
    assert_eq!(back.exp, NOW + 900);
}

#[test]
fn signing_refuses_tokens_the_verifier_would_refuse() {
    let codec = charon_auth::JwtCodec::new(
        charon_auth::Keyset::new("k", charon_auth::Key::hs256(&[5; 32]).unwrap()).unwrap(),
        "iss",
    )
    .unwrap();
    let mut claims =
        charon_auth::Claims::new(charon_auth::TokenType::Access, "iss", "u", "s", "full", "j")
            .with_validity(1, 2);
    claims
        .insert_extra("blob", serde_json::Value::String("x".repeat(9000)))
        .unwrap();
    let err = codec.sign(&claims).unwrap_err();
    let source = std::error::Error::source(&err).unwrap().to_string();
    assert!(source.contains("exceeds"), "{source}");
}

// ------------------------------------------------------------------------------------------
// Audiences and tokens of other issuers
// ------------------------------------------------------------------------------------------

#[test]
fn audiences_must_name_the_service() {
    let plain = hs_codec();
    let api = hs_codec().with_audiences(["api", "api-v2"]);
    let signed = |aud: &[&str]| {
        plain
            .sign(&claims(TokenType::Access).with_audience(aud.iter().copied()))
            .unwrap()
    };
    // RFC 7519 4.1.3: a token whose `aud` does not name the service is refused.
    for (token, codec, ok) in [
        (signed(&["api"]), &api, true),
        (signed(&["other", "api-v2"]), &api, true),
        (signed(&["other"]), &api, false),
        (signed(&[]), &api, false),
        // A service naming no audience refuses tokens meant for one.
        (signed(&["api"]), &plain, false),
        (signed(&[]), &plain, true),
    ] {
        let result = codec.verify(&token, NOW, TokenType::Access);
        match ok {
            true => assert!(result.is_ok(), "{:?}", codec.audiences()),
            false => assert_eq!(result.unwrap_err(), AuthError::claim_invalid("aud")),
        }
    }
}

#[test]
fn external_profile_accepts_tokens_without_session_claims() {
    let codec = hs_codec().with_profile(ClaimsProfile::External);
    let minimal = json!({"iss": ISS, "sub": "idp-user", "exp": NOW + 60});
    let token = forge(&hs_header(), &payload(&minimal));
    let claims = codec.verify(&token, NOW, TokenType::Access).unwrap();
    assert_eq!(
        (claims.sub.as_str(), claims.session_id()),
        ("idp-user", None)
    );
    // Such a token never passes as a refresh token, and `iss`/`exp` still apply.
    assert_eq!(
        codec.verify(&token, NOW, TokenType::Refresh).unwrap_err(),
        AuthError::claim_not_found("type")
    );
    assert_eq!(
        kind(codec.verify(&token, NOW + 120, TokenType::Access)),
        AuthErrorKind::Expired
    );
    let foreign = forge(
        &hs_header(),
        &payload(&json!({"iss": "someone-else", "sub": "u", "exp": NOW + 60})),
    );
    assert_eq!(
        codec.verify(&foreign, NOW, TokenType::Access).unwrap_err(),
        AuthError::claim_invalid("iss")
    );
    // `nbf` and `iat` are checked when present.
    let early = forge(
        &hs_header(),
        &payload(&json!({"iss": ISS, "sub": "u", "exp": NOW + 600, "nbf": NOW + 60})),
    );
    assert_eq!(
        kind(codec.verify(&early, NOW, TokenType::Access)),
        AuthErrorKind::NotYetValid
    );
}
