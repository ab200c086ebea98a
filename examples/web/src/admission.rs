//! Admission of requests to plugins around reload transactions.
//!
//! Tony's typed access waits while a transaction holds a plugin, and it
//! waits by blocking the calling thread: in a tokio service, a runtime
//! worker shared by every other request. So [`Web::call`](crate::Web::call)
//! borrows its plugin with [`PluginSystem::try_lend`], which refuses
//! ([`AccessError::Busy`](tony_core::AccessError::Busy)) instead of
//! waiting, and this module makes the refused request wait asynchronously:
//!
//! - it waits on a [`Notify`] that every event of the system wakes (Tony
//!   delivers a transaction's events once the transaction has let go of its
//!   plugins), trying again at least every [`RETRY`], up to the service's
//!   bound ([`AdmissionError::Timeout`], a 503, after it); requests to
//!   other plugins are not delayed at all;
//! - a [validator](Admissions::hook), which Tony calls on the transaction's
//!   thread for each plugin it will cycle before it takes any, first lets
//!   in the requests still waiting for that plugin from the previous
//!   transaction (bounded), so that a burst of reloads cannot starve a
//!   route.
//!
//! A request that is not refused touches nothing here: Tony counts the
//! loans (the requests served, for `/metrics`: `PluginStatus::loans`).
//!
//! What a loan cannot wait for is done by Tony: a transaction waits for
//! the loans in progress to return before it takes their plugin, and from
//! the moment it reserves the plugin new loans are refused, so no request
//! ever sees a half-reloaded instance, and none blocks on a reload.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use tony_core::{Metadata, PluginSystem, PluginSystemBuilder, Validation};

/// How often a waiting request tries again even without an event: a safety
/// net for a transaction that ends without one.
pub(crate) const RETRY: Duration = Duration::from_millis(100);

/// Why a request was not admitted to a plugin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmissionError {
    /// The plugin stayed under reload for longer than the wait bound.
    #[error("plugin `{plugin}` is being reloaded; gave up after {waited:?}")]
    Timeout {
        /// The plugin.
        plugin: String,
        /// How long the request waited.
        waited: Duration,
    },
}

/// What the service keeps for one plugin: its waiting requests.
pub(crate) struct Admission {
    name: String,
    /// Requests waiting for a transaction on this plugin to end.
    waiting: Mutex<usize>,
    /// Signalled when `waiting` goes down.
    fewer: Condvar,
}

impl Admission {
    fn new(name: &str) -> Self {
        Admission {
            name: name.to_owned(),
            waiting: Mutex::new(0),
            fewer: Condvar::new(),
        }
    }

    fn waiting(&self) -> MutexGuard<'_, usize> {
        // Its critical sections cannot panic: a poisoned lock is consistent.
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lets the requests waiting from the previous transaction in first
    /// (up to `bound`; past it the transaction goes on).
    fn let_waiting_in(&self, bound: Duration) {
        let (n, fair) = self
            .fewer
            .wait_timeout_while(self.waiting(), bound, |n| *n > 0)
            .unwrap_or_else(PoisonError::into_inner);
        if fair.timed_out() {
            tracing::warn!(
                plugin = %self.name,
                waiting = *n,
                "reload went ahead of requests that waited for the previous one (are reloads started on a runtime thread?)"
            );
        }
    }
}

/// A request waiting for a plugin: counted from its first refusal until it
/// is served, times out, or is cancelled (the client went away).
pub(crate) struct Waiting(Arc<Admission>);

impl Drop for Waiting {
    fn drop(&mut self) {
        *self.0.waiting() -= 1;
        self.0.fewer.notify_all();
    }
}

/// The admissions of the plugins of a system that requests waited for.
pub(crate) struct Admissions {
    /// By plugin name; made when a request first waits for the plugin (so
    /// that a plugin added while the service runs has one too).
    admissions: Mutex<HashMap<String, Arc<Admission>>>,
    /// Woken by every event of the system.
    wake: Notify,
    fair_bound: Duration,
}

impl Admissions {
    /// Admissions, with their validator added to `builder` (after the
    /// validators it has: a reload they reject waits for nothing). Then
    /// [`Admissions::install`] them on the system built.
    pub(crate) fn hook(
        builder: PluginSystemBuilder,
        fair_bound: Duration,
    ) -> (PluginSystemBuilder, Arc<Admissions>) {
        let admissions = Arc::new(Admissions {
            admissions: Mutex::new(HashMap::new()),
            wake: Notify::new(),
            fair_bound,
        });
        let a = Arc::clone(&admissions);
        let builder = builder.validator(move |candidate: &Metadata, _: &Metadata| {
            if let Some(admission) = a.get(candidate.name()) {
                admission.let_waiting_in(a.fair_bound);
            }
            Validation::valid()
        });
        (builder, admissions)
    }

    /// Subscribes to `system`'s events, which wake the waiting requests.
    /// The subscription holds the admissions, not the system: no reference
    /// cycle.
    pub(crate) fn install(self: &Arc<Self>, system: &PluginSystem) {
        let a = Arc::clone(self);
        system.subscribe_all(move |_: &tony_core::Event| a.wake.notify_waiters());
    }

    fn all(&self) -> MutexGuard<'_, HashMap<String, Arc<Admission>>> {
        // Its critical sections cannot panic: a poisoned lock is consistent.
        self.admissions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The admission of `plugin`, if a request ever waited for it.
    pub(crate) fn get(&self, plugin: &str) -> Option<Arc<Admission>> {
        self.all().get(plugin).cloned()
    }

    /// Counts a request refused by a transaction as waiting for `plugin`.
    pub(crate) fn start_waiting(&self, plugin: &str) -> Waiting {
        let admission = Arc::clone(
            self.all()
                .entry(plugin.to_owned())
                .or_insert_with(|| Arc::new(Admission::new(plugin))),
        );
        *admission.waiting() += 1;
        Waiting(admission)
    }

    /// Waits (asynchronously) until an event comes, [`RETRY`] passes or
    /// `deadline` is reached; `try_now` is asked first, with the wake-up
    /// already registered, so an event in between is not missed. `Some`:
    /// what `try_now` gave.
    pub(crate) async fn retry_until<T>(
        &self,
        deadline: Instant,
        mut try_now: impl FnMut() -> Option<T>,
    ) -> Option<T> {
        loop {
            let woken = self.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            if let Some(done) = try_now() {
                return Some(done);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            let _ = tokio::time::timeout_at(deadline.min(now + RETRY), woken).await;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::thread;

    use super::*;

    #[test]
    fn a_transaction_lets_the_waiting_requests_in_first_and_the_wait_is_bounded() {
        let admissions = Arc::new(Admissions {
            admissions: Mutex::new(HashMap::new()),
            wake: Notify::new(),
            fair_bound: Duration::from_secs(10),
        });
        let waiting = admissions.start_waiting("p");
        let a = Arc::clone(&admissions);
        let validator = thread::spawn(move || {
            let t = std::time::Instant::now();
            a.get("p").unwrap().let_waiting_in(a.fair_bound);
            t.elapsed()
        });
        thread::sleep(Duration::from_millis(50));
        drop(waiting);
        assert!(validator.join().unwrap() >= Duration::from_millis(40));
        assert_eq!(*admissions.get("p").unwrap().waiting(), 0);

        // Past the bound, the transaction goes on.
        let _stuck = admissions.start_waiting("p");
        let t = std::time::Instant::now();
        admissions
            .get("p")
            .unwrap()
            .let_waiting_in(Duration::from_millis(20));
        assert!(t.elapsed() >= Duration::from_millis(20));
    }

    #[tokio::test(start_paused = true)]
    async fn retrying_stops_at_the_deadline_and_an_event_wakes_it() {
        let admissions = Admissions {
            admissions: Mutex::new(HashMap::new()),
            wake: Notify::new(),
            fair_bound: Duration::from_secs(1),
        };
        let mut tries = 0;
        let deadline = Instant::now() + Duration::from_millis(250);
        let out: Option<()> = admissions
            .retry_until(deadline, || {
                tries += 1;
                None
            })
            .await;
        assert_eq!(out, None);
        // At 0, 100, 200 and 250 ms.
        assert_eq!(tries, 4);

        let ready = AtomicUsize::new(0);
        let start = Instant::now();
        let waiter = admissions.retry_until(Instant::now() + Duration::from_secs(60), || {
            (ready.load(Ordering::SeqCst) == 1).then_some("in")
        });
        let waker = async {
            tokio::task::yield_now().await;
            ready.store(1, Ordering::SeqCst);
            admissions.wake.notify_waiters();
        };
        let (got, ()) = tokio::join!(waiter, waker);
        assert_eq!(got, Some("in"));
        assert!(start.elapsed() < RETRY, "woken by the event, not the retry");
    }
}
