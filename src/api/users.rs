//! Accounts over HTTP for a beheerder: the users of their gemeenten, a new user, a role
//! granted or taken back in their own gemeenten, a user disabled or enabled. What the CLI
//! (`wijkradar user …`) does, kept to the caller's gemeenten, with a session and its CSRF
//! token (a token never manages), and every change in the audit log.

use super::auth::Caller;
use super::openapi::path_param;
use super::problem::ApiError;
use super::route::{doc, Access, Route};
use super::AppState;
use crate::auth::accounts::{AccountError, User};
use crate::auth::audit::Event;
use crate::auth::{Cap, Role};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Json;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// `/v1/users…`.
pub fn routes() -> Vec<Route> {
    let body = |required: Value, properties: Value| json!({"required": true, "content": {"application/json": {"schema": {"type": "object", "required": required, "additionalProperties": false, "properties": properties}}}});
    let grant = || {
        body(
            json!(["rol", "gemeenten"]),
            json!({"rol": {"type": "string", "enum": ["adviseur", "wethouder", "riec-analist", "beheerder"]}, "gemeenten": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^GM[0-9]{4}$"}}}),
        )
    };
    let user = || path_param("naam", "Gebruikersnaam");
    vec![
        Route::new("/v1/users", Access::Needs(Cap::Manage), get(list).post(add))
            .writes(Access::Needs(Cap::Manage))
            .doc("get", doc("getUsers", "Gebruikers met een rol in de eigen gemeenten (beheerder), met alleen die rollen", vec![], "Gebruikers"))
            .doc("post", json!({"summary": "Nieuwe gebruiker (zonder rol); wachtwoord minstens 12 tekens, of geen voor alleen single sign-on", "operationId": "addUser",
                "requestBody": body(json!(["naam"]), json!({"naam": {"type": "string", "minLength": 2, "maxLength": 64}, "wachtwoord": {"type": "string", "minLength": 12}})),
                "responses": {"201": {"description": "Aangemaakt", "content": {"application/json": {"schema": {"type": "object"}}}}}})),
        Route::new("/v1/users/{naam}/grants", Access::Needs(Cap::Manage), post(grant_role).delete(revoke_role))
            .writes(Access::Needs(Cap::Manage))
            .doc("post", json!({"summary": "Geef een rol in eigen gemeenten", "operationId": "grantRole", "parameters": [user()], "requestBody": grant(), "responses": {"200": {"description": "De gebruiker", "content": {"application/json": {"schema": {"type": "object"}}}}}}))
            .doc("delete", json!({"summary": "Neem een rol in eigen gemeenten terug; de sessies van de gebruiker eindigen", "operationId": "revokeRole", "parameters": [user()], "requestBody": grant(), "responses": {"200": {"description": "De gebruiker", "content": {"application/json": {"schema": {"type": "object"}}}}}})),
        Route::new("/v1/users/{naam}/disabled", Access::Needs(Cap::Manage), post(disable).delete(enable))
            .writes(Access::Needs(Cap::Manage))
            .doc("post", json!({"summary": "Zet een gebruiker uit: sessies en tokens houden op", "operationId": "disableUser", "parameters": [user()], "responses": {"200": {"description": "De gebruiker", "content": {"application/json": {"schema": {"type": "object"}}}}}}))
            .doc("delete", json!({"summary": "Zet een gebruiker weer aan", "operationId": "enableUser", "parameters": [user()], "responses": {"200": {"description": "De gebruiker", "content": {"application/json": {"schema": {"type": "object"}}}}}})),
    ]
}

/// A user as a beheerder of `mine` sees them: only the roles in those gemeenten.
fn shown(u: &User, mine: &BTreeSet<String>) -> Value {
    let grants: Vec<Value> = u
        .grants
        .iter()
        .filter(|(_, g)| mine.contains(g))
        .map(|(r, g)| json!({"rol": r.id(), "gemeente": g}))
        .collect();
    json!({"naam": u.name, "uitgeschakeld": u.disabled, "rollen": grants})
}

/// The user by name, if the caller may see them: they hold a role in one of the caller's
/// gemeenten, or none at all (a new user belongs to no gemeente yet). Others are unknown.
fn find(state: &AppState, mine: &BTreeSet<String>, naam: &str) -> Result<User, ApiError> {
    state
        .auth
        .directory()
        .user_by_name(naam)
        .filter(|u| u.grants.is_empty() || u.grants.iter().any(|(_, g)| mine.contains(g)))
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("gebruiker '{naam}' bestaat niet")))
}

/// The audit entry of a change to user `naam`.
fn event(caller: &Caller, naam: &str, what: &str) -> Event {
    Event::new(
        &caller.actor(),
        "gebruiker",
        &format!("gebruiker {naam}"),
        what,
    )
}

fn account_error(e: AccountError) -> ApiError {
    match e {
        AccountError::Invalid(m) => ApiError::BadRequest(m),
        AccountError::NoUser(n) => ApiError::NotFound(format!("gebruiker '{n}' bestaat niet")),
        e => ApiError::Internal(e.to_string()),
    }
}

/// Runs an accounts change off the request path and reloads the directory.
async fn change(
    state: &AppState,
    f: impl FnOnce(&crate::auth::accounts::Accounts) -> Result<(), AccountError> + Send + 'static,
) -> Result<(), ApiError> {
    let auth = state.auth.clone();
    tokio::task::spawn_blocking(move || {
        let r = f(&auth.accounts);
        auth.reload();
        r
    })
    .await?
    .map_err(account_error)
}

/// `GET /v1/users`
pub async fn list(State(state): State<AppState>, caller: Caller) -> Json<Value> {
    let mine = caller.0.gemeenten(Cap::Manage);
    let dir = state.auth.directory();
    let mut users: Vec<&User> = dir
        .users
        .values()
        .filter(|u| u.grants.is_empty() || u.grants.iter().any(|(_, g)| mine.contains(g)))
        .collect();
    users.sort_by(|a, b| a.name.cmp(&b.name));
    Json(
        json!({"gemeenten": mine, "gebruikers": users.iter().map(|u| shown(u, &mine)).collect::<Vec<_>>()}),
    )
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    naam: String,
    wachtwoord: Option<String>,
}

/// `POST /v1/users`
pub async fn add(
    State(state): State<AppState>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let n: NewUser = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("verwacht JSON {{naam, wachtwoord}}: {e}")))?;
    let naam = n.naam.clone();
    change(&state, move |a| {
        a.add_user(&n.naam, n.wachtwoord.as_deref()).map(|_| ())
    })
    .await?;
    state
        .auth
        .audit
        .record(event(&caller, &naam, "aangemaakt").in_gemeenten(caller.0.gemeenten(Cap::Manage)));
    let mine = caller.0.gemeenten(Cap::Manage);
    let u = find(&state, &mine, &naam)?;
    Ok((StatusCode::CREATED, Json(shown(&u, &mine))))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    rol: String,
    gemeenten: Vec<String>,
}

/// The role and gemeenten of a grant body, every gemeente one the caller manages.
fn grant_of(caller: &Caller, body: &[u8]) -> Result<(Role, Vec<String>), ApiError> {
    let g: Grant = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("verwacht JSON {{rol, gemeenten}}: {e}")))?;
    let role = Role::parse(&g.rol).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "rol '{}': kies adviseur, wethouder, riec-analist of beheerder",
            g.rol.chars().take(40).collect::<String>()
        ))
    })?;
    if g.gemeenten.is_empty() {
        return Err(ApiError::BadRequest(
            "gemeenten: geef er minstens één".into(),
        ));
    }
    if let Some(x) = g
        .gemeenten
        .iter()
        .find(|x| !caller.0.may_in(Cap::Manage, x))
    {
        return Err(ApiError::Forbidden(format!(
            "U beheert gemeente '{}' niet.",
            x.chars().take(12).collect::<String>()
        )));
    }
    Ok((role, g.gemeenten))
}

/// `POST /v1/users/{naam}/grants`
pub async fn grant_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(naam): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let (role, gemeenten) = grant_of(&caller, &body)?;
    let mine = caller.0.gemeenten(Cap::Manage);
    let u = find(&state, &mine, &naam)?;
    let g2 = gemeenten.clone();
    let name = u.name.clone();
    change(&state, move |a| a.grant(&name, role, &g2)).await?;
    state.auth.audit.record(
        event(&caller, &u.name, "rol gegeven")
            .in_gemeenten(gemeenten.clone())
            .detail(role.id()),
    );
    Ok(Json(shown(&find(&state, &mine, &u.name)?, &mine)))
}

/// `DELETE /v1/users/{naam}/grants`
pub async fn revoke_role(
    State(state): State<AppState>,
    caller: Caller,
    Path(naam): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let (role, gemeenten) = grant_of(&caller, &body)?;
    let mine = caller.0.gemeenten(Cap::Manage);
    let u = find(&state, &mine, &naam)?;
    if u.id == caller.0.user_id && role == Role::Beheerder {
        return Err(ApiError::BadRequest(
            "U kunt uw eigen beheerdersrol niet intrekken; vraag een andere beheerder.".into(),
        ));
    }
    let g2 = gemeenten.clone();
    let name = u.name.clone();
    change(&state, move |a| a.revoke(&name, role, &g2)).await?;
    state.auth.audit.record(
        event(&caller, &u.name, "rol ingetrokken")
            .in_gemeenten(gemeenten)
            .detail(role.id()),
    );
    // Without any role left in the caller's gemeenten the user may no longer be visible.
    Ok(Json(find(&state, &mine, &u.name).map_or_else(
        |_| json!({"naam": u.name, "rollen": []}),
        |u| shown(&u, &mine),
    )))
}

/// Disabling or enabling acts in every gemeente, so only over users whose every role lies in
/// the caller's gemeenten.
async fn set_disabled(
    state: AppState,
    caller: Caller,
    naam: String,
    disabled: bool,
) -> Result<Json<Value>, ApiError> {
    let mine = caller.0.gemeenten(Cap::Manage);
    let u = find(&state, &mine, &naam)?;
    if let Some((_, g)) = u.grants.iter().find(|(_, g)| !mine.contains(g)) {
        return Err(ApiError::Forbidden(format!(
            "Gebruiker '{}' heeft ook een rol in {g}; alleen een beheerder van alle gemeenten van de gebruiker kan die uitzetten.",
            u.name
        )));
    }
    if disabled && u.id == caller.0.user_id {
        return Err(ApiError::BadRequest("U kunt uzelf niet uitzetten.".into()));
    }
    let name = u.name.clone();
    change(&state, move |a| a.set_disabled(&name, disabled)).await?;
    state.auth.audit.record(
        event(
            &caller,
            &u.name,
            if disabled { "uitgezet" } else { "aangezet" },
        )
        .in_gemeenten(mine.clone()),
    );
    Ok(Json(shown(&find(&state, &mine, &u.name)?, &mine)))
}

/// `POST /v1/users/{naam}/disabled`
pub async fn disable(
    State(state): State<AppState>,
    caller: Caller,
    Path(naam): Path<String>,
) -> Result<Json<Value>, ApiError> {
    set_disabled(state, caller, naam, true).await
}

/// `DELETE /v1/users/{naam}/disabled`
pub async fn enable(
    State(state): State<AppState>,
    caller: Caller,
    Path(naam): Path<String>,
) -> Result<Json<Value>, ApiError> {
    set_disabled(state, caller, naam, false).await
}
