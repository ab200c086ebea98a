//! Where each plugin is: [`PluginState`], and the [`PluginStatus`] rows of
//! [`PluginSystem::status`](crate::PluginSystem::status).

use semver::Version;

use crate::plugin::fingerprint::Fingerprints;
use crate::plugin::metadata::SourceLocation;

/// Where a plugin is in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PluginState {
    /// Known to the registry, never activated.
    Registered,
    /// Activated and serving.
    Active,
    /// Deactivated (unloaded); can be loaded again.
    Inactive,
    /// Activation failed, or a rollback could not bring it back; see
    /// [`PluginStatus::error`]. When it failed during a reload, its last
    /// good state is kept ([`PluginStatus::state_kept`]) and the next load
    /// or reload starts from it.
    Failed,
}

impl std::fmt::Display for PluginState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `pad`, so `{:<10}` lines up tables.
        f.pad(match self {
            PluginState::Registered => "registered",
            PluginState::Active => "active",
            PluginState::Inactive => "inactive",
            PluginState::Failed => "failed",
        })
    }
}

/// One plugin in [`PluginSystem::status`](crate::PluginSystem::status).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
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
    /// The last failure, if it is [`PluginState::Failed`] (or a `Drop` that
    /// panicked when it was unloaded).
    pub error: Option<String>,
    /// Whether a failed plugin's last good state is kept for its next load.
    pub state_kept: bool,
    /// Loans granted by [`PluginSystem::try_lend`](crate::PluginSystem::try_lend)
    /// since the system started (wrapping): a host that lends a plugin per
    /// request counts its requests here for free.
    pub loans: u64,
}
