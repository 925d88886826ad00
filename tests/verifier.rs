//! A verifier standing alone: public keys only, several issuers, audiences, tokens of other
//! issuers, typed claims, the access layer built from it, gRPC rejections (issue 11).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use charon_auth::extract::TypedClaims;
use charon_auth::layer::GrpcRejection;
use charon_auth::test_util::TestSession;
use charon_auth::token::{Claims, Key, Keyset};
use charon_auth::{
    AccessLayer, AuthErrorKind, Authenticated, Charon, TokenType, Transport, TrustedIssuer,
    Verifier,
};
use http_body_util::BodyExt;
use tower::ServiceExt;

const AUTH: &str = "https://auth.example";
const IDP: &str = "https://idp.example";

/// The auth service: EdDSA, and its public keys as a resource service receives them.
fn auth_service() -> (Charon, Keyset) {
    let generated = Key::generate_ed25519().unwrap();
    let keyset = generated.keyset().unwrap();
    let public = Keyset::from_jwks(&keyset.to_jwks().unwrap()).unwrap();
    assert!(!public.can_sign());
    let charon = Charon::builder()
        .issuer(AUTH)
        .keyset(keyset)
        .audience("orders")
        .build()
        .unwrap();
    (charon, public)
}

async fn call(app: Router, req: Request<Body>) -> (StatusCode, String) {
    let res = app.oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

fn me_app(verifier: &Verifier) -> Router {
    Router::new()
        .route(
            "/me",
            get(|auth: Authenticated| async move {
                format!(
                    "{} {} {:?}",
                    auth.issuer(),
                    auth.user_id(),
                    auth.session_id().is_some()
                )
            }),
        )
        .route_layer(AccessLayer::new(verifier))
}

fn bearer(token: &str) -> Request<Body> {
    Request::get("/me")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn a_resource_service_verifies_with_public_keys_alone() {
    let (charon, public) = auth_service();
    let verifier = Verifier::builder()
        .trust(TrustedIssuer::charon(AUTH, public.clone()))
        .audience("orders")
        .build()
        .unwrap();
    let session = TestSession::create(&charon, "ann", Transport::Bearer)
        .await
        .unwrap();
    let token = session.tokens().access_token().unwrap();
    let (status, text) = call(me_app(&verifier), bearer(token)).await;
    assert_eq!(
        (status, text.as_str()),
        (StatusCode::OK, "https://auth.example ann true")
    );
    // Refresh tokens are refused on access routes, as everywhere.
    let refresh = session.tokens().refresh_token().unwrap();
    let err = verifier
        .verify(refresh, verifier.now(), TokenType::Access)
        .unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::ClaimInvalid);
    // Another service (another audience) refuses the token (RFC 7519 4.1.3).
    let billing = Verifier::builder()
        .trust(TrustedIssuer::charon(AUTH, public))
        .audience("billing")
        .build()
        .unwrap();
    let err = billing
        .verify(token, billing.now(), TokenType::Access)
        .unwrap_err();
    assert_eq!(err.detail(), Some("aud"));
    // A verifier holding another auth service's keys does not know the key.
    let (_, stranger) = auth_service();
    let elsewhere = Verifier::builder()
        .trust(TrustedIssuer::charon(AUTH, stranger))
        .audience("orders")
        .build()
        .unwrap();
    let err = elsewhere
        .verify(token, elsewhere.now(), TokenType::Access)
        .unwrap_err();
    assert_eq!(err.kind(), AuthErrorKind::KeyNotFound);
}

#[tokio::test]
async fn audiences_name_the_service() {
    let (charon, public) = auth_service();
    let session = TestSession::create(&charon, "ann", Transport::Bearer)
        .await
        .unwrap();
    let token = session.tokens().access_token().unwrap().to_owned();
    for (audience, ok) in [
        (Some("orders"), true),
        (Some("billing"), false),
        (None, false),
    ] {
        let mut builder = Verifier::builder().trust(TrustedIssuer::charon(AUTH, public.clone()));
        if let Some(a) = audience {
            builder = builder.audience(a);
        }
        let verifier = builder.build().unwrap();
        let result = verifier.verify(&token, verifier.now(), TokenType::Access);
        assert_eq!(result.is_ok(), ok, "{audience:?}: {result:?}");
        if !ok {
            assert_eq!(result.unwrap_err().detail(), Some("aud"));
        }
    }
}

/// An outside identity provider's token: `iss`, `sub`, `exp` (and `aud`), no session.
fn idp_token(key: &Key, claims: &Claims) -> String {
    charon_auth::JwtCodec::new(Keyset::new("idp-1", key.clone()).unwrap(), IDP)
        .unwrap()
        .sign(claims)
        .unwrap()
}

#[tokio::test]
async fn tokens_of_several_issuers_each_with_its_own_keys() {
    let (charon, public) = auth_service();
    let idp_key = Key::generate_es256().unwrap().into_key();
    let idp_public = Keyset::from_jwks(
        &Keyset::new("idp-1", idp_key.clone())
            .unwrap()
            .to_jwks()
            .unwrap(),
    )
    .unwrap();
    let verifier = Verifier::builder()
        .trust(TrustedIssuer::charon(AUTH, public))
        .trust(TrustedIssuer::external(IDP, idp_public))
        .audience("orders")
        .build()
        .unwrap();
    let app = me_app(&verifier);
    let now = verifier.now();

    let ours = TestSession::create(&charon, "ann", Transport::Bearer)
        .await
        .unwrap();
    let (status, text) = call(app.clone(), bearer(ours.tokens().access_token().unwrap())).await;
    assert_eq!(
        (status, text.as_str()),
        (StatusCode::OK, "https://auth.example ann true")
    );

    let theirs = idp_token(
        &idp_key,
        &Claims::external(IDP, "idp-user", now + 300).with_audience(["orders"]),
    );
    let (status, text) = call(app.clone(), bearer(&theirs)).await;
    assert_eq!(
        (status, text.as_str()),
        (StatusCode::OK, "https://idp.example idp-user false")
    );

    // The IdP's key cannot mint tokens in our issuer's name: the `iss` picks whose keys
    // verify, and ours refuse the IdP's signature.
    let forged = idp_token(
        &idp_key,
        &Claims::new(
            TokenType::Access,
            AUTH,
            "admin",
            "Ko2LvV3Gz1Qz5oQ9nU8h7A",
            "full",
            "j",
        )
        .with_validity(now, now + 60)
        .with_audience(["orders"]),
    );
    let err = verifier
        .verify(&forged, now, TokenType::Access)
        .unwrap_err();
    assert!(
        matches!(
            err.kind(),
            AuthErrorKind::KeyNotFound | AuthErrorKind::SignatureInvalid
        ),
        "{err:?}"
    );
    // An issuer nobody trusts.
    let stranger = idp_token(
        &idp_key,
        &Claims::external("https://evil.example", "u", now + 60).with_audience(["orders"]),
    );
    assert_eq!(
        verifier
            .verify(&stranger, now, TokenType::Access)
            .unwrap_err()
            .detail(),
        Some("iss")
    );
    // Wrong audience and missing audience for the IdP's tokens too.
    for claims in [
        Claims::external(IDP, "u", now + 60).with_audience(["billing"]),
        Claims::external(IDP, "u", now + 60),
    ] {
        let token = idp_token(&idp_key, &claims);
        assert_eq!(
            verifier
                .verify(&token, now, TokenType::Access)
                .unwrap_err()
                .detail(),
            Some("aud")
        );
    }
    // External tokens are never refresh tokens.
    assert!(verifier.verify(&theirs, now, TokenType::Refresh).is_err());
}

#[tokio::test]
async fn typed_claims_are_checked_by_the_layer() {
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Tenant {
        sub: String,
        tenant: String,
    }
    let charon = Charon::builder()
        .issuer("typed")
        .keyset(Keyset::new("k", Key::hs256(&[3; 32]).unwrap()).unwrap())
        .build()
        .unwrap();
    let app = Router::new()
        .route(
            "/me",
            get(|TypedClaims(t): TypedClaims<Tenant>| async move { t.tenant.clone() }),
        )
        .route_layer(AccessLayer::new(&charon).typed_claims::<Tenant>());
    let with = TestSession::create_with(
        &charon,
        charon_auth::CreateSession::new("u", Transport::Bearer)
            .access_claim("tenant", "acme")
            .unwrap(),
    )
    .await
    .unwrap();
    let (status, text) = call(app.clone(), bearer(with.tokens().access_token().unwrap())).await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, "acme"));
    let without = TestSession::create(&charon, "u", Transport::Bearer)
        .await
        .unwrap();
    let (status, text) = call(app, bearer(without.tokens().access_token().unwrap())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{text}");
    assert!(text.contains("bearer token claim claims invalid"), "{text}");
}

#[tokio::test]
async fn a_verifier_needs_an_issuer_and_sane_settings() {
    let keys = || Keyset::new("k", Key::hs256(&[3; 32]).unwrap()).unwrap();
    let kind = |b: charon_auth::verifier::VerifierBuilder| b.build().unwrap_err().kind();
    use charon_auth::ConfigErrorKind as K;
    assert_eq!(kind(Verifier::builder()), K::Missing);
    assert_eq!(
        kind(
            Verifier::builder()
                .trust(TrustedIssuer::charon("a", keys()))
                .trust(TrustedIssuer::external("a", keys()))
        ),
        K::Invalid
    );
    assert_eq!(
        kind(
            Verifier::builder()
                .trust(TrustedIssuer::charon("a", keys()))
                .audience("")
        ),
        K::Invalid
    );
    assert_eq!(
        kind(
            Verifier::builder()
                .trust(TrustedIssuer::charon("a", keys()))
                .leeway(Duration::from_secs(61))
        ),
        K::LeewayTooLarge
    );
    assert_eq!(
        kind(
            Verifier::builder().trust(
                TrustedIssuer::charon("a", keys())
                    .max_token_lifetime(TokenType::Access, Duration::ZERO)
            )
        ),
        K::InvalidTtl
    );
}

#[tokio::test]
async fn grpc_rejections_answer_trailers_only() {
    let (charon, public) = auth_service();
    let verifier = Verifier::builder()
        .trust(TrustedIssuer::charon(AUTH, public))
        .audience("orders")
        .build()
        .unwrap();
    let service = AccessLayer::new(&verifier)
        .rejection(GrpcRejection)
        .layer(tower::service_fn(|_: Request<()>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(String::from("ok")))
        }));
    use tower::Layer as _;
    let _ = &charon;
    let anonymous = Request::post("/pkg.Service/Call").body(()).unwrap();
    let res = service.clone().oneshot(anonymous).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["grpc-status"], "16");
    assert_eq!(res.headers()["content-type"], "application/grpc");
}
