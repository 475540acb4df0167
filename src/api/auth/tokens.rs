//! Personal access tokens over HTTP: list, create (the secret shown once), revoke.

use super::*;

/// `GET /v1/tokens`
pub async fn tokens(State(state): State<AppState>, caller: Caller) -> Json<Value> {
    let dir = state.auth.directory();
    Json(json!({"tokens": dir.tokens_of(caller.0.user_id)}))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    naam: String,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    gemeenten: Option<Vec<String>>,
    #[serde(default)]
    dagen: Option<i64>,
}

/// `POST /v1/tokens`: `{"naam": "QGIS", "scope": "lezen"|"export", "gemeenten": [...], "dagen": 90}`.
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let t: NewToken = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!(
            "verwacht JSON {{naam, scope, gemeenten, dagen}}: {e}"
        ))
    })?;
    let scope = match t.scope.as_deref() {
        None => TokenScope::Lezen,
        Some(s) => TokenScope::parse(s)
            .ok_or_else(|| ApiError::BadRequest(format!("scope '{s}': kies lezen of export")))?,
    };
    let mine = caller.0.gemeenten(Cap::Read);
    let gemeenten: Vec<String> = t
        .gemeenten
        .unwrap_or_else(|| mine.iter().cloned().collect());
    if let Some(g) = gemeenten.iter().find(|g| !mine.contains(*g)) {
        return Err(ApiError::BadRequest(format!(
            "gemeente '{g}' hoort niet bij uw rollen"
        )));
    }
    if scope == TokenScope::Export && !gemeenten.iter().all(|g| caller.0.may_in(Cap::Export, g)) {
        return Err(ApiError::Forbidden(
            "Uw rol mag niet exporteren; kies scope lezen.".into(),
        ));
    }
    let days = t.dagen.unwrap_or(90);
    let auth = state.auth.clone();
    let uid = caller.0.user_id;
    let name = t.naam.clone();
    let g2 = gemeenten.clone();
    let (id, secret) = tokio::task::spawn_blocking(move || {
        let r = auth.accounts.create_token(uid, &name, scope, &g2, days);
        auth.reload();
        r
    })
    .await?
    .map_err(|e| match e {
        crate::auth::accounts::AccountError::Invalid(m) => ApiError::BadRequest(m),
        e => ApiError::Internal(e.to_string()),
    })?;
    state.auth.audit.record(
        Event::new(
            &caller.actor(),
            "token",
            &format!("token {id}"),
            "aangemaakt",
        )
        .in_gemeenten(gemeenten.clone())
        .detail(format!("scope {}, {days} dagen", scope.id())),
    );
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": id, "token": secret, "scope": scope.id(), "gemeenten": gemeenten, "dagen": days,
            "let_op": "Dit geheim wordt maar één keer getoond. Gebruik het in QGIS/GDAL als wachtwoord (Basic) bij uw gebruikersnaam, of als Authorization: Bearer.",
        })),
    ))
}

/// `DELETE /v1/tokens/{id}`
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let auth = state.auth.clone();
    let uid = caller.0.user_id;
    let i2 = id.clone();
    let done = tokio::task::spawn_blocking(move || {
        let r = auth.accounts.revoke_token(Some(uid), &i2);
        auth.reload();
        r
    })
    .await?
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    if !done {
        return Err(ApiError::NotFound(format!("token '{id}' bestaat niet")));
    }
    state.auth.audit.record(
        Event::new(
            &caller.actor(),
            "token",
            &format!("token {id}"),
            "ingetrokken",
        )
        .in_gemeenten(caller.reads().0),
    );
    Ok(StatusCode::NO_CONTENT)
}
