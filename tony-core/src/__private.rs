//! Not public API: what `#[tony_plugin]` expands to. Everything here may
//! change between patch releases.

pub use inventory;

pub use crate::code_manifest::{BlockCode, ImplBlock};
pub use crate::config_file::{Error as ConfigFileError, PluginConfigFile};
pub use crate::descriptor::{
    CheckConfig, CodeEntry, Generated, MetadataParts, PluginDescriptor, PluginResult, VTable,
    check_config, create, is_no_migration, migrate, serde_load, serde_save, stateless_load,
    stateless_migrate, stateless_save,
};
pub use crate::fingerprint::Fingerprints;
pub use crate::plugin::{BoxError, Plugin};
pub use crate::plugin_type::PluginType;
pub use crate::registry::{Registration, StructCode};
pub use crate::snapshot::{OldState, fnv1a};
#[cfg(feature = "hot")]
pub use subsecond;

pub use crate::hot::HotFunction;

use std::any::TypeId;

use crate::descriptor;

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
/// which covers the struct and every impl block (see `code_manifest.rs`).
pub fn fingerprints<T: PluginType>() -> Fingerprints {
    descriptor::note_type::<T>();
    Fingerprints {
        code: crate::code_manifest::running_code(T::NAME, TypeId::of::<T>())
            .unwrap_or(T::STRUCT_CODE),
        state: T::STATE_FINGERPRINT,
    }
}
