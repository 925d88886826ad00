//! # Coming from Charon
//!
//! ## What maps to what
//!
//! | Charon (Elixir) | charon-auth |
//! |---|---|
//! | `Charon.Config` (`token_issuer`, `get_base_secret`, TTLs, cookie options, `enforce_browser_cookies`) | [`Charon::builder`](crate::Charon::builder) |
//! | `Charon.TokenFactory.Jwt` keyset, `signing_key`, `kid_not_set.<alg>` | [`Keyset`](crate::Keyset), [`Key`](crate::Key) |
//! | default key: PBKDF2(base_secret, `"charon_jwt_default"`) | [`Keyset::from_base_secret`](crate::Keyset::from_base_secret) (same derivation) |
//! | `SessionPlugs.upsert_session/3` (create) | [`Charon::create_session`](crate::Charon::create_session) |
//! | `SessionPlugs.upsert_session/3` (refresh pipeline) | [`Charon::refresh_session`](crate::Charon::refresh_session) |
//! | `SessionPlugs.delete_session/2` | [`Charon::delete_session`](crate::Charon::delete_session) |
//! | `SessionStore.get_all/3`, `delete_all/3` | [`Charon::list_sessions`](crate::Charon::list_sessions), [`Charon::delete_all_sessions`](crate::Charon::delete_all_sessions) |
//! | access pipeline (`get_token_from_auth_header`, `get_token_from_cookie`, `verify_token_signature`, nbf, exp, `claim_equals type`, `emit_telemetry`, `verify_no_auth_error`) | [`AccessLayer`](crate::AccessLayer) |
//! | refresh pipeline (… plus `load_session`, `verify_token_fresh`) | [`RefreshLayer`](crate::RefreshLayer) |
//! | `verify_token_claim_equals`, `_claim_in`, `OrdsetClaimHas` `all_of` / `any_of`, `verify_token_claim` | [`claim_equals`](crate::AccessLayer::claim_equals), [`claim_one_of`](crate::AccessLayer::claim_one_of), [`claim_contains_all`](crate::AccessLayer::claim_contains_all), [`claim_contains_any`](crate::AccessLayer::claim_contains_any), [`check`](crate::AccessLayer::check) |
//! | `PutAssigns` (`user_id`, `session_id`, `token_payload`, `session`) | [`Authenticated`](crate::Authenticated) in the request extensions / axum extractor |
//! | `:charon_auth_error` + `on_error` callback | [`Rejection`](crate::layer::Rejection), or [`optional`](crate::AccessLayer::optional) mode |
//! | `RedisStore`, `LocalStore` | [`RedisStore`](crate::store::redis::RedisStore), [`MemoryStore`](crate::store::MemoryStore) |
//! | `[:charon, :session, :create]` … telemetry | `charon.session.create` … [`telemetry`](crate::telemetry) |
//! | `TestHelpers` | [`test_util`](crate::test_util) (feature `test-util`) |
//! | error strings (`"bearer token expired"`, `"token stale"`, …) | [`AuthError`](crate::AuthError)'s `Display`, with a typed [`kind`](crate::AuthError::kind) |
//!
//! ## Token compatibility
//!
//! Tokens are wire-compatible, not byte-identical. Given the same base secret, both derive
//! the same HS256 key under kid `default`, so each accepts the other's tokens; EdDSA
//! (Ed25519) keys interoperate too. What matches exactly: the JWT header
//! `{"alg","typ":"JWT","kid"}`, byte for byte and in that order; the claim names, types
//! and meanings (`iss sub sid styp type jti iat nbf exp`, extra claims beside them);
//! base64url without padding; the split-token cookie (`.signature` in the cookie,
//! `header.payload` in the body); Charon's cookie names (the defaults) and attributes.
//! What differs in bytes, harmlessly for a verifier: the order of the payload's claims
//! (Charon encodes its claims map in key order, alphabetical; charon-auth writes `iss sub
//! sid styp type jti iat nbf exp`, then `aud`, then the extra claims), so the same claims
//! signed by each give different tokens; and the token cookies, which carry only
//! `Max-Age` here where Plug also writes `Expires` (browsers use `Max-Age` when both are
//! present; the clearing cookies carry both). Not supported: Ed448 and Poly1305 (outside
//! jsonwebtoken's reach), and the legacy `header.payload.` + `signature` cookie split
//! (removed from Charon after 2026-11-18).
//!
//! Sessions are not shared: Charon stores Erlang terms under `<prefix>.<uid>.<type>` with
//! hash-field expiry (Redis 8); charon-auth stores signed JSON under a Cluster-safe layout
//! that works on Redis 6.2+. During a migration users with a Charon session refresh once
//! against Charon, or log in again.
//!
//! ## What differs on purpose
//!
//! - **Reuse detection.** A refresh token older than the previous generation is rejected
//!   (as in Charon) *and* revokes its session by default (RFC 9700);
//!   [`ReuseDetection::RejectOnly`](crate::ReuseDetection::RejectOnly) restores Charon's
//!   behaviour.
//! - **No resurrection.** In Charon a refresh racing a logout can re-create the session;
//!   here an update of a missing session fails with "session not found".
//! - **Create vs refresh** telemetry comes from the operation, not from
//!   `created_at == refreshed_at` (which misreports a refresh in the login's second).
//! - **Extra session payload and extra claims are kept across refreshes** unless replaced
//!   (Charon replaces the payload with `%{}` and drops claim overrides unless passed
//!   again): the session stores its tokens' extra claims
//!   ([`Session::access_claims`](crate::Session::access_claims)) and signs them again.
//! - **User ids** are a positive integer or a string, as in Charon, and keep their JSON
//!   type (`"sub": 42` on login and on every refresh; [`UserId`](crate::session::UserId)).
//!   Stores key them by their text, as Charon's Redis store (`to_string(uid)` in the key),
//!   and a token's `sub` must match its session's user id in type too, as Charon's
//!   `^uid` match: `42` and `"42"` are different users that share a store key, so
//!   `list_sessions("42")` and `delete_all_sessions("42")` see both (Charon's `get_all`
//!   filters by type; its `delete_all` deletes the key, both).
//! - **`iss` is verified** (Charon never checks it unless asked), and extra claims cannot
//!   replace a reserved claim (Charon merges overrides last, so they could).
//! - **Leeway** is configurable (default 5 s as Charon, at most 60 s).
//! - **Strict request gate**: one `Authorization` header; `Bearer` matched case-insensitively
//!   followed by one space (Charon's `Bearer:` form is refused); size and charset limits;
//!   forbidden JOSE header parameters; byte-exact cookie names; duplicate auth cookies
//!   refused (400).
//! - **CSRF check** for the cookie-only transport (Charon leaves it to the app).
//! - **Fail closed.** A store error answers 503 (Charon raises, typically 500).
//! - **Lock version.** The session returned after a write carries its new lock version, so
//!   a second write in the same request does not conflict with itself.
//! - **Session types** are validated strings, not atoms made from token claims.
