//! Admission of requests to plugins around reload transactions.
//!
//! Tony's typed access already waits while a transaction holds a plugin, so
//! no request ever sees a half-reloaded instance. But it waits by blocking
//! the calling thread, and in a tokio service that thread is a runtime
//! worker shared by every other request. The gates move that wait into
//! async code:
//!
//! - a [`Gates`] subscriber sees [`Event::ReloadStarted`] on the
//!   transaction's own thread *before* the transaction holds any plugin, and
//!   closes the gates of the plugins asked for and of everything that
//!   depends on them (the set the transaction may cycle);
//! - it then waits (bounded) until the calls already admitted to those
//!   plugins have returned, so none of them can block on the hold;
//! - requests for a closed plugin wait asynchronously (bounded:
//!   [`GateError::Timeout`] after the service's wait bound) on a
//!   [`Notify`], and other requests are not delayed at all;
//! - [`Event::ReloadCompleted`] / [`Event::ReloadFailed`] reopen the gates,
//!   and the next transaction first lets the requests that waited for this
//!   one in, so a burst of reloads cannot starve a route.
//!
//! Correctness never depends on the gates: if one is bypassed (a call made
//! without a permit, a wait that ran out of time), Tony's own slot lock
//! still keeps the call from seeing a half-reloaded plugin; the call just
//! blocks its thread for the length of the transaction.

use std::collections::{BTreeMap, BTreeSet};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use tony_core::{Event, PluginSystem};

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

/// The bit of [`Gate::state`] that says a transaction has the gate closed;
/// the other bits count the admitted calls.
const CLOSED: usize = 1 << (usize::BITS - 1);

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
    /// [`CLOSED`] | admitted calls: the fast path is one atomic add.
    state: AtomicUsize,
    /// Requests dispatched to the plugin since the last drain.
    requests: AtomicU64,
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
            state: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            slow: Mutex::new(Slow::default()),
            changed: Condvar::new(),
            reopened: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Slow> {
        // The critical sections below cannot panic; a poisoned lock is still consistent.
        self.slow.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Enters if the gate is open.
    fn try_enter(&self) -> bool {
        if self.state.fetch_add(1, Ordering::SeqCst) & CLOSED == 0 {
            true
        } else {
            self.leave();
            false
        }
    }

    fn leave(&self) {
        if self.state.fetch_sub(1, Ordering::SeqCst) == CLOSED | 1 {
            // The last call out of a closed gate: the transaction may be
            // waiting. Taking the lock orders this after its check.
            let _s = self.lock();
            self.changed.notify_all();
        }
    }

    /// Admits a call if the gate is open: one atomic add, no lock.
    pub(crate) fn try_admit(&self) -> Option<Permit<'_>> {
        self.try_enter().then(|| Permit(self)) // lazily: a Permit dropped unused would leave()
    }

    /// Admits a call, waiting (asynchronously, up to `bound`) while a
    /// transaction has the gate closed.
    ///
    /// Boxed: the waiting machinery (a `Notified`, a timer) is large, and
    /// the caller's future, which every request allocates, should not
    /// carry it for the path that never waits ([`Gate::try_admit`]).
    pub(crate) fn admit(
        &self,
        bound: Duration,
    ) -> Pin<Box<dyn Future<Output = Result<Permit<'_>, GateError>> + Send + '_>> {
        Box::pin(async move {
            if let Some(permit) = self.try_admit() {
                return Ok(permit);
            }
            self.lock().waiting += 1;
            let waiting = Waiting(self);
            let started = Instant::now();
            let deadline = started + bound;
            loop {
                let notified = self.reopened.notified();
                tokio::pin!(notified);
                // Registered before the check: a reopen in between still wakes us.
                notified.as_mut().enable();
                if let Some(permit) = self.try_admit() {
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

    /// Counts one request.
    pub(crate) fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
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
                self.state.load(Ordering::SeqCst) & !CLOSED > 0
            })
            .unwrap_or_else(PoisonError::into_inner);
        if fair.timed_out() || drained.timed_out() {
            tracing::warn!(
                plugin = %self.name,
                admitted = self.state.load(Ordering::SeqCst) & !CLOSED,
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

/// The gates of every plugin of a system, closed and reopened by its reload
/// events.
pub(crate) struct Gates {
    gates: BTreeMap<String, Gate>,
    /// Each plugin's dependents, transitively (optional dependencies too:
    /// closing a gate too many only makes a request wait a little).
    dependents: BTreeMap<String, BTreeSet<String>>,
    /// The sets closed by the transactions under way, innermost last.
    closed: Mutex<Vec<Vec<String>>>,
    drain_bound: Duration,
}

impl Gates {
    /// Gates for every plugin of `system`, subscribed to its reload events.
    ///
    /// The subscription holds the gates, not the system: no reference cycle.
    pub(crate) fn install(system: &PluginSystem, drain_bound: Duration) -> Arc<Gates> {
        let status = system.status();
        let mut direct: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for s in &status {
            for dep in &s.dependencies {
                // `Dependency`'s display is "name range [(optional)]"; names have no spaces.
                if let Some(name) = dep.split_whitespace().next() {
                    direct
                        .entry(name.to_owned())
                        .or_default()
                        .insert(s.name.clone());
                }
            }
        }
        let dependents = status
            .iter()
            .map(|s| (s.name.clone(), closure(&direct, &s.name)))
            .collect();
        let gates = Arc::new(Gates {
            gates: status
                .iter()
                .map(|s| (s.name.clone(), Gate::new(&s.name)))
                .collect(),
            dependents,
            closed: Mutex::new(Vec::new()),
            drain_bound,
        });
        let g = Arc::clone(&gates);
        system.subscribe_all(move |e: &Event| match e {
            Event::ReloadStarted { plugins, .. } => g.close(plugins),
            Event::ReloadCompleted(_) | Event::ReloadFailed(_) => g.reopen(),
            _ => {}
        });
        gates
    }

    /// The gate of `plugin`, if it is one of the system's.
    pub(crate) fn get(&self, plugin: &str) -> Option<&Gate> {
        self.gates.get(plugin)
    }

    /// The requests counted per plugin since the last call (only plugins
    /// with some); starts over.
    pub(crate) fn take_requests(&self) -> Vec<(String, u64)> {
        self.gates
            .iter()
            .map(|(name, g)| (name.clone(), g.requests.swap(0, Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    fn close(&self, targets: &[String]) {
        let mut set: BTreeSet<&str> = BTreeSet::new();
        for t in targets {
            set.insert(t);
            if let Some(d) = self.dependents.get(t) {
                set.extend(d.iter().map(String::as_str));
            }
        }
        let set: Vec<String> = set
            .into_iter()
            .filter(|n| self.gates.contains_key(*n))
            .map(str::to_owned)
            .collect();
        for name in &set {
            if let Some(gate) = self.gates.get(name) {
                gate.close(self.drain_bound);
            }
        }
        self.closed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(set);
    }

    fn reopen(&self) {
        let set = self
            .closed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        for name in set.iter().flatten() {
            if let Some(gate) = self.gates.get(name) {
                gate.reopen();
            }
        }
    }
}

fn closure(direct: &BTreeMap<String, BTreeSet<String>>, root: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![root.to_owned()];
    while let Some(n) = todo.pop() {
        for d in direct.get(&n).into_iter().flatten() {
            if d != root && seen.insert(d.clone()) {
                todo.push(d.clone());
            }
        }
    }
    seen
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

    #[test]
    fn closing_waits_for_admitted_calls() {
        let gate = Arc::new(Gate::new("p"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let permit = rt.block_on(gate.admit(Duration::from_secs(1))).unwrap();
        let g = Arc::clone(&gate);
        let closer = std::thread::spawn(move || {
            let t = std::time::Instant::now();
            g.close(Duration::from_secs(10));
            t.elapsed()
        });
        std::thread::sleep(Duration::from_millis(50));
        drop(permit);
        assert!(closer.join().unwrap() >= Duration::from_millis(40));
        assert_eq!(gate.lock().closed, 1);
        assert!(gate.is_closed());
        gate.reopen();
        assert!(!gate.is_closed() && gate.try_enter());
    }

    #[test]
    fn dependents_are_transitive() {
        let mut direct: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        direct.entry("a".into()).or_default().insert("b".into());
        direct.entry("b".into()).or_default().insert("c".into());
        let all: Vec<String> = closure(&direct, "a").into_iter().collect();
        assert_eq!(all, ["b", "c"]);
    }
}
