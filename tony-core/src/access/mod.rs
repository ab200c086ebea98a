//! [`AccessError`]: why typed access to a live plugin failed.
//!
//! Typed access lends the live instance to the caller's closure; no lock is
//! held while the closure runs (see `docs/concurrency.md`). The engine side
//! is `engine/mod.rs`, the typed wrappers are in `plugin/plugin_type.rs`.

pub(crate) mod context;
pub(crate) mod lend;
pub(crate) mod lent_plugin;
pub(crate) mod services;

use crate::events::status::PluginState;

/// Why typed access to a plugin failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccessError {
    /// No plugin of that name is registered.
    #[error("unknown plugin `{0}`")]
    Unknown(String),
    /// The plugin has no live instance.
    #[error("plugin `{plugin}` is {state}, not active")]
    NotActive {
        /// The plugin.
        plugin: String,
        /// Its state.
        state: PluginState,
    },
    /// The caller was compiled against another state layout than the live
    /// instance's (e.g. before a hot patch changed the struct).
    #[error(
        "plugin `{plugin}`: caller expects state layout {expected:#x}, the live instance has {live:#x}"
    )]
    StaleLayout {
        /// The plugin.
        plugin: String,
        /// The caller's fingerprint.
        expected: u64,
        /// The live instance's.
        live: u64,
    },
    /// The live instance is of another type.
    #[error("plugin `{plugin}` is not a `{expected}`")]
    WrongType {
        /// The plugin.
        plugin: String,
        /// The type asked for.
        expected: &'static str,
    },
    /// Typed access to a plugin from inside typed access to the same plugin.
    #[error("plugin `{0}` is already borrowed by this thread")]
    Reentrant(String),
    /// Waiting for the plugin would close a cycle: its holder waits (directly
    /// or through others) for a plugin this thread holds. Refused instead of
    /// deadlocking; retry once this thread's outer access has ended.
    #[error("plugin `{0}` is held by a thread that waits for a plugin this thread holds")]
    WouldDeadlock(String),
    /// A transaction (a reload, load, unload, ...) holds the plugin, or is
    /// about to take it, and the caller asked not to wait for it
    /// ([`PluginSystem::try_lend`](crate::PluginSystem::try_lend)).
    #[error("plugin `{0}` is being reloaded")]
    Busy(String),
}

/// What an access does when a transaction holds its plugin.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnTxn {
    /// Waits until the transaction lets go (typed access).
    Wait,
    /// Fails with [`AccessError::Busy`].
    Refuse,
}
