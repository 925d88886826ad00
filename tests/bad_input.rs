//! The bad-input catalogue: a table of hostile or broken requests, each run through the
//! verification layers of a small router and checked for
//!
//! - the HTTP status and the error kind (the `AuthError` the layer attaches to the response
//!   extensions, and the `kind` field of the JSON body);
//! - that the protected handler did not run (a counter the handlers increment);
//! - exactly one `charon.token.invalid` event, with that error kind and, when the claims were
//!   decoded, the claim metadata (and no `charon.token.valid` event);
//! - an RFC 6750 `WWW-Authenticate` challenge on 401 (`invalid_request` on 400, none on 403
//!   and 503).
//!
//! Every case gets a fresh context (keys, clock, sessions), so setups that rotate, log out
//! or kill Redis never leak into other cases. Tokens with bad claims are validly signed with
//! the service's key, so the claim checks themselves are exercised, not the signature check.
//!
//! Cases marked `[RFC …]` or `[OWASP …]` in their names were derived from those texts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, WWW_AUTHENTICATE};
use axum::http::request::Builder;
use axum::http::{HeaderValue, Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use charon_auth::store::SessionStore;
use charon_auth::store::redis::{RedisStore, SigningKey};
use charon_auth::telemetry::{EventKind, RecordingHandler};
use charon_auth::test_util::{TestSession, cookie_value};
use charon_auth::token::Algorithm;
use charon_auth::transport::CookieConfig;
use charon_auth::{
    AccessLayer, AuthError, AuthErrorKind, Authenticated, Charon, Key, Keyset, ManualClock,
    RefreshAuth, RefreshLayer, RefreshSession, SessionType, Transport,
};
use http_body_util::BodyExt;
use jsonwebtoken::EncodingKey;
use serde_json::{Value, json};
use support::redis::RedisServer;
use tower::ServiceExt;

// ---------------------------------------------------------------------------------------------
// Context
// ---------------------------------------------------------------------------------------------

const ISSUER: &str = "bad-input";
const HS_SECRET: [u8; 32] = [7; 32];
const ACCESS_COOKIE: &str = "__Host-access";
const REFRESH_COOKIE: &str = "__Host-refresh";
const LEEWAY: i64 = 5;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// The service's keyset: `hs` (HS256, signing) and three verify-only public keys.
fn keyset() -> Keyset {
    Keyset::new("hs", Key::hs256(&HS_SECRET).unwrap())
        .unwrap()
        .with_key(
            "rs",
            Key::rsa_public_from_pem(Algorithm::RS256, &fixture("rsa2048.pub.pem")).unwrap(),
        )
        .unwrap()
        .with_key(
            "ed",
            Key::ed25519_public_from_pem(&fixture("ed25519.pub.pem")).unwrap(),
        )
        .unwrap()
        .with_key(
            "es",
            Key::ec_public_from_pem(Algorithm::ES256, &fixture("es256.pub.pem")).unwrap(),
        )
        .unwrap()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Memory,
    /// A RedisStore on a redis-server owned by the context (setups may kill it).
    Redis,
}

/// What every case can use: a router, the handle, the clock, the events, and sessions.
struct Ctx {
    app: Router,
    charon: Charon,
    clock: ManualClock,
    events: RecordingHandler,
    hits: Arc<AtomicUsize>,
    now: i64,
    /// Bearer session of user `alice`.
    bearer: TestSession,
    /// Split-token (Cookie transport) session of `alice`.
    split: TestSession,
    /// Cookie-only session of `alice`.
    cookie_only: TestSession,
    /// Bearer session of user `bob`.
    other: TestSession,
    /// Split-token session of `bob`.
    other_split: TestSession,
    /// Cookie-only session of `bob`.
    other_cookie_only: TestSession,
    /// Refresh tokens issued by the rotations of a setup, oldest first.
    rotated: Mutex<Vec<String>>,
    redis: Mutex<Option<RedisServer>>,
    redis_store: Option<RedisStore>,
}

impl Ctx {
    async fn new(backend: Backend) -> Self {
        let clock = ManualClock::at_system_time();
        let events = RecordingHandler::default();
        let (store, redis, redis_store): (Arc<dyn SessionStore>, _, _) = match backend {
            Backend::Memory => (
                Arc::new(charon_auth::store::MemoryStore::default()),
                None,
                None,
            ),
            Backend::Redis => {
                let server = RedisServer::spawn();
                let store = RedisStore::builder_with_key(SigningKey::from_bytes([9; 32]))
                    .connect_timeout(Duration::from_millis(300))
                    .response_timeout(Duration::from_millis(300))
                    .connect(&server.url())
                    .await
                    .unwrap();
                (Arc::new(store.clone()), Some(server), Some(store))
            }
        };
        let charon = Charon::builder()
            .issuer(ISSUER)
            .keyset(keyset())
            .access_ttl(Duration::from_secs(60))
            .refresh_ttl(Duration::from_secs(3600))
            .leeway(Duration::from_secs(LEEWAY as u64))
            .cookies(
                CookieConfig::new()
                    .with_access_name(ACCESS_COOKIE)
                    .with_refresh_name(REFRESH_COOKIE),
            )
            .store_arc(store)
            .clock(clock.clone())
            .on_event(events.clone())
            .build()
            .unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let app = router(&charon, &hits);
        let session = |user: &'static str, transport| {
            let charon = charon.clone();
            async move { TestSession::create(&charon, user, transport).await.unwrap() }
        };
        let ctx = Ctx {
            bearer: session("alice", Transport::Bearer).await,
            split: session("alice", Transport::Cookie).await,
            cookie_only: session("alice", Transport::CookieOnly).await,
            other: session("bob", Transport::Bearer).await,
            other_split: session("bob", Transport::Cookie).await,
            other_cookie_only: session("bob", Transport::CookieOnly).await,
            now: charon.now(),
            app,
            charon,
            clock,
            events,
            hits,
            rotated: Mutex::new(Vec::new()),
            redis: Mutex::new(redis),
            redis_store,
        };
        ctx.events.take();
        ctx
    }

    fn access(&self) -> String {
        self.bearer.tokens().access_token().unwrap().to_owned()
    }

    fn refresh(&self) -> String {
        self.bearer.tokens().refresh_token().unwrap().to_owned()
    }

    /// The decoded payload of one of our tokens.
    fn payload_of(token: &str) -> Value {
        let payload = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    }

    fn access_claims(&self) -> Value {
        Self::payload_of(&self.access())
    }

    fn refresh_claims(&self) -> Value {
        Self::payload_of(&self.refresh())
    }

    /// A token with our signing header and `payload` (raw bytes), signed with our key.
    fn sign_payload(&self, payload: &[u8]) -> String {
        sign_hs(
            &b64(br#"{"alg":"HS256","typ":"JWT","kid":"hs"}"#),
            &b64(payload),
            &HS_SECRET,
        )
    }

    /// A token with our signing header and `claims`, signed with our key.
    fn sign_claims(&self, claims: &Value) -> String {
        self.sign_payload(claims.to_string().as_bytes())
    }

    /// A token with a crafted header (JSON text) over our valid access claims, signed with
    /// our HS256 secret.
    fn sign_header(&self, header: &str) -> String {
        sign_hs(
            &b64(header.as_bytes()),
            &b64(self.access_claims().to_string().as_bytes()),
            &HS_SECRET,
        )
    }

    /// Our valid access token with its header replaced (the signature left as it was).
    fn with_header(&self, header: &str) -> String {
        let token = self.access();
        let (_, rest) = token.split_once('.').unwrap();
        format!("{}.{rest}", b64(header.as_bytes()))
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn sign_with(header_b64: &str, payload_b64: &str, key: &EncodingKey, alg: Algorithm) -> String {
    let input = format!("{header_b64}.{payload_b64}");
    let sig = jsonwebtoken::crypto::sign(input.as_bytes(), key, alg).unwrap();
    format!("{input}.{sig}")
}

fn sign_hs(header_b64: &str, payload_b64: &str, secret: &[u8]) -> String {
    sign_with(
        header_b64,
        payload_b64,
        &EncodingKey::from_secret(secret),
        Algorithm::HS256,
    )
}

/// The router under test: protected handlers count their runs; `/rotate` and `/logout`
/// are helpers for setups and never count.
fn router(charon: &Charon, hits: &Arc<AtomicUsize>) -> Router {
    let h1 = Arc::clone(hits);
    let h2 = Arc::clone(hits);
    let protected = move |_auth: Authenticated| {
        let hits = Arc::clone(&h1);
        async move {
            hits.fetch_add(1, Ordering::SeqCst);
            "protected"
        }
    };
    let refresh = move |_auth: Authenticated| {
        let hits = Arc::clone(&h2);
        async move {
            hits.fetch_add(1, Ordering::SeqCst);
            "refreshed"
        }
    };
    let c1 = charon.clone();
    let rotate = move |auth: RefreshAuth| {
        let charon = c1.clone();
        async move {
            match charon.refresh_session(&auth, RefreshSession::new()).await {
                Ok(t) => t.into_response(),
                Err(e) => e.into_response(),
            }
        }
    };
    let c2 = charon.clone();
    let logout = move |auth: Authenticated| {
        let charon = c2.clone();
        async move {
            match charon.delete_session(&auth).await {
                Ok(done) => done.into_response(),
                Err(e) => e.into_response(),
            }
        }
    };
    let access = Router::new()
        .route("/me", get(protected.clone()).post(protected))
        .route("/logout", post(logout))
        .route_layer(AccessLayer::new(charon));
    let refreshing = Router::new()
        .route("/refresh", post(refresh))
        .route("/rotate", post(rotate))
        .route_layer(RefreshLayer::new(charon));
    Router::new().merge(access).merge(refreshing)
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Family {
    Header,
    Structure,
    Algorithm,
    Claims,
    Cookies,
    Refresh,
    Backend,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// `GET /me` behind the access layer.
    Access,
    /// `POST /me` behind the access layer (unsafe method: CSRF applies).
    AccessPost,
    /// `POST /refresh` behind the refresh layer.
    Refresh,
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
type Setup = for<'a> fn(&'a Ctx) -> BoxFuture<'a, ()>;
type Build = Box<dyn Fn(&Ctx, Builder) -> Builder + Send + Sync>;

struct Case {
    name: &'static str,
    family: Family,
    route: Route,
    backend: Backend,
    setup: Option<Setup>,
    build: Build,
    body: Option<&'static str>,
    status: StatusCode,
    kind: AuthErrorKind,
    /// Whether the token event carries claim metadata (the claims were decoded).
    claims_meta: bool,
    /// Whether the token event says the session was loaded.
    session_loaded: bool,
}

impl Case {
    fn new(
        family: Family,
        name: &'static str,
        route: Route,
        kind: AuthErrorKind,
        claims_meta: bool,
        build: impl Fn(&Ctx, Builder) -> Builder + Send + Sync + 'static,
    ) -> Self {
        Self {
            name,
            family,
            route,
            backend: Backend::Memory,
            setup: None,
            build: Box::new(build),
            body: None,
            status: AuthError::new(kind).status(),
            kind,
            claims_meta,
            session_loaded: false,
        }
    }

    fn loaded(mut self) -> Self {
        self.session_loaded = true;
        self
    }

    /// The claims are refused while they are parsed: the event carries no claim metadata.
    fn undecoded(mut self) -> Self {
        self.claims_meta = false;
        self
    }

    fn setup(mut self, setup: Setup) -> Self {
        self.setup = Some(setup);
        self
    }

    fn redis(mut self) -> Self {
        self.backend = Backend::Redis;
        self
    }

    fn body(mut self, body: &'static str) -> Self {
        self.body = Some(body);
        self
    }
}

fn bearer(b: Builder, token: &str) -> Builder {
    b.header(AUTHORIZATION, format!("Bearer {token}"))
}

fn auth_raw(b: Builder, value: &[u8]) -> Builder {
    b.header(AUTHORIZATION, HeaderValue::from_bytes(value).unwrap())
}

fn cookie(b: Builder, value: &str) -> Builder {
    b.header(COOKIE, value)
}

use AuthErrorKind as K;
use Family as F;
use Route as R;

/// A token with a crafted header over valid claims, signed with our secret.
fn hdr_case(family: Family, name: &'static str, kind: AuthErrorKind, header: &'static str) -> Case {
    Case::new(family, name, R::Access, kind, false, move |c, b| {
        bearer(b, &c.sign_header(header))
    })
}

/// Our valid access claims with `edit` applied, signed with our key, at the access route.
fn claims_case(
    name: &'static str,
    kind: AuthErrorKind,
    meta: bool,
    edit: impl Fn(&Ctx, &mut serde_json::Map<String, Value>) + Send + Sync + 'static,
) -> Case {
    Case::new(F::Claims, name, R::Access, kind, meta, move |c, b| {
        let mut claims = c.access_claims();
        edit(c, claims.as_object_mut().unwrap());
        bearer(b, &c.sign_claims(&claims))
    })
}

/// A raw payload signed with our key, at the access route.
fn payload_case(
    name: &'static str,
    kind: AuthErrorKind,
    payload: impl Fn(&Ctx) -> Vec<u8> + Send + Sync + 'static,
) -> Case {
    Case::new(F::Structure, name, R::Access, kind, false, move |c, b| {
        bearer(b, &c.sign_payload(&payload(c)))
    })
}

fn header_cases() -> Vec<Case> {
    let over = "a".repeat(8 * 1024 + 1);
    let huge = "a".repeat(64 * 1024);
    vec![
        Case::new(
            F::Header,
            "no authorization header, no cookie",
            R::Access,
            K::TokenNotFound,
            false,
            |_, b| b,
        ),
        Case::new(
            F::Header,
            "empty authorization header",
            R::Access,
            K::TokenNotFound,
            false,
            |_, b| auth_raw(b, b""),
        ),
        Case::new(
            F::Header,
            "Basic scheme only",
            R::Access,
            K::TokenNotFound,
            false,
            |_, b| auth_raw(b, b"Basic YWxpY2U6cGFzc3dvcmQ="),
        ),
        Case::new(
            F::Header,
            "unknown scheme carrying a valid token",
            R::Access,
            K::TokenNotFound,
            false,
            |c, b| b.header(AUTHORIZATION, format!("Token {}", c.access())),
        ),
        Case::new(
            F::Header,
            "whitespace-only authorization header",
            R::Access,
            K::TokenNotFound,
            false,
            |_, b| auth_raw(b, b"   "),
        ),
        Case::new(
            F::Header,
            "Bearer without a token",
            R::Access,
            K::MalformedRequest,
            false,
            |_, b| auth_raw(b, b"Bearer"),
        ),
        Case::new(
            F::Header,
            "Bearer and a space, no token",
            R::Access,
            K::MalformedRequest,
            false,
            |_, b| auth_raw(b, b"Bearer "),
        ),
        Case::new(
            F::Header,
            "Charon's 'Bearer: <token>' form",
            R::Access,
            K::MalformedRequest,
            false,
            |c, b| b.header(AUTHORIZATION, format!("Bearer: {}", c.access())),
        ),
        Case::new(
            F::Header,
            "two spaces after the scheme",
            R::Access,
            K::MalformedRequest,
            false,
            |c, b| b.header(AUTHORIZATION, format!("Bearer  {}", c.access())),
        ),
        Case::new(
            F::Header,
            "trailing whitespace after the token",
            R::Access,
            K::MalformedRequest,
            false,
            |c, b| b.header(AUTHORIZATION, format!("Bearer {} ", c.access())),
        ),
        Case::new(
            F::Header,
            "tab as separator",
            R::Access,
            K::MalformedRequest,
            false,
            |c, b| b.header(AUTHORIZATION, format!("Bearer\t{}", c.access())),
        ),
        Case::new(
            F::Header,
            "tab inside the token",
            R::Access,
            K::MalformedRequest,
            false,
            |c, b| {
                let t = c.access();
                let (h, rest) = t.split_once('.').unwrap();
                b.header(AUTHORIZATION, format!("Bearer {h}\t.{rest}"))
            },
        ),
        Case::new(
            F::Header,
            "non-UTF-8 bytes in the token",
            R::Access,
            K::MalformedRequest,
            false,
            |_, b| auth_raw(b, b"Bearer \xff\xfe.\xc3\x28.sig"),
        ),
        Case::new(
            F::Header,
            "obs-text (Latin-1) in the header",
            R::Access,
            K::MalformedRequest,
            false,
            |c, b| {
                let mut v = format!("Bearer {}", c.access()).into_bytes();
                v.push(0xe9);
                auth_raw(b, &v)
            },
        ),
        Case::new(
            F::Header,
            "two authorization headers, same token",
            R::Access,
            K::MalformedRequest,
            false,
            |c, b| bearer(bearer(b, &c.access()), &c.access()),
        ),
        Case::new(
            F::Header,
            "two authorization headers, Basic and Bearer",
            R::Access,
            K::MalformedRequest,
            false,
            |c, b| bearer(auth_raw(b, b"Basic YWxpY2U6cGFzc3dvcmQ="), &c.access()),
        ),
        Case::new(
            F::Header,
            "[RFC 9110 5.3] two credentials comma-joined in one line",
            R::Access,
            K::MalformedRequest,
            false,
            |c, b| {
                b.header(
                    AUTHORIZATION,
                    format!(
                        "Bearer {}, Bearer {}",
                        c.access(),
                        c.other.tokens().access_token().unwrap()
                    ),
                )
            },
        ),
        Case::new(
            F::Header,
            "token one byte over the gate limit",
            R::Access,
            K::MalformedRequest,
            false,
            move |_, b| bearer(b, &over),
        ),
        Case::new(
            F::Header,
            "64 KiB token",
            R::Access,
            K::MalformedRequest,
            false,
            move |_, b| bearer(b, &huge),
        ),
        Case::new(
            F::Header,
            "[RFC 6750 2.3] token in the access_token query parameter",
            R::Access,
            K::TokenNotFound,
            false,
            |c, _| Request::get(format!("/me?access_token={}", c.access())),
        ),
        Case::new(
            F::Header,
            "[RFC 6750 2.2] token in a form-encoded body",
            R::AccessPost,
            K::TokenNotFound,
            false,
            |_, b| b.header(CONTENT_TYPE, "application/x-www-form-urlencoded"),
        )
        .body("access_token=ignored.by.design"),
        Case::new(
            F::Header,
            "[OWASP Session] token in a custom header",
            R::Access,
            K::TokenNotFound,
            false,
            |c, b| b.header("x-access-token", c.access()),
        ),
        Case::new(
            F::Header,
            "[RFC 6750 2.1] b64token with '=' padding",
            R::Access,
            K::TokenMalformed,
            false,
            |c, b| bearer(b, &format!("{}=", c.access())),
        ),
    ]
}

fn structure_cases() -> Vec<Case> {
    let seg = |n: usize| {
        move |c: &Ctx, b: Builder| {
            let t = c.access();
            let parts: Vec<&str> = t.split('.').collect();
            let token = match n {
                1 => parts[0].to_owned(),
                2 => format!("{}.{}", parts[0], parts[1]),
                4 => format!("{t}.{}", parts[2]),
                _ => format!("{}.{}.{}.{}.{}", parts[0], "", parts[1], parts[1], parts[2]),
            };
            bearer(b, &token)
        }
    };
    vec![
        Case::new(
            F::Structure,
            "one segment",
            R::Access,
            K::TokenMalformed,
            false,
            seg(1),
        ),
        Case::new(
            F::Structure,
            "two segments (header.payload) as a bearer token",
            R::Access,
            K::SignatureInvalid,
            false,
            seg(2),
        ),
        Case::new(
            F::Structure,
            "four segments",
            R::Access,
            K::TokenMalformed,
            false,
            seg(4),
        ),
        Case::new(
            F::Structure,
            "[RFC 7516] five segments (JWE compact shape)",
            R::Access,
            K::TokenMalformed,
            false,
            seg(5),
        ),
        Case::new(
            F::Structure,
            "only dots",
            R::Access,
            K::TokenMalformed,
            false,
            |_, b| bearer(b, ".."),
        ),
        Case::new(
            F::Structure,
            "empty header segment",
            R::Access,
            K::TokenMalformed,
            false,
            |c, b| {
                let t = c.access();
                bearer(b, &t[t.find('.').unwrap()..])
            },
        ),
        Case::new(
            F::Structure,
            "standard base64 alphabet ('+' and '/')",
            R::Access,
            K::TokenMalformed,
            false,
            |c, b| bearer(b, &(c.access().replace('-', "+").replace('_', "/") + "+/")),
        ),
        Case::new(
            F::Structure,
            "'=' padding on the header segment",
            R::Access,
            K::TokenMalformed,
            false,
            |c, b| {
                let t = c.access();
                let (h, rest) = t.split_once('.').unwrap();
                bearer(b, &format!("{h}==.{rest}"))
            },
        ),
        Case::new(
            F::Structure,
            "[RFC 7515 2] signed non-canonical base64url payload",
            R::Access,
            K::TokenMalformed,
            false,
            |_, b| {
                // "e30" is "{}"; "e31" decodes to the same bytes with non-zero trailing bits.
                let header = b64(br#"{"alg":"HS256","typ":"JWT","kid":"hs"}"#);
                bearer(b, &sign_hs(&header, "e31", &HS_SECRET))
            },
        ),
        Case::new(
            F::Structure,
            "signed payload of impossible base64 length",
            R::Access,
            K::TokenMalformed,
            false,
            |_, b| {
                let header = b64(br#"{"alg":"HS256","typ":"JWT","kid":"hs"}"#);
                // 13 characters: 13 mod 4 = 1 is no base64 length at all.
                bearer(b, &sign_hs(&header, "eyJhIjoxfQAAA", &HS_SECRET))
            },
        ),
        payload_case("signed empty payload", K::TokenMalformed, |_| Vec::new()),
        payload_case("signed JSON array payload", K::TokenMalformed, |c| {
            json!([c.access_claims()]).to_string().into_bytes()
        }),
        payload_case("signed JSON string payload", K::TokenMalformed, |c| {
            Value::String(c.access_claims().to_string())
                .to_string()
                .into_bytes()
        }),
        payload_case("signed JSON null payload", K::TokenMalformed, |_| {
            b"null".to_vec()
        }),
        payload_case(
            "signed deeply nested claim (300 levels)",
            K::TokenMalformed,
            |c| {
                let claims = c.access_claims().to_string();
                let nested = format!("{}{}", "[".repeat(300), "]".repeat(300));
                format!("{},\"deep\":{nested}}}", &claims[..claims.len() - 1]).into_bytes()
            },
        ),
        Case::new(
            F::Structure,
            "deeply nested header parameter (300 levels)",
            R::Access,
            K::TokenMalformed,
            false,
            |c, b| {
                let nested = format!("{}{}", "[".repeat(300), "]".repeat(300));
                bearer(
                    b,
                    &c.sign_header(&format!(r#"{{"alg":"HS256","kid":"hs","x":{nested}}}"#)),
                )
            },
        ),
        payload_case(
            "[RFC 7519 4] signed payload repeating 'sub'",
            K::TokenMalformed,
            |c| {
                let claims = c.access_claims().to_string();
                format!("{},\"sub\":\"mallory\"}}", &claims[..claims.len() - 1]).into_bytes()
            },
        ),
        payload_case(
            "signed payload with a duplicate key inside an extra claim",
            K::TokenMalformed,
            |c| {
                let claims = c.access_claims().to_string();
                format!(
                    "{},\"role\":{{\"admin\":false,\"admin\":true}}}}",
                    &claims[..claims.len() - 1]
                )
                .into_bytes()
            },
        ),
        payload_case(
            "signed payload with trailing data after the object",
            K::TokenMalformed,
            |c| format!("{} {{}}", c.access_claims()).into_bytes(),
        ),
        payload_case(
            "[RFC 8725 3.7] signed payload that is not UTF-8",
            K::TokenMalformed,
            |c| {
                let claims = c.access_claims().to_string();
                let mut bytes = format!("{},\"x\":\"", &claims[..claims.len() - 1]).into_bytes();
                bytes.extend_from_slice(b"\xc0\xaf\"}");
                bytes
            },
        ),
        payload_case(
            "[RFC 8725 2.6] signed payload with a UTF-8 byte order mark",
            K::TokenMalformed,
            |c| {
                let mut bytes = b"\xef\xbb\xbf".to_vec();
                bytes.extend_from_slice(c.access_claims().to_string().as_bytes());
                bytes
            },
        ),
        payload_case(
            "[RFC 8259 8.2] signed payload with a lone surrogate escape",
            K::TokenMalformed,
            |c| {
                let claims = c.access_claims().to_string();
                format!("{},\"x\":\"\\ud800\"}}", &claims[..claims.len() - 1]).into_bytes()
            },
        ),
        payload_case(
            "signed payload with a JavaScript comment and NaN",
            K::TokenMalformed,
            |c| {
                let claims = c.access_claims().to_string();
                format!("/* hi */{},\"x\":NaN}}", &claims[..claims.len() - 1]).into_bytes()
            },
        ),
        payload_case(
            "[RFC 8725 2.6] signed payload repeating exp through a unicode escape",
            K::TokenMalformed,
            |c| {
                let claims = c.access_claims().to_string();
                format!("{},\"\\u0065xp\":4102444800}}", &claims[..claims.len() - 1]).into_bytes()
            },
        ),
        hdr_case(
            F::Structure,
            "header that is a JSON array",
            K::TokenMalformed,
            r#"["HS256","hs"]"#,
        ),
        hdr_case(
            F::Structure,
            "header that is not JSON",
            K::TokenMalformed,
            "alg=HS256;kid=hs",
        ),
        Case::new(
            F::Structure,
            "token of exactly 8 KiB with a garbage header",
            R::Access,
            K::TokenMalformed,
            false,
            |c, b| {
                // At the gate limit, so it reaches the token checks; the padded header is
                // no JSON.
                let t = c.access();
                let pad = "A".repeat(8 * 1024 - t.len());
                bearer(b, &format!("{pad}{t}"))
            },
        ),
    ]
}

fn escaped_header_cases() -> Vec<Case> {
    vec![
        hdr_case(
            F::Algorithm,
            "[RFC 8725 2.6] alg none spelled with a unicode escape in the name",
            K::AlgorithmMismatch,
            r#"{"\u0061lg":"none","typ":"JWT","kid":"hs"}"#,
        ),
        hdr_case(
            F::Algorithm,
            "[RFC 8725 2.6] jku spelled with unicode escapes",
            K::HeaderForbidden,
            r#"{"alg":"HS256","kid":"hs","\u006a\u006b\u0075":"https://evil.example/"}"#,
        ),
    ]
}

fn algorithm_cases() -> Vec<Case> {
    let none = |alg: &'static str, name: &'static str| {
        Case::new(
            F::Algorithm,
            name,
            R::Access,
            K::AlgorithmMismatch,
            false,
            move |c, b| {
                bearer(
                    b,
                    &c.with_header(&format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#)),
                )
            },
        )
    };
    let ed_key = || EncodingKey::from_ed_pem(&fixture("ed25519.pem")).unwrap();
    let rsa_key = || EncodingKey::from_rsa_pem(&fixture("rsa2048.pem")).unwrap();
    vec![
        Case::new(
            F::Algorithm,
            "[RFC 8725 2.1] alg none, signature stripped",
            R::Access,
            K::SignatureInvalid,
            false,
            |c, b| {
                let t = c.with_header(r#"{"alg":"none","typ":"JWT"}"#);
                bearer(b, &format!("{}.", &t[..t.rfind('.').unwrap()]))
            },
        ),
        none("none", "alg none with the old signature kept"),
        none("None", "alg None"),
        none("NONE", "alg NONE"),
        none("nOnE", "alg nOnE"),
        Case::new(
            F::Algorithm,
            "alg none naming our signing kid",
            R::Access,
            K::AlgorithmMismatch,
            false,
            |c, b| {
                bearer(
                    b,
                    &c.with_header(r#"{"alg":"none","typ":"JWT","kid":"hs"}"#),
                )
            },
        ),
        Case::new(
            F::Algorithm,
            "[RFC 8725 2.1] HS256 keyed with the RSA public key PEM, kid rs",
            R::Access,
            K::AlgorithmMismatch,
            false,
            |c, b| {
                let header = b64(br#"{"alg":"HS256","typ":"JWT","kid":"rs"}"#);
                let payload = b64(c.access_claims().to_string().as_bytes());
                bearer(b, &sign_hs(&header, &payload, &fixture("rsa2048.pub.pem")))
            },
        ),
        Case::new(
            F::Algorithm,
            "HS256 keyed with the Ed25519 public key PEM, kid ed",
            R::Access,
            K::AlgorithmMismatch,
            false,
            |c, b| {
                let header = b64(br#"{"alg":"HS256","typ":"JWT","kid":"ed"}"#);
                let payload = b64(c.access_claims().to_string().as_bytes());
                bearer(b, &sign_hs(&header, &payload, &fixture("ed25519.pub.pem")))
            },
        ),
        Case::new(
            F::Algorithm,
            "our exact RS256 header for kid rs, HMAC signature with the public key",
            R::Access,
            K::SignatureInvalid,
            false,
            |c, b| {
                // Byte-identical to the header we would write for kid rs (the fast path):
                // the key's algorithm (RS256) verifies, and an HMAC is no RSA signature.
                let header = b64(br#"{"alg":"RS256","typ":"JWT","kid":"rs"}"#);
                let payload = b64(c.access_claims().to_string().as_bytes());
                bearer(b, &sign_hs(&header, &payload, &fixture("rsa2048.pub.pem")))
            },
        ),
        Case::new(
            F::Algorithm,
            "HS256 without kid (no kid_not_set.HS256 key)",
            R::Access,
            K::KeyNotFound,
            false,
            |c, b| bearer(b, &c.sign_header(r#"{"alg":"HS256","typ":"JWT"}"#)),
        ),
        hdr_case(
            F::Algorithm,
            "HS512 header for the HS256 kid",
            K::AlgorithmMismatch,
            r#"{"alg":"HS512","typ":"JWT","kid":"hs"}"#,
        ),
        hdr_case(
            F::Algorithm,
            "[RFC 7515 4.1.1] alg in lower case (hs256)",
            K::AlgorithmMismatch,
            r#"{"alg":"hs256","typ":"JWT","kid":"hs"}"#,
        ),
        Case::new(
            F::Algorithm,
            "EdDSA-signed token naming the HMAC kid",
            R::Access,
            K::AlgorithmMismatch,
            false,
            move |c, b| {
                let header = b64(br#"{"alg":"EdDSA","typ":"JWT","kid":"hs"}"#);
                let payload = b64(c.access_claims().to_string().as_bytes());
                bearer(
                    b,
                    &sign_with(&header, &payload, &ed_key(), Algorithm::EdDSA),
                )
            },
        ),
        Case::new(
            F::Algorithm,
            "RS256-signed token naming the ES256 kid",
            R::Access,
            K::AlgorithmMismatch,
            false,
            move |c, b| {
                let header = b64(br#"{"alg":"RS256","typ":"JWT","kid":"es"}"#);
                let payload = b64(c.access_claims().to_string().as_bytes());
                bearer(
                    b,
                    &sign_with(&header, &payload, &rsa_key(), Algorithm::RS256),
                )
            },
        ),
        hdr_case(
            F::Algorithm,
            "alg that is not a string",
            K::TokenMalformed,
            r#"{"alg":["HS256"],"typ":"JWT","kid":"hs"}"#,
        ),
        hdr_case(
            F::Algorithm,
            "header without alg",
            K::TokenMalformed,
            r#"{"typ":"JWT","kid":"hs"}"#,
        ),
        hdr_case(
            F::Algorithm,
            "[RFC 7515 4] alg repeated (HS256 then none)",
            K::TokenMalformed,
            r#"{"alg":"HS256","kid":"hs","alg":"none"}"#,
        ),
        hdr_case(
            F::Algorithm,
            "unknown kid",
            K::KeyNotFound,
            r#"{"alg":"HS256","typ":"JWT","kid":"2019"}"#,
        ),
        hdr_case(
            F::Algorithm,
            "[RFC 8725 2.9] kid with path traversal",
            K::KeyNotFound,
            r#"{"alg":"HS256","typ":"JWT","kid":"../../../../dev/null"}"#,
        ),
        hdr_case(
            F::Algorithm,
            "[RFC 8725 2.9] kid with SQL injection",
            K::KeyNotFound,
            r#"{"alg":"HS256","typ":"JWT","kid":"x' UNION SELECT 'secret"}"#,
        ),
        hdr_case(
            F::Algorithm,
            "kid with a NUL suffix",
            K::KeyNotFound,
            r#"{"alg":"HS256","typ":"JWT","kid":"hs\u0000"}"#,
        ),
        hdr_case(
            F::Algorithm,
            "kid differing in case",
            K::KeyNotFound,
            r#"{"alg":"HS256","typ":"JWT","kid":"HS"}"#,
        ),
        hdr_case(
            F::Algorithm,
            "empty kid",
            K::KeyNotFound,
            r#"{"alg":"HS256","typ":"JWT","kid":""}"#,
        ),
        hdr_case(
            F::Algorithm,
            "explicit kid_not_set.HS256",
            K::KeyNotFound,
            r#"{"alg":"HS256","typ":"JWT","kid":"kid_not_set.HS256"}"#,
        ),
        hdr_case(
            F::Algorithm,
            "kid that is an object",
            K::TokenMalformed,
            r#"{"alg":"HS256","typ":"JWT","kid":{"$ne":""}}"#,
        ),
        Case::new(
            F::Algorithm,
            "4 KiB kid",
            R::Access,
            K::KeyNotFound,
            false,
            |c, b| {
                bearer(
                    b,
                    &c.sign_header(&format!(
                        r#"{{"alg":"HS256","typ":"JWT","kid":"{}"}}"#,
                        "k".repeat(4096)
                    )),
                )
            },
        ),
        hdr_case(
            F::Algorithm,
            "[RFC 7515 4.1.3] embedded jwk",
            K::HeaderForbidden,
            r#"{"alg":"HS256","typ":"JWT","kid":"hs","jwk":{"kty":"oct","k":"BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc"}}"#,
        ),
        hdr_case(
            F::Algorithm,
            "[RFC 7515 4.1.2] jku pointing elsewhere",
            K::HeaderForbidden,
            r#"{"alg":"HS256","typ":"JWT","kid":"hs","jku":"https://evil.example/jwks"}"#,
        ),
        hdr_case(
            F::Algorithm,
            "[RFC 7515 4.1.5] x5u",
            K::HeaderForbidden,
            r#"{"alg":"HS256","typ":"JWT","kid":"hs","x5u":"https://evil.example/cert"}"#,
        ),
        hdr_case(
            F::Algorithm,
            "[RFC 7515 4.1.6] x5c",
            K::HeaderForbidden,
            r#"{"alg":"HS256","typ":"JWT","kid":"hs","x5c":["MIIB"]}"#,
        ),
        hdr_case(
            F::Algorithm,
            "[RFC 7515 4.1.11] crit naming exp",
            K::HeaderForbidden,
            r#"{"alg":"HS256","typ":"JWT","kid":"hs","crit":["exp"],"exp":1}"#,
        ),
        hdr_case(
            F::Algorithm,
            "[RFC 7797] unencoded payload (b64 false, crit)",
            K::HeaderForbidden,
            r#"{"alg":"HS256","kid":"hs","b64":false,"crit":["b64"]}"#,
        ),
        hdr_case(
            F::Algorithm,
            "[RFC 7516 4.1.3] zip (compression)",
            K::HeaderForbidden,
            r#"{"alg":"HS256","typ":"JWT","kid":"hs","zip":"DEF"}"#,
        ),
        hdr_case(
            F::Algorithm,
            "[RFC 7516 4.1.2] enc (a JWE header)",
            K::HeaderForbidden,
            r#"{"alg":"HS256","typ":"JWT","kid":"hs","enc":"A128GCM"}"#,
        ),
        hdr_case(
            F::Algorithm,
            "[issue 10, RFC 7518 4.8.1.2] p2c (PBES2 count) on a signed token",
            K::HeaderForbidden,
            r#"{"alg":"HS256","typ":"JWT","kid":"hs","p2c":10000000}"#,
        ),
        hdr_case(
            F::Algorithm,
            "[issue 10, RFC 7518 4.8.1.1] p2s (PBES2 salt)",
            K::HeaderForbidden,
            r#"{"alg":"HS256","typ":"JWT","kid":"hs","p2s":"c2FsdA"}"#,
        ),
        hdr_case(
            F::Algorithm,
            "[issue 10, RFC 7518 4.6.1.1] epk (ephemeral key)",
            K::HeaderForbidden,
            r#"{"alg":"HS256","typ":"JWT","kid":"hs","epk":{"kty":"EC"}}"#,
        ),
        hdr_case(
            F::Algorithm,
            "[issue 10, RFC 7515 4.1.10] cty (nested token)",
            K::HeaderForbidden,
            r#"{"alg":"HS256","typ":"JWT","kid":"hs","cty":"JWT"}"#,
        ),
        hdr_case(
            F::Algorithm,
            "[issue 10] a header parameter outside the allowlist",
            K::HeaderForbidden,
            r#"{"alg":"HS256","typ":"JWT","kid":"hs","x-custom":"1"}"#,
        ),
        hdr_case(
            F::Algorithm,
            "[RFC 8725 3.11] typ of another kind of JWT",
            K::HeaderForbidden,
            r#"{"alg":"HS256","typ":"secevent+jwt","kid":"hs"}"#,
        ),
        Case::new(
            F::Algorithm,
            "signature truncated by one character",
            R::Access,
            K::SignatureInvalid,
            false,
            |c, b| {
                let t = c.access();
                bearer(b, &t[..t.len() - 1])
            },
        ),
        Case::new(
            F::Algorithm,
            "signature truncated to 128 bits",
            R::Access,
            K::SignatureInvalid,
            false,
            |c, b| {
                let t = c.access();
                let dot = t.rfind('.').unwrap();
                bearer(b, &t[..dot + 1 + 22])
            },
        ),
        Case::new(
            F::Algorithm,
            "one signature character flipped",
            R::Access,
            K::SignatureInvalid,
            false,
            |c, b| {
                let mut t = c.access().into_bytes();
                let i = t.len() - 10;
                t[i] = if t[i] == b'A' { b'B' } else { b'A' };
                bearer(b, &String::from_utf8(t).unwrap())
            },
        ),
        Case::new(
            F::Algorithm,
            "[RFC 7515 2] non-canonical last signature character",
            R::Access,
            K::SignatureInvalid,
            false,
            |c, b| {
                // 32 bytes = 43 characters with 2 spare bits: set them, same bytes "decoded".
                let mut t = c.access().into_bytes();
                let last = t.len() - 1;
                let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
                let v = alphabet.iter().position(|&x| x == t[last]).unwrap();
                t[last] = alphabet[v | 1];
                if alphabet[v] == t[last] {
                    t[last] = alphabet[v | 2];
                }
                bearer(b, &String::from_utf8(t).unwrap())
            },
        ),
        Case::new(
            F::Algorithm,
            "signature of another session's token",
            R::Access,
            K::SignatureInvalid,
            false,
            |c, b| {
                let t = c.access();
                let o = c.other.tokens().access_token().unwrap().to_owned();
                bearer(
                    b,
                    &format!(
                        "{}{}",
                        &t[..t.rfind('.').unwrap()],
                        &o[o.rfind('.').unwrap()..]
                    ),
                )
            },
        ),
        Case::new(
            F::Algorithm,
            "payload forged under a valid signature (sub changed)",
            R::Access,
            K::SignatureInvalid,
            false,
            |c, b| {
                let t = c.access();
                let parts: Vec<&str> = t.split('.').collect();
                let mut claims = c.access_claims();
                claims["sub"] = json!("bob");
                bearer(
                    b,
                    &format!(
                        "{}.{}.{}",
                        parts[0],
                        b64(claims.to_string().as_bytes()),
                        parts[2]
                    ),
                )
            },
        ),
        Case::new(
            F::Algorithm,
            "[RFC 8725 3.4] ES256 all-zero signature (psychic signature)",
            R::Access,
            K::SignatureInvalid,
            false,
            |c, b| {
                let header = b64(br#"{"alg":"ES256","typ":"JWT","kid":"es"}"#);
                let payload = b64(c.access_claims().to_string().as_bytes());
                bearer(b, &format!("{header}.{payload}.{}", b64(&[0u8; 64])))
            },
        ),
        Case::new(
            F::Algorithm,
            "HS256 signed with a 32-byte secret of zeros",
            R::Access,
            K::SignatureInvalid,
            false,
            |c, b| {
                let header = b64(br#"{"alg":"HS256","typ":"JWT","kid":"hs"}"#);
                let payload = b64(c.access_claims().to_string().as_bytes());
                bearer(b, &sign_hs(&header, &payload, &[0u8; 32]))
            },
        ),
    ]
}

fn claims_cases() -> Vec<Case> {
    vec![
        claims_case("[issue 10] nbf = -1", K::ClaimInvalid, false, |_, m| {
            m.insert("nbf".into(), json!(-1));
        }),
        claims_case("[issue 10] iat = -1", K::ClaimInvalid, false, |_, m| {
            m.insert("iat".into(), json!(-1));
        }),
        claims_case("[issue 10] exp = -1", K::ClaimInvalid, false, |_, m| {
            m.insert("exp".into(), json!(-1));
        }),
        claims_case(
            "[issue 10] exp after the year 9999",
            K::ClaimInvalid,
            false,
            |_, m| {
                m.insert("exp".into(), json!(253_402_300_800_i64));
            },
        ),
        claims_case(
            "[issue 10, RFC 8725 3.10] access token issued 30 days ago, exp still ahead",
            K::ClaimInvalid,
            true,
            |c, m| {
                m.insert("iat".into(), json!(c.now - 30 * 86_400));
                m.insert("nbf".into(), json!(c.now - 30 * 86_400));
            },
        ),
        claims_case(
            "[issue 10] access token valid for 10 years",
            K::ClaimInvalid,
            true,
            |c, m| {
                m.insert("exp".into(), json!(c.now + 10 * 365 * 86_400));
            },
        ),
        claims_case("[issue 10] empty sub", K::ClaimInvalid, false, |_, m| {
            m.insert("sub".into(), json!(""));
        }),
        claims_case(
            "[issue 10] sub with CRLF",
            K::ClaimInvalid,
            false,
            |_, m| {
                m.insert("sub".into(), json!("alice\r\nadmin"));
            },
        ),
        claims_case("[issue 10] empty sid", K::ClaimInvalid, false, |_, m| {
            m.insert("sid".into(), json!(""));
        }),
        claims_case("[issue 10] empty styp", K::ClaimInvalid, false, |_, m| {
            m.insert("styp".into(), json!(""));
        }),
        claims_case("[issue 10] empty jti", K::ClaimInvalid, false, |_, m| {
            m.insert("jti".into(), json!(""));
        }),
        claims_case(
            "expired exactly at the leeway boundary (exp = now - leeway)",
            K::Expired,
            true,
            |c, m| {
                m.insert("exp".into(), json!(c.now - LEEWAY));
            },
        ),
        claims_case(
            "expired one second past the leeway",
            K::Expired,
            true,
            |c, m| {
                m.insert("exp".into(), json!(c.now - LEEWAY - 1));
            },
        ),
        claims_case("exp at the epoch", K::Expired, true, |_, m| {
            m.insert("exp".into(), json!(0));
        }),
        claims_case(
            "exp = i64::MIN (overflow bait)",
            K::ClaimInvalid,
            false,
            |_, m| {
                m.insert("exp".into(), json!(i64::MIN));
            },
        ),
        claims_case(
            "nbf one second beyond the leeway",
            K::NotYetValid,
            true,
            |c, m| {
                m.insert("nbf".into(), json!(c.now + LEEWAY + 1));
            },
        ),
        claims_case(
            "iat one second beyond the leeway",
            K::NotYetValid,
            true,
            |c, m| {
                m.insert("iat".into(), json!(c.now + LEEWAY + 1));
            },
        ),
        claims_case(
            "iat = i64::MAX (overflow bait)",
            K::ClaimInvalid,
            false,
            |_, m| {
                m.insert("iat".into(), json!(i64::MAX));
            },
        ),
        claims_case("nbf after exp", K::NotYetValid, true, |c, m| {
            m.insert("nbf".into(), json!(c.now + 100));
            m.insert("exp".into(), json!(c.now + 50));
        }),
        claims_case("exp as a numeric string", K::ClaimInvalid, false, |c, m| {
            m.insert("exp".into(), json!((c.now + 60).to_string()));
        }),
        claims_case(
            "[RFC 7519 2] exp as a fractional NumericDate",
            K::ClaimInvalid,
            false,
            |c, m| {
                m.insert("exp".into(), json!(c.now as f64 + 60.5));
            },
        ),
        claims_case(
            "exp beyond i64 (u64::MAX)",
            K::ClaimInvalid,
            false,
            |_, m| {
                m.insert("exp".into(), json!(u64::MAX));
            },
        ),
        claims_case("nbf as a boolean", K::ClaimInvalid, false, |_, m| {
            m.insert("nbf".into(), json!(false));
        }),
        claims_case("iat as null", K::ClaimInvalid, false, |_, m| {
            m.insert("iat".into(), Value::Null);
        }),
        claims_case(
            "[RFC 8725 3.8] wrong issuer",
            K::ClaimInvalid,
            true,
            |_, m| {
                m.insert("iss".into(), json!("another-service"));
            },
        ),
        claims_case("issuer differing in case", K::ClaimInvalid, true, |_, m| {
            m.insert("iss".into(), json!("Bad-Input"));
        }),
        claims_case(
            "issuer with a trailing space",
            K::ClaimInvalid,
            true,
            |_, m| {
                m.insert("iss".into(), json!("bad-input "));
            },
        ),
        claims_case(
            "issuer as an array holding ours",
            K::ClaimInvalid,
            false,
            |_, m| {
                m.insert("iss".into(), json!([ISSUER]));
            },
        ),
        Case::new(
            F::Claims,
            "[RFC 8725 2.8] refresh token at the access route",
            R::Access,
            K::ClaimInvalid,
            true,
            |c, b| bearer(b, &c.refresh()),
        ),
        Case::new(
            F::Claims,
            "[RFC 8725 2.8] access token at the refresh route",
            R::Refresh,
            K::ClaimInvalid,
            true,
            |c, b| bearer(b, &c.access()),
        ),
        claims_case(
            "[RFC 8725 3.11] token type of another kind (id)",
            K::ClaimInvalid,
            false,
            |_, m| {
                m.insert("type".into(), json!("id"));
            },
        ),
        claims_case(
            "token type in another case (Access)",
            K::ClaimInvalid,
            false,
            |_, m| {
                m.insert("type".into(), json!("Access"));
            },
        ),
        // A positive integer `sub` is Charon's integer user id (accepted); other numbers
        // and other JSON types are not user ids.
        claims_case("sub as 0", K::ClaimInvalid, false, |_, m| {
            m.insert("sub".into(), json!(0));
        }),
        claims_case(
            "sub as a negative number",
            K::ClaimInvalid,
            false,
            |_, m| {
                m.insert("sub".into(), json!(-42));
            },
        ),
        claims_case("sub as a float (42.0)", K::ClaimInvalid, false, |_, m| {
            m.insert("sub".into(), json!(42.0));
        }),
        claims_case("sub as a boolean", K::ClaimInvalid, false, |_, m| {
            m.insert("sub".into(), json!(true));
        }),
        claims_case("missing exp", K::ClaimNotFound, false, |_, m| {
            m.remove("exp");
        }),
        claims_case("missing sub", K::ClaimNotFound, false, |_, m| {
            m.remove("sub");
        }),
        claims_case("missing sid", K::ClaimNotFound, false, |_, m| {
            m.remove("sid");
        }),
        claims_case("missing type", K::ClaimNotFound, false, |_, m| {
            m.remove("type");
        }),
        claims_case("missing iss", K::ClaimNotFound, false, |_, m| {
            m.remove("iss");
        }),
        claims_case("missing nbf", K::ClaimNotFound, false, |_, m| {
            m.remove("nbf");
        }),
        claims_case("missing iat", K::ClaimNotFound, false, |_, m| {
            m.remove("iat");
        }),
        claims_case("missing jti", K::ClaimNotFound, false, |_, m| {
            m.remove("jti");
        }),
        claims_case("missing styp", K::ClaimNotFound, false, |_, m| {
            m.remove("styp");
        }),
        claims_case("empty claims object", K::ClaimNotFound, false, |_, m| {
            m.clear();
        }),
    ]
}

fn cookie_cases() -> Vec<Case> {
    fn whole(t: &TestSession) -> String {
        cookie_value(t.tokens(), ACCESS_COOKIE).unwrap()
    }
    fn half(t: &TestSession) -> String {
        t.tokens().access_token().unwrap().to_owned()
    }
    vec![
        Case::new(
            F::Cookies,
            "token cookie twice in one header",
            R::Access,
            K::MalformedRequest,
            false,
            |c, b| {
                let v = whole(&c.cookie_only);
                cookie(b, &format!("{ACCESS_COOKIE}={v}; {ACCESS_COOKIE}={v}"))
            },
        ),
        Case::new(
            F::Cookies,
            "token cookie in two Cookie headers",
            R::Access,
            K::MalformedRequest,
            false,
            |c, b| {
                let v = whole(&c.cookie_only);
                cookie(
                    cookie(b, &format!("{ACCESS_COOKIE}={v}")),
                    &format!("a=1; {ACCESS_COOKIE}={v}"),
                )
            },
        ),
        Case::new(
            F::Cookies,
            "[OWASP Session] tossed cookie next to the genuine one",
            R::Access,
            K::MalformedRequest,
            false,
            |c, b| {
                cookie(
                    b,
                    &format!(
                        "{ACCESS_COOKIE}={}; {ACCESS_COOKIE}={}",
                        whole(&c.cookie_only),
                        whole(&c.other_cookie_only)
                    ),
                )
            },
        ),
        Case::new(
            F::Cookies,
            "split signature cookie twice",
            R::Access,
            K::MalformedRequest,
            false,
            |c, b| {
                let s = whole(&c.split);
                cookie(
                    bearer(b, &half(&c.split)),
                    &format!("{ACCESS_COOKIE}={s}; {ACCESS_COOKIE}={s}"),
                )
            },
        ),
        Case::new(
            F::Cookies,
            "[RFC 6265bis 4.1.3] percent-encoded prefix (__Host%2Daccess)",
            R::Access,
            K::TokenNotFound,
            false,
            |c, b| cookie(b, &format!("__Host%2Daccess={}", whole(&c.cookie_only))),
        ),
        Case::new(
            F::Cookies,
            "percent-encoded underscore (%5F_Host-access)",
            R::Access,
            K::TokenNotFound,
            false,
            |c, b| cookie(b, &format!("%5F_Host-access={}", whole(&c.cookie_only))),
        ),
        Case::new(
            F::Cookies,
            "prefix in another case (__HOST-access)",
            R::Access,
            K::TokenNotFound,
            false,
            |c, b| cookie(b, &format!("__HOST-access={}", whole(&c.cookie_only))),
        ),
        Case::new(
            F::Cookies,
            "__Secure- instead of __Host-",
            R::Access,
            K::TokenNotFound,
            false,
            |c, b| cookie(b, &format!("__Secure-access={}", whole(&c.cookie_only))),
        ),
        Case::new(
            F::Cookies,
            "token cookie name smuggled inside another cookie's value",
            R::Access,
            K::TokenNotFound,
            false,
            |c, b| cookie(b, &format!("x={ACCESS_COOKIE}={}", whole(&c.cookie_only))),
        ),
        Case::new(
            F::Cookies,
            "cookie-only POST behind a Basic header, no same-origin signal",
            R::AccessPost,
            K::CsrfFailed,
            false,
            |c, b| {
                cookie(
                    auth_raw(b, b"Basic YWxpY2U6cGFzc3dvcmQ="),
                    &format!("{ACCESS_COOKIE}={}", whole(&c.cookie_only)),
                )
            },
        ),
        Case::new(
            F::Cookies,
            "split-token half without its signature cookie",
            R::Access,
            K::SignatureInvalid,
            false,
            |c, b| bearer(b, &half(&c.split)),
        ),
        Case::new(
            F::Cookies,
            "split-token half with its signature under the refresh cookie name",
            R::Access,
            K::SignatureInvalid,
            false,
            |c, b| {
                let sig = whole(&c.split);
                cookie(
                    bearer(b, &half(&c.split)),
                    &format!("{REFRESH_COOKIE}={sig}"),
                )
            },
        ),
        Case::new(
            F::Cookies,
            "empty token cookie followed by a real one",
            R::Access,
            K::MalformedRequest,
            false,
            |c, b| {
                cookie(
                    b,
                    &format!(
                        "{ACCESS_COOKIE}=; {ACCESS_COOKIE}={}",
                        whole(&c.cookie_only)
                    ),
                )
            },
        ),
        Case::new(
            F::Cookies,
            "quoted cookie value",
            R::Access,
            K::MalformedRequest,
            false,
            |c, b| cookie(b, &format!("{ACCESS_COOKIE}=\"{}\"", whole(&c.cookie_only))),
        ),
        Case::new(
            F::Cookies,
            "percent-encoded dots in the cookie value",
            R::Access,
            K::TokenMalformed,
            false,
            |c, b| {
                cookie(
                    b,
                    &format!(
                        "{ACCESS_COOKIE}={}",
                        whole(&c.cookie_only).replace('.', "%2E")
                    ),
                )
            },
        ),
        Case::new(
            F::Cookies,
            "oversized token cookie",
            R::Access,
            K::MalformedRequest,
            false,
            |_, b| cookie(b, &format!("{ACCESS_COOKIE}={}", "a".repeat(8 * 1024 + 1))),
        ),
        Case::new(
            F::Cookies,
            "non-UTF-8 bytes in the token cookie",
            R::Access,
            K::MalformedRequest,
            false,
            |_, b| {
                b.header(
                    COOKIE,
                    HeaderValue::from_bytes(b"__Host-access=a\xffb.c.d").unwrap(),
                )
            },
        ),
        Case::new(
            F::Cookies,
            "split token with halves of two sessions",
            R::Access,
            K::SignatureInvalid,
            false,
            |c, b| {
                cookie(
                    bearer(b, &half(&c.split)),
                    &format!("{ACCESS_COOKIE}={}", whole(&c.other_split)),
                )
            },
        ),
        Case::new(
            F::Cookies,
            "split token: access half with the refresh signature",
            R::Access,
            K::SignatureInvalid,
            false,
            |c, b| {
                let sig = cookie_value(c.split.tokens(), REFRESH_COOKIE).unwrap();
                cookie(
                    bearer(b, &half(&c.split)),
                    &format!("{ACCESS_COOKIE}={sig}"),
                )
            },
        ),
        Case::new(
            F::Cookies,
            "split token: whole token in the header plus a signature cookie",
            R::Access,
            K::MalformedRequest,
            false,
            |c, b| {
                cookie(
                    bearer(b, &c.access()),
                    &format!("{ACCESS_COOKIE}={}", whole(&c.split)),
                )
            },
        ),
        Case::new(
            F::Cookies,
            "[OWASP JWT sidejacking] lone signature cookie",
            R::Access,
            K::TokenNotFound,
            false,
            |c, b| cookie(b, &format!("{ACCESS_COOKIE}={}", whole(&c.split))),
        ),
        Case::new(
            F::Cookies,
            "header and cookie naming different sessions",
            R::Access,
            K::MalformedRequest,
            false,
            |c, b| {
                cookie(
                    bearer(b, &c.access()),
                    &format!("{ACCESS_COOKIE}={}", whole(&c.other_cookie_only)),
                )
            },
        ),
        Case::new(
            F::Cookies,
            "refresh token in the access cookie",
            R::Access,
            K::ClaimInvalid,
            true,
            |c, b| {
                let v = cookie_value(c.cookie_only.tokens(), REFRESH_COOKIE).unwrap();
                cookie(b, &format!("{ACCESS_COOKIE}={v}"))
            },
        ),
        Case::new(
            F::Cookies,
            "cookie-only POST without a same-origin signal",
            R::AccessPost,
            K::CsrfFailed,
            false,
            |c, b| cookie(b, &format!("{ACCESS_COOKIE}={}", whole(&c.cookie_only))),
        ),
        Case::new(
            F::Cookies,
            "[OWASP CSRF] cookie-only POST, Sec-Fetch-Site: cross-site",
            R::AccessPost,
            K::CsrfFailed,
            false,
            |c, b| {
                cookie(b, &format!("{ACCESS_COOKIE}={}", whole(&c.cookie_only)))
                    .header("sec-fetch-site", "cross-site")
            },
        ),
        Case::new(
            F::Cookies,
            "[OWASP CSRF] cookie-only POST, Sec-Fetch-Site: same-site (not same-origin)",
            R::AccessPost,
            K::CsrfFailed,
            false,
            |c, b| {
                cookie(b, &format!("{ACCESS_COOKIE}={}", whole(&c.cookie_only)))
                    .header("sec-fetch-site", "same-site")
            },
        ),
        Case::new(
            F::Cookies,
            "cookie-only POST with two Sec-Fetch-Site headers",
            R::AccessPost,
            K::CsrfFailed,
            false,
            |c, b| {
                cookie(b, &format!("{ACCESS_COOKIE}={}", whole(&c.cookie_only)))
                    .header("sec-fetch-site", "same-origin")
                    .header("sec-fetch-site", "cross-site")
            },
        ),
    ]
}

// Setups for the refresh and backend families.

/// Rotate the bearer session twice, 11 s apart: two generations later, the original
/// refresh token is stale. The new refresh tokens land in `ctx.rotated`.
fn rotate_twice(c: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let mut current = c.refresh();
        for _ in 0..2 {
            c.clock.advance(11);
            let req = bearer(Request::post("/rotate"), &current)
                .body(Body::empty())
                .unwrap();
            let res = c.app.clone().oneshot(req).await.unwrap();
            assert_eq!(res.status(), StatusCode::OK, "setup: rotate");
            let body = res.into_body().collect().await.unwrap().to_bytes();
            let body: Value = serde_json::from_slice(&body).unwrap();
            current = body["refresh_token"].as_str().unwrap().to_owned();
            c.rotated.lock().unwrap().push(current.clone());
        }
    })
}

/// Rotate twice, then replay the original refresh token (which revokes the session).
fn rotate_twice_then_reuse(c: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        rotate_twice(c).await;
        let req = bearer(Request::post("/refresh"), &c.refresh())
            .body(Body::empty())
            .unwrap();
        let res = c.app.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "setup: stale reuse");
    })
}

fn logout(c: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let req = bearer(Request::post("/logout"), &c.access())
            .body(Body::empty())
            .unwrap();
        let res = c.app.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::NO_CONTENT, "setup: logout");
    })
}

fn logout_all(c: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        c.charon
            .delete_all_sessions("alice", &SessionType::default())
            .await
            .unwrap();
    })
}

fn expire_refresh(c: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move { c.clock.advance(3600 + LEEWAY) })
}

fn kill_redis(c: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = c.redis.lock().unwrap().take();
        drop(server);
    })
}

fn rotate_twice_then_kill(c: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        rotate_twice(c).await;
        kill_redis(c).await;
    })
}

fn bearer_sid(c: &Ctx) -> String {
    c.bearer.tokens().session().id.clone()
}

/// Overwrite the bearer session's blob in Redis with `value` (a writable Redis).
fn overwrite_blob(c: &Ctx, value: &str) {
    let keys = c
        .redis_store
        .as_ref()
        .unwrap()
        .keys("alice", &SessionType::default());
    let guard = c.redis.lock().unwrap();
    let server = guard.as_ref().unwrap();
    server
        .command(&["HSET", keys.sessions(), &bearer_sid(c), value])
        .unwrap();
}

fn tamper_blob(c: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move { overwrite_blob(c, "garbage that is no signed blob") })
}

fn swap_blob(c: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        // The genuine, signed blob of alice's other session, stored under this sid.
        let keys = c
            .redis_store
            .as_ref()
            .unwrap()
            .keys("alice", &SessionType::default());
        let sid = c.split.tokens().session().id.clone();
        let blob = {
            let guard = c.redis.lock().unwrap();
            guard
                .as_ref()
                .unwrap()
                .command(&["HGET", keys.sessions(), &sid])
                .unwrap()
        };
        overwrite_blob(c, &blob);
    })
}

fn refresh_claims_case(
    name: &'static str,
    kind: AuthErrorKind,
    edit: impl Fn(&Ctx, &mut serde_json::Map<String, Value>) + Send + Sync + 'static,
) -> Case {
    Case::new(F::Refresh, name, R::Refresh, kind, true, move |c, b| {
        let mut claims = c.refresh_claims();
        edit(c, claims.as_object_mut().unwrap());
        bearer(b, &c.sign_claims(&claims))
    })
}

fn refresh_cases() -> Vec<Case> {
    vec![
        Case::new(
            F::Refresh,
            "[RFC 9700 4.14.2] stale refresh token replayed",
            R::Refresh,
            K::TokenStale,
            true,
            |c, b| bearer(b, &c.refresh()),
        )
        .loaded()
        .setup(rotate_twice),
        Case::new(
            F::Refresh,
            "newest refresh token after a stale replay revoked the session",
            R::Refresh,
            K::SessionNotFound,
            true,
            |c, b| bearer(b, c.rotated.lock().unwrap().last().unwrap()),
        )
        .setup(rotate_twice_then_reuse),
        Case::new(
            F::Refresh,
            "refresh token replayed after logout",
            R::Refresh,
            K::SessionNotFound,
            true,
            |c, b| bearer(b, &c.refresh()),
        )
        .setup(logout),
        Case::new(
            F::Refresh,
            "refresh token replayed after log-out-everywhere",
            R::Refresh,
            K::SessionNotFound,
            true,
            |c, b| bearer(b, &c.refresh()),
        )
        .setup(logout_all),
        Case::new(
            F::Refresh,
            "split-token access token at the refresh route",
            R::Refresh,
            K::ClaimInvalid,
            true,
            |c, b| {
                let v = cookie_value(c.split.tokens(), ACCESS_COOKIE).unwrap();
                cookie(
                    bearer(b, c.split.tokens().access_token().unwrap()),
                    &format!("{REFRESH_COOKIE}={v}"),
                )
            },
        ),
        Case::new(
            F::Refresh,
            "access token in the refresh cookie (cookie-only)",
            R::Refresh,
            K::ClaimInvalid,
            true,
            |c, b| {
                let v = cookie_value(c.cookie_only.tokens(), ACCESS_COOKIE).unwrap();
                cookie(b, &format!("{REFRESH_COOKIE}={v}")).header("x-csrf-protect", "1")
            },
        ),
        Case::new(
            F::Refresh,
            "refresh cookie twice (cookie tossing)",
            R::Refresh,
            K::MalformedRequest,
            false,
            |c, b| {
                let v = cookie_value(c.cookie_only.tokens(), REFRESH_COOKIE).unwrap();
                let o = cookie_value(c.other_cookie_only.tokens(), REFRESH_COOKIE).unwrap();
                cookie(b, &format!("{REFRESH_COOKIE}={v}; {REFRESH_COOKIE}={o}"))
                    .header("x-csrf-protect", "1")
            },
        ),
        Case::new(
            F::Refresh,
            "refresh token past its expiry",
            R::Refresh,
            K::Expired,
            true,
            |c, b| bearer(b, &c.refresh()),
        )
        .setup(expire_refresh),
        Case::new(
            F::Refresh,
            "cookie-only refresh without a same-origin signal",
            R::Refresh,
            K::CsrfFailed,
            false,
            |c, b| {
                let v = cookie_value(c.cookie_only.tokens(), REFRESH_COOKIE).unwrap();
                cookie(b, &format!("{REFRESH_COOKIE}={v}"))
            },
        ),
        refresh_claims_case(
            "signed refresh token for a session that never existed",
            K::SessionNotFound,
            |_, m| {
                m.insert("sid".into(), json!(charon_auth::session::random_id()));
            },
        ),
        refresh_claims_case(
            "[RFC 8725 3.8] signed refresh token: alice's sid, bob as sub",
            K::SessionNotFound,
            |_, m| {
                m.insert("sub".into(), json!("bob"));
            },
        ),
        refresh_claims_case(
            "signed refresh token with another valid session type",
            K::SessionNotFound,
            |_, m| {
                m.insert("styp".into(), json!("api"));
            },
        ),
        refresh_claims_case(
            "signed refresh token with an invalid session type",
            K::ClaimInvalid,
            |_, m| {
                m.insert("styp".into(), json!("full}:{x"));
            },
        )
        .undecoded(),
        refresh_claims_case(
            "signed refresh token issued before its session",
            K::TokenStale,
            |c, m| {
                // Lifetime kept within the refresh TTL, so only freshness can refuse it.
                m.insert("iat".into(), json!(c.now - 100));
                m.insert("nbf".into(), json!(c.now - 100));
                m.insert("exp".into(), json!(c.now - 100 + 3600));
            },
        )
        .loaded(),
        // Hostile session ids never reach the store: refused while the claims are parsed
        // (the event says no session was loaded and carries no claims).
        hostile_sid("quotes", "a\"b"),
        hostile_sid("semicolon", "a;b"),
        hostile_sid("NUL", "a\u{0}b"),
        hostile_sid("braces", "{x}"),
        hostile_sid("CRLF", "a\r\nb"),
        hostile_sid("4 KB", "s".repeat(4096)),
        hostile_sid("a dot (the store's separator)", "l.x"),
        refresh_claims_case(
            "[issue 10] signed refresh token with an empty sid",
            K::ClaimInvalid,
            |_, m| {
                m.insert("sid".into(), json!(""));
            },
        )
        .undecoded(),
        refresh_claims_case(
            "[issue 10] refresh token living longer than the refresh TTL",
            K::ClaimInvalid,
            |c, m| {
                m.insert("exp".into(), json!(c.now + 3600 + LEEWAY + 1));
            },
        ),
    ]
}

/// A refresh token signed with our key whose `sid` is hostile.
fn hostile_sid(what: &'static str, sid: impl Into<String>) -> Case {
    let sid = sid.into();
    let name: &'static str =
        Box::leak(format!("[issue 10] signed refresh token, sid with {what}").into_boxed_str());
    refresh_claims_case(name, K::ClaimInvalid, move |_, m| {
        m.insert("sid".into(), json!(sid));
    })
    .undecoded()
}

fn backend_cases() -> Vec<Case> {
    vec![
        Case::new(
            F::Backend,
            "store down: valid refresh token",
            R::Refresh,
            K::StoreUnavailable,
            true,
            |c, b| bearer(b, &c.refresh()),
        )
        .redis()
        .setup(kill_redis),
        Case::new(
            F::Backend,
            "store down: refresh token of an unknown session (503, never 401)",
            R::Refresh,
            K::StoreUnavailable,
            true,
            |c, b| {
                let mut claims = c.refresh_claims();
                claims["sid"] = json!(charon_auth::session::random_id());
                bearer(b, &c.sign_claims(&claims))
            },
        )
        .redis()
        .setup(kill_redis),
        Case::new(
            F::Backend,
            "store down: stale refresh token (freshness unknown, 503)",
            R::Refresh,
            K::StoreUnavailable,
            true,
            |c, b| bearer(b, &c.refresh()),
        )
        .redis()
        .setup(rotate_twice_then_kill),
        Case::new(
            F::Backend,
            "store down: cookie-only refresh",
            R::Refresh,
            K::StoreUnavailable,
            true,
            |c, b| {
                let v = cookie_value(c.cookie_only.tokens(), REFRESH_COOKIE).unwrap();
                cookie(b, &format!("{REFRESH_COOKIE}={v}")).header("x-csrf-protect", "1")
            },
        )
        .redis()
        .setup(kill_redis),
        Case::new(
            F::Backend,
            "store down: forged signature is still 401 (store not consulted)",
            R::Refresh,
            K::SignatureInvalid,
            false,
            |c, b| {
                let t = c.refresh();
                bearer(
                    b,
                    &format!("{}.{}", &t[..t.rfind('.').unwrap()], b64(&[1u8; 32])),
                )
            },
        )
        .redis()
        .setup(kill_redis),
        Case::new(
            F::Backend,
            "signed refresh token whose sub tries to escape the Redis hash tag",
            R::Refresh,
            K::SessionNotFound,
            true,
            |c, b| {
                let mut claims = c.refresh_claims();
                claims["sub"] = json!("x}:full{alice");
                bearer(b, &c.sign_claims(&claims))
            },
        )
        .redis(),
        Case::new(
            F::Backend,
            "writable Redis: blob replaced by garbage",
            R::Refresh,
            K::SessionNotFound,
            true,
            |c, b| bearer(b, &c.refresh()),
        )
        .redis()
        .setup(tamper_blob),
        Case::new(
            F::Backend,
            "writable Redis: another session's signed blob under this sid",
            R::Refresh,
            K::SessionNotFound,
            true,
            |c, b| bearer(b, &c.refresh()),
        )
        .redis()
        .setup(swap_blob),
    ]
}

fn all_cases() -> Vec<Case> {
    let mut all = header_cases();
    all.extend(structure_cases());
    all.extend(algorithm_cases());
    all.extend(escaped_header_cases());
    all.extend(claims_cases());
    all.extend(cookie_cases());
    all.extend(refresh_cases());
    all.extend(backend_cases());
    all
}

// ---------------------------------------------------------------------------------------------
// Runner
// ---------------------------------------------------------------------------------------------

/// Run every case of `family`; report all failures at once.
async fn run(family: Family) {
    let cases: Vec<Case> = all_cases()
        .into_iter()
        .filter(|c| c.family == family)
        .collect();
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(why) = run_one(case).await {
            failures.push(format!("[{:?}] {}: {why}", case.family, case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

async fn run_one(case: &Case) -> Result<(), String> {
    let ctx = Ctx::new(case.backend).await;
    if let Some(setup) = case.setup {
        setup(&ctx).await;
    }
    ctx.events.take();
    let hits_before = ctx.hits.load(Ordering::SeqCst);
    let base = match case.route {
        Route::Access => Request::get("/me"),
        Route::AccessPost => Request::post("/me"),
        Route::Refresh => Request::post("/refresh"),
    };
    let body = case.body.map_or_else(Body::empty, Body::from);
    let req = (case.build)(&ctx, base)
        .body(body)
        .map_err(|e| format!("request: {e}"))?;
    let res = ctx.app.clone().oneshot(req).await.unwrap();
    let mut problems = Vec::new();

    let status = res.status();
    if status != case.status {
        problems.push(format!("status {status}, expected {}", case.status));
    }
    let attached = res.extensions().get::<AuthError>().map(AuthError::kind);
    if attached != Some(case.kind) {
        problems.push(format!(
            "attached error {attached:?}, expected {:?}",
            case.kind
        ));
    }
    let challenge = res
        .headers()
        .get(WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap_or("<non-ascii>").to_owned());
    let challenge_ok = match (case.status, case.kind) {
        (StatusCode::UNAUTHORIZED, K::TokenNotFound) => challenge.as_deref() == Some("Bearer"),
        (StatusCode::UNAUTHORIZED, _) => challenge
            .as_deref()
            .is_some_and(|c| c.starts_with("Bearer error=\"invalid_token\", error_description=\"")),
        (StatusCode::BAD_REQUEST, _) => challenge
            .as_deref()
            .is_some_and(|c| c.starts_with("Bearer error=\"invalid_request\"")),
        _ => challenge.is_none(),
    };
    if !challenge_ok {
        problems.push(format!("WWW-Authenticate {challenge:?}"));
    }
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if json["kind"] != case.kind.as_str() {
        problems.push(format!(
            "body kind {}, expected {}",
            json["kind"],
            case.kind.as_str()
        ));
    }
    let hits = ctx.hits.load(Ordering::SeqCst) - hits_before;
    if hits != 0 {
        problems.push(format!("the protected handler ran {hits} time(s)"));
    }

    let token_events: Vec<_> = ctx
        .events
        .take()
        .into_iter()
        .filter(|e| e.kind.is_token())
        .collect();
    match token_events.as_slice() {
        [e] => {
            if e.kind != EventKind::TokenInvalid {
                problems.push(format!("token event {:?}, expected token.invalid", e.kind));
            }
            if e.session_loaded != Some(case.session_loaded) {
                problems.push(format!("event session_loaded {:?}", e.session_loaded));
            }
            if e.error_kind != Some(case.kind) {
                problems.push(format!("event error kind {:?}", e.error_kind));
            }
            if e.token_type.is_some() != case.claims_meta
                || e.user_id.is_some() != case.claims_meta
                || e.session_id.is_some() != case.claims_meta
            {
                problems.push(format!(
                    "event claim metadata {:?}/{:?}, expected present = {}",
                    e.token_type, e.user_id, case.claims_meta
                ));
            }
        }
        other => problems.push(format!(
            "{} token events, expected exactly one token.invalid: {other:?}",
            other.len()
        )),
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn catalogue_has_at_least_60_cases_and_every_family() {
    let cases = all_cases();
    assert!(cases.len() >= 60, "{} cases", cases.len());
    let mut per_family = std::collections::BTreeMap::new();
    for case in &cases {
        *per_family.entry(case.family).or_insert(0usize) += 1;
    }
    for family in [
        F::Header,
        F::Structure,
        F::Algorithm,
        F::Claims,
        F::Cookies,
        F::Refresh,
        F::Backend,
    ] {
        let n = per_family.get(&family).copied().unwrap_or(0);
        assert!(n >= 4, "{family:?}: {n} cases");
    }
    eprintln!("{} cases: {per_family:?}", cases.len());
    let mut names = std::collections::BTreeSet::new();
    for case in &cases {
        assert!(names.insert(case.name), "duplicate case name {}", case.name);
    }
}

/// The control: the same context accepts the genuine tokens of every transport, so the
/// rejections above come from the bad input, not from a broken setup.
#[tokio::test]
async fn genuine_requests_pass() {
    let c = Ctx::new(Backend::Memory).await;
    let requests = [
        c.bearer.access_request(Request::get("/me")),
        c.split.access_request(Request::get("/me")),
        c.cookie_only.access_request(Request::get("/me")),
        c.bearer.refresh_request(Request::post("/refresh")),
        c.split.refresh_request(Request::post("/refresh")),
        c.cookie_only
            .refresh_request(Request::post("/refresh"))
            .header("x-csrf-protect", "1"),
        // Leeway boundaries from the inside.
        bearer(Request::get("/me"), &{
            let mut claims = c.access_claims();
            claims["exp"] = json!(c.now - LEEWAY + 1);
            claims["nbf"] = json!(c.now + LEEWAY);
            claims["iat"] = json!(c.now + LEEWAY);
            c.sign_claims(&claims)
        }),
        // The same whole token in header and cookie is not ambiguous.
        cookie(
            bearer(Request::get("/me"), &c.access()),
            &format!("{ACCESS_COOKIE}={}", c.access()),
        ),
    ];
    let n = requests.len();
    for (i, req) in requests.into_iter().enumerate() {
        let res = c
            .app
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "request {i}");
    }
    assert_eq!(c.hits.load(Ordering::SeqCst), n);
    assert!(
        c.events
            .take()
            .iter()
            .all(|e| e.kind != EventKind::TokenInvalid)
    );
}

#[tokio::test]
async fn authorization_header_shapes() {
    run(F::Header).await;
}

#[tokio::test]
async fn token_structure() {
    run(F::Structure).await;
}

#[tokio::test]
async fn algorithms_and_keys() {
    run(F::Algorithm).await;
}

#[tokio::test]
async fn claims() {
    run(F::Claims).await;
}

#[tokio::test]
async fn cookies() {
    run(F::Cookies).await;
}

#[tokio::test]
async fn refresh() {
    run(F::Refresh).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend() {
    run(F::Backend).await;
}
