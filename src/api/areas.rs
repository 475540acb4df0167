//! Area details, the indicator catalogue, periods, search, and the trend and distribution
//! charts.

use super::problem::ApiError;
use super::query::{self, Query};
use super::AppState;
use crate::charts;
use crate::dataset::Dataset;
use crate::spatial::Level;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

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
        "disclosure": {"k": ds.params.k, "k_fine": ds.params.k_fine, "round_to": ds.params.round_to},
        "themes": ds.themes,
        "indicators": list,
        "sources": ds.sources.iter().map(|(s, f, n)| json!({"source": s, "file": f, "rows": n})).collect::<Vec<_>>(),
    })))
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

/// `GET /v1/search?q=`: wijken, buurten and postcodes by name or code.
pub async fn search(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q = Query::parse(q.as_deref(), &["q", "limit"])?;
    let ds = state.dataset()?;
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
    for u in &ds.units {
        if !matches!(
            u.level,
            Level::Gemeente | Level::Wijk | Level::Buurt | Level::Pc4 | Level::Pc6
        ) {
            continue;
        }
        let name = u
            .naam
            .as_deref()
            .unwrap_or("")
            .to_lowercase()
            .replace(' ', "");
        let code = u.code.to_lowercase();
        let rank = if code == needle || name == needle {
            0
        } else if name.starts_with(&needle) || code.starts_with(&needle) {
            1
        } else if name.contains(&needle) {
            2
        } else {
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
        .map(|(_, u)| json!({"level": u.level.id(), "code": u.code, "naam": u.naam, "gemeente": u.gemeente, "bbox": u.bbox, "lon": u.lon, "lat": u.lat}))
        .collect();
    Ok(Json(json!({"results": out})))
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
    Path((level, code)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q = Query::parse(q.as_deref(), &["datetime", "theme", "reference"])?;
    let ds = state.dataset()?;
    let body = tokio::task::spawn_blocking(move || -> Result<Value, ApiError> {
        let u = find(&ds, &level, &code)?;
        let p = query::period(&ds, q.get("datetime")).map_err(|e| ApiError::invalid(&[e]))?;
        let gm = ds.gemeente_of(u);
        let mut figures = Vec::new();
        for (j, m) in ds.indicators.iter().enumerate() {
            let f = ds.fig(u, j, p)?;
            let g = gm.map(|g| ds.fig(g, j, p)).transpose()?;
            figures.push(json!({
                "id": m.id, "naam": m.naam, "theme": m.theme, "unit": m.unit, "polarity": m.polarity,
                "count": f.count, "rate": f.rate,
                "suppressed": !f.present || f.suppressed || f.rate_suppressed,
                "gemeente_rate": g.and_then(|g| g.rate),
            }));
        }
        let score = crate::score::unit_score(&ds, u, p, super::query::scope(&q)?)?;
        let unit = &ds.units[u];
        Ok(json!({
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
                "index": s.index, "class": s.class, "class_label": crate::score::CLASS_LABELS[usize::from(s.class - 1)],
                "low": s.low, "high": s.high, "low_confidence": s.low_confidence,
                "contributions": s.contributions,
            })),
            "disclosure": {"k": ds.params.k, "k_fine": ds.params.k_fine, "round_to": ds.params.round_to},
        }))
    })
    .await??;
    Ok(Json(body))
}

/// Serves chart bytes with an ETag from the dataset version (304 when it matches).
pub(crate) fn chart_response(
    headers: &HeaderMap,
    fmt: charts::Format,
    etag: String,
    bytes: Vec<u8>,
) -> Response {
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    (
        [
            (header::CONTENT_TYPE, fmt.content_type().to_string()),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, "private, max-age=300".to_string()),
        ],
        bytes,
    )
        .into_response()
}

fn chart_params(
    ds: &Dataset,
    q: &Query,
    need_period: bool,
) -> Result<(usize, charts::Format, Option<usize>), ApiError> {
    let mut problems = Vec::new();
    let ind = match q.get("indicator") {
        Some(i) => ds
            .indicator_index(i)
            .ok_or_else(|| format!("indicator: '{i}' bestaat niet"))
            .map_err(|e| problems.push(e))
            .ok(),
        None => {
            problems.push("indicator: verplicht".into());
            None
        }
    };
    let fmt = charts::Format::parse(q.get("f"));
    if fmt.is_none() {
        problems.push("f: kies svg of png".into());
    }
    let p = if need_period {
        query::period(ds, q.get("datetime"))
            .map_err(|e| problems.push(e))
            .ok()
    } else {
        None
    };
    match (ind, fmt) {
        (Some(i), Some(f)) if problems.is_empty() => Ok((i, f, p)),
        _ => Err(ApiError::invalid(&problems)),
    }
}

fn label(ds: &Dataset, u: usize) -> String {
    let x = &ds.units[u];
    x.naam.clone().unwrap_or_else(|| x.code.clone())
}

/// `GET /v1/charts/trend/{level}/{code}?indicator=&f=svg|png`
pub async fn trend_chart(
    State(state): State<AppState>,
    Path((level, code)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref(), &["indicator", "f"])?;
    let ds: Arc<Dataset> = state.dataset()?;
    tokio::task::spawn_blocking(move || -> Result<Response, ApiError> {
        let u = find(&ds, &level, &code)?;
        let (j, fmt, _) = chart_params(&ds, &q, false)?;
        let m = &ds.indicators[j];
        let series: Vec<Option<f64>> = (0..ds.periods.len())
            .map(|p| ds.fig(u, j, p).map(|f| f.rate))
            .collect::<Result<_, _>>()?;
        let gm = ds.gemeente_of(u);
        let reference: Vec<Option<f64>> = (0..ds.periods.len())
            .map(|p| gm.map_or(Ok(None), |g| ds.fig(g, j, p).map(|f| f.rate)))
            .collect::<Result<_, _>>()?;
        let gname = gm.map_or_else(
            || "gemeente".to_string(),
            |g| format!("gemeente {}", label(&ds, g)),
        );
        let bytes = charts::trend(
            fmt,
            &format!("{} — {}", m.naam, label(&ds, u)),
            &m.unit,
            &ds.periods,
            &series,
            &reference,
            (&label(&ds, u), &gname),
        )
        .map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(chart_response(
            &headers,
            fmt,
            format!("\"v{}-trend-{}-{}-{}\"", ds.version, level, code, m.id),
            bytes,
        ))
    })
    .await?
}

/// `GET /v1/charts/distribution/{level}/{code}?indicator=&datetime=&f=svg|png`
pub async fn distribution_chart(
    State(state): State<AppState>,
    Path((level, code)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref(), &["indicator", "f", "datetime"])?;
    let ds: Arc<Dataset> = state.dataset()?;
    tokio::task::spawn_blocking(move || -> Result<Response, ApiError> {
        let u = find(&ds, &level, &code)?;
        let (j, fmt, p) = chart_params(&ds, &q, true)?;
        let p = p.unwrap_or(0);
        let m = &ds.indicators[j];
        let unit = &ds.units[u];
        let layer = ds.layer(unit.level, p)?;
        let values: Vec<f64> = ds
            .level_units(unit.level)
            .iter()
            .filter(|&&x| ds.units[x].gemeente == unit.gemeente)
            .filter_map(|&x| layer.values[ds.pos_in_level[x]][j].rate)
            .collect();
        let own = layer.values[ds.pos_in_level[u]][j].rate;
        let name = label(&ds, u);
        let bytes = charts::distribution(
            fmt,
            &format!(
                "{} — {} in {} ({})",
                m.naam,
                unit.level.title().to_lowercase(),
                ds.gemeente_of(u).map_or(String::new(), |g| label(&ds, g)),
                ds.periods[p]
            ),
            &m.unit,
            &values,
            own.map(|v| (v, name.as_str())),
        )
        .map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(chart_response(
            &headers,
            fmt,
            format!("\"v{}-dist-{}-{}-{}-{}\"", ds.version, level, code, m.id, p),
            bytes,
        ))
    })
    .await?
}
