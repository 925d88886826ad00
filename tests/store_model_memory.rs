//! The randomized concurrency model test (see `support::model`) against [`MemoryStore`].
//!
//! A few fixed seeds always run; set `CHARON_MODEL_SEED=<u64>` to run one more seed (for
//! instance the one a failure printed).
#![allow(clippy::panic)]

mod support;

use std::sync::Arc;

use charon_auth::store::{MemoryStore, SessionStore};
use support::model::{ModelConfig, check_store_against_model};

/// Fixed seeds, each run against a fresh store.
const SEEDS: [u64; 6] = [1, 2, 3, 42, 0xC0FFEE, 0x5EED_CAFE_F00D];

fn store() -> Arc<dyn SessionStore> {
    Arc::new(MemoryStore::new())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixed_seeds() {
    for seed in SEEDS {
        check_store_against_model(store(), seed, ModelConfig::default()).await;
    }
}

/// One shard, so every user contends for the same lock and shard-wide prunes touch
/// every bucket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixed_seeds_single_shard() {
    for seed in SEEDS {
        let store = Arc::new(MemoryStore::with_shards(1)) as Arc<dyn SessionStore>;
        check_store_against_model(store, seed, ModelConfig::default()).await;
    }
}

/// More contention: one user, one type, three sessions, sixteen tasks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_bucket() {
    let config = ModelConfig {
        users: 1,
        types: 1,
        sessions: 3,
        tasks: 16,
        ops_per_task: 40,
        ..ModelConfig::default()
    };
    for seed in SEEDS {
        check_store_against_model(store(), seed, config.clone()).await;
    }
}

/// The seed from `CHARON_MODEL_SEED`, if set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_from_env() {
    let Ok(value) = std::env::var("CHARON_MODEL_SEED") else {
        return;
    };
    let seed: u64 = value
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("CHARON_MODEL_SEED={value:?} is not a u64"));
    eprintln!("model test with CHARON_MODEL_SEED={seed}");
    check_store_against_model(store(), seed, ModelConfig::default()).await;
}
