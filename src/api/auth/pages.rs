//! The login page, signing in and out, and `/v1/me`.

use super::*;

pub(super) fn login_html(state: &AppState, next: &str, error: Option<&str>) -> String {
    let err = error.map_or(String::new(), |e| {
        format!("<p class=\"fout\" role=\"alert\">{}</p>", html_escape(e))
    });
    let sso = state.auth.sso.as_ref().map_or(String::new(), |s| {
        format!(
            "<p><a class=\"knop\" href=\"/login/sso?next={}\">Aanmelden met {}</a></p><p class=\"of\">of met een Wijkradar-account:</p>",
            super::super::collections::urlencode(next),
            html_escape(&s.config.label)
        )
    });
    format!(
        r#"<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Aanmelden – Wijkradar</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #f4f5f7; color: #1b1f24; margin: 0; display: grid; place-items: center; min-height: 100vh; }}
main {{ background: #fff; padding: 2rem; border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.15); width: min(22rem, 90vw); }}
h1 {{ font-size: 1.3rem; margin: 0 0 .3rem; }} p {{ margin: .3rem 0 1rem; }}
label {{ display: block; margin: .8rem 0 .2rem; font-weight: 600; }}
input {{ width: 100%; box-sizing: border-box; padding: .5rem; font-size: 1rem; border: 1px solid #8a9099; border-radius: 4px; }}
button {{ margin-top: 1.2rem; width: 100%; padding: .6rem; font-size: 1rem; background: #1f4e79; color: #fff; border: 0; border-radius: 4px; cursor: pointer; }}
button:focus-visible, input:focus-visible {{ outline: 3px solid #f0a500; outline-offset: 2px; }}
.fout {{ background: #fde8e8; border-left: 4px solid #b3261e; padding: .5rem; }}
.klein {{ font-size: .85rem; color: #555; }}
.knop {{ display: block; text-align: center; padding: .6rem; background: #1f4e79; color: #fff; border-radius: 4px; text-decoration: none; }}
.knop:focus-visible {{ outline: 3px solid #f0a500; outline-offset: 2px; }}
.of {{ color: #555; font-size: .9rem; }}
</style></head>
<body><main>
<h1>Wijkradar</h1>
<p>Meld u aan met uw gebruikersnaam en wachtwoord.</p>
{err}
{sso}
<form method="post" action="/login">
<input type="hidden" name="next" value="{next}">
<label for="gebruiker">Gebruikersnaam</label>
<input id="gebruiker" name="gebruiker" autocomplete="username" required autofocus>
<label for="wachtwoord">Wachtwoord</label>
<input id="wachtwoord" name="wachtwoord" type="password" autocomplete="current-password" required>
<button type="submit">Aanmelden</button>
</form>
<p class="klein">U ziet alleen de gemeenten waarvoor u een rol hebt. Elke aanmelding en elk opgevraagd gebied wordt vastgelegd in het auditlog.</p>
</main></body></html>"#,
        next = html_escape(next),
    )
}

/// `GET /login`
pub async fn login_page(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let q = Query::parse(q.as_deref(), &["next"]).ok();
    let next = safe_next(q.as_ref().and_then(|q| q.get("next")));
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        login_html(&state, &next, None),
    )
        .into_response()
}

#[derive(serde::Deserialize)]
pub struct LoginForm {
    gebruiker: String,
    wachtwoord: String,
    #[serde(default)]
    next: Option<String>,
}

/// `POST /login`: a form post from the login page of this site (a post from another origin is
/// refused: login CSRF).
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<axum::Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    // A post that is not the login form (a field missing, not form-encoded) gets the login
    // page back with what to fill in, not axum's plain-text refusal.
    let Ok(axum::Form(f)) = form else {
        return (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            login_html(
                &state,
                "/",
                Some("Vul uw gebruikersnaam en wachtwoord in op dit formulier."),
            ),
        )
            .into_response();
    };
    let next = safe_next(f.next.as_deref());
    let page = |status: StatusCode, msg: &str| {
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            login_html(&state, &next, Some(msg)),
        )
            .into_response()
    };
    if let Some(o) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        let host = o.split_once("://").map_or(o, |(_, h)| h);
        if !state.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
            return page(
                StatusCode::FORBIDDEN,
                "Aanmelden kan alleen vanaf de eigen aanmeldpagina.",
            );
        }
    }
    let auth = state.auth.clone();
    let name = f.gebruiker.trim().to_string();
    if let Some(wait) = auth.backoff(&name) {
        let mut r = page(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("Te veel mislukte pogingen; probeer het over {wait} seconden opnieuw."),
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return r;
    }
    let dir = auth.directory();
    let user = dir.user_by_name(&name).cloned();
    let pw = f.wachtwoord;
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let ok = tokio::task::spawn_blocking(move || password::verify(&pw, hash.as_deref()))
        .await
        .unwrap_or(false);
    match user {
        Some(u) if ok && !u.disabled => {
            auth.succeeded(&name);
            let cookie = auth.start_session(u.id, u.epoch);
            auth.audit.record(
                Event::new(&u.name, "login", "/login", "ok")
                    .in_gemeenten(u.grants.iter().map(|(_, g)| g.clone())),
            );
            let mut r = Redirect::to(&next).into_response();
            r.headers_mut().insert(
                header::SET_COOKIE,
                set_cookie(https(&state, &headers), &cookie, true),
            );
            r
        }
        u => {
            auth.failed(&name);
            let (who, why) = match &u {
                Some(u) if u.disabled => (u.name.as_str(), "gebruiker uitgeschakeld"),
                Some(u) => (u.name.as_str(), "verkeerd wachtwoord"),
                // An unknown name is not written down: it may be a password typed in the
                // wrong field.
                None => ("onbekend", "onbekende gebruiker"),
            };
            auth.audit.record(
                Event::new(who, "login-mislukt", "/login", why).in_gemeenten(
                    u.iter()
                        .flat_map(|u| u.grants.iter().map(|(_, g)| g.clone())),
                ),
            );
            page(
                StatusCode::UNAUTHORIZED,
                "Onbekende gebruiker of verkeerd wachtwoord.",
            )
        }
    }
}

/// `POST /logout`: ends the session on the server.
pub async fn logout(State(state): State<AppState>, caller: Caller, headers: HeaderMap) -> Response {
    if let Some(c) = session_cookie(&headers) {
        state.auth.end_session(c);
    }
    state.auth.audit.record(
        Event::new(&caller.actor(), "logout", "/logout", "ok").in_gemeenten(caller.reads().0),
    );
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(https(&state, &headers), "", false),
    );
    r
}

/// `GET /v1/me`
pub async fn me(caller: Caller, req: Request) -> Json<Value> {
    let p = &caller.0;
    let mut per: std::collections::BTreeMap<&str, Vec<&str>> = std::collections::BTreeMap::new();
    for (r, g) in &p.grants {
        per.entry(g.as_str()).or_default().push(r.id());
    }
    let csrf = req.extensions().get::<Csrf>().map(|c| c.0.clone());
    Json(json!({
        "gebruiker": p.name,
        "rollen": p.roles().iter().map(|r| r.id()).collect::<Vec<_>>(),
        "gemeenten": per,
        "via": match &p.via { Via::Session => "sessie".to_string(), Via::Token { id, scope } => format!("token {id} ({})", scope.id()) },
        "mag": {
            "lezen": p.may(Cap::Read), "briefing": p.may(Cap::Briefing), "export": p.may(Cap::Export),
            "tokens": p.may(Cap::Tokens), "beheer": p.may(Cap::Manage), "audit": p.may(Cap::Audit),
        },
        "csrf": csrf,
    }))
}
