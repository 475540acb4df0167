//! Shared fixture: the demo extracts (seed 1, Venlo) generated once per test binary and
//! ingested into a DuckDB file in a temporary directory.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use wijkradar::{catalogue::Catalogue, demo, ingest, spatial::Boundaries};

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub extracts: Vec<PathBuf>,
    pub db: PathBuf,
    pub bounds: Boundaries,
    pub cat: Catalogue,
}

pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let f = demo("GM0983", "base.duckdb");
        wijkradar::demo::record_intervention(&f.db).unwrap();
        f
    })
}

/// The demo (seed 1) for one or more gemeenten (`GM0983,GM0392`), generated and ingested
/// into `name` in a temporary directory.
pub fn demo(gemeente: &str, name: &str) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let bounds = Boundaries::embedded().unwrap();
    let cat = Catalogue::builtin().unwrap();
    let files = demo::generate(
        &dir.path().join("extracts"),
        &demo::Options {
            gemeente: gemeente.into(),
            ..demo::Options::default()
        },
        &bounds,
        &cat,
    )
    .unwrap();
    let extracts: Vec<PathBuf> = files.into_iter().map(|f| f.0).collect();
    let db = dir.path().join(name);
    ingest::ingest(&db, &extracts, &cat, &bounds, &ingest::Options::default()).unwrap();
    Fixture {
        dir,
        extracts,
        db,
        bounds,
        cat,
    }
}

/// A private copy of the fixture database.
pub fn copy_db(name: &str) -> (tempfile::TempDir, PathBuf) {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(name);
    std::fs::copy(&f.db, &db).unwrap();
    (dir, db)
}

pub fn sha(p: &Path) -> String {
    wijkradar::store::sha256_file(p).unwrap()
}

pub fn extract(source: &str) -> PathBuf {
    fixture()
        .extracts
        .iter()
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{source}_"))
        })
        .cloned()
        .unwrap()
}
