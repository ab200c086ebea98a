//! Events: what the system tells subscribers, and how it reaches them.

pub(crate) mod missed_edit;
pub(crate) mod status;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::Duration;

use semver::Version;

use crate::config::file::UnknownTable;
use crate::engine::containment;
use crate::events::missed_edit::MissedEdit;
use crate::hot::code_change::PluginChange;
use crate::transaction::reload::{ReloadResult, StateRestore, Trigger};

/// Something that happened in a [`PluginSystem`](crate::PluginSystem).
///
/// Large payloads are boxed so the enum stays small.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Event {
    /// A plugin was activated by a load (not by a reload).
    PluginLoaded {
        /// The plugin.
        plugin: String,
        /// Its version.
        version: Version,
    },
    /// A plugin was deactivated by an unload.
    PluginUnloaded {
        /// The plugin.
        plugin: String,
    },
    /// A reload transaction began.
    ReloadStarted {
        /// The plugins asked for.
        plugins: Vec<String>,
        /// What asked.
        trigger: Trigger,
    },
    /// A plugin's state was captured before deactivation.
    StatePreserved {
        /// The plugin.
        plugin: String,
        /// Size of the snapshot.
        bytes: usize,
    },
    /// A plugin instance was rebuilt from a snapshot.
    StateRestored {
        /// The plugin.
        plugin: String,
        /// How the state came back.
        how: StateRestore,
    },
    /// A reload succeeded.
    ReloadCompleted(Box<ReloadResult>),
    /// A reload failed and was rolled back.
    ///
    /// A reload refused by validation (stage
    /// [`Validate`](crate::Stage::Validate): a dependency missing or out of
    /// range, a cycle, a validator's veto, a plugin not active) emits exactly
    /// [`Event::ReloadStarted`] then this event, whose result names the
    /// plugin, the stage and the reason, and no [`Event::Error`]. A reload
    /// refused before it starts (called from inside a hook or typed access,
    /// or a feedback loop of subscribers) emits nothing: the returned
    /// [`ReloadResult`] says why.
    ReloadFailed(Box<ReloadResult>),
    /// A hot patch was received and handled.
    PatchApplied(Box<PatchReceipt>),
    /// A watched source file was saved (or created, or removed): one event per file and save.
    SourceChanged {
        /// The file.
        path: PathBuf,
        /// The plugins whose source tree holds it: those defined in it, else those of the
        /// nearest directory above it that holds plugin source files; empty for code outside
        /// every plugin's tree.
        plugins: Vec<String>,
    },
    /// The plugin configuration file changed and was applied.
    ConfigReloaded {
        /// The file.
        path: PathBuf,
        /// The plugins whose table changed.
        plugins: Vec<String>,
    },
    /// The plugin configuration file has a `[plugins.<name>]` table for a
    /// plugin that is not registered (most often a typo): its file, line and
    /// the closest registered name. Emitted by
    /// [`initialize`](crate::PluginSystem::initialize) for the file in force
    /// and each time a file is applied; the file is used all the same.
    /// [`PluginSystem::unknown_config_tables`](crate::PluginSystem::unknown_config_tables)
    /// lists them at any time.
    UnknownConfigTable(UnknownTable),
    /// A saved edit of plugin source did not reach the running app: which
    /// file, which plugins, since when and the likely cause (raised by
    /// tony-hot, listed in its status until a later save is applied).
    EditNotApplied(Box<MissedEdit>),
    /// Something went wrong outside a reload result.
    ///
    /// A reload that fails, refused by validation included, is reported by
    /// [`Event::ReloadFailed`] and never by this event; this one reports
    /// what no [`ReloadResult`] carries: a configuration file rejected
    /// before any reload, a plugin a rollback could not bring back, a
    /// panicking `Drop`, a hot patch refused, a watcher failing.
    Error {
        /// The part of the system that failed.
        source: ErrorSource,
        /// The plugin concerned, if one is.
        plugin: Option<String>,
        /// What went wrong.
        message: String,
    },
}

/// The part of the system an [`Event::Error`] comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorSource {
    /// A lifecycle hook outside a reload (load, unload).
    Lifecycle,
    /// A reload transaction.
    HotReload,
    /// The configuration file.
    Config,
    /// The file watcher.
    Watcher,
    /// Hot-patch intake.
    Patch,
    /// An event subscriber panicked.
    Subscriber,
}

/// What a hot patch did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PatchReceipt {
    /// Plugins whose code changed (existing types).
    pub changed: Vec<String>,
    /// Plugin types the patch brought, registered and activated.
    pub added: Vec<String>,
    /// Plugin types the patch removed, deactivated and unloaded.
    pub removed: Vec<String>,
    /// Plugins cycled (the changed ones and their dependents), in order.
    pub cycled: Vec<String>,
    /// The compilation units holding plugins that the patch recompiled
    /// (their crate name, with ` (bin NAME)` for a binary target), sorted:
    /// an edit in another crate was not in it.
    pub recompiled: Vec<String>,
    /// What changed in each plugin: methods, impl blocks, state layout.
    pub changes: Vec<PluginChange>,
    /// Whether the patch was applied and kept.
    pub applied: bool,
    /// Set when part of the patch could not be taken while the app runs,
    /// with why: restart the app to get it.
    pub restart_needed: Option<String>,
    /// Human-readable summary, e.g. "no plugin changed: code outside plugins".
    pub note: String,
    /// Tony's time loading the patch library (its checks, `dlopen`, its
    /// constructors).
    pub load_time: Duration,
    /// Tony's whole time for the patch: loading it, the transaction, new
    /// and removed types, up to this receipt.
    pub duration: Duration,
}

/// The kind of an [`Event`], to subscribe to one kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(missing_docs)] // one per `Event` variant, same name
pub enum EventKind {
    PluginLoaded,
    PluginUnloaded,
    ReloadStarted,
    StatePreserved,
    StateRestored,
    ReloadCompleted,
    ReloadFailed,
    PatchApplied,
    SourceChanged,
    ConfigReloaded,
    UnknownConfigTable,
    EditNotApplied,
    Error,
}

impl Event {
    /// This event's kind.
    pub fn kind(&self) -> EventKind {
        match self {
            Event::PluginLoaded { .. } => EventKind::PluginLoaded,
            Event::PluginUnloaded { .. } => EventKind::PluginUnloaded,
            Event::ReloadStarted { .. } => EventKind::ReloadStarted,
            Event::StatePreserved { .. } => EventKind::StatePreserved,
            Event::StateRestored { .. } => EventKind::StateRestored,
            Event::ReloadCompleted(_) => EventKind::ReloadCompleted,
            Event::ReloadFailed(_) => EventKind::ReloadFailed,
            Event::PatchApplied(_) => EventKind::PatchApplied,
            Event::SourceChanged { .. } => EventKind::SourceChanged,
            Event::ConfigReloaded { .. } => EventKind::ConfigReloaded,
            Event::UnknownConfigTable(_) => EventKind::UnknownConfigTable,
            Event::EditNotApplied(_) => EventKind::EditNotApplied,
            Event::Error { .. } => EventKind::Error,
        }
    }
}

/// Where events go: a closure, a channel, or your own type.
///
/// ```
/// use std::sync::mpsc;
/// use tony_core::{Event, EventKind, PluginSystem};
///
/// let system = PluginSystem::builder().register_inventory(false).build()?;
/// let (tx, rx) = mpsc::channel();
/// system.subscribe_all(tx);                                  // every event
/// system.subscribe(EventKind::ReloadFailed, |e: &Event| {    // one kind
///     eprintln!("reload failed: {e:?}");
/// });
/// let result = system.reload_plugin("missing");
/// assert!(!result.success);
/// assert!(rx.try_iter().any(|e| matches!(e, Event::ReloadFailed(_))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait EventSink: Send + Sync + 'static {
    /// Delivers one event. Called on the thread that caused it, with no lock
    /// of the system held; a panic here is caught and logged.
    ///
    /// Events raised while it runs (by a reload it starts, say) are queued
    /// and delivered after it returns, never inside it; a chain of
    /// transactions started by subscribers from each other's events is cut
    /// after 4 with [`FeedbackLoop`](crate::error::SystemError::FeedbackLoop).
    fn deliver(&self, event: &Event);
}

impl<F: Fn(&Event) + Send + Sync + 'static> EventSink for F {
    fn deliver(&self, event: &Event) {
        self(event)
    }
}

impl EventSink for mpsc::Sender<Event> {
    fn deliver(&self, event: &Event) {
        // A dropped receiver just stops listening.
        let _ = self.send(event.clone());
    }
}

impl EventSink for mpsc::SyncSender<Event> {
    fn deliver(&self, event: &Event) {
        let _ = self.send(event.clone());
    }
}

/// Names a subscription, to [`unsubscribe`](crate::PluginSystem::unsubscribe) it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SubscriptionId(u64);

struct Subscriber {
    id: SubscriptionId,
    kind: Option<EventKind>,
    sink: Arc<dyn EventSink>,
}

/// The subscriber list. Copy-on-write, so delivering never holds the lock
/// while a subscriber runs; a removed sink is dropped after the lock is
/// released, contained (its `Drop` is user code).
#[derive(Default)]
pub(crate) struct Bus {
    subscribers: Mutex<Arc<Vec<Subscriber>>>,
    next: AtomicU64,
}

impl Bus {
    pub(crate) fn subscribe(
        &self,
        kind: Option<EventKind>,
        sink: Arc<dyn EventSink>,
    ) -> SubscriptionId {
        let id = SubscriptionId(self.next.fetch_add(1, Ordering::Relaxed));
        let mut guard = self
            .subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut list: Vec<Subscriber> = guard.iter().map(Subscriber::clone_entry).collect();
        list.push(Subscriber { id, kind, sink });
        *guard = Arc::new(list);
        id
    }

    pub(crate) fn unsubscribe(&self, id: SubscriptionId) -> bool {
        let old = {
            let mut guard = self
                .subscribers
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let list: Vec<Subscriber> = guard
                .iter()
                .filter(|s| s.id != id)
                .map(Subscriber::clone_entry)
                .collect();
            if list.len() == guard.len() {
                return false;
            }
            std::mem::replace(&mut *guard, Arc::new(list))
        };
        // The last reference to the removed sink may be in `old`.
        if let Err(e) = containment::drop_contained("(event sink)", "drop", old) {
            tracing::error!(subscription = id.0, error = %e, "dropping an event sink panicked");
        }
        true
    }

    /// Delivers `event` to the subscribers, now; the caller holds nothing
    /// (see `reentry::emit`).
    pub(crate) fn deliver(&self, event: &Event) {
        tracing::debug!(kind = ?event.kind(), "event");
        let subscribers = Arc::clone(
            &self
                .subscribers
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for s in subscribers
            .iter()
            .filter(|s| s.kind.is_none_or(|k| k == event.kind()))
        {
            let delivered = containment::contain("(event subscriber)", "deliver", || {
                s.sink.deliver(event);
                Ok(())
            });
            if let Err(e) = delivered {
                tracing::error!(
                    subscription = s.id.0,
                    error = %e,
                    "event subscriber panicked; it stays subscribed"
                );
            }
        }
        if let Err(e) = containment::drop_contained("(event sink)", "drop", subscribers) {
            tracing::error!(error = %e, "dropping an event sink panicked");
        }
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let list = std::mem::take(
            self.subscribers
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner),
        );
        if let Err(e) = containment::drop_contained("(event sink)", "drop", list) {
            tracing::error!(error = %e, "dropping an event sink panicked");
        }
    }
}

impl Subscriber {
    fn clone_entry(&self) -> Subscriber {
        Subscriber {
            id: self.id,
            kind: self.kind,
            sink: Arc::clone(&self.sink),
        }
    }
}
