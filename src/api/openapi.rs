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

/// The `reference` query parameter: what the index is standardised against; `default` says
/// which is the default.
#[must_use]
pub fn reference(default: &str) -> Value {
    query_param(
        "reference",
        &format!("Drukindex gestandaardiseerd tegen alle geladen gemeenten (alle), de eigen gemeente (gemeente) of de eigen RIEC-regio (regio); standaard {default}"),
        json!({"type": "string", "enum": ["alle", "gemeente", "regio"]}),
    )
}

/// `/v1/openapi.json`.
pub fn routes() -> Vec<Route> {
    vec![
        Route::new("/v1/openapi.json", Access::Public, get(document))
            .doc("get", doc("getOpenApi", "Dit document", vec![], "OpenAPI")),
    ]
}

/// The demo's value for a parameter of this name (Venlo, Klingerberg, the demo's project).
fn example(name: &str) -> Option<&'static str> {
    Some(match name {
        "gemeente" => "GM0983",
        "level" | "collectionId" | "collection" => "wijken",
        "code" | "featureId" => "WK098325",
        "id" => "1",
        "region" => "limburg",
        "datetime" => "2025-Q3",
        "from" => "2024-Q1",
        "indicator" => "overlast",
        "q" => "kling",
        _ => return None,
    })
}

/// An operation with what every operation can answer (problem+json for 400, 404, 429, 503;
/// 401 and 403 where it needs a caller), its security, and parameters as strict as the
/// server reads them (a string is never empty, a list is comma-separated, a count ≥ 0).
fn complete(mut op: Value, access: Access) -> Value {
    let problem = json!({"$ref": "#/components/responses/Problem"});
    let mut codes = vec!["400", "404", "429", "503"];
    if access != Access::Public {
        codes.extend(["401", "403"]);
    }
    if let Some(r) = op.get_mut("responses").and_then(Value::as_object_mut) {
        for c in codes {
            r.entry(c).or_insert_with(|| problem.clone());
        }
    }
    op["security"] = if access == Access::Public {
        json!([])
    } else {
        json!([{"bearer": []}, {"basic": []}, {"sessie": []}])
    };
    if let Some(ps) = op.get_mut("parameters").and_then(Value::as_array_mut) {
        for p in ps {
            // An example from the demo, so that a client (or schemathesis) that tries the
            // documented examples reaches real data instead of 404s.
            if p.get("example").is_none() {
                if let Some(e) = example(p["name"].as_str().unwrap_or("")) {
                    p["example"] = json!(e);
                }
            }
            let schema = &mut p["schema"];
            match schema["type"].as_str() {
                Some("string")
                    if schema.get("minLength").is_none() && schema.get("enum").is_none() =>
                {
                    schema["minLength"] = json!(1);
                }
                Some("integer") if schema.get("minimum").is_none() => {
                    schema["minimum"] = json!(0);
                }
                Some("array") => {
                    p["style"] = json!("form");
                    p["explode"] = json!(false);
                }
                _ => {}
            }
        }
    }
    op
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
            let access = if *method == "get" { r.access } else { r.write };
            entry[*method] = complete(op.clone(), access);
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Wijkradar API", "version": API_VERSION, "description": "Geaggregeerde, onthullingsgecontroleerde leefbaarheidsindicatoren (OGC API Features deel 1, NL API Design Rules).", "contact": {"name": "Wijkradar"}, "license": {"name": "EUPL-1.2"}},
        "servers": [{"url": "/v1"}],
        "paths": paths,
        "components": {
            "responses": {"Problem": {"description": "Fout (RFC 9457)", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "Persoonlijke token (wr_…)"},
                "basic": {"type": "http", "scheme": "basic", "description": "Gebruikersnaam en persoonlijke token als wachtwoord (GDAL, QGIS)"},
                "sessie": {"type": "apiKey", "in": "cookie", "name": "wijkradar", "description": "Sessie na aanmelden op /login (achter HTTPS: __Host-wijkradar)"}
            },
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
