//! [`PluginSystem`]: the registry made live — loading, unloading, reloading,
//! typed access, services, events and status. Applying configuration files
//! is in `config/live.rs`, adding and removing plugin types in
//! `system/plugin_types.rs`, snapshots by hand in `system/manual_snapshot.rs`, what a
//! patch or a file change concerns in `change_detection.rs`; the state
//! behind the handle is `engine/mod.rs`.

pub(crate) mod builder;
pub(crate) mod manual_snapshot;
pub(crate) mod plugin_types;

use std::any::{Any, TypeId};
use std::collections::BTreeSet;
use std::sync::Arc;

use crate::access::AccessError;
use crate::access::lent_plugin::LentPlugin;
use crate::config::file as config_file;
use crate::config::{self, HotReloadConfig};
use crate::engine::Engine;
use crate::engine::reentry::{self, TxnGuard};
use crate::events::status::{PluginState, PluginStatus};
use crate::events::{Event, EventKind, EventSink, SubscriptionId};
use crate::plugin::BoxError;
use crate::plugin::descriptor::PluginDescriptor;
use crate::plugin::plugin_type::PluginType;
use crate::plugin::registry;
use crate::plugin::resolve::{self, Resolution};
use crate::transaction;
use crate::transaction::lifecycle::{self, Loaded};
use crate::transaction::reload::{ReloadError, ReloadResult, Stage, Trigger};
use crate::transaction::swap::{NoSwap, ReplaceDescriptors, Swap};

/// Why a system operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The registry could not be built.
    #[error(transparent)]
    Registry(#[from] registry::Error),
    /// The hot-reload configuration could not be read.
    #[error(transparent)]
    Config(#[from] config::Error),
    /// No plugin of that name is registered.
    #[error("unknown plugin `{0}`")]
    Unknown(String),
    /// The plugin's dependencies cannot be satisfied.
    #[error(transparent)]
    Resolve(#[from] resolve::Error),
    /// A plugin's `activate` failed (or panicked).
    #[error("plugin `{plugin}` failed to activate: {source}")]
    Activate {
        /// The plugin.
        plugin: String,
        /// Its error.
        source: BoxError,
    },
    /// Loading several plugins stopped short.
    #[error("{} plugin(s) failed to load ({}); not loaded because of them: [{}]",
        failed.len(),
        failed.iter().map(|(p, e)| format!("{p}: {e}")).collect::<Vec<_>>().join("; "),
        skipped.join(", "))]
    Incomplete {
        /// Each plugin that failed, with why.
        failed: Vec<(String, String)>,
        /// Plugins left unloaded because something they need failed.
        skipped: Vec<String>,
    },
    /// Unloading was refused: active plugins depend on it.
    #[error("cannot unload `{plugin}`: active plugins depend on it: {}", dependents.join(", "))]
    HasDependents {
        /// The plugin.
        plugin: String,
        /// The active dependents.
        dependents: Vec<String>,
    },
    /// The plugin is not active.
    #[error("plugin `{plugin}` is {state}, not active")]
    NotActive {
        /// The plugin.
        plugin: String,
        /// Its state.
        state: PluginState,
    },
    /// A state snapshot could not be taken.
    #[error("plugin `{plugin}`: cannot snapshot state: {source}")]
    Snapshot {
        /// The plugin.
        plugin: String,
        /// Why.
        source: BoxError,
    },
    /// A transaction (load, unload, reload, configuration change, ...) or a
    /// snapshot of a plugin this thread already borrows was started from
    /// inside a hook or a typed access on the same thread.
    #[error("`{0}` called from inside a plugin hook or typed access on the same thread")]
    Reentrant(&'static str),
    /// A transaction (load, unload, reload, configuration change, ...) was
    /// started by an event subscriber, from an event of a transaction that a
    /// subscriber started, and so on `nesting` (4) times already: a feedback
    /// loop (say, a subscriber that reloads on every reload event). Refused,
    /// and nothing changed; the transactions before it took effect. A
    /// refused reload says so in its [`ReloadResult`] (stage `validate`, a
    /// message naming the feedback loop) and emits no event.
    #[error(
        "`{call}` refused: an event subscriber started it from the events of a transaction \
         that subscribers started {nesting} times in a row (a feedback loop); nothing changed"
    )]
    #[non_exhaustive]
    FeedbackLoop {
        /// The refused call.
        call: &'static str,
        /// How many transactions the chain had started when this one was refused.
        nesting: u32,
    },
    /// The plugin could not be borrowed (e.g. waiting would deadlock).
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The plugin configuration file is invalid; the old configuration stays.
    #[error(transparent)]
    PluginConfig(#[from] config_file::Error),
}

/// How [`PluginSystem::unload_plugin`] treats active dependents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unload {
    /// Refuse while active plugins depend on it.
    Refuse,
    /// Unload the dependents first.
    Cascade,
}

/// The plugin system: the registry made live.
///
/// Cheap to clone (a handle); every method takes `&self` and may be called
/// from any thread. Loads, unloads and reloads are serialized; typed access
/// waits while a reload holds the plugin.
///
/// ```
/// use tony_core::{
///     BoxError, Context, HotReloadConfig, Plugin, PluginState, PluginSystem, tony_plugin,
/// };
///
/// #[tony_plugin(name = "base-plugin", version = "1.2.0", stateless)]
/// #[derive(Default)]
/// struct Base;
/// impl Plugin for Base {
///     fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> { Ok(()) }
/// }
///
/// #[tony_plugin(name = "dependent-plugin", version = "1.0.0", stateless,
///               dependencies("base-plugin" = "^1.0.0", "utils-plugin" = ">=2.0.0" optional))]
/// #[derive(Default)]
/// struct Dependent;
/// impl Plugin for Dependent {
///     fn activate(&mut self, ctx: &mut Context<'_>) -> Result<(), BoxError> {
///         assert!(ctx.dependency("base-plugin").is_some());
///         assert!(ctx.dependency("utils-plugin").is_none()); // optional, absent
///         Ok(())
///     }
/// }
///
/// // The default configuration reloads dependents (whatever TONY_ENV says).
/// let system = PluginSystem::builder().config(HotReloadConfig::default()).build()?;
/// system.initialize()?;
/// assert_eq!(system.resolve_dependencies("dependent-plugin").order, ["base-plugin", "dependent-plugin"]);
/// let result = system.reload_plugin("base-plugin");
/// assert_eq!(result.dependents_reloaded, ["dependent-plugin"]);
/// assert!(system.status().iter().all(|s| s.state == PluginState::Active));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct PluginSystem {
    pub(crate) engine: Arc<Engine>,
}

impl std::fmt::Debug for PluginSystem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginSystem")
            .field("plugins", &self.engine.names())
            .finish_non_exhaustive()
    }
}

/// Enters a transaction on this thread, or says which call was refused.
pub(crate) fn enter(what: &'static str) -> Result<TxnGuard, Error> {
    TxnGuard::enter(what).map_err(|refused| match refused {
        reentry::Refused::Reentrant(call) => Error::Reentrant(call),
        reentry::Refused::FeedbackLoop(call) => Error::FeedbackLoop {
            call,
            nesting: reentry::MAX_SUBSCRIBER_NESTING,
        },
    })
}

/// The outcome of a load as the single-plugin API reports it.
fn report(loaded: Loaded, single: Option<&str>) -> Result<(), Error> {
    let Loaded {
        unresolved,
        mut failed,
        skipped,
        ..
    } = loaded;
    if let Some(root) = single {
        if let Some(e) = unresolved.into_iter().next() {
            return Err(e.into());
        }
        if skipped.is_empty() && failed.len() == 1 && failed[0].0 == root {
            let (plugin, source) = failed.remove(0);
            return Err(Error::Activate { plugin, source });
        }
        if failed.is_empty() && skipped.is_empty() {
            return Ok(());
        }
        return Err(incomplete(Vec::new(), failed, skipped));
    }
    if unresolved.is_empty() && failed.is_empty() && skipped.is_empty() {
        return Ok(());
    }
    Err(incomplete(unresolved, failed, skipped))
}

fn incomplete(
    unresolved: Vec<resolve::Error>,
    failed: Vec<(String, BoxError)>,
    skipped: Vec<String>,
) -> Error {
    Error::Incomplete {
        failed: unresolved
            .into_iter()
            .map(|e| (e.plugin.clone(), e.to_string()))
            .chain(failed.into_iter().map(|(p, e)| (p, e.to_string())))
            .collect(),
        skipped,
    }
}

impl PluginSystem {
    /// Activates every registered plugin in dependency order.
    ///
    /// Plugins that fail (or whose required dependencies fail) are left out
    /// and listed in [`Error::Incomplete`]; the others are active. First
    /// emits an [`Event::UnknownConfigTable`] for each table of the plugin
    /// configuration file in force that names no registered plugin.
    pub fn initialize(&self) -> Result<(), Error> {
        let _g = enter("initialize")?;
        let _t = self.engine.txn();
        if let Some(file) = self.engine.plugin_config_file() {
            self.report_unknown_tables(&file, false);
        }
        let names = self.engine.names();
        let roots: Vec<&str> = names.iter().map(String::as_str).collect();
        report(lifecycle::load(&self.engine, &roots), None)
    }

    /// Activates `name`, after the dependencies it needs. A plugin left
    /// failed by a rollback comes back with the last good state it had.
    pub fn load_plugin(&self, name: &str) -> Result<(), Error> {
        let _g = enter("load_plugin")?;
        let _t = self.engine.txn();
        if !self.engine.contains(name) {
            return Err(Error::Unknown(name.to_owned()));
        }
        report(lifecycle::load(&self.engine, &[name]), Some(name))
    }

    /// Deactivates `name`. Refused while active plugins depend on it, unless
    /// `mode` is [`Unload::Cascade`], which unloads them first. Returns the
    /// plugins unloaded, in the order they were.
    pub fn unload_plugin(&self, name: &str, mode: Unload) -> Result<Vec<String>, Error> {
        let _g = enter("unload_plugin")?;
        let _t = self.engine.txn();
        let state = self
            .engine
            .state(name)
            .ok_or_else(|| Error::Unknown(name.to_owned()))?;
        if state != PluginState::Active {
            return Err(Error::NotActive {
                plugin: name.to_owned(),
                state,
            });
        }
        let catalog = self.engine.catalog();
        let dependents =
            resolve::dependents(&catalog, &[name.to_owned()], |n| self.engine.is_active(n));
        if !dependents.is_empty() && mode == Unload::Refuse {
            return Err(Error::HasDependents {
                plugin: name.to_owned(),
                dependents,
            });
        }
        let mut set: BTreeSet<String> = dependents.into_iter().collect();
        set.insert(name.to_owned());
        let mut order = resolve::order_subset(&catalog, &set);
        order.reverse(); // dependents first
        lifecycle::unload(&self.engine, &order);
        Ok(order)
    }

    /// Reloads `name` (and its dependents, unless the configuration says
    /// otherwise) as one transaction: state carried, failures rolled back.
    /// A plugin left failed by a rollback comes back from its kept state.
    pub fn reload_plugin(&self, name: &str) -> ReloadResult {
        self.reload_as(&[name], Trigger::Manual, &mut NoSwap)
    }

    /// Runs a reload transaction over `plugins` (and their dependents) with
    /// a swap step of your own: `swap.apply()` runs once every plugin of
    /// the transaction is deactivated, `swap.undo()` if the transaction
    /// rolls back. With no plugins, it runs just the swap, still serialized
    /// with every other transaction. The result's trigger is
    /// [`Trigger::Manual`].
    ///
    /// ```
    /// use tony_core::{BoxError, PluginSystem, Swap};
    ///
    /// /// Swaps an asset path while no plugin runs.
    /// struct Assets<'a>(&'a mut String, Option<String>);
    ///
    /// impl Swap for Assets<'_> {
    ///     fn apply(&mut self) -> Result<(), BoxError> {
    ///         self.1 = Some(std::mem::replace(self.0, "assets/v2".into()));
    ///         Ok(())
    ///     }
    ///     fn undo(&mut self) -> Result<(), BoxError> {
    ///         if let Some(old) = self.1.take() {
    ///             *self.0 = old;
    ///         }
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let system = PluginSystem::builder().build()?;
    /// let mut path = String::from("assets/v1");
    /// let result = system.reload_with(&[], &mut Assets(&mut path, None));
    /// assert!(result.success);
    /// assert_eq!(path, "assets/v2");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reload_with(&self, plugins: &[&str], swap: &mut dyn Swap) -> ReloadResult {
        self.reload_as(plugins, Trigger::Manual, swap)
    }

    /// [`reload_with`](Self::reload_with) for a trigger of Tony's own
    /// (configuration, hot patch, snapshot).
    pub(crate) fn reload_as(
        &self,
        plugins: &[&str],
        trigger: Trigger,
        swap: &mut dyn Swap,
    ) -> ReloadResult {
        let names: Vec<String> = plugins.iter().map(|s| (*s).to_owned()).collect();
        let _g = match enter("reload") {
            Ok(g) => g,
            Err(e) => return refused(&names, trigger, e.to_string()),
        };
        let _t = self.engine.txn();
        transaction::run(&self.engine, &names, trigger, swap)
    }

    /// Replaces the descriptors of existing plugins (same names: new
    /// metadata, new functions) as one reload transaction: validated before
    /// anything changes, state carried, the old descriptors back on
    /// rollback. Inactive plugins get the new descriptor for their next load.
    pub fn replace_descriptors(&self, descriptors: Vec<PluginDescriptor>) -> ReloadResult {
        let names: Vec<String> = descriptors
            .iter()
            .map(|d| d.metadata().name().to_owned())
            .collect();
        let _g = match enter("replace_descriptors") {
            Ok(g) => g,
            Err(e) => return refused(&names, Trigger::Manual, e.to_string()),
        };
        let _t = self.engine.txn();
        if let Some(unknown) = names.iter().find(|n| !self.engine.contains(n)) {
            return refused(
                &names,
                Trigger::Manual,
                format!("no plugin named `{unknown}` is registered"),
            );
        }
        let (active, inactive): (Vec<PluginDescriptor>, Vec<PluginDescriptor>) = descriptors
            .into_iter()
            .partition(|d| self.engine.is_active(d.metadata().name()));
        for d in inactive {
            let name = d.metadata().name().to_owned();
            self.engine.update(&name, |e| e.descriptor = d);
        }
        let targets: Vec<String> = active
            .iter()
            .map(|d| d.metadata().name().to_owned())
            .collect();
        transaction::run(
            &self.engine,
            &targets,
            Trigger::Manual,
            &mut ReplaceDescriptors(active),
        )
    }

    /// Resolves `name`'s dependencies: the activation order, or the
    /// conflicts.
    pub fn resolve_dependencies(&self, name: &str) -> Resolution {
        resolve::resolve(&self.engine.catalog(), &[name], &self.engine.tony_version)
    }

    /// The dependency graph in Graphviz DOT (`dot -Tsvg`).
    pub fn dependency_graph_dot(&self) -> String {
        resolve::to_dot(&self.engine.catalog())
    }

    /// Every plugin, by name.
    pub fn status(&self) -> Vec<PluginStatus> {
        self.engine.status()
    }

    /// Runs `f` on the live instance of `T`, waiting while a reload holds it.
    ///
    /// Fails when `T` is not active, when the caller was compiled against
    /// another state layout than the live instance's, when `T` is already
    /// borrowed by this thread, or when waiting for it would deadlock
    /// ([`AccessError::WouldDeadlock`]). While `f` runs this thread holds
    /// `T` and no lock of the system's: `f` may call back into the system.
    /// A panic in `f` goes on to the caller; the instance stays in place.
    pub fn with<T: PluginType, R>(&self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        self.engine.typed(|t: &mut T| f(t))
    }

    /// Runs `f` on the live instance of `T` mutably; see [`PluginSystem::with`].
    pub fn with_mut<T: PluginType, R>(
        &self,
        f: impl FnOnce(&mut T) -> R,
    ) -> Result<R, AccessError> {
        self.engine.typed(f)
    }

    /// Lends the live instance of plugin `name` to `f`, refusing
    /// ([`AccessError::Busy`]) rather than waiting while a transaction
    /// holds the plugin or is about to take it.
    ///
    /// For hosts that must not block the calling thread for the length of a
    /// reload, such as an async runtime's worker: on `Busy` they wait their
    /// own way (the transaction's end [`Event`](crate::Event) says when to
    /// try again) and nothing of `f` has run. Another thread's typed access
    /// to the plugin is still waited for, as a `Mutex` would be: it ends
    /// when its closure returns.
    ///
    /// `f` gets the instance untyped ([`LentPlugin`]): [`LentPlugin::get`]
    /// checks the type and the state layout as compiled into *its* caller,
    /// so the loan can be passed to code a hot patch may have replaced.
    /// Otherwise as [`PluginSystem::with_mut`]: `f` runs holding the plugin
    /// and no lock of the system's, and a panic in `f` goes on to the caller.
    ///
    /// ```
    /// use tony_core::{AccessError, BoxError, Context, Plugin, PluginSystem, tony_plugin};
    ///
    /// #[tony_plugin(name = "lent-clock", version = "1.0.0", stateless)]
    /// #[derive(Default)]
    /// struct Clock;
    ///
    /// impl Plugin for Clock {
    ///     fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> { Ok(()) }
    /// }
    ///
    /// let system = PluginSystem::builder().build()?;
    /// system.initialize()?;
    /// match system.try_lend("lent-clock", |lent| lent.get::<Clock>().is_ok()) {
    ///     Ok(typed) => assert!(typed),
    ///     Err(AccessError::Busy(_)) => { /* under reload: try again after its event */ }
    ///     Err(e) => return Err(e.into()),
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_lend<R>(
        &self,
        name: &'static str,
        f: impl FnOnce(LentPlugin<'_>) -> R,
    ) -> Result<R, AccessError> {
        self.engine.lend_now(name, f)
    }

    /// A service of type `S`, if a plugin (or the host) provides one.
    ///
    /// Waits while another thread runs a transaction (its provider may be
    /// between deactivate and activate), so a caller never sees a service
    /// missing only because a reload is under way. From inside a hook, a
    /// typed access or a `Drop` run by Tony it does not wait.
    pub fn service<S: Any + Send + Sync>(&self) -> Option<Arc<S>> {
        let id = TypeId::of::<S>();
        let found = if reentry::is_busy() {
            self.engine.services.get(id)
        } else {
            // Read under the transaction lock: released before the read, a
            // new transaction could withdraw the service in between.
            let _txn = self.engine.txn();
            self.engine.services.get(id)
        };
        found?.downcast::<S>().ok()
    }

    /// Subscribes `sink` to events of one kind.
    pub fn subscribe(&self, kind: EventKind, sink: impl EventSink) -> SubscriptionId {
        self.engine.bus().subscribe(Some(kind), Arc::new(sink))
    }

    /// Subscribes `sink` to every event, of every kind.
    pub fn subscribe_all(&self, sink: impl EventSink) -> SubscriptionId {
        self.engine.bus().subscribe(None, Arc::new(sink))
    }

    /// Ends a subscription; returns whether it existed.
    pub fn unsubscribe(&self, id: SubscriptionId) -> bool {
        self.engine.bus().unsubscribe(id)
    }

    /// Delivers `event` to the subscribers (for triggers such as tony-hot,
    /// through `__private`; not public API: only Tony raises events): now,
    /// or, from inside a hook or typed access, once this thread holds
    /// nothing.
    pub(crate) fn emit(&self, event: Event) {
        self.engine.emit(event);
    }

    /// The hot-reload configuration in force.
    pub fn config(&self) -> HotReloadConfig {
        self.engine.config()
    }
}

/// The result of a reload refused before it started.
pub(crate) fn refused(names: &[String], trigger: Trigger, message: String) -> ReloadResult {
    let plugin = names.first().cloned().unwrap_or_default();
    let error = ReloadError {
        plugin: plugin.clone(),
        stage: Stage::Validate,
        message,
    };
    ReloadResult::none_reloaded(plugin, trigger, Some(error))
}
