//! Against an independent JOSE implementation, PyJWT (`pyjwt[crypto]` from PyPI, which
//! `scripts/test.sh` installs in `target/interop-venv`):
//!
//! - PyJWT's `PyJWKClient` on the auth demo's live `/.well-known/jwks.json` verifies our
//!   EdDSA and ES256 access tokens, with its own `iss` and `aud` checks (and refuses them
//!   for another audience or issuer);
//! - tokens PyJWT signs with its own ES256 and EdDSA keys, served as a JWKS by a small Python
//!   HTTP server (`tests/interop/external_issuer.py`), are accepted by the resource server
//!   under the external profile, and refused with the wrong `aud` or `iss`, without `aud`,
//!   expired, or signed by another key.
//!
//! The Python interpreter is `CHARON_TEST_PYTHON`, else `target/interop-venv/bin/python`
//! when it exists, else `python3`. Without PyJWT the tests FAIL (they never skip).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "support/processes.rs"]
mod processes;

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use processes::{Process, alg_of, binaries, free_port, get, kid_of, login};
use serde_json::Value;

const ISSUER: &str = "charon-auth-demo";
const EXTERNAL: &str = "https://idp.test";
const AUDIENCE: &str = "orders";

fn interop(script: &str) -> String {
    format!("{}/tests/interop/{script}", env!("CARGO_MANIFEST_DIR"))
}

/// The Python with PyJWT and cryptography; panics with what to do when there is none.
fn python() -> &'static str {
    static PYTHON: OnceLock<String> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/interop-venv/bin/python");
        let python = std::env::var("CHARON_TEST_PYTHON").unwrap_or_else(|_| {
            if venv.exists() {
                venv.display().to_string()
            } else {
                "python3".to_owned()
            }
        });
        let check = Command::new(&python)
            .args(["-c", "import jwt, cryptography; print(jwt.__version__)"])
            .output();
        match check {
            Ok(out) if out.status.success() => python,
            Ok(out) => panic!(
                "{python} has no PyJWT with crypto ({}); run ./scripts/test.sh, which \
                 installs pyjwt[crypto] in target/interop-venv, or set CHARON_TEST_PYTHON",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => panic!(
                "cannot run {python} ({e}): the interop tests need Python 3 with \
                 pyjwt[crypto]; run ./scripts/test.sh or set CHARON_TEST_PYTHON"
            ),
        }
    })
}

/// PyJWT's verdict on `token` (see `tests/interop/verify_with_pyjwk_client.py`).
fn pyjwt_verify(jwks_url: &str, token: &str, alg: &str, issuer: &str, audience: &str) -> Value {
    let out = Command::new(python())
        .arg(interop("verify_with_pyjwk_client.py"))
        .args([jwks_url, token, alg, issuer, audience])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let verdict: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        panic!(
            "PyJWT script failed ({}): {stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    });
    // Exit 0 exactly when PyJWT accepted the token.
    assert_eq!(out.status.success(), verdict["ok"] == true, "{verdict}");
    verdict
}

#[tokio::test]
async fn pyjwt_verifies_our_eddsa_and_es256_tokens_through_the_live_jwks() {
    for alg in ["EdDSA", "ES256"] {
        let port = free_port();
        let auth = Process::spawn(
            "auth demo",
            &binaries().auth,
            port,
            &[("CHARON_SIGNING_ALG", alg), ("CHARON_AUDIENCE", AUDIENCE)],
        )
        .ready()
        .await;
        let jwks_url = auth.url("/.well-known/jwks.json");
        let (token, session_id) = login(&auth, "alice").await;
        assert_eq!(alg_of(&token), alg);

        let verdict = pyjwt_verify(&jwks_url, &token, alg, ISSUER, AUDIENCE);
        assert_eq!(verdict["ok"], true, "{alg}: {verdict}");
        assert_eq!(verdict["kid"], kid_of(&token).as_str());
        let claims = &verdict["claims"];
        assert_eq!(claims["sub"], "alice");
        assert_eq!(claims["iss"], ISSUER);
        assert_eq!(claims["aud"], AUDIENCE);
        assert_eq!(claims["sid"], session_id.as_str());
        assert_eq!(claims["type"], "access");

        let verdict = pyjwt_verify(&jwks_url, &token, alg, ISSUER, "billing");
        assert_eq!(verdict["error"], "InvalidAudienceError", "{alg}: {verdict}");
        let verdict = pyjwt_verify(&jwks_url, &token, alg, "https://other.example", AUDIENCE);
        assert_eq!(verdict["error"], "InvalidIssuerError", "{alg}: {verdict}");
        // PyJWT refuses the token under another algorithm than the key's.
        let other = if alg == "EdDSA" { "ES256" } else { "EdDSA" };
        let verdict = pyjwt_verify(&jwks_url, &token, other, ISSUER, AUDIENCE);
        assert_eq!(verdict["ok"], false, "{alg} as {other}: {verdict}");
    }
}

/// `tests/interop/external_issuer.py`: a PyJWT identity provider, killed on drop.
struct ExternalIssuer {
    child: Child,
    jwks_url: String,
    tokens: Value,
}

impl ExternalIssuer {
    fn start(alg: &str) -> Self {
        let mut child = Command::new(python())
            .arg(interop("external_issuer.py"))
            .args([alg, EXTERNAL, AUDIENCE])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let started: Value = serde_json::from_str(&line)
            .unwrap_or_else(|_| panic!("external_issuer.py printed {line:?}"));
        Self {
            child,
            jwks_url: started["jwks_url"].as_str().unwrap().to_owned(),
            tokens: started["tokens"].clone(),
        }
    }

    fn token(&self, name: &str) -> &str {
        self.tokens[name].as_str().unwrap()
    }
}

impl Drop for ExternalIssuer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn tokens_pyjwt_signs_are_accepted_under_the_external_profile() {
    for alg in ["ES256", "EdDSA"] {
        let idp = ExternalIssuer::start(alg);
        // Our own auth service too: one resource server trusts both issuers.
        let auth_port = free_port();
        let auth = Process::spawn(
            "auth demo",
            &binaries().auth,
            auth_port,
            &[
                ("CHARON_SIGNING_ALG", "EdDSA"),
                ("CHARON_AUDIENCE", AUDIENCE),
            ],
        )
        .ready()
        .await;
        let resource = Process::spawn(
            "resource server",
            &binaries().resource,
            free_port(),
            &[
                ("CHARON_JWKS_URL", &auth.url("/.well-known/jwks.json")),
                ("CHARON_ISSUER", ISSUER),
                ("CHARON_AUDIENCE", AUDIENCE),
                ("CHARON_EXTERNAL_ISSUER", EXTERNAL),
                ("CHARON_EXTERNAL_JWKS_URL", &idp.jwks_url),
            ],
        )
        .ready()
        .await;
        let me = |token: String| {
            let url = resource.url("/me");
            async move { get(&url, Some(&token)).await.unwrap() }
        };

        let (status, body) = me(idp.token("good").to_owned()).await;
        assert_eq!(status, 200, "{alg}: {body}\n{}", resource.output());
        assert_eq!(body["user_id"], "user-from-pyjwt");
        assert_eq!(body["issuer"], EXTERNAL);
        assert_eq!(body["session_id"], Value::Null);

        for refused in ["wrong_aud", "wrong_iss", "no_aud", "expired", "other_key"] {
            let (status, body) = me(idp.token(refused).to_owned()).await;
            assert_eq!(status, 401, "{alg} {refused}: {body}");
        }

        // Our own tokens still verify beside the outside issuer's.
        let (token, _) = login(&auth, "alice").await;
        let (status, body) = me(token).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["issuer"], ISSUER);
    }
}
