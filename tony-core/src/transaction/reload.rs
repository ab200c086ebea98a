//! [`ReloadResult`]: what a reload did, and why it failed when it did.

use std::fmt;
use std::time::Duration;

use semver::Version;

/// What started a reload.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trigger {
    /// [`PluginSystem::reload_plugin`](crate::PluginSystem::reload_plugin).
    Manual,
    /// A changed plugin configuration.
    Config,
    /// A hot patch from `dx serve --hot-patch`.
    Patch,
    /// [`PluginSystem::restore_state_snapshot`](crate::PluginSystem::restore_state_snapshot).
    Snapshot,
}

/// The stage of a reload transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// Checks before anything changes.
    Validate,
    /// Capturing state (old code).
    Snapshot,
    /// Deactivating (old code).
    Deactivate,
    /// Installing the new code or configuration.
    Swap,
    /// Rebuilding the instance from its snapshot (new code).
    Restore,
    /// Migrating a snapshot of another layout (new code).
    Migrate,
    /// Activating (new code).
    Activate,
    /// Putting the previous version back.
    Rollback,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Validate => "validate",
            Stage::Snapshot => "snapshot",
            Stage::Deactivate => "deactivate",
            Stage::Swap => "swap",
            Stage::Restore => "restore",
            Stage::Migrate => "migrate",
            Stage::Activate => "activate",
            Stage::Rollback => "rollback",
        })
    }
}

/// Why a reload failed: the plugin, the stage, and the message (with the
/// panic message when a hook panicked).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("plugin `{plugin}` failed at {stage}: {message}")]
#[non_exhaustive]
pub struct ReloadError {
    /// The plugin at fault.
    pub plugin: String,
    /// Where it failed.
    pub stage: Stage,
    /// What went wrong.
    pub message: String,
}

/// A [`ReloadError`] of `plugin` at `stage`.
pub(crate) fn fail(plugin: &str, stage: Stage, message: impl ToString) -> ReloadError {
    ReloadError {
        plugin: plugin.to_owned(),
        stage,
        message: message.to_string(),
    }
}

/// What a reload did.
///
/// On failure, the transaction was rolled back: the previous version is
/// active again with the state it had, unless [`ReloadResult::failed`]
/// lists plugins that could not even be brought back.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReloadResult {
    /// Whether the reload took effect.
    pub success: bool,
    /// The plugin asked for (the first, when several were).
    pub plugin: String,
    /// Its version before.
    pub previous_version: Option<Version>,
    /// Its version after (the previous one again after a rollback).
    pub new_version: Option<Version>,
    /// Why it failed.
    pub error: Option<ReloadError>,
    /// Whether every reloaded plugin got its state back (decoded or migrated).
    pub state_preserved: bool,
    /// How each reloaded plugin's state came back, in activation order.
    pub states: Vec<(String, StateRestore)>,
    /// The dependents reloaded with it.
    pub dependents_reloaded: Vec<String>,
    /// How many commit attempts ran (0 when it failed before the commit).
    pub attempts: u32,
    /// Whether the previous version was put back.
    pub rolled_back: bool,
    /// Plugins left in the failed state by a rollback that failed too.
    pub failed: Vec<String>,
    /// What started it.
    pub trigger: Trigger,
    /// How long the whole transaction took.
    pub duration: Duration,
}

impl ReloadResult {
    /// Why the state was not (entirely) preserved, if it was not.
    pub fn state_note(&self) -> Option<String> {
        let reasons: Vec<String> = self
            .states
            .iter()
            .filter_map(|(p, s)| match s {
                StateRestore::Reset { reason } => Some(format!("{p}: {reason}")),
                _ => None,
            })
            .collect();
        (!reasons.is_empty()).then(|| reasons.join("; "))
    }
}

/// How a plugin's state came back after a reload.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StateRestore {
    /// Decoded as is: the state layout did not change.
    Decoded,
    /// Rebuilt by the plugin's migration hook from an older layout.
    Migrated {
        /// The state version of the old snapshot.
        from_state_version: u32,
    },
    /// Started from the default state, for the reason given.
    Reset {
        /// Why the state was not carried.
        reason: String,
    },
}

impl ReloadResult {
    /// A result in which no plugin was reloaded (yet): refused before
    /// anything started (`error`), a swap alone, or the start of a
    /// transaction.
    pub(crate) fn none_reloaded(
        plugin: String,
        trigger: Trigger,
        error: Option<ReloadError>,
    ) -> Self {
        ReloadResult {
            success: error.is_none(),
            error,
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
}
