//! The invalidation channel of the session cache: the subscriber that applies the write
//! scripts' messages, and the heartbeat that proves the channel is live. See
//! [`session_cache`](super::session_cache) for the protocol and why it is safe.
//!
//! Messages on `<prefix>invalidations`:
//! - the name of a session hash (`<prefix>{<user>:<type>}:s`), published by a write
//!   script: invalidate that user and type;
//! - `!hb:<instance>:<sent ms>`, a heartbeat (`!` never starts a key: the prefix is
//!   `[A-Za-z0-9_.:-]`); a store applies only its own.
//!
//! One plain connection subscribes to each node given: the standalone server, the
//! Sentinel master in use, or every seed node of a Cluster. A Cluster forwards classic
//! pub/sub over its bus, so one subscribed node hears every write; subscribing to each
//! seed as well delivers a write's message straight from the node that ran it, without
//! the bus hop, whose small writes now and then wait about 40 ms on loopback (measured:
//! a cross-node `PUBLISH` p50 0.28 ms, max 39.6 ms over 300; the same node's max 0.56 ms).
//! A message may so arrive more than once: invalidating again is harmless. At least one
//! subscription must be confirmed for the cache to be used; on the drop of any of them, a
//! failed subscription or a heartbeat not seen back in time, the cache is emptied and
//! stops ([`SessionCacheState::mark_down`]) until a new round of `SUBSCRIBE`s is
//! confirmed ([`SessionCacheState::mark_up`]).

use std::fmt::Write as _;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_core::Stream;
use redis::aio::PubSub;

use super::connection::Connection;
use super::sentinel::SentinelConnection;
use super::session_cache::SessionCacheState;

/// The first wait before a new subscription attempt; doubled on each failure.
const MIN_BACKOFF: Duration = Duration::from_millis(20);
/// The longest wait between subscription attempts.
const MAX_BACKOFF: Duration = Duration::from_millis(500);

/// The channel's name for a key prefix.
pub(crate) fn channel(prefix: &str) -> String {
    format!("{prefix}invalidations")
}

/// Where the subscriber connects.
pub(crate) enum Source {
    /// A standalone server, or a Cluster's seed nodes (tried in turn).
    Clients(Vec<redis::Client>),
    /// The master a Sentinel connection is using.
    Sentinel(SentinelConnection),
}

impl Source {
    /// The nodes to subscribe to in this round.
    fn clients(&self) -> Vec<redis::Client> {
        match self {
            Self::Clients(clients) => clients.clone(),
            Self::Sentinel(conn) => vec![conn.master_client()],
        }
    }
}

/// What a subscription's forwarding task passes on to the listener.
enum Delivery {
    /// A message's payload.
    Message(Vec<u8>),
    /// The subscription's connection is gone.
    Dropped,
}

/// The forwarding tasks of one round of subscriptions; aborted when dropped.
struct Round(Vec<tokio::task::AbortHandle>);

impl Drop for Round {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// How many deliveries may wait for the listener before the forwarders wait too (then
/// the sockets fill, and a late heartbeat stops the cache).
const DELIVERY_QUEUE: usize = 4096;

/// The running subscriber and heartbeat tasks; stopped when dropped (with the store's last
/// clone).
pub(crate) struct Subscriber {
    tasks: Vec<tokio::task::AbortHandle>,
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber").finish_non_exhaustive()
    }
}

/// Settings of the tasks.
pub(crate) struct Settings {
    pub(crate) channel: String,
    /// Bound of one connect + subscribe, and of one heartbeat publish.
    pub(crate) deadline: Duration,
}

/// Start the subscriber and the heartbeat on the current runtime.
pub(crate) fn start(
    cache: Arc<SessionCacheState>,
    source: Source,
    publisher: Connection,
    settings: Settings,
) -> Subscriber {
    let instance = format!("{:016x}", rand::random::<u64>());
    let heartbeat_prefix = format!("!hb:{instance}:");
    let settings = Arc::new(settings);
    let listen = tokio::spawn(listen(
        Arc::clone(&cache),
        source,
        Arc::clone(&settings),
        heartbeat_prefix.clone(),
    ));
    let beat = tokio::spawn(heartbeat(cache, publisher, settings, heartbeat_prefix));
    Subscriber {
        tasks: vec![listen.abort_handle(), beat.abort_handle()],
    }
}

/// Subscribe, apply messages, and start again whenever a subscription drops or lags.
async fn listen(
    cache: Arc<SessionCacheState>,
    source: Source,
    settings: Arc<Settings>,
    heartbeat_prefix: String,
) {
    let mut backoff = MIN_BACKOFF;
    let mut first = true;
    loop {
        if cache.mark_down() {
            warn_down();
        }
        let clients = source.clients();
        if clients.is_empty() {
            return;
        }
        let (tx, mut rx) = tokio::sync::mpsc::channel(DELIVERY_QUEUE);
        let mut round = Round(Vec::with_capacity(clients.len()));
        for client in &clients {
            let subscribed =
                tokio::time::timeout(settings.deadline, subscribe(client, &settings)).await;
            if let Ok(Ok(pubsub)) = subscribed {
                round
                    .0
                    .push(tokio::spawn(forward(pubsub, tx.clone())).abort_handle());
            }
        }
        drop(tx);
        if round.0.is_empty() {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
            continue;
        }
        backoff = MIN_BACKOFF;
        // Confirmed: every write from now on publishes to us, and the cache is empty.
        cache.mark_up();
        if !first {
            warn_up();
        }
        first = false;
        loop {
            let stale_at = tokio::time::Instant::from_std(cache.stale_at());
            match tokio::time::timeout_at(stale_at, rx.recv()).await {
                Ok(Some(Delivery::Message(payload))) => {
                    apply(&cache, &payload, &heartbeat_prefix);
                }
                // A connection is gone (or, with none left, every one).
                Ok(Some(Delivery::Dropped) | None) => break,
                // No heartbeat of ours in time: lagging or stalled.
                Err(_) if !cache.heartbeat_fresh() => break,
                Err(_) => {}
            }
        }
        // Dropped or lagging: drop this round's subscriptions and subscribe again.
        drop(round);
    }
}

/// Pass one subscription's messages on to the listener, then say that it dropped.
async fn forward(pubsub: PubSub, tx: tokio::sync::mpsc::Sender<Delivery>) {
    let mut messages = pubsub.into_on_message();
    while let Some(msg) = next(&mut messages).await {
        let payload = msg.get_payload_bytes().to_vec();
        if tx.send(Delivery::Message(payload)).await.is_err() {
            return;
        }
    }
    let _ = tx.send(Delivery::Dropped).await;
}

async fn subscribe(client: &redis::Client, settings: &Settings) -> redis::RedisResult<PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(&settings.channel).await?;
    Ok(pubsub)
}

async fn next<S: Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
    std::future::poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
}

/// Apply one message: a heartbeat of ours refreshes the cache's freshness, anyone's
/// heartbeat is ignored, anything else names a session hash to invalidate.
fn apply(cache: &SessionCacheState, payload: &[u8], heartbeat_prefix: &str) {
    if let Some(rest) = payload.strip_prefix(heartbeat_prefix.as_bytes()) {
        if let Some(sent) = std::str::from_utf8(rest).ok().and_then(|s| s.parse().ok()) {
            cache.heartbeat_seen(sent);
        }
    } else if !payload.starts_with(b"!") {
        cache.invalidate(payload);
    }
}

/// Publish a heartbeat every interval through the store's own connection.
async fn heartbeat(
    cache: Arc<SessionCacheState>,
    mut publisher: Connection,
    settings: Arc<Settings>,
    heartbeat_prefix: String,
) {
    let (interval, _) = cache.config().get_heartbeat();
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut payload = String::with_capacity(heartbeat_prefix.len() + 20);
    loop {
        ticks.tick().await;
        if !cache.is_subscribed() {
            continue;
        }
        payload.clear();
        payload.push_str(&heartbeat_prefix);
        let _ = write!(payload, "{}", cache.now_ms());
        let mut cmd = redis::cmd("PUBLISH");
        cmd.arg(&settings.channel).arg(payload.as_str());
        // A failed or late publish is simply a heartbeat that does not come back.
        let _ = tokio::time::timeout(
            settings.deadline,
            cmd.query_async::<redis::Value>(&mut publisher),
        )
        .await;
    }
}

fn warn_down() {
    #[cfg(feature = "tracing")]
    tracing::warn!(
        target: "charon::store",
        "session cache: the invalidation channel dropped or lags; the cache is emptied \
         and reads go to redis until it is back"
    );
}

fn warn_up() {
    #[cfg(feature = "tracing")]
    tracing::warn!(
        target: "charon::store",
        "session cache: subscribed to the invalidation channel again; the cache is in use"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::redis::SessionCache;

    #[test]
    fn messages_invalidate_and_only_our_heartbeats_count() {
        let cache = SessionCacheState::new(
            SessionCache::new(16).heartbeat(Duration::from_millis(50), Duration::from_millis(50)),
        );
        apply(&cache, b"charon:{ann:full}:s", "!hb:aa:");
        assert_eq!(cache.stats().invalidations, 1);
        std::thread::sleep(Duration::from_millis(200));
        assert!(!cache.heartbeat_fresh());
        // Another instance's heartbeat, or a garbled one, is not ours: still stale, and
        // no heartbeat is taken for an invalidation.
        let now = cache.now_ms();
        apply(&cache, format!("!hb:bb:{now}").as_bytes(), "!hb:aa:");
        apply(&cache, b"!hb:aa:not a number", "!hb:aa:");
        assert!(!cache.heartbeat_fresh());
        assert_eq!(cache.stats().invalidations, 1);
        // Ours, sent just now: fresh again.
        apply(&cache, format!("!hb:aa:{now}").as_bytes(), "!hb:aa:");
        assert!(cache.heartbeat_fresh());
        assert_eq!(channel("charon:"), "charon:invalidations");
    }
}
