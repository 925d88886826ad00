//! A connection to the master that a set of Sentinels names, following failovers.
//!
//! redis-rs's `SentinelClient` finds the master (asking the sentinels, then checking `ROLE`
//! on the master) and hands out a plain connection to it; nothing follows a failover. Here
//! the master is served through a [`ConnectionManager`] (which reconnects to the same
//! address), and any failed call other than `NOSCRIPT` asks the sentinels again, in the
//! background, one lookup at a time and at most every [`REDISCOVERY_INTERVAL`]. When they
//! name another master, new connections to it replace the old ones; calls then in flight
//! on the old master fail (a store error), later ones go to the new master.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::sentinel::SentinelClient;
use redis::{Cmd, Pipeline, RedisError, RedisFuture, Value};

/// The least time between two lookups of the master.
pub(crate) const REDISCOVERY_INTERVAL: Duration = Duration::from_millis(100);

/// Which of the master's connections a handle uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lane {
    /// Every call but durable deletes.
    Main,
    /// Durable deletes (their `WAIT` blocks the connection).
    Durable,
}

/// A handle on the current master. Cheap to clone.
#[derive(Clone)]
pub(crate) struct SentinelConnection {
    shared: Arc<Shared>,
    lane: Lane,
}

struct Shared {
    sentinels: tokio::sync::Mutex<SentinelClient>,
    current: RwLock<Arc<Master>>,
    main_config: ConnectionManagerConfig,
    durable_config: Option<ConnectionManagerConfig>,
    /// Bound of one lookup (sentinels, `ROLE` check, connect).
    deadline: Duration,
    looking: AtomicBool,
    last_lookup: Mutex<Option<Instant>>,
}

struct Master {
    addr: String,
    /// A client for the master (the session cache's subscriber connects with it).
    client: redis::Client,
    main: ConnectionManager,
    durable: Option<ConnectionManager>,
}

impl SentinelConnection {
    /// Find the master and connect to it.
    pub(crate) async fn connect(
        mut sentinels: SentinelClient,
        main_config: ConnectionManagerConfig,
        durable_config: Option<ConnectionManagerConfig>,
        deadline: Duration,
    ) -> Result<Self, RedisError> {
        let master = lookup(&mut sentinels, &main_config, durable_config.as_ref()).await?;
        Ok(Self {
            shared: Arc::new(Shared {
                sentinels: tokio::sync::Mutex::new(sentinels),
                current: RwLock::new(Arc::new(master)),
                main_config,
                durable_config,
                deadline,
                looking: AtomicBool::new(false),
                last_lookup: Mutex::new(None),
            }),
            lane: Lane::Main,
        })
    }

    /// A handle on the durable-deletes connection of the same master.
    pub(crate) fn durable(&self) -> Self {
        Self {
            shared: self.shared.clone(),
            lane: Lane::Durable,
        }
    }

    /// `host:port` of the master in use.
    pub(crate) fn master_addr(&self) -> String {
        self.current().addr.clone()
    }

    /// A client for the master in use.
    pub(crate) fn master_client(&self) -> redis::Client {
        self.current().client.clone()
    }

    fn current(&self) -> Arc<Master> {
        self.shared
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn manager(&self) -> ConnectionManager {
        let master = self.current();
        match (self.lane, &master.durable) {
            (Lane::Durable, Some(durable)) => durable.clone(),
            _ => master.main.clone(),
        }
    }

    /// Called with every failed call: look the master up again unless the error is one a
    /// live master gives.
    fn on_error(&self, e: &RedisError) {
        if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) {
            return;
        }
        let shared = self.shared.clone();
        {
            let mut last = shared
                .last_lookup
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.is_some_and(|at| at.elapsed() < REDISCOVERY_INTERVAL) {
                return;
            }
            if shared.looking.swap(true, Ordering::AcqRel) {
                return;
            }
            *last = Some(Instant::now());
        }
        tokio::spawn(async move {
            let found = tokio::time::timeout(shared.deadline, async {
                let mut sentinels = shared.sentinels.lock().await;
                let current = shared
                    .current
                    .read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .addr
                    .clone();
                let client = sentinels.async_get_client().await?;
                let addr = client.get_connection_info().addr().to_string();
                if addr == current {
                    return Ok(None);
                }
                connect_master(client, &shared.main_config, shared.durable_config.as_ref())
                    .await
                    .map(Some)
            })
            .await;
            if let Ok(Ok(Some(master))) = found {
                #[cfg(feature = "tracing")]
                tracing::warn!(
                    target: "charon::store",
                    master = %master.addr,
                    "sentinel named a new redis master; following it"
                );
                *shared
                    .current
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(master);
            }
            shared.looking.store(false, Ordering::Release);
        });
    }
}

async fn lookup(
    sentinels: &mut SentinelClient,
    main_config: &ConnectionManagerConfig,
    durable_config: Option<&ConnectionManagerConfig>,
) -> Result<Master, RedisError> {
    let client = sentinels.async_get_client().await?;
    connect_master(client, main_config, durable_config).await
}

async fn connect_master(
    client: redis::Client,
    main_config: &ConnectionManagerConfig,
    durable_config: Option<&ConnectionManagerConfig>,
) -> Result<Master, RedisError> {
    let addr = client.get_connection_info().addr().to_string();
    let main = ConnectionManager::new_with_config(client.clone(), main_config.clone()).await?;
    let durable = match durable_config {
        Some(config) => {
            Some(ConnectionManager::new_with_config(client.clone(), config.clone()).await?)
        }
        None => None,
    };
    Ok(Master {
        addr,
        client,
        main,
        durable,
    })
}

impl fmt::Debug for SentinelConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentinelConnection")
            .field("master", &self.master_addr())
            .field("lane", &self.lane)
            .finish()
    }
}

impl ConnectionLike for SentinelConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        let mut manager = self.manager();
        Box::pin(async move {
            let result = manager.req_packed_command(cmd).await;
            match &result {
                Err(e) => self.on_error(e),
                // A write refused by a demoted master (`READONLY`) may come back as a reply.
                Ok(Value::ServerError(e)) => self.on_error(&e.clone().into()),
                Ok(_) => {}
            }
            result
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        let mut manager = self.manager();
        Box::pin(async move {
            let result = manager.req_packed_commands(pipeline, offset, count).await;
            match &result {
                Err(e) => self.on_error(e),
                // A write refused by a demoted master comes back as a reply, not an error.
                Ok(values) => {
                    if let Some(Value::ServerError(e)) =
                        values.iter().find(|v| matches!(v, Value::ServerError(_)))
                    {
                        let e: RedisError = e.clone().into();
                        self.on_error(&e);
                    }
                }
            }
            result
        })
    }

    fn get_db(&self) -> i64 {
        0
    }
}
