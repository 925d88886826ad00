//! A deadline that holds on any executor: health checks must never hang, whatever runs
//! them (tokio, another runtime, a `block_on`) and whatever the store does.

use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Poll, Waker};
use std::time::Duration;

#[derive(Default)]
struct Alarm {
    rung: bool,
    waker: Option<Waker>,
}

/// `call`'s output, or `None` once `deadline` has passed without it.
///
/// The alarm is a short-lived thread that sleeps for the deadline and wakes the task (no
/// timer of a particular runtime is needed). If no thread can be started, the check fails
/// at once (`None`): a process that cannot start a thread is not healthy.
pub(crate) async fn within<F: Future>(deadline: Duration, call: F) -> Option<F::Output> {
    let alarm = Arc::new(Mutex::new(Alarm::default()));
    let mut call = pin!(call);
    let mut started = false;
    std::future::poll_fn(move |cx| {
        if let Poll::Ready(out) = call.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        let mut state = alarm.lock().unwrap_or_else(PoisonError::into_inner);
        if state.rung {
            return Poll::Ready(None);
        }
        state.waker = Some(cx.waker().clone());
        drop(state);
        if !started {
            started = true;
            let ring = Arc::clone(&alarm);
            let spawned = std::thread::Builder::new()
                .name("charon-health-deadline".into())
                .spawn(move || {
                    std::thread::sleep(deadline);
                    let mut state = ring.lock().unwrap_or_else(PoisonError::into_inner);
                    state.rung = true;
                    if let Some(waker) = state.waker.take() {
                        waker.wake();
                    }
                });
            if spawned.is_err() {
                return Poll::Ready(None);
            }
        }
        Poll::Pending
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_call_that_answers_gives_its_output() {
        assert_eq!(within(Duration::from_secs(60), async { 7 }).await, Some(7));
    }

    #[tokio::test]
    async fn a_call_that_never_answers_is_cut_at_the_deadline() {
        let never = std::future::pending::<()>();
        assert_eq!(within(Duration::from_millis(20), never).await, None);
    }

    #[test]
    fn the_deadline_holds_without_a_tokio_runtime() {
        // A minimal executor, parked until woken: the alarm wakes it.
        let out = block_on(within(
            Duration::from_millis(20),
            std::future::pending::<()>(),
        ));
        assert_eq!(out, None);
    }

    /// A one-future executor parking the thread until woken.
    fn block_on<F: Future>(future: F) -> F::Output {
        struct Unpark(std::thread::Thread);
        impl std::task::Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = std::task::Context::from_waker(&waker);
        let mut future = pin!(future);
        loop {
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
            std::thread::park();
        }
    }
}
