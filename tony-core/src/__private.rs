//! Not public API: what `#[tony_plugin]` expands to. Everything here may
//! change between patch releases.

use std::any::{Any, TypeId};

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use inventory;

pub use crate::config_file::Error as ConfigFileError;
pub use crate::{
    BoxError, Fingerprints, OldState, Plugin, PluginConfigFile, PluginDescriptor, PluginType,
};
#[cfg(feature = "hot")]
pub use subsecond;

pub use crate::hot::HotFunction;

use crate::config_file;
use crate::snapshot::{self, NoMigration};
use crate::{Metadata, SourceLocation};

/// One `#[tony_plugin]` struct, submitted to `inventory`.
pub struct Registration {
    pub(crate) descriptor: fn() -> PluginDescriptor,
    pub(crate) type_id: fn() -> TypeId,
    pub(crate) code: &'static StructCode,
}

impl Registration {
    /// The generated descriptor function, the type's id and what the macro
    /// saw of the struct.
    pub const fn new(
        descriptor: fn() -> PluginDescriptor,
        type_id: fn() -> TypeId,
        code: &'static StructCode,
    ) -> Self {
        Registration {
            descriptor,
            type_id,
            code,
        }
    }
}

inventory::collect!(Registration);

/// What the macro saw of a plugin struct.
pub struct StructCode {
    /// The plugin's name.
    pub name: &'static str,
    /// The crate that defines it (`CARGO_CRATE_NAME`).
    pub crate_name: &'static str,
    /// Hash of the attribute's arguments and the struct item.
    pub code: u64,
    /// The state fingerprint.
    pub state: u64,
}

/// One `#[tony_plugin]` impl block, submitted to `inventory`.
pub struct ImplBlock {
    pub(crate) type_id: fn() -> TypeId,
    pub(crate) code: &'static BlockCode,
}

impl ImplBlock {
    /// The block of the type `type_id` identifies, described by `code`.
    pub const fn new(type_id: fn() -> TypeId, code: &'static BlockCode) -> Self {
        ImplBlock { type_id, code }
    }
}

inventory::collect!(ImplBlock);

/// What the macro saw of an impl block.
pub struct BlockCode {
    /// The implemented trait's path as written, empty for an inherent block.
    pub trait_name: &'static str,
    /// Hash of the whole block.
    pub hash: u64,
    /// Each method's name (`Trait::name` in a trait impl) and hash.
    pub methods: &'static [(&'static str, u64)],
}

/// The functions the system calls on a plugin type. Generated code routes
/// each through [`hot_call`], so after a hot patch the new code answers.
#[derive(Clone, Copy)]
pub struct VTable {
    /// The code and state fingerprints of the code now running.
    pub fingerprints: fn() -> Fingerprints,
    /// A default instance.
    pub create: fn() -> Box<dyn Plugin>,
    /// Encodes an instance's state.
    pub save: fn(&dyn Plugin) -> Result<Vec<u8>, BoxError>,
    /// Rebuilds an instance from bytes of the same state layout.
    pub load: fn(&[u8]) -> PluginResult,
    /// Rebuilds an instance from bytes of another state layout.
    pub migrate: fn(&OldState<'_>) -> PluginResult,
    /// Checks the plugin's table of a configuration file against its config type.
    pub check_config: Option<CheckConfig>,
}

/// An instance, or why it could not be built.
pub type PluginResult = Result<Box<dyn Plugin>, BoxError>;

/// Checks one plugin's table of a configuration file.
pub type CheckConfig = fn(&PluginConfigFile, &str) -> Result<(), config_file::Error>;

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

fn downcast<T: Plugin>(p: &dyn Plugin) -> Result<&T, BoxError> {
    (p as &dyn Any)
        .downcast_ref::<T>()
        .ok_or_else(|| format!("instance is not a `{}`", std::any::type_name::<T>()).into())
}

/// Encodes the state of a serde plugin.
pub fn serde_save<T: Plugin + Serialize>(p: &dyn Plugin) -> Result<Vec<u8>, BoxError> {
    Ok(snapshot::encode(downcast::<T>(p)?)?)
}

/// Decodes the state of a serde plugin.
pub fn serde_load<T: Plugin + DeserializeOwned>(bytes: &[u8]) -> Result<Box<dyn Plugin>, BoxError> {
    Ok(Box::new(snapshot::decode::<T>(bytes)?))
}

/// Runs the plugin's migration hook.
pub fn migrate<T: Plugin>(old: &OldState<'_>) -> Result<Box<dyn Plugin>, BoxError> {
    Ok(Box::new(T::migrate(old)?))
}

/// A stateless plugin has nothing to encode.
pub fn stateless_save(_: &dyn Plugin) -> Result<Vec<u8>, BoxError> {
    Ok(Vec::new())
}

/// A stateless plugin restarts from `Default`.
pub fn stateless_load<T: Plugin + Default>(_: &[u8]) -> Result<Box<dyn Plugin>, BoxError> {
    Ok(Box::new(T::default()))
}

/// A stateless plugin has nothing to migrate either.
pub fn stateless_migrate<T: Plugin + Default>(
    _: &OldState<'_>,
) -> Result<Box<dyn Plugin>, BoxError> {
    Ok(Box::new(T::default()))
}

/// Whether a migration error means "there is no migration hook".
pub fn is_no_migration(e: &BoxError) -> bool {
    e.downcast_ref::<NoMigration>().is_some()
}

/// Checks `plugin`'s table of `file` against `C`.
pub fn check_config<C: DeserializeOwned>(
    file: &PluginConfigFile,
    plugin: &str,
) -> Result<(), config_file::Error> {
    file.check::<C>(plugin).map(drop)
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

/// FNV-1a over a string: the same hash the macro uses, for tests.
pub const fn fnv1a(s: &str) -> u64 {
    let bytes = s.as_bytes();
    let mut h = snapshot::FNV_OFFSET;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(snapshot::FNV_PRIME);
        i += 1;
    }
    h
}

/// The fingerprints of plugin `name`: the state layout from `own` (a fn
/// item, called through the jump table, so a patched struct answers with
/// its new layout); the code from the manifest of the code now running,
/// which covers the struct and every impl block (see `code_manifest.rs`).
pub fn plugin_fingerprints<T: 'static, F, M>(name: &str, own: F) -> Fingerprints
where
    F: HotFunction<(), M, Return = Fingerprints>,
{
    let own = hot_call(own, ());
    Fingerprints {
        code: crate::code_manifest::running_code(name, TypeId::of::<T>()).unwrap_or(own.code),
        state: own.state,
    }
}
