//! Parse time of a plugin config file with 1k, 10k and 100k `[plugins.*]` tables, against
//! the baseline of `toml::from_str` of the same text into a `toml::Table` (same run).
//!
//! Linear means: per-table time flat across sizes, and a flat ratio to the baseline.
//! Also: `load` of a file just over the size cap, which must be refused without parsing.
//!
//! `cargo bench -p tony-core --bench config_file`

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tony_core::PluginConfigFile;

fn file_with(tables: usize) -> String {
    (0..tables)
        .map(|i| format!("[plugins.plugin_{i}]\nport = {i}\nhost = \"host-{i}\"\n\n"))
        .collect()
}

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("config_file_parse");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for tables in [1_000, 10_000, 100_000] {
        let text = file_with(tables);
        group.throughput(Throughput::Elements(tables as u64));
        group.bench_with_input(
            BenchmarkId::new("toml_table_baseline", tables),
            &text,
            |b, text| b.iter(|| black_box(toml::from_str::<toml::Table>(text).unwrap())),
        );
        group.bench_with_input(
            BenchmarkId::new("plugin_config_file", tables),
            &text,
            |b, text| {
                b.iter(|| {
                    black_box(PluginConfigFile::parse(text.as_str(), "plugins.toml").unwrap())
                })
            },
        );
    }
    group.finish();
}

fn size_cap(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plugins.toml");
    let text = file_with(10_000);
    std::fs::write(&path, &text).unwrap();
    let cap = text.len() as u64 - 1;
    c.bench_function("config_file_load_over_cap_refused", |b| {
        b.iter(|| black_box(PluginConfigFile::load_with_limit(&path, cap).unwrap_err()))
    });
}

criterion_group!(benches, parse, size_cap);
criterion_main!(benches);
