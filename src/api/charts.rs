//! Charts over HTTP (plotters, SVG or PNG, with an ETag from the dataset version): an
//! indicator's trend against the gemeente, its distribution over the gemeente's areas, and
//! the contributions to the index.

use super::areas::Area;
use super::openapi::{datetime, levels, path_param, query_param};
use super::problem::ApiError;
use super::query::{self, Query};
use super::route::{Access, Route};
use crate::auth::Cap;
use crate::charts;
use crate::dataset::Dataset;
use crate::score;
use axum::extract::RawQuery;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{json, Value};

fn chart_op(id: &str, summary: &str, mut params: Vec<Value>) -> Value {
    let mut p = vec![levels("level"), path_param("code", "Code")];
    p.append(&mut params);
    json!({"summary": summary, "operationId": id, "parameters": p, "responses": {
        "200": {"description": "SVG of PNG", "content": {"image/svg+xml": {}, "image/png": {}}},
        "304": {"description": "Ongewijzigd (ETag)"},
        "400": {"$ref": "#/components/responses/Problem"},
        "404": {"$ref": "#/components/responses/Problem"}}})
}

/// `/v1/charts/…`.
pub fn routes() -> Vec<Route> {
    let ind = || json!({"name": "indicator", "in": "query", "required": true, "description": "Indicator-id, of `index` voor de drukindex", "schema": {"type": "string"}});
    let fmt = || {
        query_param(
            "f",
            "svg of png",
            json!({"type": "string", "enum": ["svg", "png"]}),
        )
    };
    vec![
        Route::new(
            "/v1/charts/trend/{level}/{code}",
            Access::Needs(Cap::Read),
            get(trend_chart),
        )
        .doc(
            "get",
            chart_op(
                "getTrendChart",
                "Trendgrafiek van een indicator, met de gemeente als referentie",
                vec![ind(), fmt(), crate::api::openapi::reference("alle")],
            ),
        ),
        Route::new(
            "/v1/charts/distribution/{level}/{code}",
            Access::Needs(Cap::Read),
            get(distribution_chart),
        )
        .doc(
            "get",
            chart_op(
                "getDistributionChart",
                "Verdeling van een indicator over de gebieden van de gemeente",
                vec![
                    ind(),
                    fmt(),
                    datetime(),
                    crate::api::openapi::reference("alle"),
                ],
            ),
        ),
        Route::new(
            "/v1/charts/contributions/{level}/{code}",
            Access::Needs(Cap::Read),
            get(contributions_chart),
        )
        .doc(
            "get",
            chart_op(
                "getContributionsChart",
                "Bijdragen per indicator aan de index",
                vec![
                    fmt(),
                    datetime(),
                    query_param("theme", "Thema", json!({"type": "string"})),
                    crate::api::openapi::reference("alle"),
                ],
            ),
        ),
    ]
}

/// Serves chart bytes with an ETag from the dataset version (304 when it matches).
fn chart_response(
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

/// The start and end of the projects recorded for a unit, as marks on its trend: the index
/// of the first quarter after each.
fn project_marks(ds: &Dataset, u: usize) -> Result<Vec<(usize, String)>, ApiError> {
    let unit = &ds.units[u];
    let quarters: Vec<u16> = ds
        .periods
        .iter()
        .filter_map(|p| crate::period::parse_period(p))
        .collect();
    let first_after = |date: &str, after_end: bool| -> Option<usize> {
        let (y, m, _) = crate::period::parse_date(date.as_bytes())?;
        let q = crate::period::quarter_index(y, m);
        let i = quarters
            .iter()
            .position(|&x| if after_end { x > q } else { x >= q })?;
        (i > 0).then_some(i)
    };
    let mut marks = Vec::new();
    for iv in crate::intervention::interventions(ds)? {
        if iv.level != unit.level.id() || !iv.codes.contains(&unit.code) {
            continue;
        }
        if let Some(i) = first_after(&iv.start_date, false) {
            marks.push((i, format!("start {}", iv.naam)));
        }
        if let Some(i) = first_after(&iv.end_date, true) {
            marks.push((i, "einde project".to_string()));
        }
    }
    Ok(marks)
}

fn label(ds: &Dataset, u: usize) -> String {
    let x = &ds.units[u];
    x.naam.clone().unwrap_or_else(|| x.code.clone())
}

/// A chart, rendered once per dataset version, chart (`tag`: kind and its parameters) and
/// format in the bounded cache; the ETag names the same, so an unchanged chart is a 304.
/// `render` runs only when the chart is not cached.
fn cached_chart(
    ds: &Dataset,
    headers: &HeaderMap,
    fmt: charts::Format,
    tag: &str,
    render: impl FnOnce() -> Result<Vec<u8>, ApiError>,
) -> Result<Response, ApiError> {
    let ext = if fmt == charts::Format::Png {
        "png"
    } else {
        "svg"
    };
    let etag = format!("\"v{}-{tag}-{ext}\"", ds.version);
    let bytes = ds.cached(&format!("chart|{etag}"), render, Vec::len)?;
    Ok(chart_response(headers, fmt, etag, bytes.as_ref().clone()))
}

/// The index of a chart: all themes, against the request's `reference`.
fn index_scope(q: &Query) -> Result<crate::score::Scope<'static>, ApiError> {
    let reference = query::reference(q.get("reference")).map_err(|e| ApiError::invalid(&[e]))?;
    Ok(crate::score::Scope::against(reference))
}

/// The `f` of a chart request (svg or png).
fn chart_format(q: &Query) -> Result<charts::Format, ApiError> {
    charts::Format::parse(q.get("f"))
        .ok_or_else(|| ApiError::invalid(&["f: kies svg of png".into()]))
}

fn chart_error(e: charts::ChartError) -> ApiError {
    ApiError::Internal(e.to_string())
}

/// `GET /v1/charts/trend/{level}/{code}?indicator=&f=svg|png`
pub async fn trend_chart(
    area: Area,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref(), &["indicator", "f", "reference"])?;
    let scope = index_scope(&q)?;
    let Area {
        ds,
        unit: u,
        level,
        code,
        ..
    } = area;
    tokio::task::spawn_blocking(move || -> Result<Response, ApiError> {
        if q.get("indicator") == Some("index") {
            // The index follows the map's choice: its course per quarter against the average
            // of the level (0), where the index is standardised.
            let fmt = chart_format(&q)?;
            let tag = format!("trend-{level}-{code}-index-{}", scope.reference.id());
            return cached_chart(&ds, &headers, fmt, &tag, || {
                let series: Vec<Option<f64>> = (0..ds.periods.len())
                    .map(|p| crate::score::unit_score(&ds, u, p, scope).map(|s| s.map(|s| s.index)))
                    .collect::<Result<_, _>>()?;
                let reference = vec![Some(0.0); ds.periods.len()];
                let lvl = format!(
                    "{} van {}",
                    ds.units[u].level.title().to_lowercase(),
                    ds.reference_name(u, scope.reference)
                );
                charts::trend(
                    fmt,
                    &format!("Drukindex — {}", label(&ds, u)),
                    "standaardscores",
                    &ds.periods,
                    &series,
                    &reference,
                    (&label(&ds, u), &format!("gemiddelde van de {lvl} (0)")),
                    &project_marks(&ds, u)?,
                )
                .map_err(chart_error)
            });
        }
        let (j, fmt, _) = chart_params(&ds, &q, false)?;
        let m = &ds.indicators[j];
        let tag = format!("trend-{level}-{code}-{}", m.id);
        cached_chart(&ds, &headers, fmt, &tag, || {
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
            charts::trend(
                fmt,
                &format!("{} — {}", m.naam, label(&ds, u)),
                &m.unit,
                &ds.periods,
                &series,
                &reference,
                (&label(&ds, u), &gname),
                &project_marks(&ds, u)?,
            )
            .map_err(chart_error)
        })
    })
    .await?
}

/// `GET /v1/charts/distribution/{level}/{code}?indicator=&datetime=&f=svg|png`
pub async fn distribution_chart(
    area: Area,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref(), &["indicator", "f", "datetime", "reference"])?;
    let scope = index_scope(&q)?;
    let Area {
        ds,
        unit: u,
        level,
        code,
        ..
    } = area;
    tokio::task::spawn_blocking(move || -> Result<Response, ApiError> {
        if q.get("indicator") == Some("index") {
            let fmt = chart_format(&q)?;
            let p = query::period(&ds, q.get("datetime")).map_err(|e| ApiError::invalid(&[e]))?;
            let tag = format!("dist-{level}-{code}-index-{p}-{}", scope.reference.id());
            return cached_chart(&ds, &headers, fmt, &tag, || {
                let unit = &ds.units[u];
                let scores = crate::score::layer_scores(&ds, unit.level, p, scope)?;
                let values: Vec<f64> = ds
                    .level_units(unit.level)
                    .iter()
                    .filter(|&&x| ds.units[x].gemeente == unit.gemeente)
                    .filter_map(|&x| scores[ds.pos_in_level[x]].as_ref().map(|s| s.index))
                    .collect();
                let own = scores[ds.pos_in_level[u]].as_ref().map(|s| s.index);
                let name = label(&ds, u);
                charts::distribution(
                    fmt,
                    &format!(
                        "Drukindex — {} in {} ({})",
                        unit.level.title().to_lowercase(),
                        ds.gemeente_of(u).map_or(String::new(), |g| label(&ds, g)),
                        ds.periods[p]
                    ),
                    "standaardscores",
                    &values,
                    own.map(|v| (v, name.as_str())),
                )
                .map_err(chart_error)
            });
        }
        let (j, fmt, p) = chart_params(&ds, &q, true)?;
        let p = p.unwrap_or(0);
        let m = &ds.indicators[j];
        let tag = format!("dist-{level}-{code}-{}-{p}", m.id);
        cached_chart(&ds, &headers, fmt, &tag, || {
            let unit = &ds.units[u];
            let layer = ds.layer(unit.level, p)?;
            let values: Vec<f64> = ds
                .level_units(unit.level)
                .iter()
                .filter(|&&x| ds.units[x].gemeente == unit.gemeente)
                .filter_map(|&x| layer.get(ds.pos_in_level[x], j).rate)
                .collect();
            let own = layer.get(ds.pos_in_level[u], j).rate;
            let name = label(&ds, u);
            charts::distribution(
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
            .map_err(chart_error)
        })
    })
    .await?
}

/// `GET /v1/charts/contributions/{level}/{code}?f=svg|png&datetime=&theme=&reference=`
pub async fn contributions_chart(
    area: Area,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let q = Query::parse(q.as_deref(), &["f", "datetime", "theme", "reference"])?;
    let Area {
        ds,
        unit: u,
        level,
        code,
        ..
    } = area;
    tokio::task::spawn_blocking(move || -> Result<Response, ApiError> {
        let fmt = charts::Format::parse(q.get("f"))
            .ok_or_else(|| ApiError::invalid(&["f: kies svg of png".into()]))?;
        let p = query::period(&ds, q.get("datetime")).map_err(|e| ApiError::invalid(&[e]))?;
        let scope = query::scope(&q)?;
        // The theme and the reference change the index, so both name the chart.
        let tag = format!(
            "contrib-{level}-{code}-{p}-{}-{}",
            q.get("theme").unwrap_or(""),
            q.get("reference").unwrap_or("")
        );
        cached_chart(&ds, &headers, fmt, &tag, || {
            let s = score::unit_score(&ds, u, p, scope)?
                .ok_or_else(|| ApiError::NotFound("geen index voor dit gebied".into()))?;
            let mut items: Vec<(String, f64)> = s
                .contributions
                .iter()
                .filter(|c| c.weight > 0.0)
                .map(|c| (ds.indicator_short(&c.indicator), c.contribution))
                .collect();
            items.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
            items.truncate(10);
            let name = ds.units[u].naam.clone().unwrap_or_else(|| code.clone());
            charts::contributions(
                fmt,
                &format!("Wat drijft de index van {name} ({})", ds.periods[p]),
                &items,
            )
            .map_err(chart_error)
        })
    })
    .await?
}
