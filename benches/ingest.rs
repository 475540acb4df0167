//! End-to-end ingest (read, validate, locate, aggregate, disclosure control, write) of
//! generated Venlo extracts, from Parquet and from CSV.
//!
//! `WIJKRADAR_BENCH_SCALE` sets the demo scale (default 1 ≈ 1.7 M rows; `scripts/bench.sh`
//! uses 7 ≈ 10 M rows). Extracts are generated once into the target directory.

use criterion::{criterion_group, criterion_main, Criterion};
use std::path::PathBuf;
use std::time::Duration;
use wijkradar::{catalogue::Catalogue, demo, ingest, spatial::Boundaries};

/// The allocator the `wijkradar` binary uses (see `src/main.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn extracts(format: demo::Format, scale: f64) -> (Vec<PathBuf>, u64) {
    let dir =
        std::env::temp_dir().join(format!("wijkradar-bench-{format:?}-{scale}").to_lowercase());
    let marker = dir.join("rows.txt");
    if let Ok(n) = std::fs::read_to_string(&marker) {
        let files = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p != &marker)
            .collect();
        return (files, n.trim().parse().unwrap());
    }
    let files = demo::generate(
        &dir,
        &demo::Options {
            scale,
            format,
            ..demo::Options::default()
        },
        &Boundaries::embedded().unwrap(),
        &Catalogue::builtin().unwrap(),
    )
    .unwrap();
    let rows: u64 = files.iter().map(|f| f.1).sum();
    std::fs::write(&marker, rows.to_string()).unwrap();
    (files.into_iter().map(|f| f.0).collect(), rows)
}

fn bench(c: &mut Criterion) {
    let scale: f64 = std::env::var("WIJKRADAR_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let bounds = Boundaries::embedded().unwrap();
    let cat = Catalogue::builtin().unwrap();
    let mut g = c.benchmark_group("ingest");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(20));
    for format in [demo::Format::Parquet, demo::Format::Csv] {
        let (files, rows) = extracts(format, scale);
        g.throughput(criterion::Throughput::Elements(rows));
        g.bench_function(format!("{format:?}/{rows}_rows").to_lowercase(), |b| {
            b.iter_with_setup(
                || tempfile::tempdir().unwrap(),
                |dir| {
                    let s = ingest::ingest(
                        &dir.path().join("b.duckdb"),
                        &files,
                        &cat,
                        &bounds,
                        &ingest::Options::default(),
                    )
                    .unwrap();
                    assert!(s.version.is_some());
                    dir
                },
            );
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
