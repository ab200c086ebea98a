//! Typed access to a live plugin (`with_mut`, uncontended, outermost and
//! nested) beside the same work under a plain `Mutex`: what Tony adds to
//! reaching plugin state.
//!
//! `cargo bench -p tony-core --bench access`
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::sync::Mutex;

use criterion::{Criterion, criterion_group, criterion_main};
use serde::{Deserialize, Serialize};
use tony_core::{BoxError, Context, HotReloadConfig, Plugin, PluginSystem, tony_plugin};

#[tony_plugin(name = "bench-access", version = "1.0.0")]
#[derive(Default, Serialize, Deserialize)]
struct Counter {
    count: u64,
}

impl Plugin for Counter {
    fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
        Ok(())
    }
}

#[tony_plugin(name = "bench-access-outer", version = "1.0.0")]
#[derive(Default, Serialize, Deserialize)]
struct Outer;

impl Plugin for Outer {
    fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
        Ok(())
    }
}

fn bench(c: &mut Criterion) {
    let system = PluginSystem::builder()
        .register_inventory(false)
        .config(HotReloadConfig::default().with_enabled(false))
        .plugin::<Counter>()
        .plugin::<Outer>()
        .build()
        .unwrap();
    system.initialize().unwrap();
    let plain = Mutex::new(Counter::default());

    let mut group = c.benchmark_group("access");
    group.bench_function("plain_mutex", |b| {
        b.iter(|| {
            let mut g = plain.lock().unwrap();
            g.count += 1;
            black_box(g.count)
        })
    });
    // The same work in both typed benches: one increment through the system.
    let bump = || {
        system
            .with_mut::<Counter, _>(|c| {
                c.count += 1;
                c.count
            })
            .unwrap()
    };
    group.bench_function("typed_access", |b| b.iter(|| black_box(bump())));
    // Inside another plugin's access: the nested path (no reservation check).
    system
        .with::<Outer, _>(|_| {
            group.bench_function("typed_access_nested", |b| b.iter(|| black_box(bump())));
        })
        .unwrap();
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
