//! Activating 1,000 registered plugins (a chain and a wide fan), with the
//! resolve step alone beside it.
//!
//! `cargo bench -p tony-core --bench activation`
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use tony_core::{
    BoxError, Context, HotReloadConfig, Metadata, Plugin, PluginDescriptor, PluginSystem,
};

const N: usize = 1000;

#[derive(Default)]
struct Node;

impl Plugin for Node {
    fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> {
        Ok(())
    }
}

fn name(i: usize) -> String {
    format!("p{i:04}")
}

/// p0000 <- p0001 <- ... <- p0999
fn chain() -> Vec<PluginDescriptor> {
    (0..N)
        .map(|i| {
            let mut m = Metadata::new(name(i), "1.0.0");
            if i > 0 {
                m = m.with_dependency(name(i - 1), "^1");
            }
            PluginDescriptor::stateless::<Node>(m)
        })
        .collect()
}

/// p0000 is the hub; p0001..p0998 depend on it; p0999 depends on them all.
fn fan() -> Vec<PluginDescriptor> {
    (0..N)
        .map(|i| {
            let mut m = Metadata::new(name(i), "1.0.0");
            if i == N - 1 {
                for j in 1..N - 1 {
                    m = m.with_dependency(name(j), "^1");
                }
            } else if i > 0 {
                m = m.with_dependency(name(0), "^1");
            }
            PluginDescriptor::stateless::<Node>(m)
        })
        .collect()
}

fn system(plugins: Vec<PluginDescriptor>) -> PluginSystem {
    plugins
        .into_iter()
        .fold(
            PluginSystem::builder()
                .register_inventory(false)
                .config(HotReloadConfig::default()),
            |b, d| b.descriptor(d),
        )
        .build()
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("1000 plugins");
    g.sample_size(20);
    for (shape, make) in [
        ("chain", chain as fn() -> Vec<PluginDescriptor>),
        ("fan", fan),
    ] {
        g.bench_function(format!("{shape}/initialize"), |b| {
            b.iter_batched(
                || system(make()),
                |s| s.initialize().unwrap(),
                BatchSize::LargeInput,
            )
        });
        let s = system(make());
        g.bench_function(format!("{shape}/resolve"), |b| {
            b.iter(|| {
                let r = s.resolve_dependencies(&name(N - 1));
                assert_eq!(r.order.len(), N);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
