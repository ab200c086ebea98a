//! Host code through the hot-patch jump table: the app's own loop body or
//! request handler, so that after a hot patch it is the *new* host code
//! that runs, and reaches plugins with their new layout.
//!
//! `#[tony_plugin]` routes plugin methods through subsecond's jump table.
//! Code outside plugins is called directly, so after a patch that changed a
//! plugin's struct, a loop compiled before the patch still expects the old
//! layout and typed access answers
//! [`StaleLayout`](crate::AccessError::StaleLayout): safe, but the app stops
//! doing its job until it is restarted. Put the loop's *body* in a fn and
//! call it with [`call`]: each iteration then runs the newest version of the
//! body, compiled against the newest layout.
//!
//! ```
//! use tony_core::{PluginSystem, hot};
//!
//! /// One round of the app's work: edit it while the app runs under dx.
//! fn tick(system: &PluginSystem, round: u64) -> u64 {
//!     round + 1
//! }
//!
//! let system = PluginSystem::builder().build()?;
//! system.initialize()?;
//! let mut round = 0;
//! for _ in 0..3 {
//!     round = hot::call(tick, (&system, round));
//! }
//! assert_eq!(round, 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Without tony-core's `hot` feature (any release build) [`call`] is a
//! plain inlined call.
//!
//! # Only fn items
//!
//! subsecond finds the new version of a callable by its type's code, except
//! for a callable the size of a pointer: that one it takes *for* a function
//! pointer, so a closure capturing one reference is never patched (and one
//! capturing a `fn` pointer has its body skipped). [`call`] therefore takes
//! only zero-sized callables, fn items and closures that capture nothing,
//! and anything else fails to build (`cargo build`, error E0080 naming
//! `tony_core::hot::call`; `cargo check` does not evaluate it); pass what
//! the body needs as arguments instead:
//!
//! ```compile_fail,E0080
//! let limit = 10_u64;
//! // error: `hot::call` takes a fn item or a closure that captures nothing
//! tony_core::hot::call(|n: u64| n.min(limit), (20,));
//! ```

pub(crate) mod code_change;
pub(crate) mod code_check;
pub(crate) mod code_manifest;
pub(crate) mod source_files;

/// Calls `f` with `args` (a tuple), through subsecond's jump table with the
/// `hot` feature: the newest version of `f` a hot patch installed runs.
///
/// `f` must be a fn item or a closure that captures nothing (see the
/// [module docs](self)); anything else does not compile.
///
/// ```
/// fn double(n: u64) -> u64 {
///     n * 2
/// }
/// assert_eq!(tony_core::hot::call(double, (21,)), 42);
/// ```
#[inline(always)]
pub fn call<F, A, M>(f: F, args: A) -> F::Return
where
    F: HotFunction<A, M>,
{
    const {
        assert!(
            size_of::<F>() == 0,
            "`tony_core::hot::call` takes a fn item or a closure that captures nothing: \
             subsecond never patches a closure that captures one pointer-sized value; \
             pass what the body needs as arguments"
        )
    };
    call_unchecked(f, args)
}

/// [`call`] without its check, for the macro's fn items.
///
/// With the `hot` feature this is subsecond's `HotFn::call` for a fn item,
/// written small: the same check for an installed table, the same key (the
/// address of `F`'s `call_it`), the same call of the new address; but the
/// lookup is one non-generic function compiled once in tony-core, not
/// subsecond's generic `try_call` instantiated for every hot function in
/// the user's crate, which dominated what `#[tony_plugin]` cost a patch to
/// recompile.
///
/// The check for a table stays here, inlined into the caller: with no
/// table installed (a development build before its first patch, and every
/// bench) a call then costs what `HotFn::call` costs, one call of
/// `subsecond::get_jump_table` and a test. Behind one more call, in
/// `patched`, it cost 0.6–2 ns more (docs/performance.md, "A plugin method
/// through the jump table").
///
/// `#[inline]`, not `#[inline(always)]`: in an unoptimized build rustc
/// copies an `inline(always)` fn into every codegen unit that calls it,
/// which put this whole body in each generated method, in the module an
/// edit recompiles. Now each instance is compiled once, in a unit of its
/// own; optimized builds still inline it.
#[cfg(feature = "hot")]
#[inline]
#[allow(unsafe_code)]
pub(crate) fn call_unchecked<F, A, M>(mut f: F, args: A) -> F::Return
where
    F: HotFunction<A, M>,
{
    // SAFETY: subsecond only ever installs a complete table it leaked
    // (`'static`, never freed), so the reference stays valid. An empty one
    // (what undoing the first patch installs) costs what no table costs.
    if let Some(table) = unsafe { subsecond::get_jump_table() }
        && !table.map.is_empty()
    {
        let key = <F as HotFunction<A, M>>::call_it as *const () as u64;
        if let Some(new) = lookup(table, key) {
            // SAFETY: the jump table maps this exact `call_it` instance to
            // its counterpart in the patch library, compiled from the same
            // signature; `F` is zero-sized (fn items only), so the
            // reference passed is never read. subsecond's `HotFn::try_call`
            // makes the same call.
            let new = unsafe { std::mem::transmute::<usize, fn(&F, A) -> F::Return>(new as usize) };
            return new(&f, args);
        }
    }
    f.call_it(args)
}

/// The newest version of `f`: where the jump table maps it after a hot
/// patch, `f` itself otherwise. Looked up by the function's own address,
/// which the table maps like every symbol a patch shares with the binary.
///
/// # Safety
///
/// Every version of `f` a patch can bring has `f`'s signature. True of a
/// plugin's hot entry: generated with one signature whose types live in
/// tony-core, which is never patched.
#[cfg(feature = "hot")]
#[allow(unsafe_code)]
pub(crate) unsafe fn latest<R>(f: fn() -> R) -> fn() -> R {
    match patched(f as usize as u64) {
        // SAFETY: the table maps `f` to the same-named function of the
        // patch library, of the same signature (the caller's promise). The
        // library is never unloaded.
        Some(new) => unsafe { std::mem::transmute::<usize, fn() -> R>(new as usize) },
        None => f,
    }
}

/// Without the `hot` feature there is no table: `f` is the newest.
///
/// # Safety
///
/// None needed; `unsafe` only to match the `hot` version.
#[cfg(not(feature = "hot"))]
#[allow(unsafe_code)]
#[inline(always)]
pub(crate) unsafe fn latest<R>(f: fn() -> R) -> fn() -> R {
    f
}

/// The address the installed jump table maps `key` to, if any.
#[cfg(feature = "hot")]
#[allow(unsafe_code)]
fn patched(key: u64) -> Option<u64> {
    // SAFETY: subsecond only ever installs a complete table it leaked
    // (`'static`, never freed), so the reference stays valid.
    lookup(unsafe { subsecond::get_jump_table() }?, key)
}

/// The address `table` maps `key` to, if any: out of line, so that the
/// hash-map code is compiled once, here, not in every caller.
#[cfg(feature = "hot")]
#[inline(never)]
fn lookup(table: &subsecond::JumpTable, key: u64) -> Option<u64> {
    table.map.get(&key).copied()
}

#[cfg(not(feature = "hot"))]
#[inline(always)]
pub(crate) fn call_unchecked<F, A, M>(f: F, args: A) -> F::Return
where
    F: HotFunction<A, M>,
{
    f.call_it(args)
}

/// A function called with its arguments as one tuple: what [`call`] takes.
/// Implemented for every `Fn` of up to 8 arguments.
#[cfg(feature = "hot")]
pub use subsecond::HotFunction;

/// A function called with its arguments as one tuple: what [`call`] takes.
/// Implemented for every `Fn` of up to 8 arguments (the shape of
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
        #[doc(hidden)]
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
