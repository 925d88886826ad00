//! Token signing and verification: the library's full request gate and `JwtCodec` against
//! bare `jsonwebtoken` calls on the same tokens and keys.
//!
//! `cargo bench --bench verify -- --warm-up-time 1 --measurement-time 3`
//!
//! Groups, for HS256 and EdDSA:
//! - `gate/<alg>`: what the access layer does per request against a bare
//!   `jsonwebtoken::decode` with an equivalent `Validation`:
//!   - `jsonwebtoken::decode`: the baseline;
//!   - `extract_token+codec.verify`: the header gate plus full verification;
//!   - `AuthLayer.call`: the access layer's service around a no-op inner service (header
//!     gate, signature, claims, checks, `Authenticated` in the extensions, token event).
//!     The request is built outside the timed part.
//! - `verify/<alg>`: `JwtCodec::verify` and `verify_signature` alone.
//! - `sign/<alg>`: `JwtCodec::sign` (the signing part of session create) against
//!   `jsonwebtoken::encode`.
//! - `jwks/EdDSA` (with `--features jwks`): the access layer of a verify-only `Verifier`
//!   over 2 000 distinct tokens (the verified-token cache off, so every request is a full
//!   verification), its public key given locally against the same key fetched by a
//!   `RemoteJwks` from a JWKS server on loopback. The two should cost the same: the remote
//!   keys are one atomic load away. `cargo bench --bench verify --features jwks -- jwks/`
//!   Measured once (2 shared cores, load ≈ 9, `--warm-up-time 1 --measurement-time 3`):
//!   local keys 85.0 µs, RemoteJwks 87.0 µs per request, ratio 1.02 (within the noise).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::hint::black_box;

use charon_auth::clock::{Clock, SystemClock};
use charon_auth::token::{Algorithm, Claims, JwtCodec, Key, Keyset, TokenType};
use charon_auth::transport::extract_token;
use charon_auth::{AccessLayer, Authenticated, Charon};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use futures_util::FutureExt as _;
use http::{Request, Response, header::AUTHORIZATION};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tower::{Layer as _, Service as _};

const ISS: &str = "bench-issuer";
const SECRET: [u8; 32] = [0x42; 32];

/// The claims as a plain serde struct, for the bare jsonwebtoken baseline.
#[derive(Debug, Serialize, Deserialize)]
struct BareClaims {
    iss: String,
    sub: String,
    sid: String,
    styp: String,
    #[serde(rename = "type")]
    typ: String,
    jti: String,
    iat: i64,
    nbf: i64,
    exp: i64,
}

fn ed_pem() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/keys/ed25519.pem"
    ))
    .unwrap()
}

fn ed_pub_pem() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/keys/ed25519.pub.pem"
    ))
    .unwrap()
}

struct Setup {
    name: &'static str,
    alg: Algorithm,
    keyset: Keyset,
    codec: JwtCodec,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

fn setups() -> Vec<Setup> {
    let hs_keys = Keyset::new("k1", Key::hs256(&SECRET).unwrap()).unwrap();
    let hs = Setup {
        name: "HS256",
        alg: Algorithm::HS256,
        codec: JwtCodec::new(hs_keys.clone(), ISS).unwrap(),
        keyset: hs_keys,
        encoding: EncodingKey::from_secret(&SECRET),
        decoding: DecodingKey::from_secret(&SECRET),
    };
    let ed_keys = Keyset::new("k1", Key::ed25519_from_pem(&ed_pem()).unwrap()).unwrap();
    let ed = Setup {
        name: "EdDSA",
        alg: Algorithm::EdDSA,
        codec: JwtCodec::new(ed_keys.clone(), ISS).unwrap(),
        keyset: ed_keys,
        encoding: EncodingKey::from_ed_pem(&ed_pem()).unwrap(),
        decoding: DecodingKey::from_ed_pem(&ed_pub_pem()).unwrap(),
    };
    vec![hs, ed]
}

fn bench(c: &mut Criterion) {
    let now = SystemClock.now();
    let claims = Claims::new(
        TokenType::Access,
        ISS,
        "user-1234",
        "Ko2LvV3Gz1Qz5oQ9nU8h7A",
        "full",
        "jti",
    )
    .with_validity(now, now + 900);
    let bare = BareClaims {
        iss: ISS.into(),
        sub: claims.sub.to_string(),
        sid: "Ko2LvV3Gz1Qz5oQ9nU8h7A".into(),
        styp: "full".into(),
        typ: "access".into(),
        jti: "jti".into(),
        iat: now,
        nbf: now,
        exp: now + 900,
    };

    for s in setups() {
        let token = s.codec.sign(&claims).unwrap();
        let mut validation = Validation::new(s.alg);
        validation.set_issuer(&[ISS]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "nbf", "iss"]);
        // Same token through both paths.
        assert!(s.codec.verify(&token, now, TokenType::Access).is_ok());
        assert!(jsonwebtoken::decode::<BareClaims>(&token, &s.decoding, &validation).is_ok());

        // The access layer around a no-op service, configured like an application would.
        let charon = Charon::builder()
            .issuer(ISS)
            .keyset(s.keyset.clone())
            .build()
            .unwrap();
        let mut service =
            AccessLayer::new(&charon).layer(tower::service_fn(|req: Request<String>| async move {
                assert!(req.extensions().get::<Authenticated>().is_some());
                Ok::<_, Infallible>(Response::new(String::new()))
            }));
        let bearer = format!("Bearer {token}");
        let request = || {
            Request::builder()
                .uri("/me")
                .header(AUTHORIZATION, &bearer)
                .body(String::new())
                .unwrap()
        };
        let response = service.call(request()).now_or_never().unwrap().unwrap();
        assert_eq!(response.status(), 200);
        let headers = request().headers().clone();
        let limits = *charon.gate_limits();
        let cookie = charon.cookies().access_name().to_owned();

        let mut group = c.benchmark_group(format!("gate/{}", s.name));
        group.bench_function("jsonwebtoken::decode", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<BareClaims>(black_box(&token), &s.decoding, &validation)
                    .unwrap()
            });
        });
        group.bench_function("extract_token+codec.verify", |b| {
            b.iter(|| {
                let found = extract_token(black_box(&headers), &cookie, &limits).unwrap();
                s.codec
                    .verify(&found.token, now, TokenType::Access)
                    .unwrap()
            });
        });
        group.bench_function("AuthLayer.call", |b| {
            b.iter_batched(
                request,
                |req| service.call(req).now_or_never().unwrap().unwrap(),
                BatchSize::SmallInput,
            );
        });
        group.finish();

        let mut group = c.benchmark_group(format!("verify/{}", s.name));
        group.bench_function("codec.verify", |b| {
            b.iter(|| s.codec.verify(black_box(&token), now, TokenType::Access));
        });
        group.bench_function("codec.verify_signature", |b| {
            b.iter(|| s.codec.verify_signature(black_box(&token)));
        });
        group.bench_function("jsonwebtoken::decode", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<BareClaims>(black_box(&token), &s.decoding, &validation)
            });
        });
        group.finish();

        let mut header = Header::new(s.alg);
        header.kid = Some("k1".into());
        let mut group = c.benchmark_group(format!("sign/{}", s.name));
        group.bench_function("codec.sign", |b| {
            b.iter(|| s.codec.sign(black_box(&claims)));
        });
        group.bench_function("jsonwebtoken::encode", |b| {
            b.iter(|| jsonwebtoken::encode(&header, black_box(&bare), &s.encoding));
        });
        group.finish();
    }
}

/// Distinct tokens cycled through by the `jwks/` group.
#[cfg(feature = "jwks")]
const DISTINCT_TOKENS: usize = 2_000;

#[cfg(feature = "jwks")]
fn bench_jwks(c: &mut Criterion) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use charon_auth::jwks::RemoteJwks;
    use charon_auth::token::JwksDocument;
    use charon_auth::{TrustedIssuer, Verifier};

    let rt = tokio::runtime::Runtime::new().unwrap();
    let signing = Keyset::new("k1", Key::ed25519_from_pem(&ed_pem()).unwrap()).unwrap();
    let codec = JwtCodec::new(signing.clone(), ISS).unwrap();
    let public =
        Keyset::verify_only([("k1", Key::ed25519_public_from_pem(&ed_pub_pem()).unwrap())])
            .unwrap();

    // The JWKS server, on the benchmark's runtime.
    let body = JwksDocument::from_keyset(&signing).unwrap().body().clone();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let body = body.clone();
            async move { ([(http::header::CONTENT_TYPE, "application/json")], body) }
        }),
    );
    rt.spawn(async move { axum::serve(listener, app).await });
    let remote = rt.block_on(async {
        let jwks = RemoteJwks::builder(url).start().unwrap();
        assert!(jwks.wait_ready(Duration::from_secs(10)).await, "no keys");
        jwks
    });

    let now = SystemClock.now();
    let tokens: Vec<String> = (0..DISTINCT_TOKENS)
        .map(|i| {
            let claims = Claims::new(
                TokenType::Access,
                ISS,
                format!("user-{i}"),
                format!("session-{i}"),
                "full",
                format!("jti-{i}"),
            )
            .with_validity(now, now + 900);
            format!("Bearer {}", codec.sign(&claims).unwrap())
        })
        .collect();

    let verifiers = [
        ("local keys", TrustedIssuer::charon(ISS, public)),
        ("RemoteJwks", TrustedIssuer::charon(ISS, remote)),
    ];
    let mut group = c.benchmark_group("jwks/EdDSA");
    for (name, issuer) in verifiers {
        let verifier = Verifier::builder()
            .trust(issuer)
            .verified_token_cache(0)
            .tracing_events(false)
            .build()
            .unwrap();
        let service = AccessLayer::new(&verifier).layer(tower::service_fn(
            |req: Request<String>| async move {
                assert!(req.extensions().get::<Authenticated>().is_some());
                Ok::<_, Infallible>(Response::new(String::new()))
            },
        ));
        let next = AtomicUsize::new(0);
        let request = || {
            let i = next.fetch_add(1, Ordering::Relaxed) % DISTINCT_TOKENS;
            Request::builder()
                .uri("/me")
                .header(AUTHORIZATION, tokens.get(i).unwrap())
                .body(String::new())
                .unwrap()
        };
        let response = rt.block_on(service.clone().call(request())).unwrap();
        assert_eq!(response.status(), 200, "{name}");
        group.bench_function(name, |b| {
            b.to_async(&rt).iter_batched(
                request,
                |req| {
                    let mut service = service.clone();
                    async move { service.call(req).await.unwrap() }
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

#[cfg(not(feature = "jwks"))]
fn bench_jwks(_: &mut Criterion) {}

criterion_group!(benches, bench, bench_jwks);
criterion_main!(benches);
