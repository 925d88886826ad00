//! JWK and JWK Set: RFC vectors, export and import round trips, hostile JWKs, the published
//! document and its axum handler.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::time::Duration;

use charon_auth::token::{
    Algorithm, Claims, Jwk, JwkErrorKind, JwkSet, JwksDocument, JwtCodec, Key, Keyset,
    MAX_JWKS_KEYS, SignErrorKind, TokenType,
};
use serde_json::{Value, json};
use tower::ServiceExt as _;

const ISS: &str = "charon-test";
const NOW: i64 = 1_700_000_000;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/keys/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(path).unwrap()
}

fn jwk(value: &Value) -> Jwk {
    Jwk::from_json(value.to_string().as_bytes()).unwrap()
}

fn set(keys: Vec<Value>) -> JwkSet {
    let mut document = serde_json::Map::new();
    document.insert("keys".to_owned(), Value::Array(keys));
    JwkSet::from_json(Value::Object(document).to_string().as_bytes()).unwrap()
}

fn claims() -> Claims {
    Claims::new(TokenType::Access, ISS, "user-1", "sid-1", "full", "jti-1")
        .with_validity(NOW, NOW + 900)
}

// ------------------------------------------------------------------------------------------
// RFC vectors
// ------------------------------------------------------------------------------------------

/// RFC 7517 appendix A.1 (the RSA key is also RFC 7638's example).
const RFC7517_EC_X: &str = "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4";
const RFC7517_EC_Y: &str = "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM";
const RFC7517_RSA_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
/// RFC 7638 §3.1: the thumbprint of that RSA key.
const RFC7638_THUMBPRINT: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

/// RFC 7515 appendix A.2 (RS256) and A.3 (ES256): keys and signed examples.
const RFC7515_A2_N: &str = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
const RFC7515_A2_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
const RFC7515_A3_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
const RFC7515_A3_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
const RFC7515_A3_D: &str = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";
const RFC7515_A3_TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
const RFC7515_PAYLOAD: &[u8] =
    b"{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";

/// RFC 8037 appendix A.2 (public key), A.3 (its thumbprint), A.4 (an EdDSA signature).
const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
const RFC8037_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
const RFC8037_THUMBPRINT: &str = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";
const RFC8037_A4_TOKEN: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

/// The RFC examples' headers carry no `kid`: a JWK without `kid` lands under
/// `kid_not_set.<ALG>`, so a codec over `Keyset::from_jwks` verifies them.
fn verifies_rfc_example(key: Value, token: &str, alg: Algorithm, payload: &[u8]) {
    let keyset = Keyset::from_jwks(&set(vec![key])).unwrap();
    let kid = format!("kid_not_set.{alg:?}");
    assert_eq!(keyset.get(&kid).map(Key::algorithm), Some(alg));
    let codec = JwtCodec::new(keyset, ISS).unwrap();
    let jws = codec.verify_signature(token).unwrap();
    assert_eq!(jws.kid(), kid);
    assert_eq!(jws.payload(), payload);
    // One flipped signature character: refused.
    let mut tampered = token.to_owned();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert!(codec.verify_signature(&tampered).is_err());
}

#[test]
fn rfc7515_a3_es256_jwk_verifies_the_example() {
    let public = json!({"kty": "EC", "crv": "P-256", "x": RFC7515_A3_X, "y": RFC7515_A3_Y});
    verifies_rfc_example(
        public.clone(),
        RFC7515_A3_TOKEN,
        Algorithm::ES256,
        RFC7515_PAYLOAD,
    );
    let key = Key::from_jwk(&jwk(&public)).unwrap();
    assert_eq!(key.algorithm(), Algorithm::ES256);
    assert!(!key.can_sign());
    // Exported again: the same coordinates.
    let exported: Value = serde_json::from_str(&key.to_jwk().unwrap().to_json()).unwrap();
    assert_eq!(
        exported,
        json!({"kty": "EC", "crv": "P-256", "x": RFC7515_A3_X, "y": RFC7515_A3_Y,
               "alg": "ES256", "use": "sig"})
    );
    // The RFC's full JWK carries `d`: refused.
    let mut private = public;
    private["d"] = json!(RFC7515_A3_D);
    let err = Key::from_jwk(&jwk(&private)).unwrap_err();
    assert_eq!(err.kind(), JwkErrorKind::PrivateKey);
    assert!(!err.to_string().contains(RFC7515_A3_D));
}

#[test]
fn rfc7515_a2_rs256_jwk_verifies_the_example() {
    let public = json!({"kty": "RSA", "n": RFC7515_A2_N, "e": "AQAB"});
    verifies_rfc_example(
        public.clone(),
        RFC7515_A2_TOKEN,
        Algorithm::RS256,
        RFC7515_PAYLOAD,
    );
    // An RSA JWK without `alg` is RS256; with `alg` it takes that one.
    assert_eq!(
        Key::from_jwk(&jwk(&public)).unwrap().algorithm(),
        Algorithm::RS256
    );
    let mut ps = public;
    ps["alg"] = json!("PS384");
    assert_eq!(
        Key::from_jwk(&jwk(&ps)).unwrap().algorithm(),
        Algorithm::PS384
    );
}

#[test]
fn rfc8037_ed25519_jwk_verifies_the_example_and_has_the_rfc_thumbprint() {
    let public = json!({"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X});
    verifies_rfc_example(
        public.clone(),
        RFC8037_A4_TOKEN,
        Algorithm::EdDSA,
        b"Example of Ed25519 signing",
    );
    let jwk = jwk(&public);
    assert_eq!(jwk.thumbprint().unwrap(), RFC8037_THUMBPRINT);
    let key = Key::from_jwk(&jwk).unwrap();
    assert_eq!(key.thumbprint().unwrap(), RFC8037_THUMBPRINT);
    // The signing key from the RFC's seed exports the RFC's public key, never `d`.
    let d = base64_decode(RFC8037_D);
    let signing = Key::ed25519_from_seed(&d).unwrap();
    let exported = signing.to_jwk().unwrap().to_json();
    assert_eq!(
        serde_json::from_str::<Value>(&exported).unwrap(),
        json!({"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X, "alg": "EdDSA", "use": "sig"})
    );
    assert!(!exported.contains(RFC8037_D));
    assert_eq!(signing.thumbprint().unwrap(), RFC8037_THUMBPRINT);
}

#[test]
fn rfc7517_a1_public_keys_parse_to_the_right_keys() {
    // Appendix A.1 verbatim.
    let document = r#"{"keys":
       [
         {"kty":"EC",
          "crv":"P-256",
          "x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
          "y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM",
          "use":"enc",
          "kid":"1"},

         {"kty":"RSA",
          "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
          "e":"AQAB",
          "alg":"RS256",
          "kid":"2011-04-29"}
       ]
     }"#;
    let jwks = JwkSet::from_json(document.as_bytes()).unwrap();
    assert_eq!(jwks.keys().len(), 2);
    let ec = jwks.find("1").unwrap();
    assert_eq!(
        (ec.kty(), ec.crv(), ec.key_use()),
        ("EC", Some("P-256"), Some("enc"))
    );
    // The EC key is an encryption key: refused alone, skipped in the set.
    assert_eq!(
        Key::from_jwk(ec).unwrap_err().kind(),
        JwkErrorKind::NotForSignatures
    );
    let keyset = Keyset::from_jwks(&jwks).unwrap();
    assert_eq!(keyset.len(), 1);
    assert!(keyset.get("1").is_none());
    let rsa = keyset.get("2011-04-29").unwrap();
    assert_eq!(rsa.algorithm(), Algorithm::RS256);
    assert!(!rsa.can_sign());
    let exported = rsa.to_jwk().unwrap().with_kid("2011-04-29");
    assert_eq!(
        serde_json::from_str::<Value>(&exported.to_json()).unwrap(),
        json!({"kty": "RSA", "n": RFC7517_RSA_N, "e": "AQAB", "alg": "RS256",
               "kid": "2011-04-29", "use": "sig"})
    );
    // Without `use`, the EC key is the P-256 key of the RFC.
    let ec = jwk(&json!({"kty": "EC", "crv": "P-256", "x": RFC7517_EC_X, "y": RFC7517_EC_Y}));
    let key = Key::from_jwk(&ec).unwrap();
    assert_eq!(key.algorithm(), Algorithm::ES256);
    let exported = key.to_jwk().unwrap();
    assert_eq!(exported.thumbprint().unwrap(), ec.thumbprint().unwrap());
}

#[test]
fn rfc7638_thumbprint_example() {
    let plain = jwk(&json!({"kty": "RSA", "n": RFC7517_RSA_N, "e": "AQAB"}));
    assert_eq!(plain.thumbprint().unwrap(), RFC7638_THUMBPRINT);
    // Optional members do not change it.
    let decorated = jwk(&json!({"kty": "RSA", "n": RFC7517_RSA_N, "e": "AQAB",
                                "alg": "RS256", "kid": "2011-04-29", "use": "sig"}));
    assert_eq!(decorated.thumbprint().unwrap(), RFC7638_THUMBPRINT);
    let key = Key::from_jwk(&decorated).unwrap();
    assert_eq!(key.thumbprint().unwrap(), RFC7638_THUMBPRINT);
    // The public key in PEM form gives the same kid wherever it is loaded.
    let pem_key = Key::rsa_public_from_pem(Algorithm::RS256, &fixture("rsa2048.pub.pem")).unwrap();
    let private = Key::rsa_from_pem(Algorithm::RS256, &fixture("rsa2048.pem")).unwrap();
    assert_eq!(pem_key.thumbprint().unwrap(), private.thumbprint().unwrap());
    assert_ne!(pem_key.thumbprint().unwrap(), RFC7638_THUMBPRINT);
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

// ------------------------------------------------------------------------------------------
// Export and import
// ------------------------------------------------------------------------------------------

/// (algorithm, private key, public key) for every asymmetric algorithm.
fn asymmetric_keys() -> Vec<(Algorithm, Key, Key)> {
    let mut keys = vec![(
        Algorithm::EdDSA,
        Key::ed25519_from_pem(&fixture("ed25519.pem")).unwrap(),
        Key::ed25519_public_from_pem(&fixture("ed25519.pub.pem")).unwrap(),
    )];
    for (alg, name) in [(Algorithm::ES256, "es256"), (Algorithm::ES384, "es384")] {
        keys.push((
            alg,
            Key::ec_from_pem(alg, &fixture(&format!("{name}.pem"))).unwrap(),
            Key::ec_public_from_pem(alg, &fixture(&format!("{name}.pub.pem"))).unwrap(),
        ));
    }
    for alg in [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
    ] {
        keys.push((
            alg,
            Key::rsa_from_pem(alg, &fixture("rsa2048.pem")).unwrap(),
            Key::rsa_public_from_pem(alg, &fixture("rsa2048.pub.pem")).unwrap(),
        ));
    }
    keys
}

const PUBLIC_MEMBERS: [&str; 9] = ["kty", "crv", "x", "y", "n", "e", "alg", "use", "kid"];

fn members(json: &str) -> BTreeSet<String> {
    let value: Value = serde_json::from_str(json).unwrap();
    value.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn export_then_import_round_trips_every_algorithm() {
    for (alg, private, public) in asymmetric_keys() {
        let signer = JwtCodec::new(Keyset::new("main", private.clone()).unwrap(), ISS).unwrap();
        let token = signer.sign(&claims()).unwrap();
        // The signing key exports its public half: the same JWK as the public key.
        let from_private = private.to_jwk().unwrap();
        let from_public = public.to_jwk().unwrap();
        assert_eq!(from_private, from_public, "{alg:?}");
        let json = from_private.with_kid("main").to_json();
        for member in members(&json) {
            assert!(
                PUBLIC_MEMBERS.contains(&member.as_str()),
                "{alg:?}: {member}"
            );
        }
        assert_eq!(
            Jwk::from_json(json.as_bytes()).unwrap().alg(),
            Some(format!("{alg:?}").as_str())
        );
        // Imported: a verify-only key of the same algorithm that verifies the token.
        let imported = Key::from_jwk(&Jwk::from_json(json.as_bytes()).unwrap()).unwrap();
        assert_eq!(imported.algorithm(), alg);
        assert!(!imported.can_sign());
        let verifier =
            JwtCodec::new(Keyset::verify_only([("main", imported)]).unwrap(), ISS).unwrap();
        assert_eq!(
            verifier.verify(&token, NOW, TokenType::Access).unwrap(),
            claims()
        );
        // And cannot sign.
        assert_eq!(
            verifier.sign(&claims()).unwrap_err().kind(),
            SignErrorKind::NoSigningKey
        );
    }
}

#[test]
fn keyset_to_jwks_and_back() {
    let ed = Key::ed25519_from_pem(&fixture("ed25519.pem")).unwrap();
    let es = Key::ec_public_from_pem(Algorithm::ES384, &fixture("es384.pub.pem")).unwrap();
    let rs = Key::rsa_public_from_pem(Algorithm::PS256, &fixture("rsa2048.pub.pem")).unwrap();
    let keyset = Keyset::new("b-ed", ed)
        .unwrap()
        .with_key("hs-old", Key::hs256(&[7; 32]).unwrap())
        .unwrap()
        .with_key("c-es", es)
        .unwrap()
        .with_key("a-rs", rs)
        .unwrap();
    let jwks = keyset.to_jwks().unwrap();
    // Sorted by kid; the HMAC key is never published.
    let kids: Vec<_> = jwks.keys().iter().map(|k| k.kid().unwrap()).collect();
    assert_eq!(kids, ["a-rs", "b-ed", "c-es"]);
    let json = jwks.to_json();
    assert!(
        !json.contains("hs-old") && !json.contains("\"oct\""),
        "{json}"
    );
    for key in jwks.keys() {
        assert_eq!(key.key_use(), Some("sig"));
        for member in members(&key.to_json()) {
            assert!(PUBLIC_MEMBERS.contains(&member.as_str()), "{member}");
        }
    }
    let back = Keyset::from_jwks(&serde_json::from_str(&json).unwrap()).unwrap();
    assert!(!back.can_sign());
    assert_eq!(back.len(), 3);
    for (kid, alg) in [
        ("a-rs", Algorithm::PS256),
        ("b-ed", Algorithm::EdDSA),
        ("c-es", Algorithm::ES384),
    ] {
        assert_eq!(back.get(kid).map(Key::algorithm), Some(alg));
    }
    // Tokens of the signing keyset verify against the published keys.
    let token = JwtCodec::new(keyset, ISS).unwrap().sign(&claims()).unwrap();
    let verifier = JwtCodec::new(back, ISS).unwrap();
    assert_eq!(
        verifier.verify(&token, NOW, TokenType::Access).unwrap(),
        claims()
    );
}

#[test]
fn symmetric_keys_are_never_exported() {
    for key in [
        Key::hs256(&[1; 32]).unwrap(),
        Key::hs384(&[2; 48]).unwrap(),
        Key::hs512(&[3; 64]).unwrap(),
    ] {
        assert_eq!(key.to_jwk().unwrap_err().kind(), JwkErrorKind::Symmetric);
        assert_eq!(
            key.thumbprint().unwrap_err().kind(),
            JwkErrorKind::Symmetric
        );
    }
    // A keyset of HMAC keys only publishes an empty set.
    let keyset = Keyset::from_base_secret(b"a base secret of at least 32 bytes!!").unwrap();
    assert_eq!(keyset.to_jwks().unwrap().to_json(), r#"{"keys":[]}"#);
}

#[test]
fn generated_keys_publish_under_their_thumbprint() {
    for generated in [
        Key::generate_ed25519().unwrap(),
        Key::generate_es256().unwrap(),
    ] {
        let document = JwksDocument::from_keyset(&generated.keyset().unwrap()).unwrap();
        let jwks = JwkSet::from_json(document.body()).unwrap();
        let published = jwks.find(generated.kid()).unwrap();
        assert_eq!(published.thumbprint().unwrap(), generated.kid());
        let body = String::from_utf8(document.body().to_vec()).unwrap();
        let pem_body: String = generated
            .private_key_pem()
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        assert!(!body.contains(&pem_body[..20]));
        assert!(!body.contains("\"d\""));
    }
}

// ------------------------------------------------------------------------------------------
// Hostile and unusable JWKs
// ------------------------------------------------------------------------------------------

/// What a JWK Set containing the key (next to a good one) does.
#[derive(Debug, PartialEq)]
enum InSet {
    Refused(JwkErrorKind),
    Skipped,
}

fn ok_ed() -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X, "kid": "good"})
}

fn ec(extra: Value) -> Value {
    let mut v =
        json!({"kty": "EC", "crv": "P-256", "x": RFC7515_A3_X, "y": RFC7515_A3_Y, "kid": "ec"});
    merge(&mut v, extra);
    v
}

fn okp(extra: Value) -> Value {
    let mut v = json!({"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X, "kid": "okp"});
    merge(&mut v, extra);
    v
}

fn rsa(extra: Value) -> Value {
    let mut v = json!({"kty": "RSA", "n": RFC7515_A2_N, "e": "AQAB", "kid": "rsa"});
    merge(&mut v, extra);
    v
}

fn merge(target: &mut Value, extra: Value) {
    let (Value::Object(target), Value::Object(extra)) = (target, extra) else {
        unreachable!("JWK fixtures are objects")
    };
    for (k, v) in extra {
        if v.is_null() {
            target.remove(&k);
        } else {
            target.insert(k, v);
        }
    }
}

#[test]
fn hostile_jwks_are_refused_with_their_kind() {
    use InSet::{Refused, Skipped};
    use JwkErrorKind as K;
    // 1024-bit modulus: the first 128 bytes of a 2048-bit one.
    let short_n = {
        use base64::Engine as _;
        let n = base64_decode(RFC7515_A2_N);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&n[..128])
    };
    let cases: Vec<(&str, Value, JwkErrorKind, InSet)> = vec![
        // Symmetric keys.
        (
            "oct",
            json!({"kty": "oct", "k": "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow", "kid": "hs"}),
            K::Symmetric,
            Refused(K::Symmetric),
        ),
        (
            "oct without k",
            json!({"kty": "oct", "alg": "HS256", "kid": "hs"}),
            K::Symmetric,
            Refused(K::Symmetric),
        ),
        // Private parts.
        (
            "OKP d",
            okp(json!({"d": RFC8037_D})),
            K::PrivateKey,
            Refused(K::PrivateKey),
        ),
        (
            "EC d",
            ec(json!({"d": RFC7515_A3_D})),
            K::PrivateKey,
            Refused(K::PrivateKey),
        ),
        (
            "RSA p",
            rsa(json!({"p": "AQAB"})),
            K::PrivateKey,
            Refused(K::PrivateKey),
        ),
        (
            "RSA qi",
            rsa(json!({"qi": "AQAB"})),
            K::PrivateKey,
            Refused(K::PrivateKey),
        ),
        (
            "RSA oth",
            rsa(json!({"oth": []})),
            K::PrivateKey,
            Refused(K::PrivateKey),
        ),
        (
            "k on EC",
            ec(json!({"k": "AQAB"})),
            K::PrivateKey,
            Refused(K::PrivateKey),
        ),
        // alg / kty / crv mismatches.
        (
            "HS256 on EC",
            ec(json!({"alg": "HS256"})),
            K::AlgorithmMismatch,
            Refused(K::AlgorithmMismatch),
        ),
        (
            "ES384 on P-256",
            ec(json!({"alg": "ES384"})),
            K::AlgorithmMismatch,
            Refused(K::AlgorithmMismatch),
        ),
        (
            "EdDSA on EC",
            ec(json!({"alg": "EdDSA"})),
            K::AlgorithmMismatch,
            Refused(K::AlgorithmMismatch),
        ),
        (
            "RS256 on OKP",
            okp(json!({"alg": "RS256"})),
            K::AlgorithmMismatch,
            Refused(K::AlgorithmMismatch),
        ),
        (
            "none on OKP",
            okp(json!({"alg": "none"})),
            K::AlgorithmMismatch,
            Refused(K::AlgorithmMismatch),
        ),
        (
            "NONE on RSA",
            rsa(json!({"alg": "NONE"})),
            K::AlgorithmMismatch,
            Refused(K::AlgorithmMismatch),
        ),
        (
            "ES256 on RSA",
            rsa(json!({"alg": "ES256"})),
            K::AlgorithmMismatch,
            Refused(K::AlgorithmMismatch),
        ),
        (
            "HS256 on RSA",
            rsa(json!({"alg": "HS256"})),
            K::AlgorithmMismatch,
            Refused(K::AlgorithmMismatch),
        ),
        (
            "crv on RSA",
            rsa(json!({"crv": "P-256"})),
            K::AlgorithmMismatch,
            Refused(K::AlgorithmMismatch),
        ),
        (
            "OKP curve on EC",
            ec(json!({"crv": "Ed25519"})),
            K::AlgorithmMismatch,
            Refused(K::AlgorithmMismatch),
        ),
        (
            "EC curve on OKP",
            okp(json!({"crv": "P-256"})),
            K::AlgorithmMismatch,
            Refused(K::AlgorithmMismatch),
        ),
        // Not for signatures.
        (
            "use enc",
            ec(json!({"use": "enc"})),
            K::NotForSignatures,
            Skipped,
        ),
        (
            "use other",
            okp(json!({"use": "whatever"})),
            K::NotForSignatures,
            Skipped,
        ),
        (
            "key_ops encrypt",
            rsa(json!({"key_ops": ["encrypt", "wrapKey"]})),
            K::NotForSignatures,
            Skipped,
        ),
        (
            "key_ops sign only",
            okp(json!({"key_ops": ["sign"]})),
            K::NotForSignatures,
            Skipped,
        ),
        (
            "RSA-OAEP",
            rsa(json!({"alg": "RSA-OAEP"})),
            K::NotForSignatures,
            Skipped,
        ),
        (
            "ECDH-ES",
            ec(json!({"alg": "ECDH-ES"})),
            K::NotForSignatures,
            Skipped,
        ),
        (
            "X25519",
            okp(json!({"crv": "X25519"})),
            K::NotForSignatures,
            Skipped,
        ),
        // Unsupported.
        (
            "P-521",
            ec(json!({"crv": "P-521"})),
            K::Unsupported,
            Skipped,
        ),
        (
            "Ed448",
            okp(json!({"crv": "Ed448"})),
            K::Unsupported,
            Skipped,
        ),
        (
            "unknown kty",
            json!({"kty": "PQC", "kid": "pq"}),
            K::Unsupported,
            Skipped,
        ),
        (
            "ES512 on P-256",
            ec(json!({"alg": "ES512"})),
            K::Unsupported,
            Skipped,
        ),
        (
            "unknown alg",
            okp(json!({"alg": "Ed25519-new"})),
            K::Unsupported,
            Skipped,
        ),
        // Malformed.
        (
            "no crv",
            ec(json!({"crv": null})),
            K::Malformed,
            Refused(K::Malformed),
        ),
        (
            "no x",
            ec(json!({"x": null})),
            K::Malformed,
            Refused(K::Malformed),
        ),
        (
            "no y",
            ec(json!({"y": null})),
            K::Malformed,
            Refused(K::Malformed),
        ),
        (
            "short x",
            ec(json!({"x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVE"})),
            K::Malformed,
            Refused(K::Malformed),
        ),
        (
            "padded x",
            okp(json!({"x": format!("{RFC8037_X}=")})),
            K::Malformed,
            Refused(K::Malformed),
        ),
        (
            "base64 not url",
            okp(json!({"x": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo"})),
            K::Malformed,
            Refused(K::Malformed),
        ),
        (
            "x on RSA",
            rsa(json!({"x": RFC8037_X})),
            K::Malformed,
            Refused(K::Malformed),
        ),
        (
            "n on EC",
            ec(json!({"n": RFC7515_A2_N})),
            K::Malformed,
            Refused(K::Malformed),
        ),
        (
            "y on OKP",
            okp(json!({"y": RFC7515_A3_Y})),
            K::Malformed,
            Refused(K::Malformed),
        ),
        (
            "no n",
            rsa(json!({"n": null})),
            K::Malformed,
            Refused(K::Malformed),
        ),
        (
            "empty e",
            rsa(json!({"e": ""})),
            K::Malformed,
            Refused(K::Malformed),
        ),
        (
            "repeated key_ops",
            okp(json!({"key_ops": ["verify", "verify"]})),
            K::Malformed,
            Refused(K::Malformed),
        ),
        (
            "short Ed25519",
            okp(json!({"x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcH"})),
            K::Malformed,
            Refused(K::Malformed),
        ),
        // Weak.
        (
            "RSA 1024",
            rsa(json!({"n": short_n})),
            K::WeakKey,
            Refused(K::WeakKey),
        ),
    ];
    for (name, value, alone, in_set) in cases {
        let parsed = jwk(&value);
        let err = Key::from_jwk(&parsed).unwrap_err();
        assert_eq!(err.kind(), alone, "{name}: {err}");
        // Never a private or secret value in the message.
        let text = err.to_string();
        assert!(
            !text.contains(RFC8037_D) && !text.contains(RFC7515_A3_D),
            "{name}: {text}"
        );
        // Next to a good key, in second position.
        let jwks = set(vec![ok_ed(), value]);
        let outcome = match Keyset::from_jwks(&jwks) {
            Ok(keyset) => {
                assert_eq!(keyset.len(), 1, "{name}");
                assert!(keyset.get("good").is_some(), "{name}");
                Skipped
            }
            Err(e) => {
                assert_eq!(e.key_index(), Some(1), "{name}: {e}");
                assert!(e.to_string().starts_with("invalid JWK Set: key 1:"), "{e}");
                Refused(e.kind())
            }
        };
        assert_eq!(outcome, in_set, "{name}");
    }
}

#[cfg(feature = "aws_lc_rs")]
#[test]
fn an_ec_point_off_its_curve_is_malformed() {
    // A.3's y with its last bit flipped: a valid field element, but not on P-256.
    let off = ec(json!({"y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5aw"}));
    assert_eq!(
        Key::from_jwk(&jwk(&off)).unwrap_err().kind(),
        JwkErrorKind::Malformed
    );
}

#[test]
fn unparseable_jwks_are_malformed() {
    let bad: [&[u8]; 9] = [
        b"",
        b"not json",
        b"[]",
        br#"{"keys": {}}"#,
        br#"{"nokeys": []}"#,
        br#"{"keys": [1]}"#,
        br#"{"keys": [{"x": "a"}]}"#,
        br#"{"keys": [{"kty": 5}]}"#,
        br#"{"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "a", "x": "b"}]}"#,
    ];
    for json in bad {
        let err = JwkSet::from_json(json).unwrap_err();
        assert_eq!(
            err.kind(),
            JwkErrorKind::Malformed,
            "{}",
            String::from_utf8_lossy(json)
        );
        assert!(serde_json::from_slice::<JwkSet>(json).is_err());
    }
    let err = JwkSet::from_json(br#"{"keys": [{"kty": "OKP"}, {"kty": ["x"]}]}"#).unwrap_err();
    assert_eq!(err.key_index(), Some(1));
    // Unknown members (x5c, x5t, ...) are allowed and named, never kept.
    let jwk = Jwk::from_json(br#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","x5t":"abc","x5c":["MIIB"]}"#).unwrap();
    assert_eq!(jwk.other_members(), ["x5c", "x5t"]);
    assert!(Key::from_jwk(&jwk).is_ok());
    assert!(!jwk.to_json().contains("x5c"));
}

#[test]
fn set_level_rules() {
    use JwkErrorKind as K;
    let cases: Vec<(&str, Vec<Value>, JwkErrorKind)> = vec![
        (
            "duplicate kid",
            vec![ok_ed(), ec(json!({"kid": "good"}))],
            K::DuplicateKid,
        ),
        (
            "two kid-less Ed25519 keys",
            vec![okp(json!({"kid": null})), okp(json!({"kid": null}))],
            K::DuplicateKid,
        ),
        ("empty kid", vec![okp(json!({"kid": ""}))], K::InvalidKid),
        (
            "long kid",
            vec![okp(json!({"kid": "k".repeat(129)}))],
            K::InvalidKid,
        ),
        (
            "control character",
            vec![okp(json!({"kid": "a\nb"}))],
            K::InvalidKid,
        ),
        (
            "fallback kid of another algorithm",
            vec![okp(json!({"kid": "kid_not_set.RS256"}))],
            K::InvalidKid,
        ),
        (
            "only encryption keys",
            vec![ec(json!({"use": "enc"})), rsa(json!({"alg": "RSA-OAEP"}))],
            K::NoKeys,
        ),
        ("empty set", vec![], K::NoKeys),
        (
            "too many keys",
            (0..=MAX_JWKS_KEYS)
                .map(|i| okp(json!({"kid": format!("k{i}")})))
                .collect(),
            K::TooManyKeys,
        ),
    ];
    for (name, keys, expected) in cases {
        let err = Keyset::from_jwks(&set(keys)).unwrap_err();
        assert_eq!(err.kind(), expected, "{name}: {err}");
    }
    // A kid-less key is filed under the fallback kid of its algorithm.
    let keyset = Keyset::from_jwks(&set(vec![
        okp(json!({"kid": null})),
        ec(json!({"kid": null})),
    ]))
    .unwrap();
    let mut kids: Vec<_> = keyset.iter().map(|(kid, _)| kid.to_owned()).collect();
    kids.sort();
    assert_eq!(kids, ["kid_not_set.ES256", "kid_not_set.EdDSA"]);
    // Exactly MAX_JWKS_KEYS keys is fine.
    let keys = (0..MAX_JWKS_KEYS)
        .map(|i| okp(json!({"kid": format!("k{i}")})))
        .collect();
    assert_eq!(Keyset::from_jwks(&set(keys)).unwrap().len(), MAX_JWKS_KEYS);
}

// ------------------------------------------------------------------------------------------
// The published document
// ------------------------------------------------------------------------------------------

fn published_keyset() -> Keyset {
    Keyset::new(
        "ed-1",
        Key::ed25519_from_pem(&fixture("ed25519.pem")).unwrap(),
    )
    .unwrap()
    .with_key("hs", Key::hs256(&[9; 32]).unwrap())
    .unwrap()
}

#[test]
fn jwks_document_response_for_hyper() {
    let document = JwksDocument::from_keyset(&published_keyset()).unwrap();
    let response = document.response::<http_body_util::Full<bytes::Bytes>>();
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["cache-control"], "public, max-age=300");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let jwks = JwkSet::from_json(document.body()).unwrap();
    assert_eq!(jwks.keys().len(), 1);
    assert_eq!(jwks.keys()[0].kid(), Some("ed-1"));
    // The same bytes every time (computed once), and a configurable max-age.
    let again = document.clone().with_max_age(Duration::from_secs(60));
    assert_eq!(again.body(), document.body());
    assert_eq!(
        again.response::<Vec<u8>>().headers()["cache-control"],
        "public, max-age=60"
    );
    assert!(!format!("{document:?}").contains("ed-1"));
}

#[tokio::test]
async fn jwks_document_axum_handler() {
    use axum::routing::get;
    let document = JwksDocument::from_keyset(&published_keyset()).unwrap();
    let app = axum::Router::new().route("/.well-known/jwks.json", get(document.handler()));
    for _ in 0..2 {
        let response = app
            .clone()
            .oneshot(
                http::Request::get("/.well-known/jwks.json")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["cache-control"], "public, max-age=300");
        assert_eq!(response.headers()["content-type"], "application/json");
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(&body, document.body());
        // What a resource service does with it: verify the auth service's tokens.
        let verifier = JwtCodec::new(
            Keyset::from_jwks(&JwkSet::from_json(&body).unwrap()).unwrap(),
            ISS,
        )
        .unwrap();
        let token = JwtCodec::new(published_keyset(), ISS)
            .unwrap()
            .sign(&claims())
            .unwrap();
        assert_eq!(
            verifier.verify(&token, NOW, TokenType::Access).unwrap(),
            claims()
        );
    }
}
