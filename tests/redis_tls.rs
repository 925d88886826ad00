//! `rediss://` against real TLS `redis-server` processes the harness starts with a CA it
//! generates (`tests/support/redis.rs`, rcgen): the store contract over TLS standalone and a
//! TLS Cluster (`tls-cluster yes`), both requiring client certificates (mutual TLS); a
//! connection without the client certificate, with the wrong CA, or with TLS settings on a
//! plaintext URL fails with a typed `ConfigError`.
#![cfg(feature = "redis")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::sync::{Arc, OnceLock};

use charon_auth::error::ConfigErrorKind;
use charon_auth::session::{SessionKey, random_id};
use charon_auth::store::SessionStore;
use charon_auth::store::redis::{RedisStore, RedisStoreBuilder, SigningKey};
use support::redis::{RedisServer, TestPki, TlsOptions, pki, tls_cluster};

fn builder() -> RedisStoreBuilder {
    RedisStore::builder_with_key(SigningKey::from_bytes([7; 32]))
}

/// `builder()` trusting the harness CA and presenting its client certificate.
fn mtls_builder() -> RedisStoreBuilder {
    let pki = pki();
    builder()
        .tls_ca_pem(pki.ca_pem.clone())
        .tls_client_cert_pem(pki.client_cert_pem.clone(), pki.client_key_pem.clone())
}

/// The shared TLS standalone server of this binary: client certificates required.
fn mtls_server() -> &'static RedisServer {
    static SERVER: OnceLock<RedisServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        RedisServer::spawn_tls(
            TlsOptions {
                pki: pki(),
                auth_clients: true,
            },
            &[],
        )
    })
}

async fn tls_standalone() -> Arc<dyn SessionStore> {
    let store = mtls_builder()
        .connect(&mtls_server().tls_url())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "connect over TLS: {e} ({:?})",
                std::error::Error::source(&e)
            )
        });
    Arc::new(store)
}

async fn tls_cluster_store() -> Arc<dyn SessionStore> {
    let store = mtls_builder()
        .connect_cluster(tls_cluster().tls_urls())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "connect to the TLS cluster: {e} ({:?})",
                std::error::Error::source(&e)
            )
        });
    Arc::new(store)
}

mod redis_tls_standalone {
    crate::support::contract::store_contract_tests!(crate::tls_standalone());
}

mod redis_tls_cluster {
    crate::support::contract::store_contract_tests!(crate::tls_cluster_store());
}

#[tokio::test]
async fn mutual_tls_required_by_the_server() {
    let url = mtls_server().tls_url();
    // Trusts the server, but presents no client certificate: the server refuses it.
    let err = builder()
        .tls_ca_pem(pki().ca_pem.clone())
        .connect(&url)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::InvalidRedis, "{err}");
    assert!(std::error::Error::source(&err).is_some());
    // With it, the same server serves a session round trip.
    let store = mtls_builder().connect(&url).await.unwrap();
    let user = random_id();
    let now = support::contract::now();
    let session = support::contract::new_session(&user, &support::contract::stype("full"), now);
    support::contract::create(&store, &session, now).await;
    let key = SessionKey::new(&session.id, &user, &session.session_type);
    assert!(store.get(key, now).await.unwrap().is_some());
}

#[tokio::test]
async fn wrong_ca_is_refused() {
    let other = TestPki::generate("other");
    let p = pki();
    let err = builder()
        .tls_ca_pem(other.ca_pem)
        .tls_client_cert_pem(p.client_cert_pem.clone(), p.client_key_pem.clone())
        .connect(&mtls_server().tls_url())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::InvalidRedis, "{err}");
    // Without a CA the system roots apply, which do not hold the harness CA either.
    let err = builder()
        .tls_client_cert_pem(p.client_cert_pem.clone(), p.client_key_pem.clone())
        .connect(&mtls_server().tls_url())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::InvalidRedis, "{err}");
}

#[tokio::test]
async fn cluster_without_client_certificate_is_refused() {
    let err = builder()
        .tls_ca_pem(pki().ca_pem.clone())
        .connect_cluster(tls_cluster().tls_urls())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::InvalidRedis, "{err}");
}

#[tokio::test]
async fn pem_files_work_like_pem_bytes() {
    let p = pki();
    let dir = std::env::temp_dir().join(format!("charon-tls-files-{}", random_id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ca.pem"), &p.ca_pem).unwrap();
    std::fs::write(dir.join("client.pem"), &p.client_cert_pem).unwrap();
    std::fs::write(dir.join("client.key"), &p.client_key_pem).unwrap();
    let result = builder()
        .tls_ca_file(dir.join("ca.pem"))
        .tls_client_cert_files(dir.join("client.pem"), dir.join("client.key"))
        .connect(&mtls_server().tls_url())
        .await;
    let missing = builder()
        .tls_ca_file(dir.join("missing.pem"))
        .connect(&mtls_server().tls_url())
        .await;
    std::fs::remove_dir_all(&dir).unwrap();
    let store = result.unwrap();
    store.ping().await.unwrap();
    assert_eq!(missing.unwrap_err().kind(), ConfigErrorKind::InvalidKey);
}

#[tokio::test]
async fn bad_tls_settings_are_config_errors() {
    let p = pki();
    // A CA for a plaintext URL: refused rather than silently unencrypted.
    let plain = RedisServer::spawn();
    let err = builder()
        .tls_ca_pem(p.ca_pem.clone())
        .connect(&plain.url())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::InvalidRedis);
    let err = builder()
        .tls_ca_pem(p.ca_pem.clone())
        .connect_cluster(tls_cluster().urls())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::InvalidRedis);
    // Mixed schemes.
    let mut urls = tls_cluster().tls_urls();
    urls[0] = tls_cluster().urls()[0].clone();
    let err = builder().connect_cluster(urls).await.unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::InvalidRedis);
    // Not PEM.
    let url = mtls_server().tls_url();
    let err = builder()
        .tls_ca_pem(b"not a certificate".to_vec())
        .connect(&url)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::InvalidKey);
    let err = mtls_builder()
        .tls_client_cert_pem(p.client_cert_pem.clone(), b"no key here".to_vec())
        .connect(&url)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ConfigErrorKind::InvalidKey);
    // The key never shows up in Debug.
    let b = mtls_builder();
    let printed = format!("{b:?}");
    assert!(!printed.contains("PRIVATE KEY"), "{printed}");
}
