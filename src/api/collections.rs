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
use std::fmt::Write as _;

/// `/v1` (landing page, conformance) and `/v1/collections/…`.
pub fn routes() -> Vec<Route> {
    let f = || query_param("f", "json", json!({"type": "string"}));
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
            query_param("gemeente", "Alleen gebieden van deze gemeente (GM0983)", json!({"type": "string"})),
            query_param("crs", "CRS van de geometrie: CRS84 (standaard) of RD New", json!({"type": "string", "enum": [CRS84, RD_NEW]})),
            f(),
        ], "GeoJSON FeatureCollection met numberMatched, numberReturned en links", "application/geo+json")),
        Route::new("/v1/collections/{collectionId}/items/{featureId}", Access::Needs(Cap::Read), get(item)).doc("get", doc_as("getFeature", "Eén feature", vec![levels("collectionId"), path_param("featureId", "Code van het gebied"), datetime(), query_param("crs", "CRS84 of RD New", json!({"type": "string", "enum": [CRS84, RD_NEW]})), f()], "GeoJSON Feature", "application/geo+json")),
    ]
}

/// Maximum `limit`; larger values are clamped, not refused.
pub const MAX_LIMIT: usize = 10_000;
/// Default `limit`.
pub const DEFAULT_LIMIT: usize = 1_000;
pub const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
pub const RD_NEW: &str = "http://www.opengis.net/def/crs/EPSG/0/28992";

/// The coordinate reference systems the API serves (OGC API Features Part 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crs {
    /// WGS84 longitude, latitude (the storage CRS).
    Crs84,
    /// RD New (EPSG:28992): x east, y north, metres.
    RdNew,
}

impl Crs {
    /// Reads a `crs` or `bbox-crs` value (the URI, or `EPSG:28992` / `CRS84` for short).
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            CRS84 | "CRS84" | "OGC:CRS84" | "http://www.opengis.net/def/crs/EPSG/0/4326" => {
                Some(Self::Crs84)
            }
            RD_NEW | "EPSG:28992" => Some(Self::RdNew),
            _ => None,
        }
    }

    /// The URI.
    #[must_use]
    pub fn uri(self) -> &'static str {
        match self {
            Self::Crs84 => CRS84,
            Self::RdNew => RD_NEW,
        }
    }
}

/// A stored (CRS84) GeoJSON geometry in `crs`: RD New coordinates to the centimetre.
fn geometry_in(geometry: &str, crs: Crs) -> String {
    use geo::MapCoords;
    if crs == Crs::Crs84 {
        return geometry.to_string();
    }
    let parsed = geometry
        .parse::<geojson::Geometry>()
        .ok()
        .and_then(|g| geo::Geometry::<f64>::try_from(g).ok());
    let Some(g) = parsed else {
        return geometry.to_string();
    };
    let rd = g.map_coords(|c| {
        let (x, y) = crate::spatial::wgs84_to_rd(c.x, c.y);
        geo::Coord {
            x: (x * 100.0).round() / 100.0,
            y: (y * 100.0).round() / 100.0,
        }
    });
    serde_json::to_string(&geojson::Geometry::from(&rd)).unwrap_or_else(|_| geometry.to_string())
}

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
        "description": "Geaggregeerde, niet-herleidbare leefbaarheidsindicatoren per H3-cel, postcode, buurt, wijk en gemeente, met onthullingscontrole (k-drempel, afronding op 5, complementaire onderdrukking).",
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
        "description": format!("{} met per indicator het afgeronde aantal ({{indicator}}_count), de rate ({{indicator}}_rate) en een onderdrukkingsvlag ({{indicator}}_suppressed). k = {}, k fijnste niveaus = {}, afronding op {}.", level.title(), ds.params.k, ds.params.k_fine, ds.params.round_to),
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

fn json_str(out: &mut String, s: &str) {
    let _ = write!(out, "{}", serde_json::Value::String(s.to_string()));
}

fn num(out: &mut String, v: Option<f64>) {
    match v {
        Some(x) if x.is_finite() => {
            let _ = write!(out, "{}", (x * 1000.0).round() / 1000.0);
        }
        _ => out.push_str("null"),
    }
}

/// Writes one feature (GeoJSON) for unit `u` in period `p`.
pub(crate) fn write_feature(
    out: &mut String,
    ds: &Dataset,
    u: usize,
    p: usize,
    layer: &crate::dataset::Layer,
    scores: Option<&crate::score::LayerScores>,
    crs: Crs,
) {
    let unit = &ds.units[u];
    let pos = ds.pos_in_level[u];
    out.push_str("{\"type\":\"Feature\",\"id\":");
    json_str(out, &unit.code);
    out.push_str(",\"geometry\":");
    if crs == Crs::Crs84 {
        out.push_str(&unit.geometry);
    } else {
        out.push_str(&geometry_in(&unit.geometry, crs));
    }
    out.push_str(",\"properties\":{\"code\":");
    json_str(out, &unit.code);
    out.push_str(",\"naam\":");
    match &unit.naam {
        Some(n) => json_str(out, n),
        None => out.push_str("null"),
    }
    out.push_str(",\"level\":");
    json_str(out, unit.level.id());
    out.push_str(",\"period\":");
    json_str(out, &ds.periods[p]);
    out.push_str(",\"parent\":");
    match &unit.parent {
        Some(n) => json_str(out, n),
        None => out.push_str("null"),
    }
    if unit.level != Level::Gemeente && unit.level != Level::Wijk {
        out.push_str(",\"wijk\":");
        match &unit.wijk {
            Some(n) => json_str(out, n),
            None => out.push_str("null"),
        }
    }
    out.push_str(",\"gemeente\":");
    json_str(out, &unit.gemeente);
    for (j, m) in ds.indicators.iter().enumerate() {
        let f = layer.values[pos][j];
        let _ = write!(out, ",\"{}_count\":", m.id);
        match f.count {
            Some(c) => {
                let _ = write!(out, "{c}");
            }
            None => out.push_str("null"),
        }
        let _ = write!(out, ",\"{}_rate\":", m.id);
        num(out, f.rate);
        let _ = write!(out, ",\"{}_denominator\":", m.id);
        match f.denominator {
            Some(d) => {
                let _ = write!(out, "{d}");
            }
            None => out.push_str("null"),
        }
        let _ = write!(
            out,
            ",\"{}_suppressed\":{}",
            m.id,
            crate::disclosure::served_suppressed(f.present, f.rate.is_some())
        );
    }
    if let Some(s) = scores.and_then(|s| s[pos].as_ref()) {
        out.push_str(",\"index\":");
        num(out, Some(s.index));
        let _ = write!(
            out,
            ",\"index_class\":{},\"index_low_confidence\":{}",
            s.class, s.low_confidence
        );
        out.push_str(",\"index_low\":");
        num(out, Some(s.low));
        out.push_str(",\"index_high\":");
        num(out, Some(s.high));
    } else {
        out.push_str(",\"index\":null,\"index_class\":null,\"index_low_confidence\":true,\"index_low\":null,\"index_high\":null");
    }
    out.push_str("}}");
}

/// The validated parameters of an items request; also the cache key of its page.
#[derive(Debug, Clone)]
pub struct ItemsParams {
    pub limit: usize,
    pub offset: usize,
    pub bbox: Option<[f64; 4]>,
    pub period: usize,
    pub gemeente: Option<String>,
    pub crs: Crs,
    /// The caller's gemeenten: only their areas are listed.
    pub scope: Scope,
}

impl ItemsParams {
    /// Checks every parameter, listing every problem.
    ///
    /// # Errors
    /// 400 with every problem.
    pub fn parse(ds: &Dataset, q: &Query, scope: Scope) -> Result<Self, ApiError> {
        let mut problems = Vec::new();
        let limit = query::uint("limit", q.get("limit"), DEFAULT_LIMIT)
            .map_err(|e| problems.push(e))
            .unwrap_or(DEFAULT_LIMIT)
            .clamp(1, MAX_LIMIT);
        let offset = query::uint("offset", q.get("offset"), 0)
            .map_err(|e| problems.push(e))
            .unwrap_or(0);
        let crs_of = |name: &str, problems: &mut Vec<String>| match q.get(name) {
            None => Crs::Crs84,
            Some(c) => Crs::parse(c).unwrap_or_else(|| {
                problems.push(format!(
                    "{name}: '{c}' wordt niet ondersteund; kies {CRS84} of {RD_NEW}"
                ));
                Crs::Crs84
            }),
        };
        let crs = crs_of("crs", &mut problems);
        let bbox_crs = crs_of("bbox-crs", &mut problems);
        let mut bbox = query::bbox_in(q.get("bbox"), bbox_crs == Crs::Crs84)
            .map_err(|e| problems.push(e))
            .unwrap_or(None);
        if bbox_crs == Crs::RdNew {
            // The RD box as the WGS84 box around its four corners.
            bbox = bbox.map(|b| {
                let corners = [(b[0], b[1]), (b[0], b[3]), (b[2], b[1]), (b[2], b[3])]
                    .map(|(x, y)| crate::spatial::rd_to_wgs84(x, y));
                let lon = corners.map(|c| c.0);
                let lat = corners.map(|c| c.1);
                [
                    lon.iter().copied().fold(f64::MAX, f64::min),
                    lat.iter().copied().fold(f64::MAX, f64::min),
                    lon.iter().copied().fold(f64::MIN, f64::max),
                    lat.iter().copied().fold(f64::MIN, f64::max),
                ]
            });
        }
        let period = query::period(ds, q.get("datetime"))
            .map_err(|e| problems.push(e))
            .unwrap_or(0);
        if let Some(f) = q.get("f") {
            if !matches!(f, "json" | "geojson") {
                problems.push(format!("f: '{f}' wordt niet ondersteund (json, geojson)"));
            }
        }
        let gemeente = q.get("gemeente").map(str::to_string);
        if let Some(g) = &gemeente {
            if ds.unit(Level::Gemeente, g).is_none() || !scope.sees(g) {
                problems.push(format!("gemeente: '{g}' komt niet voor in de dataset"));
            }
        }
        if !problems.is_empty() {
            return Err(ApiError::invalid(&problems));
        }
        Ok(Self {
            limit,
            offset,
            bbox,
            period,
            gemeente,
            crs,
            scope,
        })
    }

    /// The cache key of the page: only validated values (no raw query, no header).
    #[must_use]
    pub fn key(&self, level: Level, base: &str) -> String {
        format!(
            "items|{}|{}|{}|{}|{}|{:?}|{}|{base}",
            level.id(),
            self.period,
            self.limit,
            self.offset,
            self.gemeente.as_deref().unwrap_or(""),
            self.crs,
            self.scope.key()
        )
    }
}

/// Builds an items page (blocking work).
///
/// # Errors
/// Database errors.
pub fn items_page(
    ds: &Dataset,
    level: Level,
    p: &ItemsParams,
    path: &str,
) -> Result<String, ApiError> {
    let ItemsParams {
        limit,
        offset,
        bbox,
        period,
        ..
    } = *p;
    let layer = ds.layer(level, period)?;
    let scores = crate::score::layer_scores(ds, level, period, crate::score::Scope::default()).ok();
    let matched: Vec<usize> = ds
        .level_units(level)
        .iter()
        .copied()
        .filter(|&u| {
            let b = ds.units[u].bbox;
            bbox.is_none_or(|q| b[0] <= q[2] && b[2] >= q[0] && b[1] <= q[3] && b[3] >= q[1])
                && p.gemeente
                    .as_ref()
                    .is_none_or(|g| &ds.units[u].gemeente == g)
                && ds.visible(u, &p.scope)
        })
        .collect();
    let page: Vec<usize> = matched.iter().copied().skip(offset).take(limit).collect();
    let mut out = String::with_capacity(page.len() * 2048 + 1024);
    out.push_str("{\"type\":\"FeatureCollection\",\"features\":[");
    for (i, &u) in page.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_feature(&mut out, ds, u, period, &layer, scores.as_deref(), p.crs);
    }
    let mut keep: Vec<String> = Vec::new();
    if let Some(b) = bbox {
        keep.push(format!(
            "bbox={}",
            urlencode(
                &b.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            )
        ));
    }
    keep.push(format!("datetime={}", urlencode(&ds.periods[period])));
    if let Some(g) = &p.gemeente {
        keep.push(format!("gemeente={}", urlencode(g)));
    }
    if p.crs != Crs::Crs84 {
        keep.push(format!("crs={}", urlencode(p.crs.uri())));
    }
    let link = |off: usize| {
        let mut parts = keep.clone();
        parts.push(format!("limit={limit}"));
        parts.push(format!("offset={off}"));
        format!("{path}?{}", parts.join("&"))
    };
    let mut links = vec![
        json!({"href": link(offset), "rel": "self", "type": "application/geo+json", "title": "Deze pagina"}),
    ];
    if offset + page.len() < matched.len() {
        links.push(json!({"href": link(offset + page.len()), "rel": "next", "type": "application/geo+json", "title": "Volgende pagina"}));
    }
    if offset > 0 {
        links.push(json!({"href": link(offset.saturating_sub(limit)), "rel": "prev", "type": "application/geo+json", "title": "Vorige pagina"}));
    }
    let _ = write!(
        out,
        "],\"numberMatched\":{},\"numberReturned\":{},\"timeStamp\":{},\"period\":{},\"links\":{},\"disclosure\":{}}}",
        matched.len(),
        page.len(),
        Value::String(ds.created_at.replace(' ', "T") + ":00Z"),
        Value::String(ds.periods[period].clone()),
        Value::Array(links),
        json!({"k": ds.params.k, "k_fine": ds.params.k_fine, "round_to": ds.params.round_to, "dataset_version": ds.version,
               "note": "Aantallen uit minder dan k eenheden zijn onderdrukt (null), gepubliceerde aantallen zijn afgerond op veelvouden van round_to; rates alleen bij een voldoende grote noemer."})
    );
    Ok(out)
}

/// Percent-encodes a query value (keeps letters, digits and `-_.,~`).
pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b',' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `GET /v1/collections/{id}/items`
pub async fn items(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let q = Query::parse(
        q.as_deref(),
        &[
            "bbox", "bbox-crs", "datetime", "limit", "offset", "f", "crs", "gemeente",
        ],
    )?;
    let level = level_of(&id)?;
    let ds = state.dataset()?;
    let path = format!("{}/collections/{id}/items", base(&state, &headers));
    let version = ds.version;
    let gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("gzip"));
    let base_url = base(&state, &headers);
    let crs = q.get("crs").and_then(Crs::parse).unwrap_or(Crs::Crs84);
    // Pages without bbox (what the map asks for) are built and compressed once per dataset
    // version (the dataset never changes under a version), in the bounded cache.
    let page = tokio::task::spawn_blocking(move || -> Result<std::sync::Arc<Page>, ApiError> {
        let p = ItemsParams::parse(&ds, &q, caller.reads())?;
        let build = || -> Result<Page, ApiError> {
            let body = items_page(&ds, level, &p, &path)?;
            Ok(Page::new(body))
        };
        if p.bbox.is_none() {
            ds.cached(&p.key(level, &base_url), build, |page: &Page| {
                page.raw.len() + page.gzip.len()
            })
        } else {
            build().map(std::sync::Arc::new)
        }
    })
    .await??;
    let mut res = geojson_response(
        if gzip {
            page.gzip.clone()
        } else {
            page.raw.clone()
        },
        version,
        page.raw.len(),
        crs,
    );
    if gzip {
        res.headers_mut().insert(
            header::CONTENT_ENCODING,
            header::HeaderValue::from_static("gzip"),
        );
    }
    res.headers_mut().insert(
        header::VARY,
        header::HeaderValue::from_static("accept-encoding"),
    );
    Ok(res)
}

/// A built items page, plain and gzip-compressed.
pub struct Page {
    raw: axum::body::Bytes,
    gzip: axum::body::Bytes,
}

impl Page {
    fn new(body: String) -> Self {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(
            Vec::with_capacity(body.len() / 8),
            flate2::Compression::fast(),
        );
        let gz = enc
            .write_all(body.as_bytes())
            .and_then(|()| enc.finish())
            .unwrap_or_default();
        Self {
            raw: axum::body::Bytes::from(body),
            gzip: axum::body::Bytes::from(gz),
        }
    }
}

/// A GeoJSON response; the ETag carries the dataset version and the uncompressed length.
fn geojson_response(body: axum::body::Bytes, version: i32, raw_len: usize, crs: Crs) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/geo+json".to_string()),
            (
                header::HeaderName::from_static("content-crs"),
                format!("<{}>", crs.uri()),
            ),
            (header::ETAG, format!("\"v{version}-{raw_len:x}\"")),
            (header::CACHE_CONTROL, "private, max-age=60".to_string()),
        ],
        body,
    )
        .into_response()
}

/// `GET /v1/collections/{id}/items/{code}`
pub async fn item(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((id, code)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref(), &["datetime", "f", "crs"])?;
    let crs = match q.get("crs") {
        None => Crs::Crs84,
        Some(c) => Crs::parse(c).ok_or_else(|| {
            ApiError::invalid(&[format!(
                "crs: '{c}' wordt niet ondersteund; kies {CRS84} of {RD_NEW}"
            )])
        })?,
    };
    let b = base(&state, &headers);
    let level = level_of(&id)?;
    let ds = state.dataset()?;
    let version = ds.version;
    let body = tokio::task::spawn_blocking(move || -> Result<String, ApiError> {
        let scope = caller.reads();
        let u = ds.unit(level, &code).filter(|&u| ds.visible(u, &scope)).ok_or_else(|| ApiError::NotFound(format!("'{code}' bestaat niet in collectie '{}'", level.id())))?;
        let p = query::period(&ds, q.get("datetime")).map_err(|e| ApiError::invalid(&[e]))?;
        let layer = ds.layer(level, p)?;
        let scores = crate::score::layer_scores(&ds, level, p, crate::score::Scope::default()).ok();
        let mut out = String::new();
        write_feature(&mut out, &ds, u, p, &layer, scores.as_deref(), crs);
        // Add the links the standard asks for.
        let links = json!([
            {"href": format!("{b}/collections/{}/items/{code}", level.id()), "rel": "self", "type": "application/geo+json"},
            {"href": format!("{b}/collections/{}", level.id()), "rel": "collection", "type": "application/json"}
        ]);
        out.pop();
        let _ = write!(out, ",\"links\":{links}}}");
        Ok(out)
    })
    .await??;
    let len = body.len();
    Ok(geojson_response(body.into(), version, len, crs))
}
