//! Durable deletes: `WAIT` (and `WAITAOF`) pipelined after the delete.

use std::time::Duration;

use redis::{Pipeline, Value};

/// Default [`DurableDeletes::timeout`].
pub const DEFAULT_DURABLE_TIMEOUT: Duration = Duration::from_millis(100);

/// Whether deletes (logout, `delete_all`, revocation of a reused refresh token) wait until
/// they are durable before they succeed.
///
/// A delete acknowledged by a primary that dies before its replicas (or its disk) have it
/// is undone by the failover or the restart: the session comes back, and with it every
/// refresh token of a logged-out user. With durable deletes on, the store sends the delete
/// and then, in the same round trip, `WAIT numreplicas timeout` (and
/// `WAITAOF 1 0 timeout` with [`local_fsync`](Self::local_fsync)) on a connection of its
/// own (a `WAIT` blocks its connection, so it never stalls other calls). When fewer
/// replicas (or no local fsync) confirm within the timeout, the delete fails with
/// [`StoreErrorKind::NotDurable`](crate::error::StoreErrorKind::NotDurable): it was
/// applied on the primary but may not survive it, so the caller must not report it done.
/// The session API answers 503 and the client retries; a delete is idempotent.
///
/// Set with [`RedisStoreBuilder::durable_deletes`](super::RedisStoreBuilder::durable_deletes).
/// Defaults to [`DurableDeletes::off`]: a standalone server without replicas has nothing to
/// wait for (`WAIT 1` would time out on every logout), and the store cannot know the
/// deployment. **Turn it on wherever a failover or a restart can lose the last writes**:
/// with replicas (Sentinel, Cluster with replicas, a managed primary/replica pair) use
/// `DurableDeletes::replicas(1)`; on a standalone server with `appendfsync everysec` and
/// Redis ≥ 7.2 use `DurableDeletes::replicas(0).local_fsync()` (or run `appendfsync
/// always`). See the [deployment guide](crate::guide::redis_deployment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurableDeletes {
    replicas: u32,
    local_fsync: bool,
    timeout: Duration,
}

impl Default for DurableDeletes {
    fn default() -> Self {
        Self::off()
    }
}

impl DurableDeletes {
    /// Deletes succeed once the primary applied them (Redis' own acknowledgement).
    pub const fn off() -> Self {
        Self {
            replicas: 0,
            local_fsync: false,
            timeout: DEFAULT_DURABLE_TIMEOUT,
        }
    }

    /// Deletes succeed once `replicas` replicas acknowledged them (`WAIT replicas timeout`).
    /// The timeout defaults to [`DEFAULT_DURABLE_TIMEOUT`] (100 ms).
    pub const fn replicas(replicas: u32) -> Self {
        Self {
            replicas,
            local_fsync: false,
            timeout: DEFAULT_DURABLE_TIMEOUT,
        }
    }

    /// Also wait until the primary fsynced the delete to its append-only file
    /// (`WAITAOF 1 0 timeout`): needs Redis ≥ 7.2 (checked when connecting) and
    /// `appendonly yes`. Off by default.
    pub const fn local_fsync(mut self) -> Self {
        self.local_fsync = true;
        self
    }

    /// How long a delete waits for durability before failing with `NotDurable`. Greater
    /// than zero (Redis reads a zero timeout as "forever"); rounded up to whole
    /// milliseconds. Defaults to 100 ms.
    pub const fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Whether deletes wait for anything.
    pub const fn is_enabled(&self) -> bool {
        self.replicas > 0 || self.local_fsync
    }

    /// The replicas waited for.
    pub const fn replica_count(&self) -> u32 {
        self.replicas
    }

    /// Whether a local fsync is waited for.
    pub const fn waits_for_local_fsync(&self) -> bool {
        self.local_fsync
    }

    /// The durability timeout.
    pub const fn wait_timeout(&self) -> Duration {
        self.timeout
    }

    pub(crate) fn timeout_ms(&self) -> u64 {
        u64::try_from(self.timeout.as_nanos().div_ceil(1_000_000))
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// Append the waits to `pipe` (after the write).
    pub(crate) fn append_waits(&self, pipe: &mut Pipeline) {
        let ms = self.timeout_ms();
        if self.replicas > 0 {
            pipe.cmd("WAIT").arg(self.replicas).arg(ms);
        }
        if self.local_fsync {
            pipe.cmd("WAITAOF").arg(1).arg(0).arg(ms);
        }
    }

    /// Check the replies of the waits [`append_waits`](Self::append_waits) added.
    pub(crate) fn check(&self, replies: &[Value]) -> Result<(), NotDurable> {
        let mut replies = replies.iter();
        if self.replicas > 0 {
            let acked = match replies.next() {
                Some(Value::Int(n)) => *n,
                _ => -1,
            };
            if acked < i64::from(self.replicas) {
                return Err(NotDurable::Replicas {
                    acked,
                    wanted: self.replicas,
                });
            }
        }
        if self.local_fsync {
            let local = match replies.next() {
                Some(Value::Array(v)) => match v.first() {
                    Some(Value::Int(n)) => *n,
                    _ => -1,
                },
                _ => -1,
            };
            if local < 1 {
                return Err(NotDurable::LocalFsync);
            }
        }
        Ok(())
    }

    /// The number of pipeline replies [`append_waits`](Self::append_waits) adds.
    pub(crate) fn wait_count(&self) -> usize {
        usize::from(self.replicas > 0) + usize::from(self.local_fsync)
    }
}

/// Why a delete is not confirmed durable (the source of a `NotDurable` store error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NotDurable {
    /// `WAIT` answered fewer replicas than wanted (`-1`: an unexpected reply).
    #[error("WAIT: {acked} of {wanted} replicas acknowledged the delete within the timeout")]
    Replicas { acked: i64, wanted: u32 },
    /// `WAITAOF` did not confirm the local fsync.
    #[error("WAITAOF: the primary did not fsync the delete within the timeout")]
    LocalFsync,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_wait_and_waitaof_replies() {
        let d = DurableDeletes::replicas(2);
        assert!(d.check(&[Value::Int(2)]).is_ok());
        assert!(d.check(&[Value::Int(3)]).is_ok());
        assert_eq!(
            d.check(&[Value::Int(1)]),
            Err(NotDurable::Replicas {
                acked: 1,
                wanted: 2
            })
        );
        assert!(d.check(&[]).is_err());
        let d = DurableDeletes::replicas(0).local_fsync();
        assert_eq!(d.wait_count(), 1);
        assert!(
            d.check(&[Value::Array(vec![Value::Int(1), Value::Int(0)])])
                .is_ok()
        );
        assert_eq!(
            d.check(&[Value::Array(vec![Value::Int(0), Value::Int(0)])]),
            Err(NotDurable::LocalFsync)
        );
        let d = DurableDeletes::replicas(1).local_fsync();
        assert_eq!(d.wait_count(), 2);
        assert!(
            d.check(&[
                Value::Int(1),
                Value::Array(vec![Value::Int(1), Value::Int(0)])
            ])
            .is_ok()
        );
        assert!(!DurableDeletes::off().is_enabled());
        assert!(!DurableDeletes::replicas(0).is_enabled());
    }

    #[test]
    fn timeout_rounds_up_to_a_millisecond() {
        let d = DurableDeletes::replicas(1).timeout(Duration::from_micros(10));
        assert_eq!(d.timeout_ms(), 1);
        let d = DurableDeletes::replicas(1).timeout(Duration::from_micros(1500));
        assert_eq!(d.timeout_ms(), 2);
        let mut pipe = redis::pipe();
        DurableDeletes::replicas(1)
            .local_fsync()
            .append_waits(&mut pipe);
        assert_eq!(pipe.len(), 2);
    }
}
