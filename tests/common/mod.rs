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

/// The user the in-process tests sign in as: beheerder of both demo gemeenten.
pub const TEST_USER: &str = "test-beheerder";

/// `Bearer <token>` of [`TEST_USER`] in the accounts beside `db` (created on first use), and
/// whether it was just created.
pub fn bearer(db: &Path) -> (String, bool) {
    use std::collections::HashMap;
    use std::sync::Mutex;
    use wijkradar::auth::{accounts::Accounts, Role, TokenScope};
    static TOKENS: OnceLock<Mutex<HashMap<PathBuf, String>>> = OnceLock::new();
    let mut m = TOKENS.get_or_init(Mutex::default).lock().unwrap();
    if let Some(t) = m.get(db) {
        return (format!("Bearer {t}"), false);
    }
    let a = Accounts::beside(db);
    let gms = vec!["GM0392".to_string(), "GM0983".to_string()];
    let d = a.directory().unwrap();
    let id = match d.user_by_name(TEST_USER) {
        Some(u) => u.id,
        None => {
            let id = a.add_user(TEST_USER, Some("test-wachtwoord-lang")).unwrap();
            a.grant(TEST_USER, Role::Beheerder, &gms).unwrap();
            id
        }
    };
    let (_, secret) = a
        .create_token(id, "tests", TokenScope::Export, &gms, 30)
        .unwrap();
    m.insert(db.to_path_buf(), secret.clone());
    (format!("Bearer {secret}"), true)
}

/// Limits that the tests' bursts of requests stay inside.
pub fn no_rate_limit(s: &wijkradar::api::AppState) {
    s.auth.set_policy(wijkradar::api::auth::Policy {
        rate: 1e9,
        burst: 1e9,
        ..wijkradar::api::auth::Policy::default()
    });
}

/// The application as [`TEST_USER`] sees it: every request without its own `Authorization`
/// header carries the test user's token (checked by the real middleware against the real
/// accounts file).
pub fn app(s: wijkradar::api::AppState) -> axum::Router {
    app_with(s, wijkradar::api::Limits::default())
}

/// As [`app`], with other limits.
pub fn app_with(s: wijkradar::api::AppState, l: wijkradar::api::Limits) -> axum::Router {
    let (h, fresh) = bearer(&s.db);
    if fresh || s.auth.directory().user_by_name(TEST_USER).is_none() {
        s.auth.reload();
    }
    no_rate_limit(&s);
    wijkradar::api::app_with(s, l).layer(axum::middleware::map_request(
        move |mut req: axum::http::Request<axum::body::Body>| {
            let h = h.clone();
            async move {
                if !req
                    .headers()
                    .contains_key(axum::http::header::AUTHORIZATION)
                    && !req.headers().contains_key(axum::http::header::COOKIE)
                {
                    req.headers_mut().insert(
                        axum::http::header::AUTHORIZATION,
                        axum::http::HeaderValue::from_str(&h).unwrap(),
                    );
                }
                req
            }
        },
    ))
}

/// Signs [`TEST_USER`] in through the login form of `s` and returns the session cookie and the
/// CSRF token from `/v1/me`: what a browser holds.
pub async fn signed_in(s: &wijkradar::api::AppState) -> (String, String) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let (_, fresh) = bearer(&s.db);
    if fresh || s.auth.directory().user_by_name(TEST_USER).is_none() {
        s.auth.reload();
    }
    let res = wijkradar::api::app(s.clone())
        .oneshot(
            axum::http::Request::post("/login")
                .header(
                    axum::http::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(axum::body::Body::from(format!(
                    "gebruiker={TEST_USER}&wachtwoord=test-wachtwoord-lang"
                )))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), axum::http::StatusCode::SEE_OTHER);
    let cookie = res.headers()[axum::http::header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let me = wijkradar::api::app(s.clone())
        .oneshot(
            axum::http::Request::get("/v1/me")
                .header(axum::http::header::COOKIE, &cookie)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let v: serde_json::Value =
        serde_json::from_slice(&me.into_body().collect().await.unwrap().to_bytes()).unwrap();
    (cookie, v["csrf"].as_str().unwrap().to_string())
}

/// The `next` link of an OGC API items page.
#[allow(dead_code, reason = "not every test crate pages")]
pub fn next_link(page: &serde_json::Value) -> String {
    page["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "next")
        .unwrap()["href"]
        .as_str()
        .unwrap()
        .to_string()
}
