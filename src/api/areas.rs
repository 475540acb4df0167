//! Areas over HTTP: the indicator catalogue, periods, search, and an area's details (its
//! figures against the gemeente, index, parent and children).

use super::auth::Caller;
use super::openapi::{datetime, levels, path_param, query_param};
use super::problem::ApiError;
use super::query::{self, Query};
use super::route::{doc, Access, Route};
use super::AppState;
use crate::auth::Cap;
use crate::dataset::Dataset;
use crate::decimals::stat;
use crate::spatial::Level;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::Json;
use serde_json::{json, Value};

/// `/v1/indicators`, `/v1/periods`, `/v1/search`, `/v1/areas/…`.
pub fn routes() -> Vec<Route> {
    vec![
        Route::new("/v1/indicators", Access::Needs(Cap::Read), get(indicators)).doc("get", doc("getIndicators", "Indicatorcatalogus met bron, wettelijke grondslag en indexgewicht", vec![], "Catalogus")),
        Route::new("/v1/gemeenten", Access::Needs(Cap::Read), get(gemeenten)).doc("get", doc("getGemeenten", "De gemeenten in de dataset, met hun omgrenzing en hun niveaus: met gebieden (levels), zonder gebieden in de geladen grenzen (lacking: wijken, buurten) en zonder gepubliceerd gebied (unpublished)", vec![], "Gemeenten")),
        Route::new("/v1/periods", Access::Needs(Cap::Read), get(periods)).doc("get", doc("getPeriods", "Beschikbare kwartalen", vec![], "Kwartalen")),
        Route::new("/v1/search", Access::Needs(Cap::Read), get(search)).doc("get", doc("search", "Zoek wijk, buurt of postcode", vec![json!({"name": "q", "in": "query", "required": true, "schema": {"type": "string", "minLength": 2}}), query_param("limit", "max. 50", json!({"type": "integer"}))], "Resultaten")),
        Route::new("/v1/areas/{level}/{code}", Access::Needs(Cap::Read), get(detail)).doc("get", doc("getArea", "Cijfers van een gebied tegen de gemeente, met index, ouder en kinderen", vec![levels("level"), path_param("code", "Code"), datetime(), query_param("theme", "Beperk de index tot een thema", json!({"type": "string"})), crate::api::openapi::reference("alle")], "Gebied")),
    ]
}

/// `GET /v1/indicators`: the catalogue with metadata, legal basis and index weights.
pub async fn indicators(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    Query::parse(q.as_deref(), &["f"])?;
    let ds = state.dataset()?;
    let weights = crate::score::indicator_weights(&ds, None);
    let list: Vec<Value> = ds
        .indicators
        .iter()
        .zip(&weights)
        .map(|(m, w)| {
            let mut v = serde_json::to_value(m).unwrap_or(Value::Null);
            v["index_weight"] = json!(w);
            v
        })
        .collect();
    Ok(Json(json!({
        "dataset_version": ds.version,
        "disclosure": ds.params.described(),
        "themes": ds.themes,
        "indicators": list,
        // Row counts of extracts only to the nearest thousand: a file of one source and quarter
        // would otherwise give that quarter's exact total, also where the figure is hidden.
        "sources": ds.sources.iter().map(|(s, f, n)| json!({"source": s, "file": f, "rows_approx": crate::disclosure::rows_approx(*n)})).collect::<Vec<_>>(),
    })))
}

/// `GET /v1/gemeenten`: the gemeenten of the dataset (the map's picker and start view), with
/// the levels that have areas there, those the loaded boundaries lack (`lacking`: no buurten
/// shipped, say) and those where no area was published (`unpublished`).
pub async fn gemeenten(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    Query::parse(q.as_deref(), &["f"])?;
    let ds = state.dataset()?;
    let scope = caller.reads();
    let mut with: std::collections::HashMap<&str, std::collections::BTreeSet<Level>> =
        std::collections::HashMap::new();
    for u in &ds.units {
        with.entry(u.gemeente.as_str()).or_default().insert(u.level);
    }
    let list: Vec<Value> = ds
        .gemeenten_seen(&scope)
        .map(|g| {
            let u = &ds.units[g];
            let have = with.get(u.code.as_str()).cloned().unwrap_or_default();
            // Two reasons for a level without areas, told apart: wijken and buurten come from
            // the loaded boundaries (every one of a gemeente in the data is stored, published
            // or not), so none means none loaded; the other levels are stored where a figure
            // was published, so none means all suppressed (a small gemeente's PC6, say) or
            // every area there counted to a neighbour by the border rule (/v1/index/method).
            let (lacking, unpublished): (Vec<Level>, Vec<Level>) = Level::ALL
                .into_iter()
                .filter(|l| !have.contains(l))
                .partition(|l| matches!(l, Level::Wijk | Level::Buurt));
            let ids = |ls: &[Level]| ls.iter().map(|l| l.id()).collect::<Vec<_>>();
            json!({
                "code": u.code, "naam": u.naam, "bbox": u.bbox, "lon": degrees(u.lon), "lat": degrees(u.lat),
                "levels": have.iter().map(|l| l.id()).collect::<Vec<_>>(),
                "lacking": ids(&lacking),
                "unpublished": ids(&unpublished),
                "briefing": format!("/briefing/{}", u.code),
            })
        })
        .collect();
    Ok(Json(json!({"gemeenten": list})))
}

/// `GET /v1/periods`
pub async fn periods(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    Query::parse(q.as_deref(), &["f"])?;
    let ds = state.dataset()?;
    Ok(Json(
        json!({"periods": ds.periods, "latest": ds.periods.last()}),
    ))
}

/// Names people use for a gemeente beside its official (CBS) one, found by the search too.
const GEMEENTE_ALIASES: &[(&str, &str)] = &[("GM0518", "Den Haag"), ("GM0796", "Den Bosch")];

/// `GET /v1/search?q=`: gemeenten, wijken, buurten and postcodes by name or code.
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q = Query::parse(q.as_deref(), &["q", "limit"])?;
    let ds = state.dataset()?;
    let scope = caller.reads();
    let needle = q
        .get("q")
        .unwrap_or("")
        .trim()
        .to_lowercase()
        .replace(' ', "");
    if needle.len() < 2 {
        return Err(ApiError::invalid(&["q: geef minstens 2 tekens".into()]));
    }
    let limit = query::uint("limit", q.get("limit"), 10)
        .map_err(|e| ApiError::invalid(&[e]))?
        .clamp(1, 50);
    let mut hits: Vec<(u8, &crate::dataset::Unit)> = Vec::new();
    for (i, u) in ds.units.iter().enumerate() {
        if !matches!(
            u.level,
            Level::Gemeente | Level::Wijk | Level::Buurt | Level::Pc4 | Level::Pc6
        ) || !ds.visible(i, &scope)
        {
            continue;
        }
        let code = u.code.to_lowercase();
        let rank_of = |name: &str| {
            let name = name.to_lowercase().replace(' ', "");
            if code == needle || name == needle {
                Some(0)
            } else if name.starts_with(&needle) || code.starts_with(&needle) {
                Some(1)
            } else if name.contains(&needle) {
                Some(2)
            } else {
                None
            }
        };
        let alias = (u.level == Level::Gemeente)
            .then(|| GEMEENTE_ALIASES.iter().find(|(c, _)| *c == u.code))
            .flatten()
            .and_then(|&(_, a)| rank_of(a));
        let Some(rank) = rank_of(u.naam.as_deref().unwrap_or(""))
            .into_iter()
            .chain(alias)
            .min()
        else {
            continue;
        };
        hits.push((rank, u));
    }
    hits.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then(a.1.level.cmp(&b.1.level))
            .then(a.1.code.cmp(&b.1.code))
    });
    let out: Vec<Value> = hits
        .into_iter()
        .take(limit)
        .map(|(_, u)| json!({"level": u.level.id(), "code": u.code, "naam": u.naam, "gemeente": u.gemeente, "bbox": u.bbox, "lon": degrees(u.lon), "lat": degrees(u.lat)}))
        .collect();
    Ok(Json(json!({"results": out})))
}

/// The area a request names in its path (`…/{level}/{code}`), found in the dataset being
/// served: the one extractor of every handler about one area (404 for an unknown level or
/// code, 503 before the first dataset), and the place where the caller's gemeenten are
/// checked: an area outside them is answered as if it did not exist (and recorded).
pub struct Area {
    pub ds: std::sync::Arc<Dataset>,
    pub unit: usize,
    pub level: String,
    pub code: String,
    pub caller: Caller,
}

impl axum::extract::FromRequestParts<AppState> for Area {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Path((level, code)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::NotFound(e.body_text()))?;
        let caller = Caller::from_request_parts(parts, state).await?;
        let ds = state.dataset()?;
        let unit = find(&ds, &level, &code)?;
        if !ds.visible(unit, &caller.reads()) {
            let _ = super::auth::out_of_scope(state, &caller, &format!("{level}/{code}"));
            return Err(ApiError::NotFound(format!(
                "'{code}' bestaat niet op niveau '{level}'"
            )));
        }
        Ok(Self {
            ds,
            unit,
            level,
            code,
            caller,
        })
    }
}

/// The unit with this collection id and code (404 otherwise).
pub(crate) fn find(ds: &Dataset, level: &str, code: &str) -> Result<usize, ApiError> {
    let l = Level::from_id(level)
        .ok_or_else(|| ApiError::NotFound(format!("niveau '{level}' bestaat niet")))?;
    ds.unit(l, code)
        .ok_or_else(|| ApiError::NotFound(format!("'{code}' bestaat niet op niveau '{level}'")))
}

fn unit_ref(ds: &Dataset, u: usize) -> Value {
    let x = &ds.units[u];
    json!({"level": x.level.id(), "code": x.code, "naam": x.naam})
}

/// `GET /v1/areas/{level}/{code}`: the area's figures against the gemeente, its index,
/// parent and children.
pub async fn detail(
    State(state): State<AppState>,
    area: Area,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q = Query::parse(q.as_deref(), &["datetime", "theme", "reference"])?;
    let Area {
        ds,
        unit: u,
        level,
        code,
        caller,
    } = area;
    // A drill-down to one area is recorded in the audit log (once a minute per caller).
    state.auth.record_view(
        &caller.actor(),
        &format!("{level}/{code}"),
        &ds.units[u].gemeente,
    );
    let body = tokio::task::spawn_blocking(move || -> Result<Value, ApiError> {
        let p = query::period(&ds, q.get("datetime")).map_err(|e| ApiError::invalid(&[e]))?;
        let gm = ds.gemeente_of(u);
        let mut figures = Vec::new();
        let mut held = crate::dataset::Held::new(&ds);
        for (j, m) in ds.indicators.iter().enumerate() {
            let f = held.fig(u, j, p)?;
            let g = gm.map(|g| held.fig(g, j, p)).transpose()?;
            figures.push(json!({
                "id": m.id, "naam": m.naam, "theme": m.theme, "unit": m.unit, "polarity": m.polarity,
                "count": f.count, "rate": f.rate, "denominator": f.denominator,
                "suppressed": crate::disclosure::served_suppressed(f.present, f.rate.is_some()),
                "gemeente_rate": g.and_then(|g| g.rate),
            }));
        }
        let scope = query::scope(&q)?;
        let score = crate::score::unit_score(&ds, u, p, scope)?;
        let unit = &ds.units[u];
        Ok(json!({
            "reference": scope.reference,
            "reference_naam": ds.reference_name(u, scope.reference),
            "level": unit.level.id(),
            "code": unit.code,
            "naam": unit.naam,
            "gemeente": unit.gemeente,
            "period": ds.periods[p],
            "parent": ds.parent(u).map(|x| unit_ref(&ds, x)),
            "children": ds.children(u).into_iter().map(|x| unit_ref(&ds, x)).collect::<Vec<_>>(),
            "bbox": unit.bbox,
            "figures": figures,
            "index": score.map(|s| json!({
                "index": stat(s.index), "class": s.class, "class_label": crate::score::CLASS_LABELS[usize::from(s.class - 1)],
                "low": stat(s.low), "high": stat(s.high), "low_confidence": s.low_confidence,
                "contributions": s.contributions,
            })),
            "disclosure": ds.params.described(),
        }))
    })
    .await??;
    Ok(Json(body))
}

/// A unit's label point to five decimals (about a metre): its midpoint carries float noise.
fn degrees(x: f64) -> f64 {
    crate::decimals::round(x, crate::decimals::DEGREES)
}
