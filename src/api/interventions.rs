//! LSI projects over HTTP: listing, recording (through [`crate::intervention`], which
//! validates and writes through the store) and their measured effect.

use super::auth::Caller;
use super::openapi::{levels_schema, path_param};
use super::problem::ApiError;
use super::route::{doc, Access, Route};
use super::AppState;
use crate::auth::Cap;
use crate::intervention;
use crate::spatial::Level;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use serde_json::{json, Value};

/// `/v1/interventions…`.
pub fn routes() -> Vec<Route> {
    vec![
        Route::new("/v1/interventions", Access::Needs(Cap::Read), get(interventions).post(add_intervention))
            .doc("get", doc("getInterventions", "Vastgelegde LSI-projecten", vec![], "Projecten"))
            .doc("post", json!({"summary": "Leg een LSI-project vast", "operationId": "addIntervention", "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false, "required": ["naam", "level", "codes", "start_date", "end_date"], "properties": {"naam": {"type": "string", "minLength": 1}, "level": levels_schema(), "codes": {"type": "array", "minItems": 1, "items": {"type": "string"}}, "start_date": {"type": "string", "format": "date"}, "end_date": {"type": "string", "format": "date"}, "targets": {"type": "array", "maxItems": 5, "items": {"type": "string"}, "description": "Doelindicatoren (ids uit /v1/indicators) waarop het effect gemeten wordt"}}}}}}, "responses": {"201": {"description": "Vastgelegd"}, "400": {"$ref": "#/components/responses/Problem"}}})),
        Route::new("/v1/interventions/{id}/effect", Access::Needs(Cap::Read), get(effect)).doc("get", doc("getInterventionEffect", "Verschil-in-verschillen-effect van een project", vec![path_param("id", "Id")], "Effect")),
    ]
}

/// `GET /v1/interventions`
/// Only the projects in the caller's gemeenten.
pub async fn interventions(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let ds = state.dataset()?;
    let scope = caller.reads();
    let list = tokio::task::spawn_blocking(move || {
        intervention::interventions(&ds).map(|l| {
            l.into_iter()
                .filter(|iv| {
                    let g = iv.gemeenten(&ds);
                    !g.is_empty() && g.iter().all(|g| scope.sees(g))
                })
                .collect::<Vec<_>>()
        })
    })
    .await??;
    Ok(Json(json!({"interventions": list})))
}

/// Body of `POST /v1/interventions`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewIntervention {
    pub naam: String,
    pub level: String,
    pub codes: Vec<String>,
    pub start_date: String,
    pub end_date: String,
    /// Indicator ids the project aims at.
    #[serde(default)]
    pub targets: Vec<String>,
}

/// `POST /v1/interventions`: records an LSI project (copy-on-write write; the served
/// dataset reloads).
pub async fn add_intervention(
    State(state): State<AppState>,
    caller: Caller,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    // Parsed here rather than by axum's `Json`, whose refusals are plain text: a body that is
    // not the expected JSON is answered as problem+json, as on the other routes.
    let body: NewIntervention = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!(
            "verwacht JSON {{naam, level, codes, start_date, end_date, targets}}: {e}"
        ))
    })?;
    let ds = state.dataset()?;
    let level = Level::from_id(&body.level)
        .ok_or_else(|| ApiError::invalid(&[format!("level: '{}' bestaat niet", body.level)]))?;
    // Only areas of the gemeenten the caller manages; others are answered as unknown.
    let manages = caller.scope(Cap::Manage);
    let unknown: Vec<String> = body
        .codes
        .iter()
        .filter(|c| {
            ds.unit(level, c)
                .is_none_or(|u| !manages.sees(&ds.units[u].gemeente))
        })
        .map(|c| format!("codes: '{c}' bestaat niet op niveau {}", level.id()))
        .collect();
    if !unknown.is_empty() {
        return Err(ApiError::invalid(&unknown));
    }
    let gemeenten: std::collections::BTreeSet<String> = body
        .codes
        .iter()
        .filter_map(|c| ds.unit(level, c))
        .map(|u| ds.units[u].gemeente.clone())
        .collect();
    if gemeenten.len() > 1 {
        return Err(ApiError::invalid(&[
            "codes: een project ligt in één gemeente".into(),
        ]));
    }
    let known: Vec<&str> = ds.indicators.iter().map(|m| m.id.as_str()).collect();
    let iv = intervention::NewIntervention::new(
        &body.naam,
        level,
        &body.codes,
        (&body.start_date, &body.end_date),
        &body.targets,
        &known,
    )?;
    let what = format!("{} ({} {})", iv.naam, iv.codes.len(), level.id());
    let db = state.db.clone();
    let st = state.clone();
    let id = tokio::task::spawn_blocking(move || {
        let id = intervention::add_intervention(&db, &iv)?;
        st.reload_if_changed();
        Ok::<i32, ApiError>(id)
    })
    .await??;
    state.auth.audit.record(
        crate::auth::audit::Event::new(
            &caller.actor(),
            "interventie",
            &format!("interventie {id}"),
            "vastgelegd",
        )
        .in_gemeenten(gemeenten)
        .detail(what),
    );
    Ok((
        axum::http::StatusCode::CREATED,
        [(header::LOCATION, format!("/v1/interventions/{id}/effect"))],
        Json(json!({"id": id})),
    )
        .into_response())
}

/// `GET /v1/interventions/{id}/effect`
pub async fn effect(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let ds = state.dataset()?;
    let scope = caller.reads();
    let id: i32 = id
        .parse()
        .map_err(|_| ApiError::NotFound(format!("interventie {id} bestaat niet")))?;
    let v = tokio::task::spawn_blocking(move || -> Result<Value, ApiError> {
        let iv = intervention::interventions(&ds)?
            .into_iter()
            .find(|i| i.id == id)
            .filter(|iv| {
                let g = iv.gemeenten(&ds);
                !g.is_empty() && g.iter().all(|g| scope.sees(g))
            })
            .ok_or_else(|| ApiError::NotFound(format!("interventie {id} bestaat niet")))?;
        let e = intervention::effect(&ds, &iv)?;
        Ok(serde_json::to_value(e).unwrap_or(Value::Null))
    })
    .await??;
    Ok(Json(v))
}
