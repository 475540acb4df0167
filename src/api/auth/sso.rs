//! Single sign-on: the OpenID Connect authorization code flow with PKCE, the server as the
//! client (`openidconnect`). The browser only carries the provider's one-time code back; the
//! tokens stay on the server, which verifies the ID token (signature against the provider's
//! keys, issuer, audience, expiry, nonce), maps its claims to roles ([`crate::auth::sso`]),
//! and starts the same session as a local login.
//!
//! - `GET /login/sso?next=/…` sends the browser to the provider with a fresh state, nonce and
//!   PKCE challenge; the state is also set in a short-lived cookie, so that a code brought
//!   back by another browser (login CSRF) is refused.
//! - `GET /login/sso/callback?code=…&state=…` finishes the sign-in.

use super::*;
use crate::auth::sso::{self as claims_map, SsoConfig};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    Scope as OidcScope, TokenResponse,
};

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A sign-in on its way through the provider.
struct Pending {
    verifier: String,
    nonce: String,
    next: String,
    started: Instant,
}

/// The provider's settings, its discovered metadata and the sign-ins under way.
pub struct Sso {
    pub config: SsoConfig,
    http: openidconnect::reqwest::Client,
    /// The client from the provider's discovery document, read again after an hour (new
    /// signing keys).
    client: tokio::sync::Mutex<Option<(Arc<Client>, Instant)>>,
    pending: Mutex<HashMap<String, Pending>>,
}

/// A sign-in must come back within this time.
const FLOW_TTL: Duration = Duration::from_secs(600);
/// At most this many sign-ins under way; the oldest go first.
const MAX_PENDING: usize = 10_000;
const FLOW_COOKIE: &str = "wijkradar-sso";

impl Sso {
    /// # Errors
    /// The HTTP client cannot be built.
    pub fn new(config: SsoConfig) -> Result<Self, String> {
        let http = openidconnect::reqwest::Client::builder()
            // No redirects: a provider must not send the server elsewhere (SSRF).
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            config,
            http,
            client: tokio::sync::Mutex::new(None),
            pending: Mutex::default(),
        })
    }

    async fn client(&self, redirect: &str) -> Result<Arc<Client>, String> {
        let mut c = self.client.lock().await;
        if let Some((client, at)) = c.as_ref() {
            if at.elapsed() < Duration::from_secs(3600) {
                return Ok(client.clone());
            }
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone()).map_err(|e| e.to_string())?;
        let meta = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| format!("{e}"))?;
        let client = CoreClient::from_provider_metadata(
            meta,
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(self.config.client_secret.clone())),
        )
        .set_redirect_uri(RedirectUrl::new(redirect.to_string()).map_err(|e| e.to_string())?);
        let client = Arc::new(client);
        *c = Some((client.clone(), Instant::now()));
        Ok(client)
    }

    fn remember(&self, state: String, p: Pending) {
        let mut m = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        m.retain(|_, p| p.started.elapsed() < FLOW_TTL);
        if m.len() >= MAX_PENDING {
            if let Some(k) = m
                .iter()
                .min_by_key(|(_, p)| p.started)
                .map(|(k, _)| k.clone())
            {
                m.remove(&k);
            }
        }
        m.insert(state, p);
    }

    fn take(&self, state: &str) -> Option<Pending> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(state)
            .filter(|p| p.started.elapsed() < FLOW_TTL)
    }
}

fn redirect_uri(state: &AppState) -> String {
    format!("{}/login/sso/callback", state.public_url)
}

fn flow_cookie(secure: bool, value: &str, keep: bool) -> HeaderValue {
    let flags = if secure { "; Secure" } else { "" };
    let age = if keep { "; Max-Age=600" } else { "; Max-Age=0" };
    // Lax: the provider's redirect back is a top-level navigation from another site.
    HeaderValue::from_str(&format!(
        "{FLOW_COOKIE}={value}; Path=/login/sso; HttpOnly; SameSite=Lax{flags}{age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn refused(state: &AppState, status: StatusCode, msg: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        pages::login_html(state, "/", Some(msg)),
    )
        .into_response()
}

/// The provider, or a 404 when single sign-on is not configured.
fn configured(state: &AppState) -> Result<Arc<Sso>, ApiError> {
    state
        .auth
        .sso
        .clone()
        .ok_or_else(|| ApiError::NotFound("single sign-on is niet ingesteld".into()))
}

/// `GET /login/sso`
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let sso = match configured(&state) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let q = Query::parse(q.as_deref(), &["next"]).ok();
    let next = safe_next(q.as_ref().and_then(|q| q.get("next")));
    let client = match sso.client(&redirect_uri(&state)).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(issuer = %sso.config.issuer, error = %e, "single sign-on: the provider's discovery failed");
            return refused(
                &state,
                StatusCode::BAD_GATEWAY,
                &format!(
                    "De aanmelddienst ({}) is nu niet bereikbaar. Probeer het later opnieuw, of meld u aan met uw Wijkradar-wachtwoord.",
                    sso.config.label
                ),
            );
        }
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(OidcScope::new("profile".into()))
        .add_scope(OidcScope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    sso.remember(
        csrf.secret().clone(),
        Pending {
            verifier: verifier.secret().clone(),
            nonce: nonce.secret().clone(),
            next,
            started: Instant::now(),
        },
    );
    let mut r = Redirect::to(url.as_str()).into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        flow_cookie(https(&state, &headers), csrf.secret(), true),
    );
    r
}

/// The payload of a compact JWT, as JSON (the token's signature is checked before).
fn payload(jwt: &str) -> Option<Value> {
    use base64::Engine;
    let part = jwt.split('.').nth(1)?;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&raw).ok()
}

/// `GET /login/sso/callback`
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let sso = match configured(&state) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let auth = state.auth.clone();
    let label = sso.config.label.clone();
    let fail = |why: &str, msg: &str| {
        auth.audit
            .record(Event::new("onbekend", "login-mislukt", "/login/sso", why));
        refused(&state, StatusCode::UNAUTHORIZED, msg)
    };
    // Providers add parameters of their own (`session_state`, `iss`): only these are read.
    let q: HashMap<String, String> =
        openidconnect::url::form_urlencoded::parse(q.as_deref().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let get = |k: &str| q.get(k).map(String::as_str);
    if let Some(err) = get("error") {
        return fail(
            &format!("sso: {}", err.chars().take(60).collect::<String>()),
            &format!(
                "Aanmelden bij {label} is afgebroken of geweigerd ({}).",
                err.chars().take(60).collect::<String>()
            ),
        );
    }
    let (Some(code), Some(st)) = (get("code"), get("state")) else {
        return fail(
            "sso: geen code",
            "Het antwoord van de aanmelddienst mist de code of de state.",
        );
    };
    if cookie_value(&headers, FLOW_COOKIE) != Some(st) {
        return fail(
            "sso: state hoort niet bij deze browser",
            "Deze aanmelding is niet in deze browser begonnen. Begin opnieuw.",
        );
    }
    let Some(p) = sso.take(st) else {
        return fail(
            "sso: onbekende of verlopen state",
            "Deze aanmelding is verlopen. Begin opnieuw.",
        );
    };
    let client = match sso.client(&redirect_uri(&state)).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "single sign-on: discovery failed");
            return fail(
                "sso: aanmelddienst onbereikbaar",
                &format!("De aanmelddienst ({label}) is nu niet bereikbaar."),
            );
        }
    };
    let request = match client.exchange_code(AuthorizationCode::new(code.to_string())) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "single sign-on: the provider names no token endpoint");
            return fail(
                "sso: geen token-endpoint",
                "De aanmelddienst is niet goed ingesteld.",
            );
        }
    };
    let tokens = match request
        .set_pkce_verifier(PkceCodeVerifier::new(p.verifier))
        .request_async(&sso.http)
        .await
    {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "single sign-on: the code exchange failed");
            return fail(
                "sso: code geweigerd",
                "De aanmelddienst weigerde de aanmelding. Begin opnieuw.",
            );
        }
    };
    let Some(id_token) = tokens.id_token() else {
        return fail("sso: geen id-token", "De aanmelddienst gaf geen ID-token.");
    };
    let verified = match id_token.claims(&client.id_token_verifier(), &Nonce::new(p.nonce)) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "single sign-on: the ID token did not verify");
            return fail(
                "sso: id-token ongeldig",
                "Het ID-token van de aanmelddienst is ongeldig.",
            );
        }
    };
    let subject = verified.subject().as_str().to_string();
    let issuer = verified.issuer().as_str().to_string();
    let claims = payload(&id_token.to_string()).unwrap_or(Value::Null);
    let grants = claims_map::grants(
        &claims,
        &sso.config.roles_claim,
        crate::regions::Regions::builtin(),
    );
    let name = claims_map::user_name(&claims, &subject);
    if grants.is_empty() {
        auth.audit.record(Event::new(
            &name,
            "login-mislukt",
            "/login/sso",
            "sso: geen rol in wijkradar",
        ));
        return refused(
            &state,
            StatusCode::FORBIDDEN,
            &format!(
                "U bent aangemeld bij {label}, maar uw account heeft daar geen rol in Wijkradar. Vraag uw beheerder om een rol (bijvoorbeeld adviseur:GM0983)."
            ),
        );
    }
    let made = tokio::task::spawn_blocking({
        let auth = auth.clone();
        let grants = grants.clone();
        move || {
            let r = auth.accounts.sso_user(&issuer, &subject, &name, &grants);
            auth.reload();
            r
        }
    })
    .await;
    let (id, epoch, disabled) = match made {
        Ok(Ok(u)) => u,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "single sign-on: the account could not be stored");
            return refused(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                "Uw account kon niet worden vastgelegd. Probeer het opnieuw.",
            );
        }
        Err(_) => {
            return refused(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                "Uw account kon niet worden vastgelegd. Probeer het opnieuw.",
            );
        }
    };
    let user = auth
        .directory()
        .users
        .get(&id)
        .map_or_else(String::new, |u| u.name.clone());
    let gemeenten: Vec<String> = grants.iter().map(|(_, g)| g.clone()).collect();
    if disabled {
        auth.audit.record(
            Event::new(
                &user,
                "login-mislukt",
                "/login/sso",
                "gebruiker uitgeschakeld",
            )
            .in_gemeenten(gemeenten),
        );
        return refused(
            &state,
            StatusCode::FORBIDDEN,
            "Uw Wijkradar-account is uitgeschakeld. Neem contact op met uw beheerder.",
        );
    }
    let cookie = auth.start_session(id, epoch);
    auth.audit.record(
        Event::new(&user, "login", "/login/sso", "ok")
            .in_gemeenten(gemeenten)
            .detail(format!("single sign-on ({})", sso.config.issuer)),
    );
    let secure = https(&state, &headers);
    let next = html_escape(&p.next);
    // A page that moves on by itself rather than a redirect: the SameSite=Strict session
    // cookie is not sent on a redirect chain that a provider on another site started.
    let mut r = (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!(
            "<!doctype html><html lang=\"nl\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"0;url={next}\"><title>Aangemeld – Wijkradar</title></head><body><p>U bent aangemeld. <a href=\"{next}\">Verder naar Wijkradar</a></p></body></html>"
        ),
    )
        .into_response();
    r.headers_mut()
        .append(header::SET_COOKIE, set_cookie(secure, &cookie, true));
    r.headers_mut()
        .append(header::SET_COOKIE, flow_cookie(secure, "", false));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_of_a_jwt_is_read() {
        use base64::Engine;
        let b = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let jwt = format!(
            "{}.{}.sig",
            b("{\"alg\":\"RS256\"}"),
            b("{\"sub\":\"a\",\"roles\":[\"adviseur:GM0983\"]}")
        );
        assert_eq!(payload(&jwt).unwrap()["roles"][0], "adviseur:GM0983");
        assert!(payload("garbage").is_none());
    }

    #[test]
    fn sign_ins_under_way_stay_within_their_bound_and_expire() {
        let sso = Sso::new(SsoConfig {
            issuer: "http://127.0.0.1:9".into(),
            client_id: "c".into(),
            client_secret: "s".into(),
            roles_claim: "roles".into(),
            label: "x".into(),
        })
        .unwrap();
        let pending = |started| Pending {
            verifier: String::new(),
            nonce: String::new(),
            next: "/".into(),
            started,
        };
        // An expired sign-in is gone at the next one; a flood keeps at most MAX_PENDING.
        let expired = Instant::now()
            .checked_sub(FLOW_TTL + Duration::from_secs(1))
            .expect("a clock that has run for ten minutes");
        sso.remember("oud".into(), pending(expired));
        for i in 0..MAX_PENDING + 100 {
            sso.remember(format!("s{i}"), pending(Instant::now()));
        }
        assert_eq!(sso.pending.lock().unwrap().len(), MAX_PENDING);
        assert!(sso.take("oud").is_none());
        assert!(sso.take("s0").is_none(), "the oldest went first");
        assert!(sso.take(&format!("s{}", MAX_PENDING + 99)).is_some());
        assert!(
            sso.take(&format!("s{}", MAX_PENDING + 99)).is_none(),
            "used once"
        );
    }

    #[test]
    fn the_flow_cookie_is_lax_httponly_and_scoped_to_the_sign_in() {
        let c = flow_cookie(true, "abc", true);
        let c = c.to_str().unwrap();
        assert!(c.contains("SameSite=Lax") && c.contains("HttpOnly") && c.contains("Secure"));
        assert!(c.contains("Path=/login/sso") && c.contains("Max-Age=600"));
    }
}
