//! The store contract suite against [`RedisStore`] on real `redis-server` processes
//! started by the harness: a standalone server and a 3-master Cluster.
#![cfg(feature = "redis")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::sync::Arc;

use charon_auth::store::SessionStore;
use charon_auth::store::redis::{RedisStore, SigningKey};

fn builder() -> charon_auth::store::redis::RedisStoreBuilder {
    RedisStore::builder_with_key(SigningKey::from_bytes([7; 32]))
}

async fn standalone() -> Arc<dyn SessionStore> {
    let store = builder()
        .connect(&support::redis::standalone_url())
        .await
        .unwrap_or_else(|e| panic!("connect to the harness Redis: {e}"));
    Arc::new(store)
}

async fn cluster() -> Arc<dyn SessionStore> {
    let store = builder()
        .connect_cluster(support::redis::cluster().urls())
        .await
        .unwrap_or_else(|e| panic!("connect to the harness Redis Cluster: {e}"));
    Arc::new(store)
}

mod redis_standalone {
    crate::support::contract::store_contract_tests!(crate::standalone());
}

mod redis_cluster {
    crate::support::contract::store_contract_tests!(crate::cluster());
}
