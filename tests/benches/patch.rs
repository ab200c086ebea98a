//! Tony's own work for one hot patch: from the jump table in hand (as the
//! intake delivers it) to the affected plugins active again, with 100
//! plugins in the table and 10 of them changed. dx's compile time is not
//! part of it. Goal: <= 5 ms.
//!
//! ```text
//! cargo bench -p tony-tests --bench patch
//! ```
//!
//! The table is built the way a real dx table looks: every plugin's
//! functions are in it (its hot entry, create, save, a method, `activate`:
//! 500 entries; dx sent 545-593 for a small crate); for 90 plugins they map
//! to themselves (recompiled, unchanged), for 10 the code table (another
//! code fingerprint) and the method map to new code, and the incoming
//! code (what the patch library submits) says their method changed. Each iteration starts from a
//! fresh system of 100 active plugins with the original code installed
//! (setup, not timed).
//!
//! In the same run, beside `tony/apply_patch_transaction` (the whole of it):
//! - `tony/detect`: `Patch::new` (checks, dlopen) + the diff of the running
//!   code's manifest with the incoming one (all 100 plugins);
//! - `baseline/subsecond_apply_patch`: raw `subsecond::apply_patch` of the
//!   same table (what dx's own `connect_subsecond` would do, blindly);
//! - `baseline/table_peek`: `Patch::new` + one peek per plugin through the
//!   table, without Tony's bookkeeping;
//!
//! and, in group `hot_call`, one `#[tony_plugin]` method call with no table
//! and with this table installed (the per-call price of an installed patch:
//! subsecond's hash-map lookup).
//!
//! Profile: `bench` (optimised), with `[profile.bench.package.subsecond]
//! debug-assertions = true` from the workspace manifest: subsecond only
//! routes `HotFn` calls through the table when it is compiled with debug
//! assertions. The bench checks, before measuring, that the patched plugins
//! really run their new code, so it fails rather than measure a patch that
//! does nothing. The test binary exports `main` (`tests/build.rs`).
//!
//! Every `apply_patch` leaks the previous table (subsecond never frees
//! one), hence the short measurement times, and the raw baseline times at
//! most `MAX_APPLIES` applies per sample and scales the time to the
//! iteration count criterion asked for.

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use serde::{Deserialize, Serialize};
use subsecond::JumpTable;
use tony_core::__private::{Generated as GeneratedCode, VTable};
use tony_core::CodeManifest;
use tony_core::{
    BoxError, Context, Fingerprints, HotReloadConfig, Plugin, PluginDescriptor, PluginSystem,
    PluginType, tony_plugin,
};
use tony_hot::testing::{self, Patch, fn_key, hot_key};

/// What the bench needs of each generated plugin type.
trait Generated: PluginType {
    /// Its table entries: to itself, or (for a changed plugin) to new code.
    fn entries(changed: bool) -> Vec<(u64, u64)>;
    /// The original code's fingerprints.
    fn original_fingerprints() -> Fingerprints;
    /// Its method, through the live code.
    fn call_value(&self) -> u64;
    /// Asks the plugin's fingerprints of `patch`'s code.
    fn peek(patch: &Patch) -> Option<Fingerprints>;
    /// The changed plugin's hot entry: its table answers with the new
    /// fingerprints.
    fn code_v2() -> &'static GeneratedCode;
}

/// The new code of a changed plugin: another code fingerprint...
fn fingerprints_v2<T: Generated>() -> Fingerprints {
    let f = T::original_fingerprints();
    Fingerprints::new(f.code ^ 0x5eed, f.state)
}

/// The changed plugin's code: its table answers with the new fingerprints...
fn code_v2<T: Generated>(code: &GeneratedCode) -> GeneratedCode {
    GeneratedCode {
        vtable: VTable {
            fingerprints: fingerprints_v2::<T>,
            ..code.vtable
        },
        ..*code
    }
}

/// ...and another method body.
fn value_v2<T: Generated>(_: &T) -> u64 {
    new_value::<T>()
}

/// What the changed method answers.
fn new_value<T: Generated>() -> u64 {
    u64::MAX - T::original_fingerprints().code
}

/// One generated plugin type, erased.
struct Kind {
    name: &'static str,
    entries: fn(bool) -> Vec<(u64, u64)>,
    peek: fn(&Patch) -> Option<Fingerprints>,
    descriptor: fn() -> PluginDescriptor,
    /// Its method, through the live code.
    value: fn(&PluginSystem) -> u64,
    /// What its changed method answers.
    new_value: fn() -> u64,
}

fn kind<T: Generated>() -> Kind {
    Kind {
        name: T::NAME,
        entries: T::entries,
        peek: T::peek,
        descriptor: T::descriptor,
        value: |system| system.with::<T, _>(T::call_value).unwrap(),
        new_value: new_value::<T>,
    }
}

macro_rules! plugins {
    ($($ty:ident)*) => {
        $(
            #[tony_plugin(version = "1.0.0")]
            #[derive(Default, Serialize, Deserialize)]
            struct $ty {
                count: u64,
            }

            // Distinct per type: the optimiser must not merge two plugins'
            // functions into one address (one jump-table key).
            impl $ty {
                const K: u64 = tony_core::__private::fnv1a(stringify!($ty));
            }

            #[tony_plugin]
            impl $ty {
                fn value(&self) -> u64 {
                    self.count.wrapping_mul(Self::K)
                }
            }

            #[tony_plugin]
            impl Plugin for $ty {
                fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
                    self.count = self.count.wrapping_add(Self::K);
                    Ok(())
                }
            }

            impl Generated for $ty {
                fn entries(changed: bool) -> Vec<(u64, u64)> {
                    let same = |k: u64| (k, k);
                    let code = fn_key(<$ty>::__tony_plugin_code);
                    let value = hot_key(&<$ty>::__tony_hot_value);
                    let mut entries = vec![
                        same(hot_key(&tony_core::__private::create::<$ty>)),
                        same(hot_key(&<$ty>::__tony_hot_Plugin_activate)),
                        same(hot_key(&tony_core::__private::serde_save::<$ty>)),
                    ];
                    if changed {
                        entries.push((code, fn_key(<$ty as Generated>::code_v2)));
                        entries.push((value, hot_key(&value_v2::<$ty>)));
                    } else {
                        entries.push(same(code));
                        entries.push(same(value));
                    }
                    entries
                }

                fn original_fingerprints() -> Fingerprints {
                    (<$ty>::__tony_plugin_code().vtable.fingerprints)()
                }

                fn code_v2() -> &'static GeneratedCode {
                    static CODE: std::sync::LazyLock<GeneratedCode> =
                        std::sync::LazyLock::new(|| code_v2::<$ty>(<$ty>::__tony_plugin_code()));
                    &CODE
                }

                fn call_value(&self) -> u64 {
                    self.value()
                }

                fn peek(patch: &Patch) -> Option<Fingerprints> {
                    patch
                        .peek(<$ty>::__tony_plugin_code)
                        .unwrap()
                        .map(|code| (code.vtable.fingerprints)())
                }
            }
        )*

        fn kinds() -> Vec<Kind> {
            vec![$(kind::<$ty>()),*]
        }
    };
}

plugins!(
    P00 P01 P02 P03 P04 P05 P06 P07 P08 P09 P10 P11 P12 P13 P14 P15 P16 P17 P18 P19
    P20 P21 P22 P23 P24 P25 P26 P27 P28 P29 P30 P31 P32 P33 P34 P35 P36 P37 P38 P39
    P40 P41 P42 P43 P44 P45 P46 P47 P48 P49 P50 P51 P52 P53 P54 P55 P56 P57 P58 P59
    P60 P61 P62 P63 P64 P65 P66 P67 P68 P69 P70 P71 P72 P73 P74 P75 P76 P77 P78 P79
    P80 P81 P82 P83 P84 P85 P86 P87 P88 P89 P90 P91 P92 P93 P94 P95 P96 P97 P98 P99
);

/// The most `subsecond::apply_patch` calls one sample of the raw baseline
/// makes (each leaks a table).
const MAX_APPLIES: u64 = 200;

/// Every tenth plugin changes.
fn is_changed(i: usize) -> bool {
    i % 10 == 3
}

/// The patch: every plugin's functions, 10 plugins changed.
fn the_table(kinds: &[Kind]) -> JumpTable {
    let entries = kinds
        .iter()
        .enumerate()
        .flat_map(|(i, k)| (k.entries)(is_changed(i)));
    testing::table(entries).unwrap()
}

/// What the patch library would submit: every plugin, 10 with an edited
/// `value` (and the synthetic table's new state fingerprint).
fn the_incoming_code(kinds: &[Kind]) -> CodeManifest {
    let original = CodeManifest::original();
    kinds
        .iter()
        .enumerate()
        .fold(original.clone(), |m, (i, k)| {
            let code = original.get(k.name).unwrap().clone();
            if is_changed(i) {
                m.with_plugin(code.with_method("value", 0x5eed))
            } else {
                m
            }
        })
}

/// Installs the original code (no table).
fn restore_original() {
    tony_core::__private::commit_running(CodeManifest::original().clone());
    Patch::new(testing::original().unwrap())
        .unwrap()
        .apply()
        .unwrap();
}

/// A system of the 100 plugins, all active, with the original code.
fn fresh_system(kinds: &[Kind]) -> PluginSystem {
    restore_original();
    let system = kinds
        .iter()
        .fold(
            PluginSystem::builder()
                .config(HotReloadConfig::default().with_enabled(true))
                .register_inventory(false),
            |b, k| b.descriptor((k.descriptor)()),
        )
        .build()
        .unwrap();
    system.initialize().unwrap();
    system
}

/// Before measuring: one patch does what it should, new code included.
fn check(kinds: &[Kind], table: &JumpTable) {
    let system = fresh_system(kinds);
    let before: Vec<u64> = kinds.iter().map(|k| (k.value)(&system)).collect();
    let changed: Vec<&str> = kinds
        .iter()
        .enumerate()
        .filter(|&(i, _)| is_changed(i))
        .map(|(_, k)| k.name)
        .collect();
    assert_eq!(table.map.len(), 5 * kinds.len());
    let receipt =
        testing::apply_synthetic_patch(&system, table.clone(), &the_incoming_code(kinds)).unwrap();
    assert!(receipt.applied, "{receipt:?}");
    assert_eq!(receipt.changed, changed);
    assert_eq!(receipt.cycled, changed);
    for (i, k) in kinds.iter().enumerate() {
        let now = (k.value)(&system);
        if is_changed(i) {
            assert_eq!(
                now,
                (k.new_value)(),
                "{}: the new code does not run; is subsecond built with debug assertions \
                 ([profile.bench.package.subsecond])?",
                k.name
            );
        } else {
            assert_eq!(now, before[i], "{} changed", k.name);
        }
    }
    restore_original();
}

fn patch(c: &mut Criterion) {
    let kinds = kinds();
    let table = the_table(&kinds);
    let incoming = the_incoming_code(&kinds);
    check(&kinds, &table);

    let mut g = c.benchmark_group("patch_100_plugins_10_changed");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));

    g.bench_function("tony/apply_patch_transaction", |b| {
        b.iter_batched_ref(
            || (fresh_system(&kinds), Some(table.clone())),
            |(system, table)| {
                let receipt =
                    testing::apply_synthetic_patch(system, table.take().unwrap(), &incoming)
                        .unwrap();
                black_box(receipt)
            },
            BatchSize::PerIteration,
        );
    });

    let system = fresh_system(&kinds);
    g.bench_function("tony/detect", |b| {
        b.iter_batched_ref(
            || Some(table.clone()),
            |table| {
                let patch = Patch::new(table.take().unwrap()).unwrap();
                black_box((patch, CodeManifest::running().diff(&incoming)))
            },
            BatchSize::SmallInput,
        );
    });

    g.bench_function("baseline/table_peek", |b| {
        b.iter_batched_ref(
            || Some(table.clone()),
            |table| {
                let patch = Patch::new(table.take().unwrap()).unwrap();
                black_box(kinds.iter().filter_map(|k| (k.peek)(&patch)).count())
            },
            BatchSize::SmallInput,
        );
    });

    g.bench_function("baseline/subsecond_apply_patch", |b| {
        // Each apply leaks the table it replaces (~17 KB here): time at most
        // MAX_APPLIES per sample and scale to the iterations asked for,
        // rather than leak gigabytes.
        b.iter_custom(|iters| {
            let n = iters.clamp(1, MAX_APPLIES);
            let tables: Vec<JumpTable> = (0..n).map(|_| table.clone()).collect();
            let start = Instant::now();
            for t in tables {
                // SAFETY: the table maps functions of this binary to
                // functions of this binary with the same signatures
                // (checked by `check` above, which applied it the same
                // way); its library is the running executable.
                #[allow(unsafe_code)]
                let applied = unsafe { subsecond::apply_patch(t) };
                applied.unwrap();
            }
            start.elapsed().mul_f64(iters as f64 / n as f64)
        });
    });
    restore_original();
    g.finish();

    // The price of a patch being installed, per call.
    let mut g = c.benchmark_group("hot_call");
    let p = P00 { count: 3 };
    g.bench_function("no_table", |b| b.iter(|| black_box(&p).value()));
    Patch::new(table.clone()).unwrap().apply().unwrap();
    g.bench_function("table_installed", |b| b.iter(|| black_box(&p).value()));
    restore_original();
    g.finish();
    drop(system);
}

criterion_group!(benches, patch);
criterion_main!(benches);
