//! The engine state behind a [`PluginSystem`](crate::PluginSystem) handle:
//! the plugin table, who holds which plugin, services, events and
//! configuration. The operations that run user code on it live above it
//! (`lifecycle.rs`, `transaction.rs`, `commit.rs`); this module runs none,
//! except where it lends an instance to a typed-access closure, with no lock
//! held.
//!
//! # Holds
//!
//! Each plugin has at most one *owner*: a thread borrowing it through typed
//! access, or a thread running a transaction over it. The table's mutex is
//! held only to read or change entries, never while user code runs. A
//! transaction takes all of its plugins at once or none (it waits, holding
//! none, until all are free), so it never waits in a cycle. Typed access
//! waits for its one plugin; before waiting, it follows the chain of who
//! waits for whom and refuses ([`AccessError::WouldDeadlock`]) when the
//! chain leads back to the caller. A pending transaction reserves its
//! plugins: new outermost accesses wait behind it (so reloads are not
//! starved), nested ones do not (they may hold what it waits for). See
//! `docs/concurrency.md`.

use std::any::{Any, TypeId};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock};
use std::thread::{self, ThreadId};

use semver::Version;

use crate::access::AccessError;
use crate::config::HotReloadConfig;
use crate::config_file::PluginConfigFile;
use crate::containment;
use crate::context::{self, Host};
use crate::descriptor::PluginDescriptor;
use crate::events::{Bus, Event};
use crate::fingerprint::Fingerprints;
use crate::metadata::Metadata;
use crate::plugin::Plugin;
use crate::reentry::{self, AccessGuard};
use crate::resolve::Catalog;
use crate::services::Services;
use crate::snapshot::Snapshot;
use crate::status::{PluginState, PluginStatus};
use crate::validate::Validator;

/// Who holds a plugin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    /// A typed access on that thread.
    Access(ThreadId),
    /// A transaction (load, unload, reload) on that thread.
    Txn(ThreadId),
}

impl Owner {
    fn thread(self) -> ThreadId {
        match self {
            Owner::Access(t) | Owner::Txn(t) => t,
        }
    }
}

/// One plugin's place in the table.
pub(crate) struct Entry {
    pub(crate) descriptor: PluginDescriptor,
    pub(crate) state: PluginState,
    pub(crate) instance: Option<Box<dyn Plugin>>,
    /// Fingerprints of the code that built `instance`.
    pub(crate) live: Fingerprints,
    pub(crate) error: Option<String>,
    /// The last good state of a plugin that a failed rollback left
    /// [`PluginState::Failed`]: its next load or reload starts from it.
    pub(crate) kept: Option<Snapshot>,
    owner: Option<Owner>,
    /// A pending transaction waits for this plugin.
    reserved: bool,
}

impl Entry {
    fn new(descriptor: PluginDescriptor) -> Self {
        Entry {
            descriptor,
            state: PluginState::Registered,
            instance: None,
            live: Fingerprints::default(),
            error: None,
            kept: None,
            owner: None,
            reserved: false,
        }
    }
}

#[derive(Default)]
struct Table {
    entries: BTreeMap<String, Entry>,
    /// What each waiting typed access waits for.
    waits: HashMap<ThreadId, String>,
    /// How many threads wait on `Engine::changed`.
    waiting: usize,
}

/// This thread's id, without `thread::current()`'s handle clone on every
/// typed access.
fn current_thread() -> ThreadId {
    thread_local! {
        static ME: ThreadId = thread::current().id();
    }
    ME.with(|id| *id)
}

/// The shared state behind a [`PluginSystem`](crate::PluginSystem) handle.
pub(crate) struct Engine {
    pub(crate) tony_version: Version,
    table: Mutex<Table>,
    changed: Condvar,
    pub(crate) services: Services,
    bus: Arc<Bus>,
    config: RwLock<HotReloadConfig>,
    plugin_config: RwLock<Option<Arc<PluginConfigFile>>>,
    pub(crate) validators: Vec<Arc<dyn Validator>>,
    /// Serializes transactions. Never taken by a thread that holds a plugin.
    txn: Mutex<()>,
}

/// The plugins a transaction holds; released on drop, even when unwinding.
pub(crate) struct Hold<'a> {
    engine: &'a Engine,
    names: Vec<String>,
}

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        let me = current_thread();
        let mut t = self.engine.table();
        for n in &self.names {
            if let Some(e) = t.entries.get_mut(n)
                && e.owner == Some(Owner::Txn(me))
            {
                e.owner = None;
            }
        }
        if t.waiting > 0 {
            self.engine.changed.notify_all();
        }
    }
}

/// An instance lent to a typed-access closure; put back on drop.
struct Lent<'a> {
    engine: &'a Engine,
    name: &'a str,
    instance: Option<Box<dyn Plugin>>,
    previous: Option<Owner>,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        let mut t = self.engine.table();
        if let Some(e) = t.entries.get_mut(self.name) {
            e.instance = self.instance.take();
            e.owner = self.previous;
        }
        if t.waiting > 0 {
            self.engine.changed.notify_all();
        }
    }
}

impl Engine {
    pub(crate) fn new(
        tony_version: Version,
        descriptors: impl IntoIterator<Item = PluginDescriptor>,
        services: Services,
        config: HotReloadConfig,
        plugin_config: Option<PluginConfigFile>,
        validators: Vec<Arc<dyn Validator>>,
    ) -> Self {
        let entries = descriptors
            .into_iter()
            .map(|d| (d.metadata.name().to_owned(), Entry::new(d)))
            .collect();
        Engine {
            tony_version,
            table: Mutex::new(Table {
                entries,
                ..Table::default()
            }),
            changed: Condvar::new(),
            services,
            bus: Arc::new(Bus::default()),
            config: RwLock::new(config),
            plugin_config: RwLock::new(plugin_config.map(Arc::new)),
            validators,
            txn: Mutex::new(()),
        }
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads one entry (briefly; `f` must not run user code).
    pub(crate) fn read<R>(&self, name: &str, f: impl FnOnce(&Entry) -> R) -> Option<R> {
        self.table().entries.get(name).map(f)
    }

    /// Changes one entry the caller holds (briefly; `f` must not run user
    /// code nor drop user values: move them out instead).
    pub(crate) fn update<R>(&self, name: &str, f: impl FnOnce(&mut Entry) -> R) -> Option<R> {
        self.table().entries.get_mut(name).map(f)
    }

    /// Every plugin name, sorted.
    pub(crate) fn names(&self) -> Vec<String> {
        self.table().entries.keys().cloned().collect()
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.table().entries.contains_key(name)
    }

    pub(crate) fn state(&self, name: &str) -> Option<PluginState> {
        self.read(name, |e| e.state)
    }

    pub(crate) fn is_active(&self, name: &str) -> bool {
        self.state(name) == Some(PluginState::Active)
    }

    pub(crate) fn descriptor(&self, name: &str) -> Option<PluginDescriptor> {
        self.read(name, |e| e.descriptor.clone())
    }

    /// Every plugin's metadata, by name.
    pub(crate) fn catalog(&self) -> Catalog {
        self.table()
            .entries
            .iter()
            .map(|(n, e)| (n.clone(), Arc::clone(&e.descriptor.metadata)))
            .collect()
    }

    pub(crate) fn status(&self) -> Vec<PluginStatus> {
        self.table()
            .entries
            .iter()
            .map(|(name, e)| PluginStatus {
                name: name.clone(),
                version: e.descriptor.metadata.version().clone(),
                state: e.state,
                source: e.descriptor.metadata.source().clone(),
                dependencies: e
                    .descriptor
                    .metadata
                    .dependencies()
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                fingerprints: e.live,
                error: e.error.clone(),
                state_kept: e.kept.is_some(),
            })
            .collect()
    }

    /// Adds plugins to the table (the caller checked the names are new).
    pub(crate) fn insert(&self, descriptors: Vec<PluginDescriptor>) {
        let mut t = self.table();
        for d in descriptors {
            t.entries
                .insert(d.metadata.name().to_owned(), Entry::new(d));
        }
    }

    /// Removes plugins the caller holds; returns their entries, to be dropped
    /// by the caller with no lock held.
    pub(crate) fn remove(&self, names: &[String]) -> Vec<Entry> {
        let mut t = self.table();
        names.iter().filter_map(|n| t.entries.remove(n)).collect()
    }

    pub(crate) fn config(&self) -> HotReloadConfig {
        self.config
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn plugin_config_file(&self) -> Option<Arc<PluginConfigFile>> {
        self.plugin_config
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Installs a plugin configuration; returns the previous one.
    pub(crate) fn set_plugin_config(
        &self,
        file: Option<Arc<PluginConfigFile>>,
    ) -> Option<Arc<PluginConfigFile>> {
        std::mem::replace(
            &mut *self
                .plugin_config
                .write()
                .unwrap_or_else(PoisonError::into_inner),
            file,
        )
    }

    pub(crate) fn bus(&self) -> &Bus {
        &self.bus
    }

    /// Emits `event`: delivered now when this thread holds nothing, else
    /// once it does.
    pub(crate) fn emit(&self, event: Event) {
        reentry::emit(&self.bus, event);
    }

    /// The transaction lock. Only taken through a `reentry::TxnGuard`, so
    /// never by a thread that holds a plugin.
    pub(crate) fn txn(&self) -> MutexGuard<'_, ()> {
        self.txn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes every plugin of `names` for this thread's transaction, all at
    /// once: waits, holding none, until all are free. Unknown names are
    /// skipped.
    pub(crate) fn acquire(&self, names: &[String]) -> Hold<'_> {
        let me = current_thread();
        let mut t = self.table();
        for n in names {
            if let Some(e) = t.entries.get_mut(n) {
                e.reserved = true;
            }
        }
        loop {
            let free = names
                .iter()
                .all(|n| t.entries.get(n).is_none_or(|e| e.owner.is_none()));
            if free {
                for n in names {
                    if let Some(e) = t.entries.get_mut(n) {
                        e.owner = Some(Owner::Txn(me));
                        e.reserved = false;
                    }
                }
                break;
            }
            t.waiting += 1;
            t = self.changed.wait(t).unwrap_or_else(PoisonError::into_inner);
            t.waiting -= 1;
        }
        Hold {
            engine: self,
            names: names.to_vec(),
        }
    }

    /// Lends the live instance of `name` to `f`, with the fingerprints it
    /// was built with. `layout`, when given, must match the
    /// live state fingerprint. No lock is held while `f` runs; a panic in `f`
    /// puts the instance back and goes on unwinding to the caller.
    pub(crate) fn access(
        &self,
        name: impl Into<Cow<'static, str>>,
        layout: Option<u64>,
        f: &mut dyn FnMut(&mut dyn Plugin, Fingerprints),
    ) -> Result<(), AccessError> {
        let name = name.into();
        let guard = AccessGuard::enter(name.clone())?;
        let name: &str = &name;
        let nested = guard.nested();
        let me = current_thread();
        let mut t = self.table();
        let (live, lent) = loop {
            let e = t
                .entries
                .get_mut(name)
                .ok_or_else(|| AccessError::Unknown(name.to_owned()))?;
            let mine = match e.owner {
                None => !e.reserved || nested,
                Some(Owner::Txn(h)) => h == me,
                Some(Owner::Access(_)) => false,
            };
            if mine {
                if let (Some(expected), Some(_)) = (layout, &e.instance)
                    && e.live.state != expected
                {
                    return Err(AccessError::StaleLayout {
                        plugin: name.to_owned(),
                        expected,
                        live: e.live.state,
                    });
                }
                let Some(instance) = e.instance.take() else {
                    return Err(AccessError::NotActive {
                        plugin: name.to_owned(),
                        state: e.state,
                    });
                };
                let previous = e.owner;
                e.owner = Some(previous.unwrap_or(Owner::Access(me)));
                break (
                    e.live,
                    Lent {
                        engine: self,
                        name,
                        instance: Some(instance),
                        previous,
                    },
                );
            }
            if let Some(owner) = e.owner
                && closes_cycle(&t, me, owner.thread())
            {
                return Err(AccessError::WouldDeadlock(name.to_owned()));
            }
            t.waits.insert(me, name.to_owned());
            t.waiting += 1;
            t = self.changed.wait(t).unwrap_or_else(PoisonError::into_inner);
            t.waiting -= 1;
            t.waits.remove(&me);
        };
        drop(t);
        let mut lent = lent;
        if let Some(instance) = lent.instance.as_deref_mut() {
            f(instance, live);
        }
        drop(lent);
        drop(guard); // delivers the events held back, if this was the outermost
        Ok(())
    }
}

/// Whether `me` waiting for a plugin held by `holder` closes a cycle: the
/// holder waits (through a chain of holders) for something `me` holds.
fn closes_cycle(t: &Table, me: ThreadId, holder: ThreadId) -> bool {
    let mut current = holder;
    for _ in 0..=t.waits.len() {
        if current == me {
            return true;
        }
        let Some(owner) = t
            .waits
            .get(&current)
            .and_then(|wanted| t.entries.get(wanted))
            .and_then(|e| e.owner)
        else {
            return false;
        };
        current = owner.thread();
    }
    false
}

impl Host for Engine {
    fn tony_version(&self) -> &Version {
        &self.tony_version
    }

    fn provide(
        &self,
        owner: &str,
        value: Arc<dyn Any + Send + Sync>,
        id: TypeId,
        type_name: &'static str,
    ) -> Result<(), context::Error> {
        self.services.provide(owner, value, id, type_name)
    }

    fn service(&self, id: TypeId) -> Option<Arc<dyn Any + Send + Sync>> {
        self.services.get(id)
    }

    fn plugin(&self, name: &str) -> Option<(Arc<Metadata>, bool)> {
        self.read(name, |e| {
            (
                Arc::clone(&e.descriptor.metadata),
                e.state == PluginState::Active,
            )
        })
    }

    fn plugin_config(&self) -> Option<Arc<PluginConfigFile>> {
        self.plugin_config_file()
    }

    fn access(
        &self,
        name: &'static str,
        layout: u64,
        f: &mut dyn FnMut(&mut dyn Any),
    ) -> Result<(), AccessError> {
        Engine::access(self, name, Some(layout), &mut |p, _| {
            f(p as &mut dyn Any);
        })
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let validators = std::mem::take(&mut self.validators);
        if let Err(e) = containment::drop_contained("(validator)", "drop", validators) {
            tracing::error!(error = %e, "dropping a validator panicked");
        }
        let entries = std::mem::take(&mut self.table().entries);
        for (name, e) in entries {
            if let Some(instance) = e.instance
                && let Err(err) = containment::drop_contained(&name, "drop", instance)
            {
                tracing::error!(plugin = %name, error = %err, "dropping a plugin panicked");
            }
        }
    }
}
