//! Not public API: what `#[tony_plugin]` expands to. Everything here may
//! change between patch releases.

pub use inventory;

pub use crate::config_file::{Error as ConfigFileError, PluginConfigFile};
pub use crate::descriptor::{
    CheckConfig, PluginDescriptor, PluginResult, VTable, check_config, is_no_migration, migrate,
    no_peek, serde_load, serde_save, stateless_load, stateless_migrate, stateless_save,
};
pub use crate::fingerprint::Fingerprints;
pub use crate::plugin::{BoxError, Plugin};
pub use crate::plugin_type::PluginType;
pub use crate::registry::Registration;
pub use crate::snapshot::OldState;
#[cfg(feature = "hot")]
pub use subsecond;

use crate::descriptor;
use crate::metadata::{Metadata, SourceLocation};
use crate::snapshot;

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
    descriptor::note_type::<T>();
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
