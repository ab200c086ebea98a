//! The swap step of a reload transaction ([`Swap`]) and the swaps Tony
//! itself uses: nothing ([`NoSwap`]), a snapshot to restore, a new plugin
//! configuration.

use std::sync::Arc;

use crate::config::file::PluginConfigFile;
use crate::engine::Engine;
use crate::plugin::BoxError;
use crate::plugin::descriptor::PluginDescriptor;
use crate::plugin::snapshot::Snapshot;

/// The step of a reload that installs the new code or configuration, and
/// takes it back out.
///
/// A manual reload swaps nothing ([`NoSwap`]); a configuration reload swaps
/// the tables; a hot patch applies the jump table and, to undo, re-applies
/// the previous one.
pub trait Swap {
    /// Installs the new version. Runs once every plugin of the transaction is
    /// deactivated.
    fn apply(&mut self) -> Result<(), BoxError>;

    /// Puts the previous version back. Runs when the commit failed for good,
    /// or when `apply` failed.
    fn undo(&mut self) -> Result<(), BoxError>;

    /// The descriptor `plugin` will have after the swap, when it changes
    /// (new metadata, new functions). Validated before anything changes.
    fn candidate(&self, plugin: &str) -> Option<PluginDescriptor> {
        let _ = plugin;
        None
    }

    /// A snapshot to rebuild `plugin` from instead of the one the prepare
    /// phase takes.
    #[doc(hidden)]
    fn restore_from(&self, plugin: &str) -> Option<&Snapshot> {
        let _ = plugin;
        None
    }
}

/// The swap of a manual reload: nothing to install.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoSwap;

impl Swap for NoSwap {
    fn apply(&mut self) -> Result<(), BoxError> {
        Ok(())
    }

    fn undo(&mut self) -> Result<(), BoxError> {
        Ok(())
    }
}

/// The swap of [`PluginSystem::restore_state_snapshot`](crate::PluginSystem::restore_state_snapshot):
/// nothing to install; the commit rebuilds from the given snapshot.
pub(crate) struct RestoreSnapshot(pub(crate) Snapshot);

impl Swap for RestoreSnapshot {
    fn apply(&mut self) -> Result<(), BoxError> {
        Ok(())
    }

    fn undo(&mut self) -> Result<(), BoxError> {
        Ok(())
    }

    fn restore_from(&self, plugin: &str) -> Option<&Snapshot> {
        (self.0.plugin == plugin).then_some(&self.0)
    }
}

/// Installs a new plugin configuration; undo puts the old one back.
pub(crate) struct ConfigSwap<'a> {
    pub(crate) engine: &'a Engine,
    pub(crate) new: Option<Arc<PluginConfigFile>>,
    pub(crate) old: Option<Arc<PluginConfigFile>>,
}

impl Swap for ConfigSwap<'_> {
    fn apply(&mut self) -> Result<(), BoxError> {
        if let Some(new) = self.new.take() {
            self.old = self.engine.set_plugin_config(Some(new));
        }
        Ok(())
    }

    fn undo(&mut self) -> Result<(), BoxError> {
        self.engine.set_plugin_config(self.old.take());
        Ok(())
    }
}

/// Installs new descriptors for existing plugins (same names): the swap of
/// [`PluginSystem::replace_descriptors`](crate::PluginSystem::replace_descriptors).
/// The transaction validates them first and puts the old ones back on
/// rollback.
pub(crate) struct ReplaceDescriptors(pub(crate) Vec<PluginDescriptor>);

impl Swap for ReplaceDescriptors {
    fn apply(&mut self) -> Result<(), BoxError> {
        Ok(())
    }

    fn undo(&mut self) -> Result<(), BoxError> {
        Ok(())
    }

    fn candidate(&self, plugin: &str) -> Option<PluginDescriptor> {
        self.0.iter().find(|d| d.metadata.name() == plugin).cloned()
    }
}
