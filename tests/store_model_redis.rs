//! The randomized concurrency model test (see `support::model`) against `RedisStore` on a
//! harness-spawned standalone server and a 3-master Cluster.
//!
//! Set `CHARON_MODEL_SEED=<u64>` to run one more seed.
#![cfg(feature = "redis")]
#![allow(clippy::panic)]

mod support;

use std::sync::Arc;

use charon_auth::store::SessionStore;
use charon_auth::store::redis::{RedisStore, SigningKey};
use support::model::{ModelConfig, check_store_against_model};

const SEEDS: [u64; 3] = [1, 42, 0x5EED_CAFE_F00D];

fn seeds() -> Vec<u64> {
    let mut seeds = SEEDS.to_vec();
    if let Some(seed) = std::env::var("CHARON_MODEL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        seeds.push(seed);
    }
    seeds
}

async fn standalone() -> Arc<dyn SessionStore> {
    let store = RedisStore::builder_with_key(SigningKey::from_bytes([3; 32]))
        .connect(&support::redis::standalone_url())
        .await
        .unwrap_or_else(|e| panic!("connect to the harness Redis: {e}"));
    Arc::new(store)
}

async fn cluster() -> Arc<dyn SessionStore> {
    let store = RedisStore::builder_with_key(SigningKey::from_bytes([3; 32]))
        .connect_cluster(support::redis::cluster().urls())
        .await
        .unwrap_or_else(|e| panic!("connect to the harness Redis Cluster: {e}"));
    Arc::new(store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_fixed_seeds() {
    for seed in seeds() {
        check_store_against_model(standalone().await, seed, ModelConfig::default()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_fixed_seeds() {
    for seed in seeds() {
        check_store_against_model(cluster().await, seed, ModelConfig::default()).await;
    }
}
