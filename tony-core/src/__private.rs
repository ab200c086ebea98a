//! Not public API: what `#[tony_plugin]` expands to. Everything here may
//! change between patch releases.

pub use inventory;

pub use crate::code_manifest::{BlockCode, ImplBlock};
pub use crate::config_file::{Error as ConfigFileError, PluginConfigFile};
pub use crate::descriptor::{
    CheckConfig, PluginDescriptor, PluginResult, VTable, check_config, is_no_migration, migrate,
    serde_load, serde_save, stateless_load, stateless_migrate, stateless_save,
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
use crate::metadata::{Metadata, SourceLocation};

/// The literal parts of a `#[tony_plugin]` attribute, validated at compile time.
pub struct MetadataParts {
    /// `name = "..."`.
    pub name: &'static str,
    /// `version = "..."` or the crate's version.
    pub version: &'static str,
    /// `description = "..."` or the doc comment.
    pub description: &'static str,
    /// `min_tony_version = "..."`.
    pub min_tony_version: Option<&'static str>,
    /// `(name, range, optional)` for each dependency.
    pub dependencies: &'static [(&'static str, &'static str, bool)],
    /// `state_version = N`.
    pub state_version: u32,
    /// Absolute path of the source file.
    pub file: &'static str,
    /// Line of the struct.
    pub line: u32,
}

/// Builds a descriptor from the attribute's parts and the generated table.
pub fn descriptor(parts: MetadataParts, vtable: VTable) -> PluginDescriptor {
    let mut m = Metadata::new(parts.name, parts.version)
        .with_description(parts.description)
        .with_state_version(parts.state_version)
        .with_source(SourceLocation::new(parts.file, parts.line));
    if let Some(v) = parts.min_tony_version {
        m = m.with_min_tony_version(v);
    }
    for &(name, req, optional) in parts.dependencies {
        m = if optional {
            m.with_optional_dependency(name, req)
        } else {
            m.with_dependency(name, req)
        };
    }
    PluginDescriptor::from_parts(m, vtable)
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

/// The fingerprints of plugin `name` of type `T`: the state layout from
/// `own` (a fn item, called through the jump table, so a patched struct
/// answers with its new layout); the code from the manifest of the code now
/// running, which covers the struct and every impl block (see
/// `code_manifest.rs`).
pub fn plugin_fingerprints<T: 'static, F, M>(name: &str, own: F) -> Fingerprints
where
    F: HotFunction<(), M, Return = Fingerprints>,
{
    descriptor::note_type::<T>();
    let own = hot_call(own, ());
    Fingerprints {
        code: crate::code_manifest::running_code(name, TypeId::of::<T>()).unwrap_or(own.code),
        state: own.state,
    }
}
