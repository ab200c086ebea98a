//! Parsing a plugin config file is linear in its number of tables: 1k, 10k
//! and 100k `[plugins.*]` tables, each beside the same text parsed by
//! `toml` alone into a `toml::Table` (the baseline, in the same run).
//!
//! ```text
//! cargo bench -p tony-core --bench config_file
//! ```
//!
//! Linear means `tony / toml` stays flat as the file grows (the line numbers
//! of the tables were once recomputed from the start for each table:
//! quadratic).

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use tony_core::PluginConfigFile;

fn file_of(tables: usize) -> String {
    let mut text = String::new();
    for i in 0..tables {
        text.push_str(&format!(
            "[plugins.p{i}]\ngreeting = \"hello {i}\"\nwidth = {i}\n\n"
        ));
    }
    text
}

fn parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("config_file_parse");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    for tables in [1_000, 10_000, 100_000] {
        let text = file_of(tables);
        g.bench_with_input(BenchmarkId::new("tony", tables), &text, |b, text| {
            b.iter(|| PluginConfigFile::parse(black_box(text.clone()), "plugins.toml").unwrap());
        });
        g.bench_with_input(
            BenchmarkId::new("toml_baseline", tables),
            &text,
            |b, text| {
                b.iter(|| black_box(text).parse::<toml::Table>().unwrap());
            },
        );
    }
    g.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
