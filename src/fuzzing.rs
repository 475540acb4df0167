//! What the fuzz targets run. The `cargo fuzz` targets in `fuzz/` (nightly, `just fuzz`) call
//! these with the fuzzer's bytes; `tests/fuzz_corpus.rs` replays the committed corpus
//! (`fuzz/corpus/`, every crash found included) through the same functions on stable, in the
//! test command. Each returns, whatever the input: bad input is an error, never a panic, a
//! 500 or a hang.
//!
//! - [`Extracts::csv`], [`Extracts::parquet`]: one partner extract, read, validated, located
//!   and aggregated as `wijkradar ingest` does (up to the first bad row).
//! - [`Api::request`]: one `GET` on the whole application over a small demo dataset, signed
//!   in with a token: every route's path and query parsing. It panics (a finding) when the
//!   answer is a 500, or a `/v1` error that is not problem+json.

use crate::catalogue::Catalogue;
use crate::spatial::Boundaries;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// A directory of its own under the system's temporary directory.
fn scratch(what: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let d = std::env::temp_dir().join(format!(
        "wijkradar-fuzz-{what}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("a scratch directory");
    d
}

/// Reads extracts written from fuzzer bytes.
pub struct Extracts {
    cat: Catalogue,
    bounds: Boundaries,
    dir: PathBuf,
    sources: Vec<String>,
}

impl Default for Extracts {
    fn default() -> Self {
        Self::new()
    }
}

impl Extracts {
    /// # Panics
    /// When the shipped catalogue or boundaries do not load.
    #[must_use]
    pub fn new() -> Self {
        let cat = Catalogue::builtin().expect("the shipped catalogue");
        Self {
            sources: cat.sources.iter().map(|s| s.id.clone()).collect(),
            bounds: Boundaries::embedded().expect("the shipped boundaries"),
            dir: scratch("extracts"),
            cat,
        }
    }

    fn read(&self, data: &[u8], ext: &str) -> Result<(), String> {
        let Some((&pick, body)) = data.split_first() else {
            return Err("empty".into());
        };
        let id = &self.sources[usize::from(pick) % self.sources.len()];
        let path = self.dir.join(format!("{id}_fuzz.{ext}"));
        std::fs::write(&path, body).map_err(|e| e.to_string())?;
        let r = crate::ingest::aggregate_files(
            &[path],
            &self.cat,
            &self.bounds,
            crate::ingest::Split::default(),
        );
        r.map(|_| ()).map_err(|e| e.to_string())
    }

    /// The first byte picks the source of the catalogue, the rest is the file.
    ///
    /// # Errors
    /// Why the extract was refused.
    pub fn csv(&self, data: &[u8]) -> Result<(), String> {
        self.read(data, "csv")
    }

    /// As [`Self::csv`], as a Parquet file.
    ///
    /// # Errors
    /// Why the extract was refused.
    pub fn parquet(&self, data: &[u8]) -> Result<(), String> {
        self.read(data, "parquet")
    }
}

impl Drop for Extracts {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The application over a small demo dataset (Venlo at a tenth of its size), with a token.
pub struct Api {
    rt: tokio::runtime::Runtime,
    app: axum::Router,
    bearer: String,
    dir: PathBuf,
}

impl Default for Api {
    fn default() -> Self {
        Self::new()
    }
}

impl Api {
    /// Generates and ingests the demo (a few seconds).
    ///
    /// # Panics
    /// When the demo cannot be made.
    #[must_use]
    pub fn new() -> Self {
        use crate::auth::{accounts::Accounts, Role, TokenScope};
        let dir = scratch("api");
        let cat = Catalogue::builtin().expect("catalogue");
        let bounds = Boundaries::embedded().expect("boundaries");
        let files = crate::demo::generate(
            &dir.join("extracts"),
            &crate::demo::Options {
                scale: 0.1,
                ..crate::demo::Options::default()
            },
            &bounds,
            &cat,
        )
        .expect("demo");
        let db = dir.join("fuzz.duckdb");
        let extracts: Vec<PathBuf> = files.into_iter().map(|f| f.0).collect();
        crate::ingest::ingest(
            &db,
            &extracts,
            &cat,
            &bounds,
            &crate::ingest::Options::default(),
        )
        .expect("ingest");
        let _ = std::fs::remove_dir_all(dir.join("extracts"));
        let a = Accounts::beside(&db);
        let id = a.add_user("fuzz", None).expect("user");
        a.grant("fuzz", Role::Beheerder, &["GM0983".into()])
            .expect("grant");
        let (_, secret) = a
            .create_token(id, "fuzz", TokenScope::Export, &["GM0983".into()], 1)
            .expect("token");
        let state = crate::api::AppState::new(&db, dir.join("web"));
        state.auth.set_policy(crate::api::auth::Policy {
            rate: 1e12,
            burst: 1e12,
            ..crate::api::auth::Policy::default()
        });
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        Self {
            app: crate::api::app(state),
            rt,
            bearer: format!("Bearer {secret}"),
            dir,
        }
    }

    /// `GET` of the first line of `data` (a path and query; `/` is put in front when missing).
    /// Returns the status.
    ///
    /// # Panics
    /// On a 500, or a `/v1` error without a problem+json body: what the fuzzer looks for.
    pub fn request(&self, data: &[u8]) -> Option<u16> {
        use tower::ServiceExt;
        let text = String::from_utf8_lossy(data);
        let line = text.lines().next().unwrap_or("");
        let target = if line.starts_with('/') {
            line.to_string()
        } else {
            format!("/{line}")
        };
        // What hyper would refuse before it reaches the application is not tried.
        let uri: axum::http::Uri = target.parse().ok()?;
        let req = axum::http::Request::get(uri.clone())
            .header(axum::http::header::AUTHORIZATION, &self.bearer)
            .header(axum::http::header::HOST, "127.0.0.1:8080")
            .body(axum::body::Body::empty())
            .ok()?;
        let res = self
            .rt
            .block_on(self.app.clone().oneshot(req))
            .expect("infallible");
        let status = res.status();
        assert!(
            status != axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "500 for {uri}"
        );
        if uri.path().starts_with("/v1") && (status.is_client_error() || status.is_server_error()) {
            let ct = res
                .headers()
                .get(axum::http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            assert!(
                ct.starts_with("application/problem+json"),
                "{status} for {uri} without problem+json ({ct})"
            );
        }
        Some(status.as_u16())
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
