//! One reload transaction for a plugin with 1 KiB to 16 MiB of state, beside
//! a memcpy of the same bytes measured in the same run.
//!
//! `cargo bench -p tony-core --bench transaction`
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tony_core::{
    BoxError, Context, HotReloadConfig, Metadata, Plugin, PluginDescriptor, PluginSystem,
    PluginType,
};

#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Blob {
    #[serde(with = "serde_bytes")]
    bytes: Vec<u8>,
}

impl Plugin for Blob {
    fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> {
        Ok(())
    }
}

impl PluginType for Blob {
    const NAME: &'static str = "blob";
    const STATE_FINGERPRINT: u64 = PluginDescriptor::layout_fingerprint::<Self>();
    fn descriptor() -> PluginDescriptor {
        PluginDescriptor::serde::<Self>(Metadata::new("blob", "1.0.0"))
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("reload transaction");
    for size in [1 << 10, 64 << 10, 1 << 20, 16 << 20] {
        g.throughput(Throughput::Bytes(size as u64));
        if size >= 1 << 20 {
            g.sample_size(20);
        }
        let src: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
        let mut dst = vec![0u8; size];
        g.bench_with_input(BenchmarkId::new("memcpy", size), &size, |b, _| {
            b.iter(|| {
                dst.copy_from_slice(std::hint::black_box(&src));
                std::hint::black_box(&dst);
            })
        });
        let system = PluginSystem::builder()
            .register_inventory(false)
            .config(HotReloadConfig::default())
            .plugin::<Blob>()
            .build()
            .unwrap();
        system.initialize().unwrap();
        system
            .with_mut::<Blob, _>(|b| b.bytes = src.clone())
            .unwrap();
        g.bench_with_input(BenchmarkId::new("reload", size), &size, |b, _| {
            b.iter(|| assert!(system.reload_plugin("blob").success))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
