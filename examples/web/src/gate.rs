//! Admission of requests to plugins around reload transactions.
//!
//! Tony's typed access already waits while a transaction holds a plugin, so
//! no request ever sees a half-reloaded instance. But it waits by blocking
//! the calling thread, and in a tokio service that thread is a runtime
//! worker shared by every other request. The gates move that wait into
//! async code:
//!
//! - a [`Gates`] validator, which Tony calls on the transaction's own
//!   thread for every plugin the transaction will cycle (the ones asked for
//!   and their dependents) *before* it takes any of them, closes that
//!   plugin's gate and waits (bounded) until the calls already admitted have
//!   returned, so none of them can block on the transaction;
//! - requests for a closed plugin wait asynchronously (bounded:
//!   [`GateError::Timeout`] after the service's wait bound) on a
//!   [`Notify`], and other requests are not delayed at all;
//! - [`Event::ReloadCompleted`] / [`Event::ReloadFailed`], delivered on the
//!   same thread once the transaction has let go of its plugins, reopen the
//!   gates that thread closed, and the next transaction first lets the
//!   requests that waited for this one in, so a burst of reloads cannot
//!   starve a route.
//!
//! A validator, not [`Event::ReloadStarted`]: Tony delivers the events of a
//! transaction once it has ended (an event subscriber never runs while the
//! transaction holds plugins), too late to close anything. Validators run
//! only with `validate_before_reload` (the default): without it the gates
//! stay open and a request for a plugin under reload waits in Tony instead,
//! blocking its runtime thread for the length of the transaction.
//!
//! Correctness never depends on the gates: if one is bypassed (a call made
//! without a permit, a wait that ran out of time), Tony's own slot lock
//! still keeps the call from seeing a half-reloaded plugin; the call just
//! blocks its thread for the length of the transaction.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::{self, ThreadId};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use tony_core::{Event, Metadata, PluginSystem, PluginSystemBuilder, Validation};

/// Why a request was not admitted to a plugin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GateError {
    /// The plugin stayed under reload for longer than the wait bound.
    #[error("plugin `{plugin}` is being reloaded; gave up after {waited:?}")]
    Timeout {
        /// The plugin.
        plugin: String,
        /// How long the request waited.
        waited: Duration,
    },
}

/// The low bits of [`Gate::state`]: calls admitted and not yet returned.
const ADMITTED: u64 = (1 << 24) - 1;
/// The bit of [`Gate::state`] that says a transaction has the gate closed.
const CLOSED: u64 = 1 << 24;
/// One request, in the bits of [`Gate::state`] above [`CLOSED`], which
/// count the requests that came to the gate (wrapping; never taken back).
const REQUEST: u64 = 1 << 25;

#[derive(Default)]
struct Slow {
    /// Transactions that closed the gate and have not ended (0 or 1:
    /// Tony serializes transactions).
    closed: u32,
    /// Requests waiting for the gate to reopen.
    waiting: usize,
}

/// The gate of one plugin.
pub(crate) struct Gate {
    name: String,
    /// The address of a `&'static str` naming this plugin, once one was
    /// looked up (0 before): [`Gates::get_static`] compares addresses.
    key: AtomicUsize,
    /// Requests counted | [`CLOSED`] | admitted calls: counting a request
    /// and admitting it is one atomic add, its return one atomic
    /// subtraction.
    state: AtomicU64,
    /// The request count (`state >> 25`) at the last drain.
    drained: AtomicU64,
    /// Closing, reopening and waiting: the slow path.
    slow: Mutex<Slow>,
    /// Signalled when the last admitted call of a closed gate returns, or
    /// a waiting request is admitted: the closing transaction waits on it.
    changed: Condvar,
    /// Woken when the gate reopens: waiting requests wait on it.
    reopened: Notify,
}

/// An admitted call: the gate's transaction waits for it to be dropped.
pub(crate) struct Permit<'a>(&'a Gate);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.0.leave();
    }
}

/// A request counted in `waiting`; uncounted when it is admitted, times out
/// or is cancelled (the client went away).
struct Waiting<'a>(&'a Gate);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        s.waiting -= 1;
        self.0.changed.notify_all();
    }
}

impl Gate {
    fn new(name: &str) -> Self {
        Gate {
            name: name.to_owned(),
            key: AtomicUsize::new(0),
            state: AtomicU64::new(0),
            drained: AtomicU64::new(0),
            slow: Mutex::new(Slow::default()),
            changed: Condvar::new(),
            reopened: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Slow> {
        // The critical sections below cannot panic; a poisoned lock is still consistent.
        self.slow.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Enters if the gate is open; adds `count` to the requests counted
    /// either way.
    fn try_enter(&self, count: u64) -> bool {
        if self.state.fetch_add(1 + count * REQUEST, Ordering::SeqCst) & CLOSED == 0 {
            true
        } else {
            self.leave(); // counted, not in
            false
        }
    }

    fn leave(&self) {
        if self.state.fetch_sub(1, Ordering::SeqCst) & (CLOSED | ADMITTED) == CLOSED | 1 {
            // The last call out of a closed gate: the transaction may be
            // waiting. Taking the lock orders this after its check.
            let _s = self.lock();
            self.changed.notify_all();
        }
    }

    /// Counts a request, and admits it if the gate is open: one atomic
    /// add, no lock. When it is closed, [`Gate::wait`] for it.
    pub(crate) fn try_admit(&self) -> Option<Permit<'_>> {
        self.try_enter(1).then(|| Permit(self)) // lazily: a Permit dropped unused would leave()
    }

    /// Counts a request and admits it, waiting (asynchronously, up to
    /// `bound`) while a transaction has the gate closed.
    #[cfg(test)]
    async fn admit(&self, bound: Duration) -> Result<Permit<'_>, GateError> {
        match self.try_admit() {
            Some(permit) => Ok(permit),
            None => self.wait(bound).await,
        }
    }

    /// Admits a request that [`Gate::try_admit`] counted and refused,
    /// waiting (asynchronously, up to `bound`) while a transaction has the
    /// gate closed.
    ///
    /// Boxed: the waiting machinery (a `Notified`, a timer) is large, and
    /// the caller's future, which every request allocates, should not
    /// carry it for the path that never waits ([`Gate::try_admit`]).
    pub(crate) fn wait(
        &self,
        bound: Duration,
    ) -> Pin<Box<dyn Future<Output = Result<Permit<'_>, GateError>> + Send + '_>> {
        Box::pin(async move {
            self.lock().waiting += 1;
            let waiting = Waiting(self);
            let started = Instant::now();
            let deadline = started + bound;
            loop {
                let notified = self.reopened.notified();
                tokio::pin!(notified);
                // Registered before the check: a reopen in between still wakes us.
                notified.as_mut().enable();
                if self.try_enter(0) {
                    let permit = Permit(self);
                    drop(waiting);
                    return Ok(permit);
                }
                if tokio::time::timeout_at(deadline, notified).await.is_err() {
                    return Err(GateError::Timeout {
                        plugin: self.name.clone(),
                        waited: started.elapsed(),
                    });
                }
            }
        })
    }

    /// The requests counted since the last call; starts over.
    fn take_requests(&self) -> u64 {
        let now = self.state.load(Ordering::Relaxed) / REQUEST;
        let before = self.drained.swap(now, Ordering::Relaxed);
        now.wrapping_sub(before) & (u64::MAX / REQUEST)
    }

    /// Closes the gate for a transaction: first lets in the requests still
    /// waiting from the previous one, then waits for admitted calls to
    /// return. Both waits are bounded; past the bound the transaction goes
    /// on (Tony's slot lock still protects the late calls).
    fn close(&self, bound: Duration) {
        let s = self.lock();
        let (mut s, fair) = self
            .changed
            .wait_timeout_while(s, bound, |s| s.waiting > 0 && s.closed == 0)
            .unwrap_or_else(PoisonError::into_inner);
        s.closed += 1;
        self.state.fetch_or(CLOSED, Ordering::SeqCst);
        let (s, drained) = self
            .changed
            .wait_timeout_while(s, bound, |_| {
                self.state.load(Ordering::SeqCst) & ADMITTED > 0
            })
            .unwrap_or_else(PoisonError::into_inner);
        if fair.timed_out() || drained.timed_out() {
            tracing::warn!(
                plugin = %self.name,
                admitted = self.state.load(Ordering::SeqCst) & ADMITTED,
                waiting = s.waiting,
                "reload went ahead before the plugin's requests drained (are reloads started on a runtime thread?)"
            );
        }
    }

    fn reopen(&self) {
        let mut s = self.lock();
        s.closed = s.closed.saturating_sub(1);
        if s.closed == 0 {
            self.state.fetch_and(!CLOSED, Ordering::SeqCst);
            drop(s);
            self.reopened.notify_waiters();
        }
    }

    #[cfg(test)]
    fn is_closed(&self) -> bool {
        self.state.load(Ordering::SeqCst) & CLOSED != 0
    }
}

/// The gates of every plugin of a system, closed by its validation step and
/// reopened by its reload events.
pub(crate) struct Gates {
    /// Sorted by name.
    gates: OnceLock<Vec<Gate>>,
    /// The plugins each thread's transaction closed, to reopen when it ends.
    closed: Mutex<HashMap<ThreadId, Vec<String>>>,
    drain_bound: Duration,
}

impl Gates {
    /// Gates to be filled by [`Gates::install`], with their validator added
    /// to `builder` (after the validators it has: a reload they reject never
    /// closes anything).
    pub(crate) fn hook(
        builder: PluginSystemBuilder,
        drain_bound: Duration,
    ) -> (PluginSystemBuilder, Arc<Gates>) {
        let gates = Arc::new(Gates {
            gates: OnceLock::new(),
            closed: Mutex::new(HashMap::new()),
            drain_bound,
        });
        let g = Arc::clone(&gates);
        let builder = builder.validator(move |candidate: &Metadata, _: &Metadata| {
            g.close(candidate.name());
            Validation::valid()
        });
        (builder, gates)
    }

    /// Makes a gate for every plugin of `system` and subscribes to its
    /// reload events. The subscription holds the gates, not the system: no
    /// reference cycle.
    pub(crate) fn install(self: &Arc<Self>, system: &PluginSystem) {
        // `status` is sorted by name.
        let gates = system.status().iter().map(|s| Gate::new(&s.name)).collect();
        if self.gates.set(gates).is_err() {
            tracing::warn!("gates installed twice; the first set stays");
        }
        if !system.config().validate_before_reload {
            tracing::warn!(
                "validate_before_reload is off: requests for a plugin under reload will block their runtime thread"
            );
        }
        let g = Arc::clone(self);
        system.subscribe_all(move |e: &Event| {
            if matches!(e, Event::ReloadCompleted(_) | Event::ReloadFailed(_)) {
                g.reopen();
            }
        });
    }

    /// The gate of `plugin`, if it is one of the system's.
    pub(crate) fn get(&self, plugin: &str) -> Option<&Gate> {
        let gates = self.gates.get()?;
        let at = gates
            .binary_search_by(|g| g.name.as_str().cmp(plugin))
            .ok()?;
        gates.get(at)
    }

    /// [`Gates::get`] for a name known at compile time (`T::NAME`): found by
    /// its address once it was found by its text.
    pub(crate) fn get_static(&self, plugin: &'static str) -> Option<&Gate> {
        let key = plugin.as_ptr() as usize;
        // Same address and length: the same immutable bytes.
        let known = self
            .gates
            .get()?
            .iter()
            .find(|g| g.key.load(Ordering::Relaxed) == key && g.name.len() == plugin.len());
        known.or_else(|| {
            let gate = self.get(plugin)?;
            gate.key.store(key, Ordering::Relaxed);
            Some(gate)
        })
    }

    /// The requests counted per plugin since the last call (only plugins
    /// with some); starts over.
    pub(crate) fn take_requests(&self) -> Vec<(String, u64)> {
        self.gates
            .get()
            .into_iter()
            .flatten()
            .map(|g| (g.name.clone(), g.take_requests()))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// Closes `plugin`'s gate for the calling thread's transaction.
    fn close(&self, plugin: &str) {
        let Some(gate) = self.get(plugin) else { return };
        {
            let mut closed = self.closed.lock().unwrap_or_else(PoisonError::into_inner);
            let mine = closed.entry(thread::current().id()).or_default();
            if mine.iter().any(|p| p == plugin) {
                return; // validated twice in one transaction: closed already
            }
            mine.push(plugin.to_owned());
        }
        gate.close(self.drain_bound);
    }

    /// Reopens what the calling thread's transaction closed.
    fn reopen(&self) {
        let mine = self
            .closed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&thread::current().id());
        for name in mine.into_iter().flatten() {
            if let Some(gate) = self.get(&name) {
                gate.reopen();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn a_closed_gate_makes_requests_wait_and_reopening_lets_them_in() {
        let gate = Arc::new(Gate::new("p"));
        gate.close(Duration::from_secs(1));
        let g = Arc::clone(&gate);
        let waiter =
            tokio::spawn(async move { g.admit(Duration::from_secs(10)).await.map(|_| ()).is_ok() });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        gate.reopen();
        assert!(waiter.await.unwrap());
    }

    #[tokio::test]
    async fn the_wait_is_bounded() {
        let gate = Gate::new("p");
        gate.close(Duration::from_secs(1));
        let e = gate.admit(Duration::from_millis(20)).await.err().unwrap();
        assert!(matches!(e, GateError::Timeout { ref plugin, .. } if plugin == "p"));
        assert_eq!(gate.lock().waiting, 0);
        assert!(gate.is_closed());
    }

    #[tokio::test]
    async fn each_request_is_counted_once_admitted_or_not() {
        let gate = Arc::new(Gate::new("p"));
        for _ in 0..3 {
            drop(gate.try_admit().unwrap());
        }
        assert_eq!(gate.take_requests(), 3);
        assert_eq!(gate.take_requests(), 0);
        gate.close(Duration::from_secs(1));
        // Refused, then waiting (and trying again) until the gate reopens:
        // one request.
        assert!(gate.try_admit().is_none());
        let g = Arc::clone(&gate);
        let waiter =
            tokio::spawn(async move { g.wait(Duration::from_secs(10)).await.map(|_| ()).is_ok() });
        tokio::task::yield_now().await;
        assert_eq!(gate.take_requests(), 1);
        gate.reopen();
        assert!(waiter.await.unwrap());
        assert_eq!(gate.take_requests(), 0);
        assert_eq!(gate.state.load(Ordering::SeqCst) & (ADMITTED | CLOSED), 0);
        // The count wraps without touching the other bits.
        let top = u64::MAX / REQUEST;
        gate.state.store(top * REQUEST, Ordering::SeqCst);
        gate.drained.store(top, Ordering::SeqCst);
        drop(gate.try_admit().unwrap());
        drop(gate.try_admit().unwrap());
        assert_eq!(gate.take_requests(), 2);
        assert_eq!(gate.state.load(Ordering::SeqCst) & (ADMITTED | CLOSED), 0);
    }

    #[test]
    fn closing_waits_for_admitted_calls() {
        let gate = Arc::new(Gate::new("p"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let permit = rt.block_on(gate.admit(Duration::from_secs(1))).unwrap();
        let g = Arc::clone(&gate);
        let closer = thread::spawn(move || {
            let t = std::time::Instant::now();
            g.close(Duration::from_secs(10));
            t.elapsed()
        });
        thread::sleep(Duration::from_millis(50));
        drop(permit);
        assert!(closer.join().unwrap() >= Duration::from_millis(40));
        assert_eq!(gate.lock().closed, 1);
        assert!(gate.is_closed());
        gate.reopen();
        assert!(!gate.is_closed() && gate.try_enter(0));
    }
}
