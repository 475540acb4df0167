//! Serving: one OGC API items page of every Venlo res-9 cell (≈ 1,300 features) built from a
//! warm dataset, the way a request does it (layer cached, GeoJSON written per request).

use criterion::{criterion_group, criterion_main, Criterion};
use wijkradar::api::collections::{items_page, ItemsParams};
use wijkradar::api::query::Query;
use wijkradar::{
    catalogue::Catalogue, dataset::Dataset, demo, ingest, spatial::Boundaries, spatial::Level,
};

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let bounds = Boundaries::embedded().unwrap();
    let cat = Catalogue::builtin().unwrap();
    let files = demo::generate(
        &dir.path().join("x"),
        &demo::Options::default(),
        &bounds,
        &cat,
    )
    .unwrap();
    let db = dir.path().join("b.duckdb");
    ingest::ingest(
        &db,
        &files.into_iter().map(|f| f.0).collect::<Vec<_>>(),
        &cat,
        &bounds,
        &ingest::Options::default(),
    )
    .unwrap();
    let ds = Dataset::open(&db, 2).unwrap();
    let q = Query::parse(Some("limit=10000"), &["limit"]).unwrap();
    let p = ItemsParams::parse(&ds, &q, wijkradar::auth::Scope(vec!["GM0983".into()])).unwrap();
    let first = items_page(&ds, Level::H3_9, &p, "/v1/collections/h3-9/items").unwrap();
    let n = first.matches("\"type\":\"Feature\"").count();
    let mut g = c.benchmark_group("layers");
    g.bench_function(format!("h3-9_items_{n}_features"), |b| {
        b.iter(|| items_page(&ds, Level::H3_9, &p, "/v1/collections/h3-9/items").unwrap())
    });
    g.bench_function("wijken_ranking", |b| {
        b.iter(|| {
            wijkradar::score::ranking(
                &ds,
                "GM0983",
                Level::Wijk,
                ds.periods.len() - 1,
                wijkradar::score::Scope::default(),
            )
            .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
