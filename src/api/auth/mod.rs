//! Signing in over HTTP and the check on every route.
//!
//! - [`authenticate`] (a layer over the whole app) finds the caller: a personal access token
//!   (`Authorization: Bearer`, or HTTP Basic with the token as password, as GDAL sends it) or
//!   a session cookie; it refuses unknown tokens, limits each caller's request rate and
//!   demands the CSRF token on every writing request made with a session.
//! - [`require`] (a layer on each route, from its [`Access`]) answers 401 to nobody and 403 to
//!   a role that may not; handlers then keep to the caller's gemeenten through [`Caller`].
//! - The login page, sign-out, `/v1/me`, personal access tokens and the audit log's view.
//!
//! Sessions live in the server's memory, keyed by the SHA-256 of the cookie's value: a restart
//! signs everyone out; disabling a user (or a new password, a revoked role) ends their
//! sessions at their next request, since each request is checked against the directory.
//!
//! Size: about 530 lines of code, the rest documentation and tests; the layers and the caller
//! they build share private session state, so they stay in one file.

use super::problem::ApiError;
use super::query::Query;
use super::route::{doc, Access, Route};
use super::AppState;
use crate::auth::accounts::{Accounts, Directory, TokenRefusal};
use crate::auth::audit::{AuditLog, Event};
use crate::auth::{password, Cap, Principal, Scope, TokenScope, Via};
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{delete, get, post};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

mod audit_view;
mod pages;
pub mod sso;
mod tokens;

pub use audit_view::audit;
pub use pages::{login, login_page, logout, me, LoginForm};
pub use tokens::{create_token, revoke_token, tokens, NewToken};

/// Session and rate limits.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// A session ends after this long without a request.
    pub idle: Duration,
    /// And after this long in any case.
    pub absolute: Duration,
    /// Requests per second per caller, on average …
    pub rate: f64,
    /// … with bursts up to this many.
    pub burst: f64,
    /// Failed logins for one user name before each next try must wait (1 s, 2 s, 4 s …, at
    /// most 15 minutes).
    pub free_failures: u32,
}

impl Default for Policy {
    fn default() -> Self {
        let rate = std::env::var("WIJKRADAR_RATE_PER_SECOND")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(50.0);
        Self {
            idle: Duration::from_secs(30 * 60),
            absolute: Duration::from_secs(10 * 3600),
            rate,
            burst: rate * 10.0,
            free_failures: 5,
        }
    }
}

#[derive(Debug, Clone)]
struct SessionData {
    user_id: i32,
    epoch: i32,
    csrf: String,
    started: Instant,
    last: Instant,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Accounts, sessions, failed logins, rate buckets and the audit log of one server.
pub struct AuthState {
    pub accounts: Accounts,
    pub audit: AuditLog,
    dir: RwLock<Arc<Directory>>,
    sessions: Mutex<HashMap<String, SessionData>>,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
    buckets: Mutex<HashMap<String, Bucket>>,
    policy: RwLock<Policy>,
    /// When each (caller, area) drill-down was last recorded.
    views: Mutex<HashMap<(String, String), Instant>>,
    /// Single sign-on, when a provider is configured ([`sso`]).
    pub sso: Option<Arc<sso::Sso>>,
    /// The accounts file as an unknown token last found it ([`file_stamp`]).
    looked: Mutex<Option<FileStamp>>,
    /// Per refused token's user (or `onbekend`) and reason: when a refusal was last
    /// recorded, and how many came since without a line of their own.
    denials: Mutex<HashMap<(String, String), (Instant, u64)>>,
}

/// A refused token (per user and reason) is recorded at most once per this period; the
/// next line counts the ones in between. A flood of forged tokens (tens of thousands a
/// second) would otherwise queue as many audit lines, hold the accounts file for minutes
/// and delay every change of users and tokens, revocations included.
const DENIAL_EVERY: Duration = Duration::from_secs(1);

/// Size and modification time of a file and of its write-ahead log.
type FileStamp = [Option<(u64, std::time::SystemTime)>; 2];

/// The accounts file's [`FileStamp`]: it changes whenever another process (the command
/// line) writes users, grants or tokens.
fn file_stamp(path: &std::path::Path) -> FileStamp {
    let one = |p: &std::path::Path| {
        let m = std::fs::metadata(p).ok()?;
        Some((m.len(), m.modified().ok()?))
    };
    let mut wal = path.as_os_str().to_owned();
    wal.push(".wal");
    [one(path), one(std::path::Path::new(&wal))]
}

/// At most this many sessions are kept; the oldest idle ones go first.
const MAX_SESSIONS: usize = 20_000;

impl AuthState {
    /// The accounts and audit log beside the dataset `db`.
    #[must_use]
    pub fn new(db: &std::path::Path) -> Self {
        let accounts = Accounts::beside(db);
        let dir = accounts.directory().unwrap_or_else(|e| {
            tracing::error!(error = %e, "could not read the accounts; nobody can sign in");
            Directory::default()
        });
        Self {
            audit: AuditLog::start(db),
            accounts,
            dir: RwLock::new(Arc::new(dir)),
            sessions: Mutex::default(),
            failures: Mutex::default(),
            buckets: Mutex::default(),
            policy: RwLock::new(Policy::default()),
            views: Mutex::default(),
            looked: Mutex::default(),
            denials: Mutex::default(),
            sso: match crate::auth::sso::SsoConfig::from_env()
                .and_then(|c| c.map(sso::Sso::new).transpose())
            {
                Ok(s) => s.map(Arc::new),
                Err(e) => {
                    tracing::error!(error = %e, "single sign-on is not available");
                    None
                }
            },
        }
    }

    /// Records that `actor` looked at area `target`: once per caller, area and minute, so that
    /// a map clicked through (or a script) does not bury the log in identical lines.
    pub fn record_view(&self, actor: &str, target: &str, gemeente: &str) {
        let now = Instant::now();
        {
            let mut v = self
                .views
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if v.len() > 100_000 {
                v.retain(|_, t| now.duration_since(*t) < Duration::from_secs(60));
                // A flood within one minute (a script over every cell) would keep them all:
                // then the map starts again (at worst a drill-down is recorded twice).
                if v.len() > 100_000 {
                    v.clear();
                }
            }
            let key = (actor.to_string(), target.to_string());
            if v.get(&key)
                .is_some_and(|t| now.duration_since(*t) < Duration::from_secs(60))
            {
                return;
            }
            v.insert(key, now);
        }
        self.audit
            .record(Event::new(actor, "gebied", target, "ok").in_gemeenten([gemeente.to_string()]));
    }

    /// The session and rate limits in force.
    #[must_use]
    pub fn policy(&self) -> Policy {
        *self
            .policy
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Changes the session and rate limits.
    pub fn set_policy(&self, p: Policy) {
        *self
            .policy
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = p;
    }

    /// The directory every request is checked against.
    #[must_use]
    pub fn directory(&self) -> Arc<Directory> {
        self.dir
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Reads the directory again (after a change here or on the command line).
    pub fn reload(&self) {
        match self.accounts.directory() {
            Ok(d) => {
                *self
                    .dir
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(d);
            }
            Err(e) => tracing::error!(error = %e, "could not reload the accounts"),
        }
    }

    /// Reloads when users, grants or tokens changed (the server checks every second).
    /// True when it reloaded.
    pub fn reload_if_changed(&self) -> bool {
        let changed = self
            .accounts
            .generation()
            .is_ok_and(|g| g != self.directory().generation);
        if changed {
            self.reload();
        }
        changed
    }

    /// After an unknown token, when the accounts file changed: reloads the accounts if they
    /// changed and looks the token up again, whoever reloaded. The server's one-second look
    /// may reload between the request's first lookup and this one, which then finds nothing
    /// left to reload; a token made a moment ago is known all the same (seen by hand: 401 for
    /// a fresh token about one time in five while the server was writing its audit log).
    fn look_again_for_token(
        &self,
        secret: &str,
        user: Option<&str>,
    ) -> Result<Principal, (TokenRefusal, Option<String>)> {
        self.reload_if_changed();
        self.token_principal(secret, user)
    }

    /// The caller of a token by the accounts as loaded now.
    fn token_principal(
        &self,
        secret: &str,
        user: Option<&str>,
    ) -> Result<Principal, (TokenRefusal, Option<String>)> {
        self.directory()
            .token_principal(secret, user, crate::period::unix_now())
    }

    /// Records a refused token in the audit log, at most once per user (or `onbekend`) and
    /// reason per [`DENIAL_EVERY`]; the line says how many were refused since the last one.
    fn record_token_denial(&self, who: Option<&str>, path: &str, why: &str) {
        let who = who.unwrap_or("onbekend");
        let now = Instant::now();
        let unrecorded = {
            let mut d = self
                .denials
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if d.len() > 10_000 {
                d.retain(|_, (t, _)| now.duration_since(*t) < DENIAL_EVERY);
                if d.len() > 10_000 {
                    d.clear();
                }
            }
            match d.entry((who.to_string(), why.to_string())) {
                std::collections::hash_map::Entry::Occupied(mut o) => {
                    let e = o.get_mut();
                    if now.duration_since(e.0) < DENIAL_EVERY {
                        e.1 += 1;
                        return;
                    }
                    let n = e.1;
                    *e = (now, 0);
                    n
                }
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert((now, 0));
                    0
                }
            }
        };
        let detail = if unrecorded == 0 {
            why.to_string()
        } else {
            format!("{why} (en {unrecorded} eerder, niet apart vastgelegd)")
        };
        self.audit
            .record(Event::new(who, "geweigerd", path, &detail));
    }

    /// Whether an unknown token should make the server look for changed accounts now: when
    /// the accounts file changed since an unknown token last looked. A token made on the
    /// command line a moment ago is then known at once (the server otherwise looks every
    /// second), while a flood of unknown tokens costs two `stat` calls each.
    fn may_look_for_unknown_token(&self) -> bool {
        let now = file_stamp(&self.accounts.path);
        let mut l = self
            .looked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if l.as_ref() == Some(&now) {
            return false;
        }
        *l = Some(now);
        true
    }

    fn session(&self, cookie: &str) -> Option<(Principal, String)> {
        let key = password::digest(cookie);
        let now = Instant::now();
        let mut s = self
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let d = s.get_mut(&key)?;
        let policy = self.policy();
        if now.duration_since(d.last) > policy.idle
            || now.duration_since(d.started) > policy.absolute
        {
            s.remove(&key);
            return None;
        }
        let Some(p) = self.directory().session_principal(d.user_id, d.epoch) else {
            s.remove(&key);
            return None;
        };
        d.last = now;
        Some((p, d.csrf.clone()))
    }

    fn start_session(&self, user_id: i32, epoch: i32) -> String {
        let cookie = password::secret("");
        let now = Instant::now();
        let mut s = self
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let idle = self.policy().idle;
        s.retain(|_, d| now.duration_since(d.last) <= idle);
        if s.len() >= MAX_SESSIONS {
            if let Some(k) = s.iter().min_by_key(|(_, d)| d.last).map(|(k, _)| k.clone()) {
                s.remove(&k);
            }
        }
        s.insert(
            password::digest(&cookie),
            SessionData {
                user_id,
                epoch,
                csrf: password::secret(""),
                started: now,
                last: now,
            },
        );
        cookie
    }

    fn end_session(&self, cookie: &str) {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&password::digest(cookie));
    }

    /// Whether `key` may make another request now (token bucket).
    fn allow(&self, key: &str) -> Result<(), u64> {
        let now = Instant::now();
        let policy = self.policy();
        let mut b = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if b.len() > 100_000 {
            b.clear();
        }
        let e = b.entry(key.to_string()).or_insert(Bucket {
            tokens: policy.burst,
            at: now,
        });
        e.tokens =
            (e.tokens + now.duration_since(e.at).as_secs_f64() * policy.rate).min(policy.burst);
        e.at = now;
        if e.tokens >= 1.0 {
            e.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - e.tokens) / policy.rate).ceil().max(1.0) as u64)
        }
    }

    /// Seconds to wait before `user` may try again, if any.
    fn backoff(&self, user: &str) -> Option<u64> {
        let f = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (n, at) = f.get(&user.to_lowercase())?;
        let free = self.policy().free_failures;
        if *n < free {
            return None;
        }
        let wait = Duration::from_secs(1u64 << (n - free).min(10)).min(Duration::from_secs(900));
        let gone = at.elapsed();
        (gone < wait).then(|| (wait - gone).as_secs().max(1))
    }

    fn failed(&self, user: &str) {
        let mut f = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if f.len() > 100_000 {
            f.clear();
        }
        let e = f.entry(user.to_lowercase()).or_insert((0, Instant::now()));
        e.0 += 1;
        e.1 = Instant::now();
    }

    fn succeeded(&self, user: &str) {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&user.to_lowercase());
    }
}

/// The caller of a request, as [`authenticate`] found them.
#[derive(Debug, Clone)]
pub struct Caller(pub Arc<Principal>);

/// The CSRF token of the request's session.
#[derive(Debug, Clone)]
struct Csrf(String);

impl Caller {
    /// The gemeenten the caller may read.
    #[must_use]
    pub fn reads(&self) -> Scope {
        Scope::of(&self.0, Cap::Read)
    }

    /// The gemeenten in which the caller may do `cap`.
    #[must_use]
    pub fn scope(&self, cap: Cap) -> Scope {
        Scope::of(&self.0, cap)
    }

    /// How the audit log names the caller.
    #[must_use]
    pub fn actor(&self) -> String {
        self.0.actor()
    }
}

impl axum::extract::FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &AppState,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Self>()
            .cloned()
            .ok_or_else(|| ApiError::Unauthorized(SIGN_IN.into()))
    }
}

const SIGN_IN: &str = "Meld u aan (sessie) of stuur een persoonlijke token (Authorization: Bearer, of Basic met de token als wachtwoord).";

/// The names of the session cookie: `__Host-` (only sent over HTTPS, to this host, path `/`)
/// behind HTTPS, a plain name on `http://localhost` where browsers refuse `__Host-`.
const COOKIE_SECURE: &str = "__Host-wijkradar";
const COOKIE_PLAIN: &str = "wijkradar";

fn https(state: &AppState, headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .is_some_and(|p| p == "https")
        || state.public_url.starts_with("https://")
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    cookie_value(headers, COOKIE_SECURE).or_else(|| cookie_value(headers, COOKIE_PLAIN))
}

/// The session cookie, or (`keep` false) its removal.
fn set_cookie(secure: bool, value: &str, keep: bool) -> HeaderValue {
    let (name, flags) = if secure {
        (COOKIE_SECURE, "; Secure")
    } else {
        (COOKIE_PLAIN, "")
    };
    let age = if keep { "" } else { "; Max-Age=0" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict{flags}{age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `(user, secret)` from `Authorization: Bearer …` or `Basic base64(user:secret)`.
fn credentials(h: &HeaderValue) -> Option<(Option<String>, String)> {
    use base64::Engine;
    let s = h.to_str().ok()?.trim();
    let (scheme, rest) = s.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some((None, rest.trim().to_string()));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()?;
        let raw = String::from_utf8(raw).ok()?;
        let (u, p) = raw.split_once(':')?;
        return Some((Some(u.to_string()), p.to_string()));
    }
    None
}

fn writing(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Finds the caller of every request (token or session), limits their rate, and checks the
/// CSRF token of writing requests made with a session.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let auth = state.auth.clone();
    let headers = req.headers();
    let mut caller: Option<(Principal, Option<String>)> = None;
    if let Some(h) = headers.get(header::AUTHORIZATION) {
        let Some((user, secret)) = credentials(h) else {
            return ApiError::Unauthorized(
                "Authorization: gebruik Bearer <token>, of Basic met de token als wachtwoord."
                    .into(),
            )
            .into_response();
        };
        let mut found = auth.token_principal(&secret, user.as_deref());
        if matches!(found, Err((TokenRefusal::Unknown, _))) && auth.may_look_for_unknown_token() {
            let (a, s, u) = (auth.clone(), secret.clone(), user.clone());
            if let Ok(again) =
                tokio::task::spawn_blocking(move || a.look_again_for_token(&s, u.as_deref())).await
            {
                found = again;
            }
        }
        match found {
            Ok(p) => caller = Some((p, None)),
            Err((why, who)) => {
                auth.record_token_denial(
                    who.as_deref(),
                    req.uri().path(),
                    &format!("token {why:?}").to_lowercase(),
                );
                return ApiError::Unauthorized(
                    "Deze token is onbekend, verlopen of ingetrokken.".into(),
                )
                .into_response();
            }
        }
    } else if let Some(c) = session_cookie(headers) {
        if let Some((p, csrf)) = auth.session(c) {
            caller = Some((p, Some(csrf)));
        }
    }
    if let Some((p, csrf)) = caller {
        let key = match &p.via {
            Via::Token { id, .. } => format!("t:{id}"),
            Via::Session => format!("u:{}", p.user_id),
        };
        if let Err(wait) = auth.allow(&key) {
            return ApiError::TooMany(wait).into_response();
        }
        if let Some(csrf) = &csrf {
            if writing(req.method()) && req.uri().path() != "/login" {
                let sent = req
                    .headers()
                    .get("x-csrf-token")
                    .and_then(|v| v.to_str().ok());
                if sent != Some(csrf.as_str()) {
                    auth.audit.record(
                        Event::new(
                            &p.actor(),
                            "geweigerd",
                            req.uri().path(),
                            "csrf-token ontbreekt",
                        )
                        .in_gemeenten(p.gemeenten(Cap::Read)),
                    );
                    return ApiError::Forbidden(
                        "Dit verzoek mist het CSRF-token van uw sessie (kop X-CSRF-Token, zie /v1/me)."
                            .into(),
                    )
                    .into_response();
                }
            }
            req.extensions_mut().insert(Csrf(csrf.clone()));
        }
        req.extensions_mut().insert(Caller(Arc::new(p)));
    }
    next.run(req).await
}

/// The check of one route: nobody gets 401 (a page for people sends them to the login), a
/// role that may not gets 403 (recorded in the audit log).
pub async fn require(
    State(state): State<AppState>,
    access: (Access, Access),
    req: Request,
    next: Next,
) -> Response {
    let need = if writing(req.method()) {
        access.1
    } else {
        access.0
    };
    if need == Access::Public {
        return next.run(req).await;
    }
    let Some(Caller(p)) = req.extensions().get::<Caller>().cloned() else {
        let path = req.uri().path();
        if !path.starts_with("/v1") && req.method() == Method::GET {
            let next = req
                .uri()
                .path_and_query()
                .map_or("/", axum::http::uri::PathAndQuery::as_str);
            return Redirect::to(&format!(
                "/login?next={}",
                super::collections::urlencode(next)
            ))
            .into_response();
        }
        return ApiError::Unauthorized(SIGN_IN.into()).into_response();
    };
    if let Access::Needs(cap) = need {
        if !p.may(cap) {
            state.auth.audit.record(
                Event::new(
                    &p.actor(),
                    "geweigerd",
                    req.uri().path(),
                    &format!(
                        "{} mag geen {cap:?}",
                        if p.refused_by_token(cap) {
                            "token"
                        } else {
                            "rol"
                        }
                    )
                    .to_lowercase(),
                )
                .in_gemeenten(p.gemeenten(Cap::Read)),
            );
            return ApiError::Forbidden(p.refusal(cap, req.uri().path())).into_response();
        }
    }
    next.run(req).await
}

/// Records a request for data outside the caller's gemeenten and answers as if it did not
/// exist (the answer must not tell that it does).
pub fn out_of_scope(state: &AppState, caller: &Caller, what: &str) -> ApiError {
    state.auth.audit.record(
        Event::new(
            &caller.actor(),
            "geweigerd",
            what,
            "buiten de eigen gemeenten",
        )
        .in_gemeenten(caller.reads().0),
    );
    ApiError::NotFound(format!("'{what}' bestaat niet"))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A path on this site to go to after logging in (never another site). Browsers drop tabs
/// and line breaks from a URL and read a backslash as a slash, so `/<tab>/evil.example` or
/// `/\\evil.example` would lead to another site: a path with any control character, space
/// or backslash is refused, as is one that starts with `//`.
fn safe_next(n: Option<&str>) -> String {
    n.filter(|n| {
        n.starts_with('/')
            && !n.starts_with("//")
            && !n
                .chars()
                .any(|c| c == '\\' || c.is_control() || c.is_whitespace())
    })
    .unwrap_or("/")
    .to_string()
}

/// `/login`, `/login/sso[/callback]`, `/logout`, `/v1/me`, `/v1/tokens`, `/v1/audit`.
pub fn routes() -> Vec<Route> {
    vec![
        Route::new("/login", Access::Public, get(login_page).post(login)).writes(Access::Public),
        Route::new("/login/sso", Access::Public, get(sso::start)),
        Route::new("/login/sso/callback", Access::Public, get(sso::callback)),
        Route::new("/logout", Access::SignedIn, post(logout)).writes(Access::SignedIn),
        Route::new("/v1/me", Access::SignedIn, get(me)).doc("get", doc("getMe", "Wie ben ik: gebruiker, rollen per gemeente, CSRF-token van de sessie", vec![], "Gebruiker")),
        Route::new("/v1/tokens", Access::Needs(Cap::Tokens), get(tokens).post(create_token))
            .writes(Access::Needs(Cap::Tokens))
            .doc("get", doc("getTokens", "Eigen persoonlijke tokens (voor QGIS en GDAL), zonder geheim", vec![], "Tokens"))
            .doc("post", json!({"summary": "Nieuwe persoonlijke token; het geheim wordt één keer getoond", "operationId": "createToken",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["naam"], "additionalProperties": false, "properties": {
                    "naam": {"type": "string", "minLength": 1, "maxLength": 80}, "scope": {"type": "string", "enum": ["lezen", "export"]},
                    "gemeenten": {"type": "array", "items": {"type": "string", "pattern": "^GM[0-9]{4}$"}}, "dagen": {"type": "integer", "minimum": 1, "maximum": 366}}}}}},
                "responses": {"201": {"description": "Aangemaakt", "content": {"application/json": {"schema": {"type": "object"}}}}}})),
        Route::new("/v1/tokens/{id}", Access::Needs(Cap::Tokens), delete(revoke_token))
            .writes(Access::Needs(Cap::Tokens))
            .doc("delete", json!({"summary": "Trek een eigen token in", "operationId": "revokeToken", "parameters": [super::openapi::path_param("id", "Token-id")],
                "responses": {"204": {"description": "Ingetrokken"}}})),
        Route::new("/v1/audit", Access::Needs(Cap::Audit), get(audit)).doc("get", doc("getAudit", "Het auditlog van de eigen gemeenten (beheerder), nieuwste eerst; f=csv voor een bestand", vec![super::openapi::query_param("limit", "max. 10000", json!({"type": "integer"})), super::openapi::query_param("f", "json of csv", json!({"type": "string"}))], "Auditlog")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_logging_in_only_a_path_on_this_site_is_followed() {
        for ok in [
            "/",
            "/v1/me",
            "/#gemeente=GM0983&laag=wijken",
            "/briefing/GM0983?reference=gemeente",
        ] {
            assert_eq!(safe_next(Some(ok)), ok);
        }
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "/ /evil.example",
            "/\u{85}/evil.example",
            "evil.example",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }

    fn len<K, V>(m: &Mutex<HashMap<K, V>>) -> usize {
        m.lock().unwrap().len()
    }

    #[test]
    fn every_map_of_the_sign_in_state_stays_within_its_bound() {
        let dir = tempfile::tempdir().unwrap();
        let a = AuthState::new(&dir.path().join("w.duckdb"));
        // Sessions: at most MAX_SESSIONS, the oldest idle one goes.
        let first = a.start_session(1, 0);
        for _ in 0..MAX_SESSIONS + 50 {
            a.start_session(1, 0);
        }
        assert_eq!(len(&a.sessions), MAX_SESSIONS);
        assert!(
            !a.sessions
                .lock()
                .unwrap()
                .contains_key(&password::digest(&first)),
            "the oldest session stays"
        );
        // Failed logins, rate buckets and drill-downs under a flood of distinct names.
        for i in 0..100_050 {
            let who = format!("x{i}");
            a.failed(&who);
            let _ = a.allow(&who);
        }
        assert!(len(&a.failures) <= 100_001, "{}", len(&a.failures));
        assert!(len(&a.buckets) <= 100_001, "{}", len(&a.buckets));
        // Drill-downs: a minute's flood fills the map (filled directly here, so that the audit
        // log is not written 100,000 times), and the next ones must not grow it further.
        {
            let now = Instant::now();
            let mut v = a.views.lock().unwrap();
            for i in 0..100_001 {
                v.insert(("x".to_string(), format!("BU{i}")), now);
            }
        }
        for i in 0..3 {
            a.record_view("x", &format!("WK{i}"), "GM0983");
        }
        let views = a.views.lock().unwrap().len();
        assert!(views <= 100_001, "{views}");
        a.audit.flush();
    }

    /// The crossing seen by hand: a request finds a fresh token unknown, the server's
    /// one-second look reloads the accounts, and the request's own look then has nothing left
    /// to reload. The token is known all the same.
    #[test]
    fn a_token_is_known_when_another_look_reloaded_first() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("w.duckdb");
        let a = AuthState::new(&db);
        let acc = Accounts::beside(&db);
        acc.add_user("analist", Some("wachtwoord-analist-123"))
            .unwrap();
        acc.grant(
            "analist",
            crate::auth::Role::RiecAnalist,
            &["GM0983".into()],
        )
        .unwrap();
        let uid = acc.directory().unwrap().user_by_name("analist").unwrap().id;
        a.reload();
        let (_, fresh) = acc
            .create_token(uid, "net gemaakt", TokenScope::Lezen, &["GM0983".into()], 7)
            .unwrap();
        assert!(matches!(
            a.token_principal(&fresh, None),
            Err((TokenRefusal::Unknown, _))
        ));
        // The server's own look comes first.
        assert!(a.reload_if_changed());
        assert!(!a.reload_if_changed(), "nothing left to reload");
        assert!(a.look_again_for_token(&fresh, None).is_ok());
        assert!(matches!(
            a.look_again_for_token("wr_onbekend", None),
            Err((TokenRefusal::Unknown, _))
        ));
        a.audit.flush();
    }
}
