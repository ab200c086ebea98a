//! The [`Plugin`] trait: what a plugin does. What it *is* (name, layout,
//! descriptor) is [`PluginType`](crate::PluginType), in `plugin/plugin_type.rs`.

pub(crate) mod descriptor;
pub(crate) mod fingerprint;
pub(crate) mod metadata;
pub(crate) mod plugin_type;
pub(crate) mod registry;
pub(crate) mod resolve;
pub(crate) mod snapshot;

use std::any::Any;

use crate::access::context::Context;
use crate::plugin::snapshot::{NoMigration, OldState};

/// The error type plugin hooks return: anything that is an error.
///
/// Hooks can use `?` on any error type, or return a message with
/// `Err("why".into())`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A plugin: a Rust type whose instance the [`PluginSystem`](crate::PluginSystem)
/// owns, activates and reloads.
///
/// # Lifecycle
///
/// 1. The instance is built: `Default` on first load, or rebuilt from a state
///    snapshot (bincode of the serde state) on a reload.
/// 2. [`activate`](Plugin::activate) runs once its dependencies are active.
///    It provides services and rebuilds what is not part of the state
///    (`#[serde(skip)]` fields: handles, channels, caches).
/// 3. On reload or unload, [`deactivate`](Plugin::deactivate) runs first,
///    dependents before their dependencies; the services the plugin provided
///    are withdrawn right after it.
/// 4. When a reload finds a snapshot taken by another state layout, the new
///    code's [`migrate`](Plugin::migrate) rebuilds the state from it.
///
/// Every hook runs under `catch_unwind`: an error or a panic rolls the reload
/// back to the previous instance and never takes the host down.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use tony_core::{BoxError, Context, Plugin, PluginSystem, tony_plugin};
///
/// #[tony_plugin(name = "clock", version = "0.1.0")]
/// #[derive(Default, Serialize, Deserialize)]
/// struct Clock {
///     ticks: u64,
///     #[serde(skip)]
///     running: bool,
/// }
///
/// impl Plugin for Clock {
///     fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
///         self.running = true; // not state: rebuilt on every activation
///         Ok(())
///     }
///     fn deactivate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
///         self.running = false;
///         Ok(())
///     }
/// }
///
/// let system = PluginSystem::builder().build()?;
/// system.initialize()?;
/// system.with_mut::<Clock, _>(|c| c.ticks = 41)?;
/// assert!(system.reload_plugin("clock").success);
/// // `ticks` came across (where the preset preserves state), `running` was rebuilt.
/// let kept = if system.config().preserve_state { 41 } else { 0 };
/// assert_eq!(system.with::<Clock, _>(|c| (c.ticks, c.running))?, (kept, true));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Plugin: Any + Send {
    /// Starts the plugin: provide services, open what `deactivate` closes.
    fn activate(&mut self, ctx: &mut Context<'_>) -> Result<(), BoxError>;

    /// Stops the plugin. The default does nothing.
    ///
    /// Services the plugin provided are withdrawn after this returns, whether
    /// it succeeded or not.
    fn deactivate(&mut self, ctx: &mut Context<'_>) -> Result<(), BoxError> {
        let _ = ctx;
        Ok(())
    }

    /// Rebuilds the state from a snapshot taken by an older state layout
    /// (Erlang's `code_change`).
    ///
    /// Called on reload when the snapshot's state fingerprint differs from
    /// the running code's. The default has no migration: the plugin starts
    /// from its default state, and the [`ReloadResult`](crate::ReloadResult)
    /// and a [`StateRestored`](crate::Event::StateRestored) event say so. A
    /// migration that returns an error or panics rolls the reload back
    /// instead: nothing is thrown away because of a bug.
    ///
    /// ```
    /// use serde::{Deserialize, Serialize};
    /// use tony_core::{BoxError, Context, OldState, Plugin};
    ///
    /// #[derive(Deserialize)]
    /// struct CounterV1 { count: u64 }
    ///
    /// #[derive(Default, Serialize, Deserialize)]
    /// struct Counter { count: u64, label: String }
    ///
    /// impl Plugin for Counter {
    ///     fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> { Ok(()) }
    ///     fn migrate(old: &OldState<'_>) -> Result<Self, BoxError> {
    ///         let v1: CounterV1 = old.decode()?;
    ///         Ok(Counter { count: v1.count, label: "migrated".into() })
    ///     }
    /// }
    /// ```
    fn migrate(old: &OldState<'_>) -> Result<Self, BoxError>
    where
        Self: Sized,
    {
        Err(Box::new(NoMigration {
            state_version: old.state_version,
        }))
    }
}
