//! The store contract suite against [`MemoryStore`]: a fresh store per test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::sync::Arc;

use charon_auth::store::{MemoryStore, SessionStore};

support::contract::store_contract_tests!(async {
    Arc::new(MemoryStore::new()) as Arc<dyn SessionStore>
});

/// The suite again against one store shared by every test (as a shared backend would
/// be), with a single shard so that every user contends for the same lock.
mod shared_single_shard {
    use std::sync::{Arc, LazyLock};

    use charon_auth::store::{MemoryStore, SessionStore};

    static STORE: LazyLock<MemoryStore> = LazyLock::new(|| MemoryStore::with_shards(1));

    crate::support::contract::store_contract_tests!(async {
        Arc::new(STORE.clone()) as Arc<dyn SessionStore>
    });
}
