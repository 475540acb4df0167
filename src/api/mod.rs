//! Step 7, the HTTP shell over the dataset. One file per resource, each with its `routes()`:
//! [`collections`] (OGC API Features), [`areas`], [`index`] (index, ranking, method),
//! [`profile`] (an area against its gemeente), [`charts`], [`changes`] (fixed classes, change map), [`interventions`], [`exports`], [`briefing`] (the wethouder's page),
//! [`users`] (accounts for a beheerder), [`openapi`]; the map
//! app's files from an allow-list ([`statics`]). DuckDB work runs in `spawn_blocking`.

pub mod areas;
pub mod auth;
pub mod briefing;
pub mod changes;
pub mod charts;
pub mod collections;
pub mod exports;
pub mod index;
pub mod interventions;
pub mod openapi;
pub mod problem;
pub mod profile;
pub mod query;
pub mod regions;
pub mod route;
pub mod statics;
pub mod users;

use crate::dataset::Dataset;
use axum::http::{header, HeaderName, HeaderValue, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use problem::ApiError;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

/// The API's major.minor.patch, sent as `API-Version` on every response.
pub const API_VERSION: &str = "1.0.0";

/// Shared state: the database path and the dataset being served.
#[derive(Clone)]
pub struct AppState {
    pub db: PathBuf,
    current: Arc<RwLock<Option<Arc<Dataset>>>>,
    stamp: Arc<RwLock<Option<(SystemTime, u64)>>>,
    pub web: PathBuf,
    /// `Host` values the server answers to; links use the request's `Host` only when it is
    /// one of these.
    pub hosts: Arc<Vec<String>>,
    /// Scheme and authority for links otherwise (`http://127.0.0.1:8080`).
    pub public_url: Arc<String>,
    /// Web origins that may read the API from a browser (CORS); none by default. The OpenAPI
    /// document is readable from anywhere.
    pub cors_origins: Arc<Vec<String>>,
    /// Accounts, sessions and the audit log.
    pub auth: Arc<auth::AuthState>,
    /// Exports being written ([`Limits::exports`]).
    pub export_slots: Arc<tokio::sync::Semaphore>,
}

fn file_stamp(p: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(p).ok()?;
    Some((m.modified().ok()?, m.len()))
}

impl AppState {
    /// State for `db`, loading its newest version now if there is one.
    #[must_use]
    pub fn new(db: &Path, web: PathBuf) -> Self {
        let s = Self {
            db: db.to_path_buf(),
            current: Arc::default(),
            stamp: Arc::default(),
            web,
            auth: Arc::new(auth::AuthState::new(db)),
            export_slots: Arc::new(tokio::sync::Semaphore::new(Limits::default().exports)),
            hosts: Arc::new(vec!["127.0.0.1:8080".into(), "localhost:8080".into()]),
            public_url: Arc::new("http://127.0.0.1:8080".into()),
            cors_origins: Arc::new(
                std::env::var("WIJKRADAR_CORS_ORIGINS")
                    .unwrap_or_default()
                    .split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_string())
                    .filter(|o| !o.is_empty())
                    .collect(),
            ),
        };
        s.reload_if_changed();
        s
    }

    /// Lets these web origins read the API from a browser (`https://analyse.example.nl`).
    #[must_use]
    pub fn with_cors(mut self, origins: &[&str]) -> Self {
        self.cors_origins = Arc::new(origins.iter().map(|o| (*o).to_string()).collect());
        self
    }

    /// Answers to `addr` (and `localhost` on its port) and, when given, links to
    /// `public_url` (`https://wijkradar.example.nl`) for any other `Host`.
    #[must_use]
    pub fn with_address(mut self, addr: &str, public_url: Option<&str>) -> Self {
        let mut hosts = vec![addr.to_string()];
        if let Some((_, port)) = addr.rsplit_once(':') {
            hosts.push(format!("localhost:{port}"));
            hosts.push(format!("127.0.0.1:{port}"));
        }
        let public = public_url.map_or_else(
            || format!("http://{addr}"),
            |u| u.trim_end_matches('/').to_string(),
        );
        if let Some(h) = public.split_once("://").map(|(_, h)| h.to_string()) {
            hosts.push(h);
        }
        self.hosts = Arc::new(hosts);
        self.public_url = Arc::new(public);
        self
    }

    /// Reloads the dataset when the file was replaced (after an ingest). A failed load keeps
    /// serving the previous dataset.
    pub fn reload_if_changed(&self) -> bool {
        let stamp = file_stamp(&self.db);
        if stamp.is_none()
            || *self
                .stamp
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                == stamp
        {
            return false;
        }
        match Dataset::open(&self.db, 4) {
            Ok(ds) => {
                tracing::info!(
                    version = ds.version,
                    units = ds.units.len(),
                    "dataset loaded"
                );
                *self
                    .current
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(ds));
                *self
                    .stamp
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = stamp;
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not load the new database; still serving the previous dataset");
                false
            }
        }
    }

    /// The dataset being served.
    ///
    /// # Errors
    /// [`ApiError::NoData`] before the first ingest.
    pub fn dataset(&self) -> Result<Arc<Dataset>, ApiError> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .ok_or(ApiError::NoData)
    }
}

async fn common_headers(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request<axum::body::Body>,
    next: Next,
) -> Response {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(str::to_string);
    let https = req
        .headers()
        .get("x-forwarded-proto")
        .is_some_and(|p| p == "https")
        || state.public_url.starts_with("https://");
    let mut res = next.run(req).await;
    if res.status() == axum::http::StatusCode::METHOD_NOT_ALLOWED
        && !res.headers().contains_key(header::CONTENT_TYPE)
    {
        res = method_not_allowed(&method, res);
    }
    let h = res.headers_mut();
    h.insert(
        HeaderName::from_static("api-version"),
        HeaderValue::from_static(API_VERSION),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; script-src 'self'; img-src 'self' data: blob: https:; style-src 'self' 'unsafe-inline'; worker-src 'self' blob:; connect-src 'self' https:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"),
    );
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    // CORS: the OpenAPI document for anyone; the data only for configured origins.
    if path == "/v1/openapi.json" {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    } else if path.starts_with("/v1") {
        if let Some(o) = origin.filter(|o| state.cors_origins.iter().any(|x| x == o)) {
            if let Ok(v) = HeaderValue::from_str(&o) {
                h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
            }
        }
        h.append(header::VARY, HeaderValue::from_static("origin"));
    }
    res
}

/// Every route of the application, resource by resource: the one definition from which the
/// router and the OpenAPI document are built.
#[must_use]
pub fn routes() -> Vec<route::Route> {
    let mut all = collections::routes();
    all.extend(auth::routes());
    all.extend(users::routes());
    all.extend(areas::routes());
    all.extend(profile::routes());
    all.extend(charts::routes());
    all.extend(changes::routes());
    all.extend(index::routes());
    all.extend(interventions::routes());
    all.extend(exports::routes());
    all.extend(briefing::routes());
    all.extend(regions::routes());
    all.extend(openapi::routes());
    all
}

/// Bounds on the work the server takes on at once.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Requests handled at once; more are refused at once with 503 and `Retry-After`.
    pub concurrency: usize,
    /// Longest a request may take before it is answered with 503.
    pub timeout: std::time::Duration,
    /// Largest request body (only `POST /v1/interventions` takes one).
    pub body_bytes: usize,
    /// Exports written at once: each holds a thread until its client has read all but the
    /// last half megabyte (or read nothing for 30 s); more get 503 with `Retry-After`.
    pub exports: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            concurrency: 256,
            timeout: std::time::Duration::from_secs(30),
            body_bytes: 16 * 1024,
            exports: 8,
        }
    }
}

/// Answers a request refused by [`Limits`]: 503 problem+json with `Retry-After`.
async fn overloaded(err: tower::BoxError) -> Response {
    let (detail, status) = if err.is::<tower::timeout::error::Elapsed>() {
        (
            "Het antwoord duurde te lang; probeer het zo opnieuw.",
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
        )
    } else if err.is::<tower::load_shed::error::Overloaded>() {
        (
            "De server is even te druk; probeer het over een seconde opnieuw.",
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
        )
    } else {
        tracing::error!(error = %err, "request failed");
        (
            "Er ging iets mis op de server; de fout is gelogd.",
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        )
    };
    let body = serde_json::json!({"type": "about:blank", "title": "Niet beschikbaar", "status": status.as_u16(), "detail": detail});
    (
        status,
        [
            (header::CONTENT_TYPE, "application/problem+json"),
            (header::RETRY_AFTER, "1"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// The whole application, with the default [`Limits`].
pub fn app(state: AppState) -> Router {
    app_with(state, Limits::default())
}

/// The whole application.
pub fn app_with(mut state: AppState, l: Limits) -> Router {
    state.export_slots = Arc::new(tokio::sync::Semaphore::new(l.exports));
    let web = state.web.clone();
    let mut api = Router::new();
    for r in routes() {
        let access = (r.access, r.write);
        let check = axum::middleware::from_fn_with_state(
            state.clone(),
            move |st: axum::extract::State<AppState>,
                  req: Request<axum::body::Body>,
                  next: Next| { auth::require(st, access, req, next) },
        );
        api = api.route(r.path, r.handler.route_layer(check));
    }
    api.with_state(state.clone())
        .merge(statics::router(&web))
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(l.body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        // Load shedding, a concurrency limit and a timeout: a request beyond the limit or
        // over time gets 503 with Retry-After at once, never a queue that grows.
        .layer(
            tower::ServiceBuilder::new()
                .layer(axum::error_handling::HandleErrorLayer::new(overloaded))
                .load_shed()
                .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
                    l.concurrency,
                ))
                .timeout(l.timeout),
        )
        .layer(axum::middleware::from_fn_with_state(state, common_headers))
        .layer(tower_http::compression::CompressionLayer::new())
}

/// The router's bare 405 as problem+json, as every other refusal of the API is. (Its `Allow`
/// header is added by the router after this layer has run, so the text points to it.)
fn method_not_allowed(method: &axum::http::Method, res: Response) -> Response {
    let (mut parts, _) = res.into_parts();
    let body = serde_json::json!({
        "type": "about:blank", "title": "Methode niet toegestaan", "status": 405,
        "detail": format!("{method} kan hier niet; de kop Allow noemt de methoden die wel kunnen."),
    });
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body.to_string()))
}

/// Unknown URLs: 404 problem+json. `/v1/` (where OpenAPI's path `/` under the server `/v1`
/// leads) is sent to the landing page; other methods there get 405.
async fn not_found(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    if uri.path() == "/v1/" {
        return if method == axum::http::Method::GET || method == axum::http::Method::HEAD {
            axum::response::Redirect::permanent("/v1").into_response()
        } else {
            (
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                [(header::ALLOW, "GET, HEAD")],
            )
                .into_response()
        };
    }
    ApiError::NotFound(
        "Deze URL bestaat niet (let op: URL's eindigen zonder schuine streep).".into(),
    )
    .into_response()
}

/// The default location of the frontend: `web/` beside the crate.
#[must_use]
pub fn default_web_dir() -> PathBuf {
    let here = PathBuf::from("web");
    if here.join("index.html").exists() {
        return here;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web")
}

/// Serves until Ctrl-C, reloading the dataset when the database file is replaced.
///
/// # Errors
/// When the address cannot be bound.
/// The certificate and key of `WIJKRADAR_TLS_CERT` and `WIJKRADAR_TLS_KEY` (PEM files): with
/// both, the server speaks HTTPS itself (rustls); with neither, HTTP (behind a proxy that
/// terminates TLS).
///
/// # Errors
/// One of the two without the other.
pub fn tls_from_env() -> anyhow::Result<Option<(PathBuf, PathBuf)>> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    match (var("WIJKRADAR_TLS_CERT"), var("WIJKRADAR_TLS_KEY")) {
        (Some(c), Some(k)) => Ok(Some((c, k))),
        (None, None) => Ok(None),
        _ => anyhow::bail!("TLS needs both WIJKRADAR_TLS_CERT and WIJKRADAR_TLS_KEY (PEM files)"),
    }
}

pub fn serve_blocking(db: &Path, addr: &str, web: Option<PathBuf>) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let web = web.unwrap_or_else(default_web_dir);
        if !web.join("node_modules/maplibre-gl/dist/maplibre-gl.js").exists() {
            tracing::warn!("MapLibre GL is not installed: run `npm ci --prefix web` (the README's run command does)");
        }
        let tls = tls_from_env()?;
        crate::auth::sso::SsoConfig::from_env().map_err(anyhow::Error::msg)?;
        let public = std::env::var("WIJKRADAR_PUBLIC_URL")
            .ok()
            .or_else(|| tls.as_ref().map(|_| format!("https://{addr}")));
        let state = tokio::task::spawn_blocking({
            let db = db.to_path_buf();
            move || AppState::new(&db, web)
        })
        .await?
        .with_address(addr, public.as_deref());
        let watcher = state.clone();
        let auth_busy = Arc::new(std::sync::atomic::AtomicBool::new(false));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                // The dataset and the accounts reload apart: the accounts file is shared with
                // the audit writer, which may hold it for a while under load, and a new
                // dataset must not wait for that (measured with scripts/soak.sh).
                let s = watcher.clone();
                if !auth_busy.swap(true, std::sync::atomic::Ordering::AcqRel) {
                    let busy = auth_busy.clone();
                    let a = s.auth.clone();
                    tokio::task::spawn_blocking(move || {
                        a.reload_if_changed();
                        busy.store(false, std::sync::atomic::Ordering::Release);
                    });
                }
                let _ = tokio::task::spawn_blocking(move || s.reload_if_changed()).await;
            }
        });
        let scheme = if tls.is_some() { "https" } else { "http" };
        let gemeenten: Vec<String> = state
            .dataset()
            .map(|ds| {
                ds.level_units(crate::spatial::Level::Gemeente)
                    .iter()
                    .map(|&g| ds.units[g].code.clone())
                    .collect()
            })
            .unwrap_or_default();
        let started = started_line(&format!("{scheme}://{addr}"), &gemeenten);
        if let Some((cert, key)) = tls {
            // rustls takes its one compiled-in provider (ring) by itself.
            let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key)
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "TLS: cannot read the certificate {} or key {}: {e}",
                        cert.display(),
                        key.display()
                    )
                })?;
            let at = tokio::net::lookup_host(addr)
                .await?
                .next()
                .ok_or_else(|| anyhow::anyhow!("cannot resolve {addr}"))?;
            let handle = axum_server::Handle::new();
            let h = handle.clone();
            tokio::spawn(async move {
                let _ = tokio::signal::ctrl_c().await;
                h.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
            });
            let server = axum_server::bind_rustls(at, config).handle(handle);
            println!("{started}");
            server.serve(app(state).into_make_service()).await?;
            return Ok(());
        }
        let listener = tokio::net::TcpListener::bind(addr).await?;
        println!("{started}");
        axum::serve(listener, app(state)).with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
        Ok(())
    })
}

/// The line the server prints when it listens: where the map, the API and the briefings are.
/// A few gemeenten get their briefing links each; a dataset of many (a region, the whole
/// country) gets the pattern, the count and one example, not hundreds of links on one line.
fn started_line(base: &str, gemeenten: &[String]) -> String {
    let briefing = match gemeenten {
        [] => format!("{base}/briefing/{{gemeente}}"),
        few if few.len() <= 3 => few
            .iter()
            .map(|g| format!("{base}/briefing/{g}"))
            .collect::<Vec<_>>()
            .join(", "),
        many => format!(
            "{base}/briefing/{{gemeente}} voor elk van de {} gemeenten, bijvoorbeeld {base}/briefing/{}",
            many.len(),
            many[0]
        ),
    };
    format!("Wijkradar draait op {base}  (API: {base}/v1; briefing: {briefing})")
}

#[cfg(test)]
mod tests {
    use super::started_line;

    #[test]
    fn the_start_line_lists_a_few_briefings_and_summarises_many() {
        let few: Vec<String> = vec!["GM0983".into(), "GM0392".into()];
        assert_eq!(
            started_line("http://127.0.0.1:8080", &few),
            "Wijkradar draait op http://127.0.0.1:8080  (API: http://127.0.0.1:8080/v1; \
             briefing: http://127.0.0.1:8080/briefing/GM0983, http://127.0.0.1:8080/briefing/GM0392)"
        );
        let many: Vec<String> = (0..342).map(|i| format!("GM{i:04}")).collect();
        let line = started_line("http://h", &many);
        assert!(
            line.ends_with(
                "briefing: http://h/briefing/{gemeente} voor elk van de 342 gemeenten, \
                 bijvoorbeeld http://h/briefing/GM0000)"
            ),
            "{line}"
        );
        assert!(line.len() < 200, "one short line: {line}");
    }
}
