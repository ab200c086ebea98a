//! Jump tables: keys, `peek` through an incoming table, `apply` that never
//! panics, `capture`/`original` tables for undo.
//!
//! Model (subsecond 0.7.10, unix):
//! - A table received from dx is *unshifted*: keys are link-time addresses in the original
//!   executable, values link-time addresses in the patch library. `apply_patch` shifts keys by
//!   `running main - table.aslr_reference` and values by `dlsym(lib, "main") - table.new_base_address`,
//!   then **replaces** the global table (leaking the old one) and runs the registered handlers.
//! - A fn item `F` called through `HotFn` is looked up by the address of its
//!   `<F as HotFunction<A, M>>::call_it` monomorphization ([`hot_key`]).
//!
//! Every function here returns a typed error instead of letting subsecond panic.

#![allow(unsafe_code)] // each block carries its SAFETY argument

use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

#[cfg(feature = "testing")]
use subsecond::HotFunction;
pub use subsecond::JumpTable;

/// Why a table could not be peeked into or applied. Nothing changed unless said so.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PatchError {
    /// `dlsym(RTLD_DEFAULT, "main")` found nothing: subsecond would panic on any real table.
    #[error(
        "this executable does not export `main` (link it with -Wl,--export-dynamic-symbol=main); \
         hot patching is unavailable"
    )]
    MainNotExported,
    /// `dlopen` refused the patch library.
    #[error("cannot load patch library {lib}: {reason}")]
    Load {
        /// The table's `lib`.
        lib: PathBuf,
        /// dlerror text.
        reason: String,
    },
    /// The library loaded but has no `main` symbol to rebase the table's values with.
    #[error("patch library {lib} does not export `main`")]
    NoMainInLib {
        /// The table's `lib`.
        lib: PathBuf,
    },
    /// The table's offsets do not fit this process (built for another binary/pid); subsecond
    /// would panic with an arithmetic overflow.
    #[error("jump table for {lib} does not fit this executable: {why}")]
    Foreign {
        /// The table's `lib`.
        lib: PathBuf,
        /// Which check failed.
        why: String,
    },
    /// `subsecond::apply_patch` panicked anyway (e.g. a poisoned handler list).
    #[error("subsecond panicked applying {lib} (table committed: {committed}): {message}")]
    Panicked {
        /// The table's `lib`.
        lib: PathBuf,
        /// Whether the new table had already been installed when the panic happened.
        committed: bool,
        /// The panic message.
        message: String,
    },
    /// The new code called by [`Patch::peek`] panicked.
    #[error("new code in {lib} panicked while peeked at: {message}")]
    PeekPanicked {
        /// The table's `lib`.
        lib: PathBuf,
        /// The panic message.
        message: String,
    },
}

/// Address of `main` in this process (what subsecond calls the ASLR reference), if exported.
///
/// Uses `subsecond::aslr_reference()` so it is bit-for-bit the value `apply_patch` uses.
/// Call it once early from the main thread: subsecond caches it in an unsynchronised `static mut`.
pub fn running_main() -> Result<u64, PatchError> {
    match subsecond::aslr_reference() as u64 {
        0 => Err(PatchError::MainNotExported),
        addr => Ok(addr),
    }
}

#[cfg(feature = "testing")]
/// The jump-table key subsecond uses for the fn item `F` called with `A` through `HotFn`:
/// the address of `<F as HotFunction<A, M>>::call_it` in the running executable.
///
/// Only for zero-sized callables (fn items, non-capturing closures): subsecond looks up
/// pointer-sized callables (fn pointers, closures capturing exactly one reference) by their
/// *value* instead, and a closure capturing one reference is never patched at all.
/// Take keys in the original executable (not from code running out of a patch library).
pub fn hot_key<F: HotFunction<A, M>, A, M>(_f: &F) -> u64 {
    const {
        assert!(
            size_of::<F>() == 0,
            "hot_key: only fn items / non-capturing closures"
        )
    };
    <F as HotFunction<A, M>>::call_it as *const () as u64
}

#[cfg(feature = "testing")]
/// The jump-table key of a function called through a pointer: its own address in the running
/// executable. tony-core looks a plugin's hot entry (`__tony_plugin_code`) up this way, as
/// subsecond looks up pointer-sized callables.
pub fn fn_key<R>(f: fn() -> R) -> u64 {
    f as usize as u64
}

/// Loaded patch libraries and the runtime address of their `main`, by path. Never unloaded.
static LIBS: Mutex<Option<HashMap<PathBuf, u64>>> = Mutex::new(None);

/// `dlopen`s `lib` once (then keeps it loaded for the life of the process) and returns the
/// runtime address of its `main`. `""` is the main program itself (glibc).
///
/// A second `dlopen` of the same path (subsecond's own in `apply_patch`) only bumps the
/// refcount: same base address, constructors do not run again.
pub fn lib_main(lib: &Path) -> Result<u64, PatchError> {
    let mut libs = LIBS.lock().unwrap_or_else(PoisonError::into_inner);
    let libs = libs.get_or_insert_with(HashMap::new);
    if let Some(&addr) = libs.get(lib) {
        return Ok(addr);
    }
    // SAFETY: loading a library runs its initialisers. The library is a patch built by dx for
    // this process (or, in tests, the running executable); loading it is exactly what
    // `apply_patch` does. It is never closed: `forget` below keeps the handle (and so every
    // function and static in it) valid until exit, which peeked code and the jump table rely on.
    let library = unsafe { libloading::Library::new(lib) }.map_err(|e| PatchError::Load {
        lib: lib.to_owned(),
        reason: e.to_string(),
    })?;
    // SAFETY: `*const ()` is the type of a data/code address; the symbol is only read as one.
    let main = unsafe { library.get::<*const ()>(b"main") }
        .map(|sym| *sym as u64)
        .map_err(|_| PatchError::NoMainInLib {
            lib: lib.to_owned(),
        });
    std::mem::forget(library); // never dlclose a patch library
    let main = main?;
    libs.insert(lib.to_owned(), main);
    Ok(main)
}

/// An incoming table, checked against this process: its library is loaded (never unloaded),
/// both `main`s exist, and none of `apply_patch`'s overflow-checked rebasing can panic.
/// Checked once per table, so resolving many functions through it is cheap.
#[derive(Debug)]
#[cfg_attr(
    not(feature = "testing"),
    expect(dead_code, reason = "the offsets are read by `testing`'s lookups")
)]
pub struct Patch {
    table: JumpTable,
    /// `running main - table.aslr_reference`: added to keys by `apply_patch`.
    key_offset: u64,
    /// `dlsym(lib, "main") - table.new_base_address` (wrapping): added to values.
    value_offset: u64,
}

impl Patch {
    /// Checks `table` (as received from dx: unshifted) and loads its library.
    pub fn new(table: JumpTable) -> Result<Self, PatchError> {
        let foreign = |why: String| PatchError::Foreign {
            lib: table.lib.clone(),
            why,
        };
        let running = running_main()?;
        // subsecond: `aslr_reference() - table.aslr_reference` (usize, panics when negative).
        let key_offset = running.checked_sub(table.aslr_reference).ok_or_else(|| {
            foreign(format!(
                "aslr_reference {:#x} > running main {running:#x}",
                table.aslr_reference
            ))
        })?;
        let new_main = lib_main(&table.lib)?;
        // subsecond: `dlsym(lib, "main").wrapping_byte_sub(new_base_address)`, then `v + that`.
        let value_offset = new_main.wrapping_sub(table.new_base_address);
        for (&k, &v) in &table.map {
            if k.checked_add(key_offset).is_none() || v.checked_add(value_offset).is_none() {
                return Err(foreign(format!(
                    "entry {k:#x} -> {v:#x} overflows when rebased"
                )));
            }
        }
        Ok(Self {
            table,
            key_offset,
            value_offset,
        })
    }

    #[cfg(feature = "testing")]
    /// The table as received.
    pub fn table(&self) -> &JumpTable {
        &self.table
    }

    #[cfg(feature = "testing")]
    /// Runtime address the original-executable address `key` (a [`hot_key`] or a fn pointer)
    /// will jump to once this table is applied, or `None` when the table does not map it.
    pub fn resolve_key(&self, key: u64) -> Option<u64> {
        let table_key = key.checked_sub(self.key_offset)?;
        // No overflow: every value was checked in `new`.
        self.table
            .map
            .get(&table_key)
            .map(|&v| v + self.value_offset)
    }

    #[cfg(feature = "testing")]
    /// Calls the version of `f` this table would install, *without* applying the table:
    /// `Ok(None)` when the table does not map `f`. For a function called through a pointer
    /// ([`fn_key`]), such as a plugin's hot entry, whose return type lives in a crate that is
    /// never patched (e.g. `fn() -> &'static tony_core::__private::Generated`).
    pub fn peek<R>(&self, f: fn() -> R) -> Result<Option<R>, PatchError> {
        let Some(addr) = self.resolve_key(fn_key(f)) else {
            return Ok(None);
        };
        // SAFETY:
        // - `addr` is where this table maps `f`, rebased exactly as `apply_patch` rebases it:
        //   the same-named function of the patch library, with `f`'s signature, since `R` is
        //   not defined in a patched crate (caller's rule).
        // - The library stays loaded for the life of the process (`lib_main` never closes it).
        // - Trust: the table comes from the dx devserver for this pid (or a test), as for
        //   `apply_patch`; a forged table can run arbitrary code either way.
        let new = unsafe { std::mem::transmute::<usize, fn() -> R>(addr as usize) };
        panic::catch_unwind(new)
            .map(Some)
            .map_err(|payload| PatchError::PeekPanicked {
                lib: self.table.lib.clone(),
                message: panic_message(payload.as_ref()),
            })
    }

    /// Installs this table (replacing the current one) with `subsecond::apply_patch`, under
    /// `catch_unwind`. Runs subsecond's registered handlers on the calling thread.
    pub fn apply(self) -> Result<(), PatchError> {
        let lib = self.table.lib.clone();
        let before = committed_table();
        // SAFETY: `new` proved the rebasing arithmetic fits and both `main`s exist; the table is
        // trusted as for `peek` (dx, this pid). Callers hold Tony's transaction lock so no
        // plugin call races the swap (subsecond publishes the table with a Relaxed store).
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| unsafe {
            subsecond::apply_patch(self.table)
        }));
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(PatchError::Load {
                lib,
                reason: e.to_string(),
            }),
            Err(payload) => Err(PatchError::Panicked {
                lib,
                committed: committed_table() != before,
                message: panic_message(payload.as_ref()),
            }),
        }
    }
}

/// Address of the currently committed table (only compared, never dereferenced later).
fn committed_table() -> Option<usize> {
    // SAFETY: the reference is used only to read its address, immediately; subsecond never
    // frees committed tables (each commit leaks a new Box), so addresses are never reused.
    unsafe { subsecond::get_jump_table() }.map(|t| t as *const JumpTable as usize)
}

/// [`Patch::new`] then [`Patch::apply`].
pub fn apply(table: JumpTable) -> Result<(), PatchError> {
    Patch::new(table)?.apply()
}

/// A table that, applied, restores the original executable's code: no entries, the main
/// program as `lib` (`dlopen("")`), offsets zero.
pub fn original() -> Result<JumpTable, PatchError> {
    let main = running_main()?;
    Ok(JumpTable {
        lib: PathBuf::new(),
        map: Default::default(),
        aslr_reference: main,
        new_base_address: lib_main(Path::new(""))?,
        ifunc_count: 0,
    })
}

/// A table that, applied, restores exactly what is installed now (the undo of the next
/// `apply`): the committed (already rebased) table with both offsets set to zero, or
/// [`original`] when nothing was applied yet. Independent of who applied the current table.
pub fn capture() -> Result<JumpTable, PatchError> {
    // SAFETY: read and cloned immediately; committed tables are never freed.
    let Some(current) = (unsafe { subsecond::get_jump_table() }) else {
        return original();
    };
    let mut table = current.clone();
    table.aslr_reference = running_main()?;
    table.new_base_address = lib_main(&table.lib)?;
    Ok(table)
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}

#[cfg(feature = "testing")]
/// Helpers for tests without dx: tables that point original fn items at replacement fn items
/// compiled into the same (test) executable, which must export `main`.
pub mod synthetic {
    use super::{JumpTable, PatchError, lib_main, running_main};
    use std::path::{Path, PathBuf};

    /// A table whose `lib` is the running executable (`dlopen("")`) and whose map is given in
    /// runtime addresses (e.g. from [`super::hot_key`]): both offsets are zero.
    pub fn table(entries: impl IntoIterator<Item = (u64, u64)>) -> Result<JumpTable, PatchError> {
        Ok(JumpTable {
            lib: PathBuf::new(),
            map: entries.into_iter().collect(),
            aslr_reference: running_main()?,
            new_base_address: lib_main(Path::new(""))?,
            ifunc_count: 0,
        })
    }
}
