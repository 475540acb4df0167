//! The OpenAPI 3 document of the whole API, public, generated from the route definitions
//! ([`super::routes`]) so that every `/v1` route is documented and nothing else is.

use super::route::{doc, Access, Route};
use super::API_VERSION;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{json, Map, Value};

/// A query parameter.
#[must_use]
pub fn query_param(name: &str, desc: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": desc, "schema": schema})
}

/// A path parameter (text).
#[must_use]
pub fn path_param(name: &str, desc: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": desc, "schema": {"type": "string"}})
}

/// The level ids (collections).
#[must_use]
pub fn levels_schema() -> Value {
    let ids: Vec<&str> = crate::spatial::Level::ALL.iter().map(|l| l.id()).collect();
    json!({"type": "string", "enum": ids})
}

/// A path parameter naming a level.
#[must_use]
pub fn levels(name: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": levels_schema()})
}

/// The `datetime` query parameter.
#[must_use]
pub fn datetime() -> Value {
    query_param(
        "datetime",
        "Kwartaal (2025-Q3), datum of interval; standaard het laatste kwartaal",
        json!({"type": "string"}),
    )
}

/// `/v1/openapi.json`.
pub fn routes() -> Vec<Route> {
    vec![
        Route::new("/v1/openapi.json", Access::Public, get(document))
            .doc("get", doc("getOpenApi", "Dit document", vec![], "OpenAPI")),
    ]
}

/// The document for these routes.
#[must_use]
pub fn spec_of(routes: &[Route]) -> Value {
    let mut paths = Map::new();
    for r in routes {
        let Some(rest) = r.path.strip_prefix("/v1") else {
            continue;
        };
        let key = if rest.is_empty() { "/" } else { rest };
        let entry = paths
            .entry(key.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        for (method, op) in &r.operations {
            entry[*method] = op.clone();
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Wijkradar API", "version": API_VERSION, "description": "Geaggregeerde, onthullingsgecontroleerde leefbaarheidsindicatoren (OGC API Features deel 1, NL API Design Rules).", "contact": {"name": "Wijkradar"}, "license": {"name": "EUPL-1.2"}},
        "servers": [{"url": "/v1"}],
        "paths": paths,
        "components": {
            "responses": {"Problem": {"description": "Fout (RFC 9457)", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}},
            "schemas": {"Problem": {"type": "object", "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"}}}}
        }
    })
}

/// The document of the whole API.
#[must_use]
pub fn spec() -> Value {
    spec_of(&super::routes())
}

/// `GET /v1/openapi.json`
pub async fn document() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/vnd.oai.openapi+json;version=3.0",
        )],
        spec().to_string(),
    )
}
