//! What the host sees go by: requests per plugin, reload events, the last
//! hot-patch receipt.
//!
//! Kept by the host, not by a plugin, so that recording never waits on a
//! reload (a request to `greet` must not wait for `metrics` to be reloaded).
//! The `metrics` plugin drains it into its own state when asked for a
//! report; while `metrics` is absent or inactive, nothing is drained.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use tony_core::{Event, PatchReceipt, PluginSystem, ReloadResult};

/// Reload records kept waiting for `metrics` at most; older ones are dropped.
const PENDING_RELOADS: usize = 256;

/// One reload transaction, as the metrics report lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadRecord {
    /// The plugin asked for.
    pub plugin: String,
    /// What asked: `Manual`, `Config`, `Patch` or `Snapshot`.
    pub trigger: String,
    /// Whether it succeeded.
    pub success: bool,
    /// The dependents cycled with it.
    pub dependents: Vec<String>,
    /// How long it took, in microseconds.
    pub micros: u64,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

impl ReloadRecord {
    fn of(r: &ReloadResult) -> Self {
        ReloadRecord {
            plugin: r.plugin.clone(),
            trigger: format!("{:?}", r.trigger),
            success: r.success,
            dependents: r.dependents_reloaded.clone(),
            micros: u64::try_from(r.duration.as_micros()).unwrap_or(u64::MAX),
            error: r.error.as_ref().map(ToString::to_string),
        }
    }
}

/// What the host observed since the last [`Observer::drain`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    /// Requests served by each plugin (only plugins with some).
    pub requests: Vec<(String, u64)>,
    /// Reload transactions that ended.
    pub reloads: u64,
    /// Of which failed.
    pub reloads_failed: u64,
    /// The most recent of them, oldest first (at most 256).
    pub recent: Vec<ReloadRecord>,
}

/// The host's record of requests and reloads.
pub struct Observer {
    /// Each plugin's loans at the last drain (a request served is one loan,
    /// see [`Web::call`](crate::Web::call)).
    loans: Mutex<BTreeMap<String, u64>>,
    /// Reloads since the last drain: (ended, failed, the latest records).
    pending: Mutex<(u64, u64, VecDeque<ReloadRecord>)>,
    /// Reloads since the start.
    reloads: AtomicU64,
    last_patch: Mutex<Option<(PatchReceipt, std::time::SystemTime)>>,
}

impl Observer {
    /// An observer of `system`'s plugins, subscribed to its events (the
    /// subscription holds the observer, not the system).
    pub(crate) fn install(system: &PluginSystem) -> Arc<Observer> {
        let observer = Arc::new(Observer {
            loans: Mutex::new(BTreeMap::new()),
            pending: Mutex::new((0, 0, VecDeque::new())),
            reloads: AtomicU64::new(0),
            last_patch: Mutex::new(None),
        });
        let o = Arc::clone(&observer);
        system.subscribe_all(move |e: &Event| match e {
            Event::ReloadCompleted(r) | Event::ReloadFailed(r) => o.reloaded(r),
            Event::PatchApplied(p) => {
                *o.last_patch.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some(((**p).clone(), std::time::SystemTime::now()));
            }
            _ => {}
        });
        observer
    }

    fn reloaded(&self, r: &ReloadResult) {
        self.reloads.fetch_add(1, Ordering::Relaxed);
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let (ended, failed, recent) = &mut *pending;
        *ended += 1;
        if !r.success {
            *failed += 1;
        }
        if recent.len() == PENDING_RELOADS {
            recent.pop_front();
        }
        recent.push_back(ReloadRecord::of(r));
    }

    /// What was observed of `system` (the one the observer was installed
    /// on) since the last drain; starts over.
    pub fn drain(&self, system: &PluginSystem) -> Observed {
        let requests = {
            let mut last = self.loans.lock().unwrap_or_else(PoisonError::into_inner);
            (system.status().into_iter())
                .filter_map(|s| {
                    let before = last.insert(s.name.clone(), s.loans).unwrap_or(0);
                    let served = s.loans.wrapping_sub(before);
                    (served > 0).then_some((s.name, served))
                })
                .collect()
        };
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let (reloads, reloads_failed, recent) = std::mem::take(&mut *pending);
        Observed {
            requests,
            reloads,
            reloads_failed,
            recent: recent.into(),
        }
    }

    /// How many reload transactions ended since the service started.
    pub fn reload_count(&self) -> u64 {
        self.reloads.load(Ordering::Relaxed)
    }

    /// The receipt of the last hot patch, and when it came.
    pub fn last_patch(&self) -> Option<(PatchReceipt, std::time::SystemTime)> {
        self.last_patch
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
