//! OGC API Features, Part 1 (core, GeoJSON): landing page, conformance, collections, items.
//! One collection per spatial level; features carry flat per-indicator properties.

use super::auth::Caller;
use super::openapi::{datetime, levels, path_param, query_param};
use super::problem::ApiError;
use super::query::{self, Query};
use super::route::{doc, doc_as, Access, Route};
use super::AppState;
use crate::auth::Cap;
use crate::auth::Scope;
use crate::dataset::Dataset;
use crate::period::{quarter_end, quarter_start};
use crate::spatial::Level;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use serde_json::{json, Value};

mod features;
mod items;

pub use features::Crs;
pub(crate) use features::{write_feature, Want};
pub(crate) use items::urlencode;
pub use items::{item, items, items_page, ItemsParams, Page};

/// `/v1` (landing page, conformance) and `/v1/collections/…`.
pub fn routes() -> Vec<Route> {
    let f = || query_param("f", "json", json!({"type": "string"}));
    let properties = || {
        query_param("properties", "Alleen deze eigenschappen per feature, met komma's (OGC API Features deel 6): code, naam, level, period, parent, wijk, gemeente, index, index_class, index_low_confidence, index_low, index_high en per indicator <indicator>_count, _rate, _denominator, _suppressed. Leeg: geen eigenschappen; weggelaten: alle", json!({"type": "string"}))
    };
    vec![
        Route::new("/v1", Access::Public, get(landing)).doc("get", doc("getLandingPage", "Landingspagina", vec![f()], "Links")),
        Route::new("/v1/conformance", Access::Public, get(conformance)).doc("get", doc("getConformance", "Conformiteitsklassen", vec![f()], "conformsTo")),
        Route::new("/v1/collections", Access::Needs(Cap::Read), get(collections)).doc("get", doc("getCollections", "Collecties (één per ruimtelijk niveau)", vec![f()], "Collecties")),
        Route::new("/v1/collections/{collectionId}", Access::Needs(Cap::Read), get(collection)).doc("get", doc("describeCollection", "Eén collectie", vec![levels("collectionId"), f()], "Collectie")),
        Route::new("/v1/collections/{collectionId}/items", Access::Needs(Cap::Read), get(items)).doc("get", doc_as("getFeatures", "Features van een niveau in een kwartaal", vec![
            levels("collectionId"),
            query_param("bbox", "minLon,minLat,maxLon,maxLat (CRS84), of minX,minY,maxX,maxY met bbox-crs", json!({"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 6})),
            query_param("bbox-crs", "CRS van bbox: CRS84 (standaard) of http://www.opengis.net/def/crs/EPSG/0/28992", json!({"type": "string", "enum": [CRS84, RD_NEW]})),
            datetime(),
            query_param("limit", "Aantal features per pagina; groter dan 10000 wordt 10000", json!({"type": "integer", "minimum": 1, "default": 1000})),
            query_param("offset", "Startpositie (volg de next-link)", json!({"type": "integer", "minimum": 0, "default": 0})),
            query_param("gemeente", "Alleen gebieden van deze gemeente (GM0363), of van deze gemeenten samen (GM0363,GM0344; bijvoorbeeld een RIEC-regio)", json!({"type": "string", "pattern": crate::api::query::GEMEENTEN_PATTERN})),
            query_param("crs", "CRS van de geometrie: CRS84 (standaard) of RD New", json!({"type": "string", "enum": [CRS84, RD_NEW]})),
            crate::api::openapi::reference("alle"),
            properties(),
            f(),
        ], "GeoJSON FeatureCollection met numberMatched, numberReturned en links", "application/geo+json")),
        Route::new("/v1/collections/{collectionId}/items/{featureId}", Access::Needs(Cap::Read), get(item)).doc("get", doc_as("getFeature", "Eén feature", vec![levels("collectionId"), path_param("featureId", "Code van het gebied"), datetime(), query_param("crs", "CRS84 of RD New", json!({"type": "string", "enum": [CRS84, RD_NEW]})), crate::api::openapi::reference("alle"), properties(), f()], "GeoJSON Feature", "application/geo+json")),
    ]
}

/// Maximum `limit`; larger values are clamped, not refused.
pub const MAX_LIMIT: usize = 10_000;
/// Default `limit`.
pub const DEFAULT_LIMIT: usize = 1_000;
pub const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
pub const RD_NEW: &str = "http://www.opengis.net/def/crs/EPSG/0/28992";

/// The absolute base URL of the API (`http://host/v1`), so that links work in clients that
/// do not resolve relative links (GDAL's OAPIF driver). The request's `Host` is used only
/// when it is one the server answers to ([`AppState::hosts`]); otherwise the configured
/// public URL.
pub(crate) fn base(state: &AppState, headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| state.hosts.iter().any(|x| x.eq_ignore_ascii_case(h)));
    match host {
        Some(h) => {
            let proto = headers
                .get("x-forwarded-proto")
                .and_then(|h| h.to_str().ok())
                .filter(|p| *p == "https")
                .unwrap_or("http");
            format!("{proto}://{h}/v1")
        }
        None => format!("{}/v1", state.public_url),
    }
}

/// `GET /v1`
pub async fn landing(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    Query::parse(q.as_deref(), &["f"])?;
    let b = base(&state, &headers);
    let b = b.as_str();
    Ok(Json(json!({
        "title": "Wijkradar",
        "description": "Geaggregeerde, niet-herleidbare leefbaarheidsindicatoren per H3-cel, postcode, buurt, wijk en gemeente, met onthullingscontrole (k-drempel, afronding op 5 en kleine aantallen als één band, complementaire onderdrukking).",
        "links": [
            {"href": b, "rel": "self", "type": "application/json", "title": "Deze pagina"},
            {"href": format!("{b}/openapi.json"), "rel": "service-desc", "type": "application/vnd.oai.openapi+json;version=3.0", "title": "OpenAPI-definitie"},
            {"href": format!("{b}/conformance"), "rel": "conformance", "type": "application/json", "title": "Conformiteitsklassen"},
            {"href": format!("{b}/collections"), "rel": "data", "type": "application/json", "title": "Collecties"},
            {"href": format!("{b}/indicators"), "rel": "describedby", "type": "application/json", "title": "Indicatorcatalogus"}
        ]
    })))
}

/// `GET /v1/conformance`
pub async fn conformance(RawQuery(q): RawQuery) -> Result<Json<Value>, ApiError> {
    Query::parse(q.as_deref(), &["f"])?;
    Ok(Json(json!({
        "conformsTo": [
            "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
            "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
            "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
            "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs"
        ]
    })))
}

fn collection_json(ds: &Dataset, level: Level, b: &str, scope: &Scope) -> Value {
    let units = ds.level_units(level);
    let mut bbox = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for &u in units.iter().filter(|&&u| ds.visible(u, scope)) {
        let b = ds.units[u].bbox;
        bbox = [
            bbox[0].min(b[0]),
            bbox[1].min(b[1]),
            bbox[2].max(b[2]),
            bbox[3].max(b[3]),
        ];
    }
    let interval = match (ds.periods.first(), ds.periods.last()) {
        (Some(a), Some(z)) => json!([[quarter_start(a), quarter_end(z)]]),
        _ => json!([[null, null]]),
    };
    let id = level.id();
    json!({
        "id": id,
        "title": level.title(),
        "description": format!("{} met per indicator het afgeronde aantal ({{indicator}}_count), de rate ({{indicator}}_rate) en een onderdrukkingsvlag ({{indicator}}_suppressed). k = {}, k fijnste niveaus = {}; aantallen {}.", level.title(), ds.params.k, ds.params.k_fine, ds.params.rounding_text()),
        "itemType": "feature",
        "crs": [CRS84, RD_NEW],
        "storageCrs": CRS84,
        "extent": {
            "spatial": {"bbox": [bbox], "crs": CRS84},
            "temporal": {"interval": interval, "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
        },
        "links": [
            {"href": format!("{b}/collections/{id}"), "rel": "self", "type": "application/json", "title": level.title()},
            {"href": format!("{b}/collections/{id}/items"), "rel": "items", "type": "application/geo+json", "title": "Features"}
        ]
    })
}

/// `GET /v1/collections`
pub async fn collections(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    Query::parse(q.as_deref(), &["f"])?;
    let ds = state.dataset()?;
    let b = base(&state, &headers);
    let scope = caller.reads();
    let cols: Vec<Value> = Level::ALL
        .into_iter()
        .filter(|l| ds.level_units(*l).iter().any(|&u| ds.visible(u, &scope)))
        .map(|l| collection_json(&ds, l, &b, &scope))
        .collect();
    Ok(Json(json!({
        "links": [{"href": format!("{b}/collections"), "rel": "self", "type": "application/json", "title": "Collecties"}],
        "collections": cols
    })))
}

fn level_of(id: &str) -> Result<Level, ApiError> {
    Level::from_id(id).ok_or_else(|| {
        ApiError::NotFound(format!(
            "collectie '{id}' bestaat niet; beschikbaar: {}",
            Level::ALL
                .iter()
                .map(|l| l.id())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

/// `GET /v1/collections/{id}`
pub async fn collection(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    Query::parse(q.as_deref(), &["f"])?;
    let level = level_of(&id)?;
    let ds = state.dataset()?;
    Ok(Json(collection_json(
        &ds,
        level,
        &base(&state, &headers),
        &caller.reads(),
    )))
}
