//! The engine state behind a [`PluginSystem`](crate::PluginSystem) handle:
//! the plugin table, who holds which plugin, services, events and
//! configuration. The operations that run user code on it live above it
//! (`transaction/lifecycle.rs`, `transaction/mod.rs`, `transaction/commit.rs`); this module runs none.
//! Typed access, which lends an instance to a closure, is `access/lend.rs`.
//!
//! # Holds
//!
//! Each plugin lives in a slot of its own (`engine/slot.rs`) and has at most one
//! holder: a thread borrowing it through typed access (it keeps the slot's
//! cell locked while its closure runs), or a thread running a transaction
//! over it (it marks the cell as its own). The table's mutex maps names to
//! slots and serializes waiting; it is held only to read or change entries
//! and never while user code runs. A transaction takes all of its plugins
//! at once or none (it waits, holding none, until all are free), so it
//! never waits in a cycle. Typed access waits for its one plugin; before
//! waiting, it follows the chain of who waits for whom and refuses
//! ([`AccessError::WouldDeadlock`](crate::AccessError::WouldDeadlock)) when
//! the chain leads back to the caller. A pending transaction reserves its
//! plugins: new outermost accesses wait behind it (so reloads are not
//! starved), nested ones do not (they may hold what it waits for). See
//! `docs/concurrency.md`.

pub(crate) mod containment;
pub(crate) mod reentry;
pub(crate) mod slot;

use std::any::{Any, TypeId};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock};

use semver::Version;

use crate::access::context::{self, Host};
use crate::access::services::Services;
use crate::access::{AccessError, OnTxn};
use crate::config::HotReloadConfig;
use crate::config::file::PluginConfigFile;
use crate::engine::slot::{Entry, Slot, Slots};
use crate::events::status::{PluginState, PluginStatus};
use crate::events::{Bus, Event};
use crate::plugin::Plugin;
use crate::plugin::descriptor::PluginDescriptor;
use crate::plugin::fingerprint::Fingerprints;
use crate::plugin::metadata::Metadata;
use crate::plugin::resolve::Catalog;
use crate::transaction::validate::Validator;

#[derive(Default)]
pub(crate) struct Table {
    /// Every name ever registered, with its slot (empty while the plugin
    /// is not registered).
    pub(crate) index: BTreeMap<String, usize>,
    /// Which slot each waiting typed access waits for, by thread (see
    /// `reentry::me`).
    pub(crate) waits: HashMap<u64, usize>,
    /// How many threads wait on `Engine::changed`.
    pub(crate) waiting: usize,
}

/// The shared state behind a [`PluginSystem`](crate::PluginSystem) handle.
pub(crate) struct Engine {
    pub(crate) tony_version: Version,
    /// Never reused: keys this engine's slots in each thread's cache.
    pub(crate) id: u64,
    table: Mutex<Table>,
    /// The plugins, one slot each; found by name through the table (or a
    /// thread's cache) and held through the slot's own locks.
    pub(crate) slots: Slots,
    /// Signalled, under the table lock, when a transaction lets its
    /// plugins go (typed accesses wait on it for a transaction's plugins;
    /// for another access's, they wait on the plugin's cell).
    pub(crate) changed: Condvar,
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
    slots: Vec<&'a Slot>,
}

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        let me = reentry::me();
        for slot in &self.slots {
            let mut cell = slot.cell();
            if cell.txn == me {
                cell.txn = 0;
                slot.holder.store(0, Ordering::Relaxed);
            }
        }
        let t = self.engine.table();
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
        let engine = Engine {
            tony_version,
            id: slot::next_engine_id(),
            table: Mutex::new(Table::default()),
            slots: Slots::default(),
            changed: Condvar::new(),
            services,
            bus: Arc::new(Bus::default()),
            config: RwLock::new(config),
            plugin_config: RwLock::new(plugin_config.map(Arc::new)),
            validators,
            txn: Mutex::new(()),
        };
        engine.insert(descriptors.into_iter().collect());
        engine
    }

    pub(crate) fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The slot of `name`, if the name was ever registered.
    fn slot_of(&self, t: &Table, name: &str) -> Option<&Slot> {
        t.index.get(name).and_then(|&i| self.slots.get(i))
    }

    /// Reads one entry (briefly; `f` must not run user code).
    pub(crate) fn read<R>(&self, name: &str, f: impl FnOnce(&Entry) -> R) -> Option<R> {
        let t = self.table();
        self.slot_of(&t, name)?.meta().as_ref().map(f)
    }

    /// Changes one entry the caller holds (briefly; `f` must not run user
    /// code nor drop user values: move them out instead).
    pub(crate) fn update<R>(&self, name: &str, f: impl FnOnce(&mut Entry) -> R) -> Option<R> {
        let t = self.table();
        self.slot_of(&t, name)?.meta().as_mut().map(f)
    }

    /// Moves the live instance out of a plugin this thread's transaction
    /// holds.
    pub(crate) fn take_instance(&self, name: &str) -> Option<Box<dyn Plugin>> {
        let t = self.table();
        let slot = self.slot_of(&t, name)?;
        drop(t);
        slot.cell().instance.take()
    }

    /// Puts `instance`, built by the code of `live`, into a plugin this
    /// thread's transaction holds (whose instance it took before).
    pub(crate) fn put_instance(&self, name: &str, instance: Box<dyn Plugin>, live: Fingerprints) {
        let t = self.table();
        let slot = self.slot_of(&t, name);
        drop(t);
        let unused = match slot {
            Some(slot) => {
                if let Some(e) = slot.meta().as_mut() {
                    e.live = live;
                }
                let mut cell = slot.cell();
                cell.live = live;
                cell.instance.replace(instance)
            }
            None => Some(instance),
        };
        if let Some(unused) = unused
            && let Err(e) = containment::drop_contained(name, "drop", unused)
        {
            tracing::error!(plugin = name, error = %e, "dropping a replaced instance panicked");
        }
    }

    /// `f` over every registered plugin, by name (sorted).
    fn each<R>(&self, mut f: impl FnMut(&str, &Slot, &Entry) -> R) -> Vec<R> {
        let t = self.table();
        t.index
            .iter()
            .filter_map(|(name, &i)| {
                let slot = self.slots.get(i)?;
                slot.meta().as_ref().map(|e| f(name, slot, e))
            })
            .collect()
    }

    /// Every plugin name, sorted.
    pub(crate) fn names(&self) -> Vec<String> {
        self.each(|name, _, _| name.to_owned())
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.read(name, |_| ()).is_some()
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
        self.each(|n, _, e| (n.to_owned(), Arc::clone(&e.descriptor.metadata)))
            .into_iter()
            .collect()
    }

    pub(crate) fn status(&self) -> Vec<PluginStatus> {
        self.each(|name, slot, e| PluginStatus {
            name: name.to_owned(),
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
            loans: slot.loans.load(Ordering::Relaxed),
        })
    }

    /// Adds plugins to the table (the caller checked the names are new). A
    /// name registered before gets its old slot back.
    pub(crate) fn insert(&self, descriptors: Vec<PluginDescriptor>) {
        let mut t = self.table();
        for d in descriptors {
            let name = d.metadata.name();
            let i = match t.index.get(name) {
                Some(&i) => i,
                None => {
                    let i = t.index.len();
                    t.index.insert(name.to_owned(), i);
                    i
                }
            };
            *self.slots.make(i).meta() = Some(Entry::new(d));
        }
    }

    /// Removes plugins the caller holds; returns their instances, to be
    /// dropped by the caller with no lock held.
    pub(crate) fn remove(&self, names: &[String]) -> Vec<(String, Box<dyn Plugin>)> {
        let t = self.table();
        let slots: Vec<_> = names
            .iter()
            .filter_map(|n| Some((n, self.slot_of(&t, n)?)))
            .collect();
        drop(t);
        slots
            .into_iter()
            .filter_map(|(n, slot)| {
                slot.meta().take()?;
                Some((n.clone(), slot.cell().instance.take()?))
            })
            .collect()
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
    ///
    /// The plugins are reserved first (new outermost typed accesses wait
    /// behind the transaction), then taken with all their cells locked
    /// together, so a typed access sees either none or all of them taken;
    /// when one is busy, the others are let go and this thread waits for
    /// that one's cell, holding no plugin.
    pub(crate) fn acquire(&self, names: &[String]) -> Hold<'_> {
        let me = reentry::me();
        let t = self.table();
        let indices: BTreeSet<usize> = names
            .iter()
            .filter_map(|n| t.index.get(n))
            .copied()
            .collect();
        drop(t);
        let slots: Vec<&Slot> = indices
            .into_iter()
            .filter_map(|i| self.slots.get(i))
            .collect();
        for slot in &slots {
            slot.reserved.store(true, Ordering::Relaxed);
        }
        'all: loop {
            let mut cells = Vec::with_capacity(slots.len());
            for slot in &slots {
                match slot.try_cell() {
                    Some(cell) => cells.push(cell),
                    None => {
                        drop(cells);
                        drop(slot.cell());
                        continue 'all;
                    }
                }
            }
            for (slot, cell) in slots.iter().zip(&mut cells) {
                cell.txn = me;
                slot.holder.store(me, Ordering::Relaxed);
                slot.reserved.store(false, Ordering::Relaxed);
            }
            break;
        }
        Hold {
            engine: self,
            slots,
        }
    }
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
        Engine::access(self, name, Some(layout), OnTxn::Wait, |p, _| {
            f(p as &mut dyn Any)
        })
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let validators = std::mem::take(&mut self.validators);
        if let Err(e) = containment::drop_contained("(validator)", "drop", validators) {
            tracing::error!(error = %e, "dropping a validator panicked");
        }
        let names = std::mem::take(&mut self.table().index);
        for (name, i) in names {
            let instance = self.slots.get(i).and_then(|s| s.cell().instance.take());
            if let Some(instance) = instance
                && let Err(err) = containment::drop_contained(&name, "drop", instance)
            {
                tracing::error!(plugin = %name, error = %err, "dropping a plugin panicked");
            }
        }
    }
}
