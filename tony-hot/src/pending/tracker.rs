//! The [`Ledger`] of a running [`HotReload`](crate::HotReload): fed by the
//! watcher's saves and by patch receipts, checked by a timer thread, and
//! told to subscribers as [`Event::EditNotApplied`].

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use tony_core::{CodeManifest, Event, EventKind, MissedEdit, PluginSystem, SubscriptionId};

use super::{Ledger, Owner};
use crate::patch::BuildClock;

/// How often the timer looks for edits whose wait is over.
const TICK: Duration = Duration::from_millis(200);

/// Pending edits of one [`HotReload`](crate::HotReload).
pub(crate) struct Tracker {
    ledger: Arc<Mutex<Ledger>>,
    system: PluginSystem,
    receipts: SubscriptionId,
    stop: Option<Sender<()>>,
    timer: Option<JoinHandle<()>>,
}

impl Tracker {
    /// Tracks saves of `files` (and of any file in a plugin's source tree)
    /// for `system`; `takes_patches` says whether a patch can ever come.
    pub(crate) fn start<'a>(
        system: &PluginSystem,
        takes_patches: bool,
        files: impl IntoIterator<Item = &'a Path>,
        clock: BuildClock,
    ) -> Tracker {
        let mut ledger = Ledger::new(takes_patches);
        for file in files {
            ledger.baseline(file);
        }
        let ledger = Arc::new(Mutex::new(ledger));
        let (on_patch, handle) = (Arc::clone(&ledger), system.clone());
        // Runs on the patch thread, after the receipt's transaction.
        let receipts = system.subscribe(EventKind::PatchApplied, move |e: &Event| {
            if let Event::PatchApplied(receipt) = e {
                // The saves written before dx started building it; without
                // word from dx, those written before it arrived.
                let started = *clock.lock().unwrap_or_else(PoisonError::into_inner);
                let covers = started.unwrap_or_else(SystemTime::now);
                let missed = lock(&on_patch).patched(&receipt.recompiled, covers, Instant::now());
                tell(&handle, missed);
            }
        });
        let (stop, stopped) = mpsc::channel::<()>();
        let (on_tick, handle) = (Arc::clone(&ledger), system.clone());
        let timer = std::thread::Builder::new()
            .name("tony-pending-edits".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(TICK) {
                    let missed = lock(&on_tick).expire(Instant::now());
                    tell(&handle, missed);
                }
            });
        let timer = timer
            .map_err(|e| tracing::error!(error = %e, "cannot start the pending-edit timer"))
            .ok();
        Tracker {
            ledger,
            system: system.clone(),
            receipts,
            stop: Some(stop),
            timer,
        }
    }

    /// `file`, in the source tree of `plugins`, was saved: recorded at
    /// once (the status says so from now on); the miss it proves, if any,
    /// is for the caller to [`tell`](Self::tell) after the save's own event.
    pub(crate) fn saved(&self, file: &Path, plugins: &[String]) -> Option<MissedEdit> {
        lock(&self.ledger).saved(file, owners(plugins), Instant::now())
    }

    /// Raises `missed` as [`Event::EditNotApplied`].
    pub(crate) fn tell(&self, missed: Option<MissedEdit>) {
        tell(&self.system, missed.into_iter().collect());
    }

    /// The edits reported as not applied and not settled since.
    pub(crate) fn missed(&self) -> Vec<MissedEdit> {
        lock(&self.ledger).missed()
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        // The subscription holds a handle to the system: ending it breaks
        // the cycle system -> subscriber -> system.
        self.system.unsubscribe(self.receipts);
        drop(self.stop.take());
        if let Some(timer) = self.timer.take() {
            let _ = timer.join();
        }
    }
}

fn lock(ledger: &Mutex<Ledger>) -> MutexGuard<'_, Ledger> {
    ledger.lock().unwrap_or_else(PoisonError::into_inner)
}

fn tell(system: &PluginSystem, missed: Vec<MissedEdit>) {
    for miss in missed {
        tracing::warn!("{miss}");
        tony_core::__private::emit(system, Event::EditNotApplied(Box::new(miss)));
    }
}

/// Where the code of each of `plugins` is compiled, as the code running
/// now describes it.
fn owners(plugins: &[String]) -> Vec<Owner> {
    let running = CodeManifest::running();
    // The binary's crate name, as cargo makes it from the executable's.
    let exe_crate = std::env::current_exe()
        .ok()
        .and_then(|p| Some(p.file_stem()?.to_string_lossy().replace('-', "_")));
    plugins
        .iter()
        .map(|plugin| match running.get(plugin) {
            Some(code) => {
                let crate_name = code.crate_name();
                let library_of_binary = code.bin_name().is_none()
                    && (exe_crate.as_deref() == Some(crate_name)
                        || running
                            .plugins()
                            .any(|p| p.crate_name() == crate_name && p.bin_name().is_some()));
                Owner {
                    plugin: plugin.clone(),
                    crate_name: crate_name.to_owned(),
                    unit: Some(code.unit_name()),
                    library_of_binary,
                }
            }
            None => Owner {
                plugin: plugin.clone(),
                crate_name: String::new(),
                unit: None,
                library_of_binary: false,
            },
        })
        .collect()
}
