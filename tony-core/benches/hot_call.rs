//! What a `#[tony_plugin]` method costs, beside a direct call of the same
//! body and a raw `subsecond::HotFn` call of it, in one run.
//!
//! A binary has tony-core's `hot` feature on or off, never both, so the
//! method is measured by two runs that report into the same criterion group
//! (`hot_call`), under different ids:
//!
//! ```text
//! cargo bench -p tony-core --bench hot_call                  # hot_call/tony_method/cold
//! cargo bench -p tony-core --bench hot_call --features hot   # hot_call/tony_method/hot
//! ```
//!
//! Each run also measures `hot_call/direct` (the body called directly: the
//! baseline) and `hot_call/subsecond_raw`
//! (`subsecond::HotFn::current(f).call(args)`), so the ratios of one run
//! are computed from one run. Goals: `cold / direct` = 1.00 (the macro adds
//! no code without `hot`); `hot - subsecond_raw` within 1 ns (Tony adds
//! nothing to subsecond's own cost).
//!
//! Which profile measures what: `cargo bench` uses the `bench` profile
//! (optimised, no debug assertions), except that the workspace sets
//! `[profile.bench.package.subsecond] debug-assertions = true`. subsecond
//! only looks calls up in its jump table when *it* is compiled with debug
//! assertions (`cfg!(debug_assertions)` in `HotFn::try_call`); without
//! that, `HotFn::call` is a plain call and `tony_method/hot` and
//! `subsecond_raw` would measure nothing of hot patching. With it, they
//! measure what a development build pays per call: the check for an
//! installed jump table (none is installed here; with one, each call adds a
//! hash-map lookup, measured in `tests/benches/patch.rs`).

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use serde::{Deserialize, Serialize};
use tony_core::{BoxError, Context, Plugin, tony_plugin};

#[tony_plugin(name = "bench-counter", version = "1.0.0")]
#[derive(Default, Serialize, Deserialize)]
struct Counter {
    count: u64,
}

#[tony_plugin]
impl Counter {
    fn mix(&self, x: u64) -> u64 {
        self.count.wrapping_mul(31).wrapping_add(x) ^ (x >> 7)
    }
}

impl Plugin for Counter {
    fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
        Ok(())
    }
}

/// The same body as `Counter::mix`, as a plain function.
fn mix(c: &Counter, x: u64) -> u64 {
    c.count.wrapping_mul(31).wrapping_add(x) ^ (x >> 7)
}

const MODE: &str = if cfg!(feature = "hot") { "hot" } else { "cold" };

fn hot_call(c: &mut Criterion) {
    let counter = Counter { count: 12345 };
    // Same answers on every path, or the comparison is meaningless.
    for x in [0, 1, 99, u64::MAX] {
        assert_eq!(counter.mix(x), mix(&counter, x));
        assert_eq!(
            subsecond::HotFn::current(mix).call((&counter, x)),
            mix(&counter, x)
        );
    }

    let mut g = c.benchmark_group("hot_call");
    g.bench_function("direct", |b| {
        b.iter(|| mix(black_box(&counter), black_box(7)));
    });
    g.bench_function(format!("tony_method/{MODE}"), |b| {
        b.iter(|| black_box(&counter).mix(black_box(7)));
    });
    g.bench_function("subsecond_raw", |b| {
        b.iter(|| subsecond::HotFn::current(mix).call((black_box(&counter), black_box(7))));
    });
    g.finish();
}

criterion_group!(benches, hot_call);
criterion_main!(benches);
