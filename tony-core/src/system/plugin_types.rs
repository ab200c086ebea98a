//! Adding and removing plugin types while the system runs (a hot patch that
//! brings a new `#[tony_plugin]` struct, or drops one).

use std::collections::BTreeSet;

use crate::engine::containment;
use crate::plugin::descriptor::PluginDescriptor;
use crate::plugin::registry::{self, Registry};
use crate::plugin::resolve;
use crate::system::{Error, PluginSystem, enter};
use crate::transaction::lifecycle;

/// What [`PluginSystem::add_plugin_types`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TypesAdded {
    /// The plugins registered, sorted by name.
    pub added: Vec<String>,
    /// Descriptors that were already registered (the same type from the
    /// same place) and were left alone.
    pub already_registered: Vec<String>,
    /// The plugins activated, in activation order.
    pub activated: Vec<String>,
    /// Plugins that could not be activated (their dependencies cannot be
    /// satisfied, or `activate` failed), with why. They stay registered.
    pub failed: Vec<(String, String)>,
    /// Plugins left inactive because something they need failed.
    pub skipped: Vec<String>,
}

impl PluginSystem {
    /// Registers new plugin types at runtime and activates them, after the
    /// dependencies they need (existing plugins or other new ones), as one
    /// transaction.
    ///
    /// Refused, with nothing changed, when a descriptor is invalid or its
    /// name is taken by another type ([`Error::Registry`]); a descriptor of a
    /// type already registered from the same place is skipped. Activation
    /// failures are reported per plugin in [`TypesAdded`]; the others are
    /// active. Active plugins that could use a new plugin as an *optional*
    /// dependency are not reloaded: reload them to pick it up.
    pub fn add_plugin_types(
        &self,
        descriptors: Vec<PluginDescriptor>,
    ) -> Result<TypesAdded, Error> {
        let _g = enter("add_plugin_types")?;
        let _t = self.engine.txn();
        let mut receipt = TypesAdded::default();
        let mut new = Vec::new();
        for d in Registry::new(false, descriptors)?.into_descriptors() {
            match self.engine.descriptor(d.metadata().name()) {
                Some(existing) => {
                    registry::check_duplicate(&existing, &d)?;
                    receipt
                        .already_registered
                        .push(d.metadata().name().to_owned());
                }
                None => new.push(d),
            }
        }
        receipt.added = new.iter().map(|d| d.metadata().name().to_owned()).collect();
        tracing::info!(plugins = ?receipt.added, "registering plugin types");
        self.engine.insert(new);
        let roots: Vec<&str> = receipt.added.iter().map(String::as_str).collect();
        let loaded = lifecycle::load(&self.engine, &roots);
        receipt.activated = loaded.activated;
        receipt.failed = loaded
            .unresolved
            .into_iter()
            .map(|e| (e.plugin.clone(), e.to_string()))
            .chain(loaded.failed.into_iter().map(|(p, e)| (p, e.to_string())))
            .collect();
        receipt.skipped = loaded.skipped;
        Ok(receipt)
    }

    /// Deactivates and unloads the plugins `names` (dependents among them
    /// first) and removes their types from the system. Returns the plugins
    /// removed, in the order they were unloaded.
    ///
    /// Refused, with nothing changed, for an unknown name
    /// ([`Error::Unknown`]) or while active plugins outside `names` depend on
    /// one of them ([`Error::HasDependents`], naming them).
    pub fn remove_plugin_types(&self, names: &[&str]) -> Result<Vec<String>, Error> {
        let _g = enter("remove_plugin_types")?;
        let _t = self.engine.txn();
        if let Some(unknown) = names.iter().find(|n| !self.engine.contains(n)) {
            return Err(Error::Unknown((*unknown).to_owned()));
        }
        let set: BTreeSet<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let list: Vec<String> = set.iter().cloned().collect();
        let catalog = self.engine.catalog();
        let dependents = resolve::dependents(&catalog, &list, |n| self.engine.is_active(n));
        if !dependents.is_empty() {
            return Err(Error::HasDependents {
                plugin: list.join(", "),
                dependents,
            });
        }
        let mut order = resolve::order_subset(&catalog, &set);
        order.reverse(); // dependents first
        lifecycle::unload(&self.engine, &order);
        let removed = {
            let _hold = self.engine.acquire(&order);
            self.engine.remove(&order)
        };
        for (name, instance) in removed {
            if let Err(e) = containment::drop_contained(&name, "drop", instance) {
                tracing::error!(plugin = %name, error = %e, "dropping a removed plugin panicked");
            }
        }
        tracing::info!(plugins = ?order, "plugin types removed");
        Ok(order)
    }
}
