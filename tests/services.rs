//! The auth demo (`examples/axum_server.rs`) and the verify-only resource server
//! (`examples/resource_server.rs`) as real processes on loopback: EdDSA and ES256 tokens
//! issued by one verify on the other through the published JWKS, audiences, key rotation
//! through the JWKS (a new signing kid is picked up on first sight, tokens of the previous
//! key keep verifying while it is published), the JWKS endpoint down (cached keys keep
//! working), a resource server started while the endpoint is down (503, then 200 once it
//! is up), and bad settings stopping either binary with a message naming the variable.
//! No timing assertions: waits are polls with generous deadlines.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "support/processes.rs"]
mod processes;

use std::time::{Duration, Instant};

use charon_auth::token::Key;
use processes::{Process, binaries, free_port, get, key_file, kid_of, login};
use serde_json::Value;

const ISSUER: &str = "charon-auth-demo";

fn auth_demo(port: u16, env: &[(&str, &str)]) -> Process {
    Process::spawn("auth demo", &binaries().auth, port, env)
}

fn resource_server(port: u16, jwks_url: &str, env: &[(&str, &str)]) -> Process {
    let mut all = vec![("CHARON_JWKS_URL", jwks_url), ("CHARON_ISSUER", ISSUER)];
    all.extend_from_slice(env);
    Process::spawn("resource server", &binaries().resource, port, &all)
}

fn jwks_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}/.well-known/jwks.json")
}

/// The kids the auth demo publishes, checking no private member is ever in the document.
async fn published_kids(auth: &Process) -> Vec<String> {
    let (status, jwks) = get(&auth.url("/.well-known/jwks.json"), None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{jwks}");
    let keys = jwks["keys"].as_array().unwrap();
    for key in keys {
        assert!(
            key.get("d").is_none(),
            "a private member is published: {key}"
        );
        assert_eq!(key["use"], "sig");
    }
    keys.iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

async fn me(resource: &Process, token: &str) -> (u16, Value) {
    get(&resource.url("/me"), Some(token)).await.unwrap()
}

#[tokio::test]
async fn eddsa_tokens_of_the_auth_demo_verify_on_the_resource_server() {
    let generated = Key::generate_ed25519().unwrap();
    let file = key_file("eddsa", generated.private_key_pem());
    let auth_port = free_port();
    let auth = auth_demo(
        auth_port,
        &[
            ("CHARON_SIGNING_ALG", "EdDSA"),
            ("CHARON_SIGNING_KEY_FILE", file.to_str().unwrap()),
            ("CHARON_AUDIENCE", "orders"),
        ],
    )
    .ready()
    .await;
    assert_eq!(published_kids(&auth).await, [generated.kid()]);
    let (status, _) = get(&auth.url("/.well-known/jwks.json"), None)
        .await
        .unwrap();
    assert_eq!(status, 200);

    let orders = resource_server(
        free_port(),
        &jwks_url(auth_port),
        &[("CHARON_AUDIENCE", "orders")],
    )
    .ready()
    .await;
    let billing = resource_server(
        free_port(),
        &jwks_url(auth_port),
        &[("CHARON_AUDIENCE", "billing")],
    )
    .ready()
    .await;

    let (token, session_id) = login(&auth, "alice").await;
    assert_eq!(processes::alg_of(&token), "EdDSA");
    assert_eq!(kid_of(&token), generated.kid());
    let (status, body) = me(&orders, &token).await;
    assert_eq!(status, 200, "{body}\n{}", orders.output());
    assert_eq!(body["user_id"], "alice");
    assert_eq!(body["session_id"], session_id.as_str());
    assert_eq!(body["issuer"], ISSUER);

    // A service that is not in the token's `aud` refuses it.
    let (status, body) = me(&billing, &token).await;
    assert_eq!(status, 401, "{body}");

    // No token, a token whose signature was tampered with.
    let (status, _) = get(&orders.url("/me"), None).await.unwrap();
    assert_eq!(status, 401);
    let mut forged = token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let (status, _) = me(&orders, &forged).await;
    assert_eq!(status, 401);

    // The resource server holds no secret: nothing in its output looks like key material.
    assert!(!orders.output().contains("PRIVATE KEY"));
}

#[tokio::test]
async fn a_generated_es256_key_is_published_and_only_its_kid_is_printed() {
    let auth_port = free_port();
    let auth = auth_demo(auth_port, &[("CHARON_SIGNING_ALG", "ES256")])
        .ready()
        .await;
    let kids = published_kids(&auth).await;
    assert_eq!(kids.len(), 1);
    let output = auth.output();
    assert!(output.contains(&kids[0]), "the kid is printed:\n{output}");
    assert!(!output.contains("PRIVATE KEY"), "{output}");

    let resource = resource_server(free_port(), &jwks_url(auth_port), &[])
        .ready()
        .await;
    let (token, _) = login(&auth, "bob").await;
    assert_eq!(processes::alg_of(&token), "ES256");
    let (status, body) = me(&resource, &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user_id"], "bob");
}

#[tokio::test]
async fn rotation_through_the_jwks_and_the_endpoint_going_down() {
    let a = Key::generate_ed25519().unwrap();
    let b = Key::generate_ed25519().unwrap();
    let file_a = key_file("rotation-a", a.private_key_pem());
    let file_b = key_file("rotation-b", b.private_key_pem());
    let auth_port = free_port();

    let auth = auth_demo(
        auth_port,
        &[
            ("CHARON_SIGNING_ALG", "EdDSA"),
            ("CHARON_SIGNING_KEY_FILE", file_a.to_str().unwrap()),
        ],
    )
    .ready()
    .await;
    let resource = resource_server(free_port(), &jwks_url(auth_port), &[])
        .ready()
        .await;
    let (token_a, _) = login(&auth, "alice").await;
    assert_eq!(kid_of(&token_a), a.kid());
    assert_eq!(me(&resource, &token_a).await.0, 200);

    // Rotate: B signs, A is still published. The resource server has never seen B.
    auth.stop();
    let both = format!("{},{}", file_b.display(), file_a.display());
    let auth = auth_demo(
        auth_port,
        &[
            ("CHARON_SIGNING_ALG", "EdDSA"),
            ("CHARON_SIGNING_KEY_FILE", &both),
        ],
    )
    .ready()
    .await;
    let mut kids = published_kids(&auth).await;
    kids.sort();
    let mut expected = vec![a.kid().to_owned(), b.kid().to_owned()];
    expected.sort();
    assert_eq!(kids, expected);
    let (token_b, _) = login(&auth, "carol").await;
    assert_eq!(kid_of(&token_b), b.kid());
    let (status, body) = me(&resource, &token_b).await;
    assert_eq!(status, 200, "the new kid is fetched on first sight: {body}");
    assert_eq!(body["user_id"], "carol");
    let (status, body) = me(&resource, &token_a).await;
    assert_eq!(status, 200, "the previous key is still published: {body}");
    assert_eq!(body["user_id"], "alice");

    // The JWKS endpoint goes away: the keys the resource server has keep working.
    auth.stop();
    assert!(get(&jwks_url(auth_port), None).await.is_err());
    for (token, user) in [(&token_a, "alice"), (&token_b, "carol")] {
        let (status, body) = me(&resource, token).await;
        assert_eq!(status, 200, "cached keys: {body}\n{}", resource.output());
        assert_eq!(body["user_id"], user);
    }
    // A kid it never saw cannot be fetched now: refused, and the cached keys still work.
    let c = Key::generate_ed25519().unwrap();
    let file_c = key_file("rotation-c", c.private_key_pem());
    let other_port = free_port();
    let other = auth_demo(
        other_port,
        &[
            ("CHARON_SIGNING_ALG", "EdDSA"),
            ("CHARON_SIGNING_KEY_FILE", file_c.to_str().unwrap()),
        ],
    )
    .ready()
    .await;
    let (token_c, _) = login(&other, "mallory").await;
    let (status, _) = me(&resource, &token_c).await;
    assert_ne!(status, 200);
    assert_eq!(me(&resource, &token_a).await.0, 200);
}

#[tokio::test]
async fn a_resource_server_started_while_the_jwks_is_down_answers_503_until_it_is_up() {
    let key = Key::generate_ed25519().unwrap();
    let file = key_file("down", key.private_key_pem());
    let env = [
        ("CHARON_SIGNING_ALG", "EdDSA"),
        ("CHARON_SIGNING_KEY_FILE", file.to_str().unwrap()),
    ];
    let auth_port = free_port();
    let auth = auth_demo(auth_port, &env).ready().await;
    let (token, _) = login(&auth, "alice").await;
    auth.stop();

    let resource = resource_server(free_port(), &jwks_url(auth_port), &[])
        .ready()
        .await;
    let (status, body) = me(&resource, &token).await;
    assert_eq!(status, 503, "no keys yet: {body}");
    assert_eq!(body["kind"], "keys_unavailable");
    let (status, _) = get(&resource.url("/healthz"), None).await.unwrap();
    assert_eq!(status, 200);

    // The endpoint comes up (the same key): the resource server fetches and verifies.
    let _auth = auth_demo(auth_port, &env).ready().await;
    let started = Instant::now();
    loop {
        let (status, body) = me(&resource, &token).await;
        if status == 200 {
            assert_eq!(body["user_id"], "alice");
            break;
        }
        assert_eq!(status, 503, "only 503 while there are no keys: {body}");
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the resource server never got the keys:\n{}",
            resource.output()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn hs256_publishes_no_keys() {
    let auth = auth_demo(free_port(), &[]).ready().await;
    let (status, body) = get(&auth.url("/.well-known/jwks.json"), None)
        .await
        .unwrap();
    assert_eq!(status, 404);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("CHARON_SIGNING_ALG")
    );
    let (token, _) = login(&auth, "alice").await;
    assert_eq!(processes::alg_of(&token), "HS256");
}

#[tokio::test]
async fn bad_settings_stop_the_binaries_naming_the_variable() {
    let es256 = Key::generate_es256().unwrap();
    let es256_file = key_file("es256", es256.private_key_pem());
    let es256_file = es256_file.to_str().unwrap();
    let missing = format!("{}/no-such-key.pem", env!("CARGO_TARGET_TMPDIR"));
    let eddsa = Key::generate_ed25519().unwrap();
    let eddsa_file = key_file("eddsa-twice", eddsa.private_key_pem());
    let twice = format!("{},{}", eddsa_file.display(), eddsa_file.display());
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("CHARON_SIGNING_ALG", "RS999")], "CHARON_SIGNING_ALG"),
        (
            vec![("CHARON_SIGNING_KEY_FILE", es256_file)],
            "CHARON_SIGNING_KEY_FILE",
        ),
        (
            vec![
                ("CHARON_SIGNING_ALG", "EdDSA"),
                ("CHARON_SIGNING_KEY_FILE", es256_file),
            ],
            "CHARON_SIGNING_KEY_FILE",
        ),
        (
            vec![
                ("CHARON_SIGNING_ALG", "ES256"),
                ("CHARON_SIGNING_KEY_FILE", &missing),
            ],
            "CHARON_SIGNING_KEY_FILE",
        ),
        (
            vec![
                ("CHARON_SIGNING_ALG", "EdDSA"),
                ("CHARON_SIGNING_KEY_FILE", &twice),
            ],
            "CHARON_SIGNING_KEY_FILE",
        ),
        (
            vec![("CHARON_AUDIENCE", "orders,,billing")],
            "CHARON_AUDIENCE",
        ),
    ];
    // The base64 lines of the private keys in the files: never printed.
    let secret_lines: Vec<String> = [es256.private_key_pem(), eddsa.private_key_pem()]
        .iter()
        .flat_map(|pem| pem.lines().filter(|l| !l.starts_with("-----")))
        .map(str::to_owned)
        .collect();
    for (env, variable) in cases {
        let (status, output) = auth_demo(free_port(), &env).exit();
        assert!(!status.success(), "{env:?}:\n{output}");
        assert!(
            output.contains(variable),
            "{env:?} names {variable}:\n{output}"
        );
        for line in &secret_lines {
            assert!(
                !output.contains(line.as_str()),
                "key material printed:\n{output}"
            );
        }
    }

    let url = jwks_url(free_port());
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("CHARON_EXTERNAL_ISSUER", "https://idp.test")],
            "CHARON_EXTERNAL_JWKS_URL",
        ),
        (
            vec![("CHARON_EXTERNAL_JWKS_URL", "http://127.0.0.1:9/jwks.json")],
            "CHARON_EXTERNAL_ISSUER",
        ),
        (vec![("CHARON_AUDIENCE", ",")], "CHARON_AUDIENCE"),
        (vec![("CHARON_ACCESS_TTL", "soon")], "CHARON_ACCESS_TTL"),
    ];
    for (env, variable) in cases {
        let (status, output) = resource_server(free_port(), &url, &env).exit();
        assert!(!status.success(), "{env:?}:\n{output}");
        assert!(
            output.contains(variable),
            "{env:?} names {variable}:\n{output}"
        );
    }
    // Plain HTTP to a host that is not loopback is refused.
    let (status, output) = resource_server(
        free_port(),
        "http://auth.example/.well-known/jwks.json",
        &[],
    )
    .exit();
    assert!(!status.success(), "{output}");
    assert!(output.contains("CHARON_JWKS_URL"), "{output}");
}
