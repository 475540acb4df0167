//! The OpenAPI 3 document of the whole API, public.

use super::API_VERSION;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{json, Value};

fn param(name: &str, desc: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": desc, "schema": schema})
}

fn path_param(name: &str, desc: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": desc, "schema": {"type": "string"}})
}

fn ok(desc: &str, ct: &str) -> Value {
    json!({"200": {"description": desc, "content": {ct: {"schema": {"type": "object"}}}}, "400": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"}})
}

/// The document as JSON.
#[must_use]
pub fn spec() -> Value {
    let levels = json!({"type": "string", "enum": ["gemeenten", "wijken", "buurten", "pc4", "pc6", "h3-7", "h3-8", "h3-9", "h3-10"]});
    let datetime = param(
        "datetime",
        "Kwartaal (2025-Q3), datum of interval; standaard het laatste kwartaal",
        json!({"type": "string"}),
    );
    let fmt = param(
        "f",
        "svg of png",
        json!({"type": "string", "enum": ["svg", "png"]}),
    );
    let ind =
        json!({"name": "indicator", "in": "query", "required": true, "schema": {"type": "string"}});
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Wijkradar API", "version": API_VERSION, "description": "Geaggregeerde, onthullingsgecontroleerde leefbaarheidsindicatoren (OGC API Features deel 1, NL API Design Rules).", "contact": {"name": "Wijkradar"}, "license": {"name": "EUPL-1.2"}},
        "servers": [{"url": "/v1"}],
        "paths": {
            "/": {"get": {"summary": "Landingspagina", "operationId": "getLandingPage", "parameters": [param("f", "json", json!({"type": "string"}))], "responses": ok("Links", "application/json")}},
            "/conformance": {"get": {"summary": "Conformiteitsklassen", "operationId": "getConformance", "responses": ok("conformsTo", "application/json")}},
            "/collections": {"get": {"summary": "Collecties (één per ruimtelijk niveau)", "operationId": "getCollections", "responses": ok("Collecties", "application/json")}},
            "/collections/{collectionId}": {"get": {"summary": "Eén collectie", "operationId": "describeCollection", "parameters": [{"name": "collectionId", "in": "path", "required": true, "schema": levels}], "responses": ok("Collectie", "application/json")}},
            "/collections/{collectionId}/items": {"get": {
                "summary": "Features van een niveau in een kwartaal", "operationId": "getFeatures",
                "parameters": [
                    {"name": "collectionId", "in": "path", "required": true, "schema": levels},
                    param("bbox", "minLon,minLat,maxLon,maxLat (CRS84)", json!({"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 6})),
                    datetime.clone(),
                    param("limit", "Aantal features per pagina; groter dan 10000 wordt 10000", json!({"type": "integer", "minimum": 1, "default": 1000})),
                    param("offset", "Startpositie (volg de next-link)", json!({"type": "integer", "minimum": 0, "default": 0})),
                    param("gemeente", "Alleen gebieden van deze gemeente (GM0983)", json!({"type": "string"})),
                    param("crs", "Alleen CRS84", json!({"type": "string"})),
                    param("f", "json", json!({"type": "string"}))
                ],
                "responses": ok("GeoJSON FeatureCollection met numberMatched, numberReturned en links", "application/geo+json")}},
            "/collections/{collectionId}/items/{featureId}": {"get": {"summary": "Eén feature", "operationId": "getFeature", "parameters": [{"name": "collectionId", "in": "path", "required": true, "schema": levels}, path_param("featureId", "Code van het gebied"), datetime.clone()], "responses": ok("GeoJSON Feature", "application/geo+json")}},
            "/indicators": {"get": {"summary": "Indicatorcatalogus met bron, wettelijke grondslag en indexgewicht", "operationId": "getIndicators", "responses": ok("Catalogus", "application/json")}},
            "/periods": {"get": {"summary": "Beschikbare kwartalen", "operationId": "getPeriods", "responses": ok("Kwartalen", "application/json")}},
            "/search": {"get": {"summary": "Zoek wijk, buurt of postcode", "operationId": "search", "parameters": [json!({"name": "q", "in": "query", "required": true, "schema": {"type": "string", "minLength": 2}}), param("limit", "max. 50", json!({"type": "integer"}))], "responses": ok("Resultaten", "application/json")}},
            "/areas/{level}/{code}": {"get": {"summary": "Cijfers van een gebied tegen de gemeente, met index, ouder en kinderen", "operationId": "getArea", "parameters": [{"name": "level", "in": "path", "required": true, "schema": levels}, path_param("code", "Code"), datetime.clone(), param("theme", "Beperk de index tot een thema", json!({"type": "string"}))], "responses": ok("Gebied", "application/json")}},
            "/charts/trend/{level}/{code}": {"get": {"summary": "Trendgrafiek van een indicator, met de gemeente als referentie", "operationId": "getTrendChart", "parameters": [{"name": "level", "in": "path", "required": true, "schema": levels}, path_param("code", "Code"), ind.clone(), fmt.clone()], "responses": {"200": {"description": "SVG of PNG", "content": {"image/svg+xml": {}, "image/png": {}}}, "304": {"description": "Ongewijzigd (ETag)"}}}},
            "/charts/distribution/{level}/{code}": {"get": {"summary": "Verdeling van een indicator over de gebieden van de gemeente", "operationId": "getDistributionChart", "parameters": [{"name": "level", "in": "path", "required": true, "schema": levels}, path_param("code", "Code"), ind, fmt.clone(), datetime.clone()], "responses": {"200": {"description": "SVG of PNG", "content": {"image/svg+xml": {}, "image/png": {}}}}}},
            "/charts/contributions/{level}/{code}": {"get": {"summary": "Bijdragen per indicator aan de index", "operationId": "getContributionsChart", "parameters": [{"name": "level", "in": "path", "required": true, "schema": levels}, path_param("code", "Code"), fmt, datetime.clone()], "responses": {"200": {"description": "SVG of PNG", "content": {"image/svg+xml": {}, "image/png": {}}}}}},
            "/index/method": {"get": {"summary": "Methode en gewichten van de drukindex", "operationId": "getIndexMethod", "responses": ok("Methode", "application/json")}},
            "/index/{level}/{code}": {"get": {"summary": "Index, klasse, interval en oorzaken van een gebied", "operationId": "getIndex", "parameters": [{"name": "level", "in": "path", "required": true, "schema": levels}, path_param("code", "Code"), datetime.clone(), param("theme", "Thema", json!({"type": "string"}))], "responses": ok("Uitleg", "application/json")}},
            "/ranking/{gemeente}": {"get": {"summary": "Rangorde van wijken of buurten naar druk", "operationId": "getRanking", "parameters": [path_param("gemeente", "GM-code"), param("level", "wijken of buurten", json!({"type": "string", "enum": ["wijken", "buurten"]})), param("theme", "Thema", json!({"type": "string"})), param("reference", "Standaardiseren tegen alle geladen gemeenten (alle) of de eigen gemeente (gemeente)", json!({"type": "string", "enum": ["alle", "gemeente"]})), datetime], "responses": ok("Rangorde", "application/json")}},
            "/interventions": {
                "get": {"summary": "Vastgelegde LSI-projecten", "operationId": "getInterventions", "responses": ok("Projecten", "application/json")},
                "post": {"summary": "Leg een LSI-project vast", "operationId": "addIntervention", "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["naam", "level", "codes", "start_date", "end_date"], "properties": {"naam": {"type": "string"}, "level": levels, "codes": {"type": "array", "items": {"type": "string"}}, "start_date": {"type": "string", "format": "date"}, "end_date": {"type": "string", "format": "date"}}}}}}, "responses": {"201": {"description": "Vastgelegd"}, "400": {"$ref": "#/components/responses/Problem"}}}
            },
            "/interventions/{id}/effect": {"get": {"summary": "Verschil-in-verschillen-effect van een project", "operationId": "getInterventionEffect", "parameters": [path_param("id", "Id")], "responses": ok("Effect", "application/json")}},
            "/openapi.json": {"get": {"summary": "Dit document", "operationId": "getOpenApi", "responses": ok("OpenAPI", "application/json")}}
        },
        "components": {
            "responses": {"Problem": {"description": "Fout (RFC 9457)", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}},
            "schemas": {"Problem": {"type": "object", "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"}}}}
        }
    })
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
