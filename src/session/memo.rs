//! The session memo of a verified token ([`SessionMemo`]): which session-cache entry served
//! the token's session.

// Only the Redis store's session cache fills and reads memos; without it a memo stays empty.
#![cfg_attr(not(feature = "redis"), allow(dead_code))]

use std::fmt;
use std::sync::{Mutex, PoisonError, Weak};

use super::Session;

/// What a session cache read remembers, to tag its answer with: taken before the round
/// trip that loads the session.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadToken {
    /// The cache epoch the read began in.
    pub(crate) epoch: u64,
    /// The stripe of the session's hash.
    pub(crate) stripe: usize,
    /// The stripe's generation when the read began.
    pub(crate) generation: u64,
    /// When the read began (ms since the cache's base instant).
    pub(crate) read_at_ms: u64,
}

/// The entry a session cache served a token's session from.
pub(crate) struct Memo {
    /// The id of the cache that made it (a verified token may be checked against more than
    /// one store).
    pub(crate) cache: u64,
    /// The cached session, weakly: the memo keeps nothing alive.
    pub(crate) session: Weak<Session>,
    /// The read that loaded the entry.
    pub(crate) read: ReadToken,
}

/// A verified token's memo of the session-cache entry that served its session; empty until
/// the access layer's cached session check fills it, so that the token's next request
/// checks that one entry instead of looking its key up again.
///
/// Why a memo is enough: it lives in the token's [`Claims`](crate::token::Claims), which
/// the verified-token cache shares behind an `Arc` and nothing can change there (the crate
/// hands out only `&Claims`; a clone starts with an empty memo). So the session key the
/// memo was made for is the key the claims name, for as long as the memo exists. What it
/// remembers is checked again on every use by the cache that made it: the same cache, the
/// same epoch, the stripe's generation unchanged, the read younger than the maximum age,
/// the session still allocated (the memo holds it weakly: an evicted entry is not kept
/// alive) and not expired. Those are the checks a lookup makes on the entry it finds, less
/// the comparison with the key, which the memo makes unnecessary.
///
/// It is not part of the claims' value: a clone is empty, and any two memos are equal.
#[derive(Default)]
pub struct SessionMemo(Mutex<Option<Memo>>);

impl SessionMemo {
    /// What `f` makes of the memo, if there is one.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Memo) -> Option<T>) -> Option<T> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .and_then(f)
    }

    /// Remember `memo`, in place of any earlier one.
    pub(crate) fn remember(&self, memo: Memo) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(memo);
    }
}

impl Clone for SessionMemo {
    /// An empty memo: a copy of the claims may be changed, and must not inherit it.
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl PartialEq for SessionMemo {
    /// Always equal: the memo is not part of the claims' value.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for SessionMemo {}

impl fmt::Debug for SessionMemo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionMemo")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn memo(session: &Arc<Session>) -> Memo {
        Memo {
            cache: 7,
            session: Arc::downgrade(session),
            read: ReadToken {
                epoch: 1,
                stripe: 2,
                generation: 3,
                read_at_ms: 4,
            },
        }
    }

    fn session() -> Arc<Session> {
        Arc::new(Session::new(
            "sid".into(),
            "ann".into(),
            crate::session::SessionType::default(),
            0,
            None,
            10,
            "rtid".into(),
        ))
    }

    #[test]
    fn remembers_the_latest_and_a_clone_starts_empty() {
        let s = session();
        let m = SessionMemo::default();
        assert_eq!(m.read(|m| Some(m.cache)), None);
        m.remember(memo(&s));
        let mut later = memo(&s);
        later.read.generation = 9;
        m.remember(later);
        assert_eq!(m.read(|m| Some(m.read.generation)), Some(9));
        let copy = m.clone();
        assert_eq!(copy.read(|m| Some(m.cache)), None);
        assert_eq!(m, SessionMemo::default());
    }

    #[test]
    fn holds_its_session_weakly() {
        let s = session();
        let m = SessionMemo::default();
        m.remember(memo(&s));
        assert!(m.read(|m| m.session.upgrade()).is_some());
        drop(s);
        assert!(m.read(|m| m.session.upgrade()).is_none());
    }
}
