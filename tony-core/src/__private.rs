//! Not public API: what `#[tony_plugin]` expands to. Everything here may
//! change between patch releases.

use std::any::Any;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use inventory;

pub use crate::config_file::Error as ConfigFileError;
pub use crate::{
    BoxError, Fingerprints, OldState, Plugin, PluginConfigFile, PluginDescriptor, PluginType,
};
#[cfg(feature = "hot")]
pub use subsecond;

use crate::config_file;
use crate::snapshot::{self, NoMigration};
use crate::{Metadata, SourceLocation};

/// One `#[tony_plugin]` struct, submitted to `inventory`.
pub struct Registration {
    pub(crate) descriptor: fn() -> PluginDescriptor,
}

impl Registration {
    /// Wraps the generated descriptor function.
    pub const fn new(descriptor: fn() -> PluginDescriptor) -> Self {
        Registration { descriptor }
    }
}

inventory::collect!(Registration);

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
    /// Asks the fingerprints of the code an *incoming* hot patch would
    /// install, before it is applied: `resolve` maps a `HotFn` key (the
    /// address of `call_it` for a fn item) to the new address, or `None` when
    /// the patch does not touch it. Generated as `|r| peek(fingerprint_fn, r)`.
    pub peek_fingerprints: fn(&dyn Fn(u64) -> Option<u64>) -> Option<Fingerprints>,
}

/// A resolver that knows no patch: what hand-written descriptors use.
pub fn no_peek(_: &dyn Fn(u64) -> Option<u64>) -> Option<Fingerprints> {
    None
}

/// Calls the version of `f` that an incoming patch maps it to, if it does.
///
/// `resolve` gets the key subsecond's `HotFn` uses for `f` (the address of
/// `<F as HotFunction>::call_it`) and returns the address that key will jump
/// to once the patch is applied.
#[cfg(feature = "hot")]
#[allow(unsafe_code)]
pub fn peek<F, R, M>(f: F, resolve: &dyn Fn(u64) -> Option<u64>) -> Option<R>
where
    F: subsecond::HotFunction<(), M, Return = R>,
{
    let call_it: fn(&mut F, ()) -> R = <F as subsecond::HotFunction<(), M>>::call_it;
    let new = resolve(call_it as *const () as u64)?;
    // SAFETY: `resolve` returns the address the jump table maps this exact
    // `call_it` monomorphization to; the patch library compiled the same
    // function from the same signature, which is how `HotFn::try_call`
    // calls it too (subsecond transmutes to the same shape, `fn(&F, A) -> R`).
    let new: fn(&F, ()) -> R =
        unsafe { std::mem::transmute::<usize, fn(&F, ()) -> R>(new as usize) };
    Some(new(&f, ()))
}

/// Without the `hot` feature nothing is ever patched.
#[cfg(not(feature = "hot"))]
pub fn peek<F, R, M>(f: F, resolve: &dyn Fn(u64) -> Option<u64>) -> Option<R>
where
    F: HotFunction<(), M, Return = R>,
{
    let _ = (f, resolve);
    None
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
/// feature, directly without it.
#[cfg(feature = "hot")]
#[inline(always)]
pub fn hot_call<F, A, M>(f: F, args: A) -> F::Return
where
    F: subsecond::HotFunction<A, M>,
{
    subsecond::HotFn::current(f).call(args)
}

/// Calls `f` with `args`: through subsecond's jump table with the `hot`
/// feature, directly without it.
#[cfg(not(feature = "hot"))]
#[inline(always)]
pub fn hot_call<F, A, M>(f: F, args: A) -> F::Return
where
    F: HotFunction<A, M>,
{
    f.call_it(args)
}

/// Calling a function with its arguments as a tuple (the shape of
/// `subsecond::HotFunction`, for builds without the `hot` feature).
#[cfg(not(feature = "hot"))]
pub trait HotFunction<Args, Marker> {
    /// What the function returns.
    type Return;
    /// Calls it.
    fn call_it(&self, args: Args) -> Self::Return;
}

#[cfg(not(feature = "hot"))]
macro_rules! impl_hot_function {
    ($($marker:ident: ($($arg:ident),*)),* $(,)?) => {$(
        /// Marker for a function of this arity.
        pub struct $marker;
        impl<T, $($arg,)* R> HotFunction<($($arg,)*), $marker> for T
        where
            T: Fn($($arg),*) -> R,
        {
            type Return = R;
            #[inline(always)]
            #[allow(non_snake_case)]
            fn call_it(&self, ($($arg,)*): ($($arg,)*)) -> R {
                self($($arg),*)
            }
        }
    )*};
}

#[cfg(not(feature = "hot"))]
impl_hot_function!(
    Arity0: (),
    Arity1: (A1),
    Arity2: (A1, A2),
    Arity3: (A1, A2, A3),
    Arity4: (A1, A2, A3, A4),
    Arity5: (A1, A2, A3, A4, A5),
    Arity6: (A1, A2, A3, A4, A5, A6),
    Arity7: (A1, A2, A3, A4, A5, A6, A7),
    Arity8: (A1, A2, A3, A4, A5, A6, A7, A8),
);

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

/// One `#[tony_plugin]` impl block, submitted to `inventory`: the block's
/// code hash, as the code now running (or an incoming patch) computes it.
pub struct ImplFingerprint {
    type_id: fn() -> std::any::TypeId,
    fingerprint: fn() -> u64,
    peek: fn(&dyn Fn(u64) -> Option<u64>) -> Option<u64>,
}

impl ImplFingerprint {
    /// `type_id`: the plugin type's; `fingerprint`: the block's hash through
    /// the jump table; `peek`: the block's hash in an incoming patch, `None`
    /// when the patch leaves it alone.
    pub const fn new(
        type_id: fn() -> std::any::TypeId,
        fingerprint: fn() -> u64,
        peek: fn(&dyn Fn(u64) -> Option<u64>) -> Option<u64>,
    ) -> Self {
        ImplFingerprint {
            type_id,
            fingerprint,
            peek,
        }
    }
}

inventory::collect!(ImplFingerprint);

/// The plugin's code fingerprint from its struct's hash and its blocks':
/// sorted (inventory has no order) and deduplicated (a patch library may
/// submit a block again). Must match `tony-macros/src/fingerprint.rs::combine`.
fn combine(struct_hash: u64, mut blocks: Vec<u64>) -> u64 {
    blocks.sort_unstable();
    blocks.dedup();
    blocks.into_iter().fold(
        snapshot::fnv_u64(snapshot::FNV_OFFSET, struct_hash),
        snapshot::fnv_u64,
    )
}

/// The blocks registered for `T`, as the binary started with them.
///
/// Read from `inventory` once: a hot-patch library's constructors submit
/// its blocks again, with functions that call into that library directly
/// and stay there even after the patch is rolled back. The original
/// entries route through the jump table, which is all Tony needs.
fn blocks_of<T: 'static>() -> impl Iterator<Item = &'static ImplFingerprint> {
    type ByType = std::collections::HashMap<std::any::TypeId, Vec<&'static ImplFingerprint>>;
    static BLOCKS: std::sync::OnceLock<ByType> = std::sync::OnceLock::new();
    let by_type = BLOCKS.get_or_init(|| {
        let mut by_type = ByType::new();
        for block in inventory::iter::<ImplFingerprint>() {
            by_type.entry((block.type_id)()).or_default().push(block);
        }
        by_type
    });
    by_type
        .get(&std::any::TypeId::of::<T>())
        .into_iter()
        .flatten()
        .copied()
}

/// The fingerprints of plugin `T`: `own` (a fn item, called through the
/// jump table) answers for the struct; every impl block registered for `T`
/// is folded into the code fingerprint.
pub fn plugin_fingerprints<T: 'static, F, M>(own: F) -> Fingerprints
where
    F: HotFn0<M> + Copy,
{
    let own = hot_call(own, ());
    let blocks = blocks_of::<T>().map(|b| (b.fingerprint)()).collect();
    Fingerprints {
        code: combine(own.code, blocks),
        state: own.state,
    }
}

/// [`plugin_fingerprints`] as an incoming patch would answer; `None` when
/// the patch touches neither the struct's fn nor any block's.
pub fn peek_plugin_fingerprints<T: 'static, F, M>(
    own: F,
    resolve: &dyn Fn(u64) -> Option<u64>,
) -> Option<Fingerprints>
where
    F: HotFn0<M> + Copy,
{
    let mut touched = false;
    let own = match peek(own, resolve) {
        Some(f) => {
            touched = true;
            f
        }
        None => hot_call(own, ()),
    };
    let blocks = blocks_of::<T>()
        .map(|b| match (b.peek)(resolve) {
            Some(h) => {
                touched = true;
                h
            }
            None => (b.fingerprint)(),
        })
        .collect();
    touched.then(|| Fingerprints {
        code: combine(own.code, blocks),
        state: own.state,
    })
}

/// `HotFunction<(), M, Return = Fingerprints>` under either feature.
#[cfg(feature = "hot")]
pub trait HotFn0<M>: subsecond::HotFunction<(), M, Return = Fingerprints> {}
#[cfg(feature = "hot")]
impl<M, F: subsecond::HotFunction<(), M, Return = Fingerprints>> HotFn0<M> for F {}
/// `HotFunction<(), M, Return = Fingerprints>` under either feature.
#[cfg(not(feature = "hot"))]
pub trait HotFn0<M>: HotFunction<(), M, Return = Fingerprints> {}
#[cfg(not(feature = "hot"))]
impl<M, F: HotFunction<(), M, Return = Fingerprints>> HotFn0<M> for F {}
