//! Not public API: what `#[tony_plugin]` expands to. Everything here may
//! change between patch releases.

pub use inventory;

pub use crate::config::file::{Error as ConfigFileError, PluginConfigFile};
pub use crate::hot::code_manifest::{BlockCode, ImplBlock};
pub use crate::plugin::descriptor::{
    CheckConfig, CodeEntry, Generated, MetadataParts, PluginDescriptor, PluginResult, VTable,
    check_config, create, is_no_migration, migrate, serde_load, serde_save, stateless_load,
    stateless_migrate, stateless_save,
};
pub use crate::plugin::fingerprint::Fingerprints;
pub use crate::plugin::plugin_type::PluginType;
pub use crate::plugin::registry::{Registration, StructCode};
pub use crate::plugin::snapshot::{OldState, fnv1a};
pub use crate::plugin::{BoxError, Plugin};
#[cfg(feature = "hot")]
pub use subsecond;

pub use crate::hot::HotFunction;

use std::any::TypeId;

use crate::events::Event;
use crate::plugin::descriptor;
use crate::system::PluginSystem;
use crate::transaction::reload::{ReloadResult, Trigger};
use crate::transaction::swap::Swap;

pub use crate::hot::code_manifest::{Watermark, commit_running};

/// Raises `event` on `system` (tony-hot's triggers: a source file saved, a
/// patch's receipt). Users cannot forge Tony's events.
pub fn emit(system: &PluginSystem, event: Event) {
    system.emit(event);
}

/// [`PluginSystem::reload_with`] under a trigger of Tony's own (tony-hot's
/// hot patches and tests of them).
pub fn reload_as(
    system: &PluginSystem,
    plugins: &[&str],
    trigger: Trigger,
    swap: &mut dyn Swap,
) -> ReloadResult {
    system.reload_as(plugins, trigger, swap)
}

/// The descriptor of the plugin whose hot entry is `entry` (what a
/// generated `PluginType::descriptor` returns).
pub fn descriptor(entry: CodeEntry) -> PluginDescriptor {
    PluginDescriptor::generated(entry)
}

/// Calls `f` with `args`: through subsecond's jump table with the `hot`
/// feature, directly without it. [`hot::call`](crate::hot::call) without its
/// check: the macro only ever passes fn items.
#[inline(always)]
pub fn hot_call<F, A, M>(f: F, args: A) -> F::Return
where
    F: HotFunction<A, M>,
{
    crate::hot::call_unchecked(f, args)
}

/// The fingerprints of plugin type `T`: the state layout from its
/// `STATE_FINGERPRINT` (this compilation's, the newest when called through
/// the newest table); the code from the manifest of the code now running,
/// which covers the struct and every impl block (see `hot/code_manifest.rs`).
pub fn fingerprints<T: PluginType>() -> Fingerprints {
    descriptor::note_type::<T>();
    Fingerprints {
        code: crate::hot::code_manifest::running_code(T::NAME, TypeId::of::<T>())
            .unwrap_or(T::STRUCT_CODE),
        state: T::STATE_FINGERPRINT,
    }
}
