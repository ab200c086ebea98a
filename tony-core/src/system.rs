//! [`PluginSystem`]: the registry made live — loading, unloading, reloading,
//! typed access, services, events and status.

use std::any::Any;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use semver::Version;

use crate::config_file::{self, PluginConfigFile};
use crate::context::Services;
use crate::events::Bus;
use crate::resolve::{self, Catalog};
use crate::slot::Slot;
use crate::transaction::{self, NoSwap, Swap};
use crate::{
    AccessError, BoxError, Context, ErrorSource, Event, EventKind, EventSink, Fingerprints,
    HotReloadConfig, Metadata, PluginState, PluginSystemBuilder, PluginType, ReloadResult,
    Resolution, Snapshot, SourceLocation, SubscriptionId, Trigger, Validator, registry,
};

/// Why a system operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The registry could not be built.
    #[error(transparent)]
    Registry(#[from] registry::Error),
    /// The hot-reload configuration could not be read.
    #[error(transparent)]
    Config(#[from] crate::config::Error),
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
    /// A reload or load was started from inside a hook or a typed access.
    #[error("`{0}` called from inside a plugin hook or typed access on the same thread")]
    Reentrant(&'static str),
    /// The plugin configuration file is invalid; the old configuration stays.
    #[error(transparent)]
    PluginConfig(#[from] config_file::Error),
}

/// How [`PluginSystem::unload_plugin`] treats active dependents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unload {
    /// Refuse while active plugins depend on it.
    Refuse,
    /// Unload the dependents first.
    Cascade,
}

/// One plugin in [`PluginSystem::status`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginStatus {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: Version,
    /// Its lifecycle state.
    pub state: PluginState,
    /// Where it is defined.
    pub source: SourceLocation,
    /// Its dependencies, as declared.
    pub dependencies: Vec<String>,
    /// The live instance's fingerprints.
    pub fingerprints: Fingerprints,
    /// The last failure, if it is [`PluginState::Failed`].
    pub error: Option<String>,
}

thread_local! {
    // (shared with typed access, see access.rs)
    /// What this thread is inside of: typed accesses (plugin names), and
    /// whether a transaction runs.
    pub(crate) static BUSY: RefCell<(Vec<String>, bool)> = const { RefCell::new((Vec::new(), false)) };
}

struct TxnGuard;

impl TxnGuard {
    fn enter(what: &'static str) -> Result<TxnGuard, Error> {
        BUSY.with_borrow_mut(|(names, txn)| {
            if *txn || !names.is_empty() {
                return Err(Error::Reentrant(what));
            }
            *txn = true;
            Ok(TxnGuard)
        })
    }
}

impl Drop for TxnGuard {
    fn drop(&mut self) {
        BUSY.with_borrow_mut(|(_, txn)| *txn = false);
    }
}

/// The shared state behind a [`PluginSystem`] handle.
pub(crate) struct Inner {
    pub(crate) tony_version: Version,
    pub(crate) slots: BTreeMap<String, Arc<Slot>>,
    pub(crate) services: Services,
    pub(crate) bus: Bus,
    pub(crate) config: RwLock<HotReloadConfig>,
    pub(crate) plugin_config: RwLock<Option<PluginConfigFile>>,
    pub(crate) validators: Vec<Arc<dyn Validator>>,
    /// Serializes loads, unloads and reloads.
    pub(crate) txn: Mutex<()>,
}

impl Inner {
    pub(crate) fn slot(&self, name: &str) -> Option<Arc<Slot>> {
        self.slots.get(name).cloned()
    }

    pub(crate) fn is_active(&self, name: &str) -> bool {
        self.slots
            .get(name)
            .is_some_and(|s| s.peek().state == PluginState::Active)
    }

    pub(crate) fn peek(&self, name: &str) -> Option<(Arc<Metadata>, bool)> {
        let s = self.slots.get(name)?.peek();
        Some((
            Arc::clone(&s.descriptor.metadata),
            s.state == PluginState::Active,
        ))
    }

    pub(crate) fn catalog(&self) -> Catalog {
        self.slots
            .iter()
            .map(|(n, s)| (n.clone(), Arc::clone(&s.peek().descriptor.metadata)))
            .collect()
    }

    pub(crate) fn config(&self) -> HotReloadConfig {
        self.config
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn emit(&self, event: Event) {
        self.bus.emit(event);
    }

    /// `plugin`'s configuration, as `C`.
    pub(crate) fn plugin_config<C: serde::de::DeserializeOwned>(
        &self,
        plugin: &str,
    ) -> Result<C, config_file::Error> {
        let file = self
            .plugin_config
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        match file.as_ref() {
            Some(file) => file.check::<C>(plugin),
            // Errors then read "(no plugin configuration file): plugin `x`: missing field ...".
            None => {
                PluginConfigFile::parse("", "(no plugin configuration file)")?.check::<C>(plugin)
            }
        }
    }

    pub(crate) fn txn(&self) -> std::sync::MutexGuard<'_, ()> {
        self.txn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Activates one plugin from its default state (a load, not a reload).
    fn activate_fresh(&self, name: &str) -> Result<(), BoxError> {
        let slot = self
            .slot(name)
            .ok_or_else(|| format!("unknown plugin `{name}`"))?;
        slot.hold();
        let descriptor = slot.peek().descriptor.clone();
        let vt = descriptor.vtable;
        let outcome = crate::containment::contain(|| {
            let live = (vt.fingerprints)();
            let mut instance = (vt.create)();
            instance.activate(&mut Context::new(self, &descriptor.metadata))?;
            Ok((instance, live))
        });
        let outcome = {
            let mut s = slot.peek();
            match outcome {
                Ok((instance, live)) => {
                    s.instance = Some(instance);
                    s.live = live;
                    s.state = PluginState::Active;
                    s.error = None;
                    Ok(())
                }
                Err(e) => {
                    s.state = PluginState::Failed;
                    s.error = Some(e.to_string());
                    Err(e)
                }
            }
        };
        slot.release();
        match outcome {
            Ok(()) => {
                tracing::info!(plugin = name, version = %descriptor.metadata.version(), "plugin loaded");
                self.emit(Event::PluginLoaded {
                    plugin: name.to_owned(),
                    version: descriptor.metadata.version().clone(),
                });
                Ok(())
            }
            Err(e) => {
                self.services.withdraw(name);
                tracing::error!(plugin = name, error = %e, "plugin failed to activate");
                self.emit(Event::Error {
                    source: ErrorSource::Lifecycle,
                    plugin: Some(name.to_owned()),
                    message: format!("failed to activate: {e}"),
                });
                Err(e)
            }
        }
    }

    fn deactivate(&self, name: &str) {
        let Some(slot) = self.slot(name) else { return };
        slot.hold();
        let (instance, descriptor) = {
            let mut s = slot.peek();
            (s.instance.take(), s.descriptor.clone())
        };
        if let Some(mut instance) = instance {
            let r = crate::containment::contain(|| {
                instance.deactivate(&mut Context::new(self, &descriptor.metadata))
            });
            if let Err(e) = r {
                tracing::warn!(plugin = name, error = %e, "deactivate failed during unload; unloaded anyway");
                self.emit(Event::Error {
                    source: ErrorSource::Lifecycle,
                    plugin: Some(name.to_owned()),
                    message: format!("deactivate failed: {e}"),
                });
            }
        }
        self.services.withdraw(name);
        slot.peek().state = PluginState::Inactive;
        slot.release();
        tracing::info!(plugin = name, "plugin unloaded");
        self.emit(Event::PluginUnloaded {
            plugin: name.to_owned(),
        });
    }

    /// Loads `roots` and what they need; keeps going past failures and
    /// reports them all.
    fn load(&self, roots: &[&str]) -> Result<(), Error> {
        let catalog = self.catalog();
        let mut failed: Vec<(String, String)> = Vec::new();
        let mut skipped: BTreeSet<String> = BTreeSet::new();
        // One walk for all roots: linear in the graph, whatever its shape.
        let all = resolve::resolve(&catalog, roots, &self.tony_version);
        let order = all.order;
        let resolved: BTreeSet<&str> = order.iter().map(String::as_str).collect();
        for root in roots.iter().filter(|r| !resolved.contains(**r)) {
            // Rare: resolve it alone for the conflicts that concern it.
            let e = resolve::Error {
                plugin: (*root).to_owned(),
                conflicts: resolve::resolve(&catalog, &[root], &self.tony_version).conflicts,
            };
            if roots.len() == 1 {
                return Err(e.into());
            }
            self.emit(Event::Error {
                source: ErrorSource::Lifecycle,
                plugin: Some((*root).to_owned()),
                message: e.to_string(),
            });
            failed.push(((*root).to_owned(), e.to_string()));
        }
        let mut broken: BTreeSet<String> = failed.iter().map(|(p, _)| p.clone()).collect();
        for name in &order {
            if self.is_active(name) {
                continue;
            }
            let meta = &catalog[name];
            if resolve::edges(&catalog, meta).any(|d| {
                broken.contains(d)
                    && meta
                        .dependencies()
                        .iter()
                        .any(|x| x.name == d && !x.optional)
            }) {
                skipped.insert(name.clone());
                broken.insert(name.clone());
                continue;
            }
            if let Err(e) = self.activate_fresh(name) {
                if roots.len() == 1 && failed.is_empty() && name == roots[0] {
                    return Err(Error::Activate {
                        plugin: name.clone(),
                        source: e,
                    });
                }
                failed.push((name.clone(), e.to_string()));
                broken.insert(name.clone());
            }
        }
        if failed.is_empty() && skipped.is_empty() {
            Ok(())
        } else {
            Err(Error::Incomplete {
                failed,
                skipped: skipped.into_iter().collect(),
            })
        }
    }
}

/// The plugin system: the registry made live.
///
/// Cheap to clone (a handle); every method takes `&self` and may be called
/// from any thread. Loads, unloads and reloads are serialized; typed access
/// waits while a reload holds the plugin.
///
/// ```
/// use tony_core::{BoxError, Context, Plugin, PluginState, PluginSystem, tony_plugin};
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
/// let system = PluginSystem::builder().build()?;
/// system.initialize()?;
/// assert_eq!(system.resolve_dependencies("dependent-plugin").order, ["base-plugin", "dependent-plugin"]);
/// let result = system.reload_plugin("base-plugin");
/// assert_eq!(result.dependents_reloaded, ["dependent-plugin"]);
/// assert!(system.status().iter().all(|s| s.state == PluginState::Active));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct PluginSystem {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for PluginSystem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginSystem")
            .field("plugins", &self.inner.slots.keys())
            .finish_non_exhaustive()
    }
}

impl PluginSystem {
    /// Starts building a system (the seed's `initializePluginSystem`).
    pub fn builder() -> PluginSystemBuilder {
        PluginSystemBuilder::default()
    }

    /// Activates every registered plugin in dependency order.
    ///
    /// Plugins that fail (or whose required dependencies fail) are left out
    /// and listed in [`Error::Incomplete`]; the others are active.
    pub fn initialize(&self) -> Result<(), Error> {
        let _g = TxnGuard::enter("initialize")?;
        let _t = self.inner.txn();
        let names: Vec<&str> = self.inner.slots.keys().map(String::as_str).collect();
        self.inner.load(&names)
    }

    /// Activates `name`, after the dependencies it needs.
    pub fn load_plugin(&self, name: &str) -> Result<(), Error> {
        let _g = TxnGuard::enter("load_plugin")?;
        let _t = self.inner.txn();
        if !self.inner.slots.contains_key(name) {
            return Err(Error::Unknown(name.to_owned()));
        }
        self.inner.load(&[name])
    }

    /// Deactivates `name`. Refused while active plugins depend on it, unless
    /// `mode` is [`Unload::Cascade`], which unloads them first. Returns the
    /// plugins unloaded, in the order they were.
    pub fn unload_plugin(&self, name: &str, mode: Unload) -> Result<Vec<String>, Error> {
        let _g = TxnGuard::enter("unload_plugin")?;
        let _t = self.inner.txn();
        let slot = self
            .inner
            .slot(name)
            .ok_or_else(|| Error::Unknown(name.to_owned()))?;
        let state = slot.peek().state;
        if state != PluginState::Active {
            return Err(Error::NotActive {
                plugin: name.to_owned(),
                state,
            });
        }
        let catalog = self.inner.catalog();
        let dependents =
            resolve::dependents(&catalog, &[name.to_owned()], |n| self.inner.is_active(n));
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
        for n in &order {
            self.inner.deactivate(n);
        }
        Ok(order)
    }

    /// Reloads `name` (and its dependents, unless the configuration says
    /// otherwise) as one transaction: state carried, failures rolled back.
    pub fn reload_plugin(&self, name: &str) -> ReloadResult {
        self.reload(&[name], Trigger::Manual, &mut NoSwap)
    }

    /// Runs a reload transaction over `plugins` with a caller-supplied swap
    /// step: the mechanism behind manual reloads, configuration changes and
    /// hot patches.
    pub fn reload(&self, plugins: &[&str], trigger: Trigger, swap: &mut dyn Swap) -> ReloadResult {
        let names: Vec<String> = plugins.iter().map(|s| (*s).to_owned()).collect();
        let _g = match TxnGuard::enter("reload") {
            Ok(g) => g,
            Err(e) => return self.refused(&names, trigger, e.to_string()),
        };
        let _t = self.inner.txn();
        transaction::run(&self.inner, &names, trigger, swap)
    }

    fn refused(&self, names: &[String], trigger: Trigger, message: String) -> ReloadResult {
        let plugin = names.first().cloned().unwrap_or_default();
        ReloadResult {
            success: false,
            error: Some(crate::ReloadError {
                plugin: plugin.clone(),
                stage: crate::Stage::Validate,
                message,
            }),
            plugin,
            previous_version: None,
            new_version: None,
            state_preserved: false,
            states: Vec::new(),
            dependents_reloaded: Vec::new(),
            attempts: 0,
            rolled_back: false,
            failed: Vec::new(),
            trigger,
            duration: Default::default(),
        }
    }

    /// Takes a snapshot of `name`'s state now (the seed's `createStateSnapshot`).
    pub fn create_state_snapshot(&self, name: &str) -> Result<Snapshot, Error> {
        let slot = self
            .inner
            .slot(name)
            .ok_or_else(|| Error::Unknown(name.to_owned()))?;
        let s = slot.lock();
        let instance = s.instance.as_ref().ok_or_else(|| Error::NotActive {
            plugin: name.to_owned(),
            state: s.state,
        })?;
        let bytes = crate::containment::contain(|| (s.descriptor.vtable.save)(&**instance))
            .map_err(|source| Error::Snapshot {
                plugin: name.to_owned(),
                source,
            })?;
        Ok(Snapshot {
            plugin: name.to_owned(),
            version: s.descriptor.metadata.version().clone(),
            state_version: s.descriptor.metadata.state_version(),
            fingerprint: s.live.state,
            bytes,
            taken_at: std::time::SystemTime::now(),
        })
    }

    /// Puts `snapshot` back into its plugin, as a reload transaction (the
    /// seed's `restoreStateSnapshot`): the plugin is rebuilt from the
    /// snapshot (migrated if its layout changed since) and reactivated; on
    /// failure it keeps its current state.
    pub fn restore_state_snapshot(&self, snapshot: &Snapshot) -> ReloadResult {
        let mut swap = transaction::RestoreSnapshot(snapshot.clone());
        self.reload(&[snapshot.plugin.as_str()], Trigger::Snapshot, &mut swap)
    }

    /// Resolves `name`'s dependencies: the activation order, or the conflicts
    /// (the seed's `resolveDependencies`).
    pub fn resolve_dependencies(&self, name: &str) -> Resolution {
        resolve::resolve(&self.inner.catalog(), &[name], &self.inner.tony_version)
    }

    /// The dependency graph in Graphviz DOT (`dot -Tsvg`).
    pub fn dependency_graph_dot(&self) -> String {
        resolve::to_dot(&self.inner.catalog())
    }

    /// Every plugin, by name.
    pub fn status(&self) -> Vec<PluginStatus> {
        self.inner
            .slots
            .iter()
            .map(|(name, slot)| {
                let s = slot.peek();
                PluginStatus {
                    name: name.clone(),
                    version: s.descriptor.metadata.version().clone(),
                    state: s.state,
                    source: s.descriptor.metadata.source().clone(),
                    dependencies: s
                        .descriptor
                        .metadata
                        .dependencies()
                        .iter()
                        .map(ToString::to_string)
                        .collect(),
                    fingerprints: s.live,
                    error: s.error.clone(),
                }
            })
            .collect()
    }

    /// The plugins defined in `file` (compared as given, then canonicalized).
    pub fn plugins_in_file(&self, file: &Path) -> Vec<String> {
        let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        let wanted = canon(file);
        self.status()
            .into_iter()
            .filter(|s| canon(Path::new(&*s.source.file)) == wanted)
            .map(|s| s.name)
            .collect()
    }

    /// Runs `f` on the live instance of `T`, waiting while a reload holds it.
    ///
    /// Fails when `T` is not active, or when the caller was compiled against
    /// another state layout than the live instance's.
    pub fn with<T: PluginType, R>(&self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        self.inner.with(f)
    }

    /// Runs `f` on the live instance of `T` mutably; see [`PluginSystem::with`].
    pub fn with_mut<T: PluginType, R>(
        &self,
        f: impl FnOnce(&mut T) -> R,
    ) -> Result<R, AccessError> {
        self.inner.with_mut(f)
    }

    /// A service of type `S`, if a plugin (or the host) provides one.
    ///
    /// Waits while another thread runs a transaction (its provider may be
    /// between deactivate and activate), so a caller never sees a service
    /// missing only because a reload is under way.
    pub fn service<S: Any + Send + Sync>(&self) -> Option<Arc<S>> {
        // Not from inside a hook or a typed access: that could wait on itself.
        let inside = BUSY.with_borrow(|(names, txn)| *txn || !names.is_empty());
        if inside {
            return self.inner.services.get::<S>();
        }
        // Read under the transaction lock: released before the read, a new
        // transaction could withdraw the service in between.
        let _txn = self.inner.txn();
        self.inner.services.get::<S>()
    }

    /// Subscribes `sink` to events of one kind.
    pub fn subscribe(&self, kind: EventKind, sink: impl EventSink) -> SubscriptionId {
        self.inner.bus.subscribe(Some(kind), Arc::new(sink))
    }

    /// Subscribes `sink` to every event (the seed's `'*'`).
    pub fn subscribe_all(&self, sink: impl EventSink) -> SubscriptionId {
        self.inner.bus.subscribe(None, Arc::new(sink))
    }

    /// Ends a subscription; returns whether it existed.
    pub fn unsubscribe(&self, id: SubscriptionId) -> bool {
        self.inner.bus.unsubscribe(id)
    }

    /// Delivers `event` to the subscribers (for triggers such as tony-hot).
    pub fn emit(&self, event: Event) {
        self.inner.emit(event);
    }

    /// The hot-reload configuration in force.
    pub fn config(&self) -> HotReloadConfig {
        self.inner.config()
    }

    /// The plugin configuration file in force, if any.
    pub fn plugin_config(&self) -> Option<PluginConfigFile> {
        self.inner
            .plugin_config
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Reads the plugin configuration file at `path` and applies it; see
    /// [`PluginSystem::apply_plugin_config`]. An unreadable or invalid file
    /// keeps the old configuration and emits an [`Event::Error`] naming the
    /// file, line and plugin.
    pub fn reload_plugin_config(&self, path: &Path) -> Result<Option<ReloadResult>, Error> {
        match PluginConfigFile::load(path) {
            Ok(file) => self.apply_plugin_config(file),
            Err(e) => {
                self.config_error(None, &e);
                Err(e.into())
            }
        }
    }

    /// Applies a new plugin configuration: each changed table is checked
    /// against its plugin's config type, then the active plugins whose table
    /// changed are reloaded in one transaction, with their state. A table
    /// that does not fit keeps the old configuration running. Returns the
    /// reload, or `None` when no active plugin's table changed.
    pub fn apply_plugin_config(
        &self,
        new: PluginConfigFile,
    ) -> Result<Option<ReloadResult>, Error> {
        let old = self.plugin_config();
        let changed = match &old {
            Some(old) => PluginConfigFile::changed_plugins(old, &new),
            None => new.plugin_names(),
        };
        for name in &changed {
            let Some(slot) = self.inner.slot(name) else {
                continue;
            };
            let check = slot.peek().descriptor.vtable.check_config;
            if let Some(Err(e)) = check.map(|check| check(&new, name)) {
                self.config_error(Some(name), &e);
                return Err(e.into());
            }
        }
        let active: Vec<&str> = changed
            .iter()
            .map(String::as_str)
            .filter(|n| self.inner.is_active(n))
            .collect();
        if active.is_empty() {
            *self
                .inner
                .plugin_config
                .write()
                .unwrap_or_else(PoisonError::into_inner) = Some(new);
            return Ok(None);
        }
        let path = new.path().to_path_buf();
        let mut swap = ConfigSwap {
            inner: &self.inner,
            new: Some(new),
            old,
        };
        let result = self.reload(&active, Trigger::Config, &mut swap);
        if result.success {
            self.emit(Event::ConfigReloaded {
                path,
                plugins: active.iter().map(|s| (*s).to_owned()).collect(),
            });
        }
        Ok(Some(result))
    }

    fn config_error(&self, plugin: Option<&str>, e: &config_file::Error) {
        tracing::error!(error = %e, "plugin configuration rejected; the previous one stays in force");
        self.emit(Event::Error {
            source: ErrorSource::Config,
            plugin: plugin.map(str::to_owned),
            message: e.to_string(),
        });
    }

    /// The path of the plugin configuration file, from the configuration.
    pub fn plugin_config_path(&self) -> Option<PathBuf> {
        self.inner.config().plugin_config_path.clone()
    }
}

/// Installs a new plugin configuration; undo puts the old one back.
struct ConfigSwap<'a> {
    inner: &'a Inner,
    new: Option<PluginConfigFile>,
    old: Option<PluginConfigFile>,
}

impl Swap for ConfigSwap<'_> {
    fn apply(&mut self) -> Result<(), BoxError> {
        let mut slot = self
            .inner
            .plugin_config
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(new) = self.new.take() {
            self.old = slot.replace(new);
        }
        Ok(())
    }

    fn undo(&mut self) -> Result<(), BoxError> {
        let mut slot = self
            .inner
            .plugin_config
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        *slot = self.old.take();
        Ok(())
    }
}
