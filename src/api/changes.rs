//! Change over time over HTTP: class breaks fixed over every quarter, and the change map's
//! figures (the change of an indicator or the index between two quarters, with whether it
//! lies outside the uncertainty). Both over the areas of the gemeenten asked for, or, without
//! `gemeente`, of every gemeente the caller may read (a RIEC region, the whole country).

use super::auth::{out_of_scope, Caller};
use super::openapi::{datetime, levels, query_param};
use super::problem::ApiError;
use super::query::{self, Query};
use super::route::{doc, Access, Route};
use super::AppState;
use crate::auth::Cap;
use crate::dataset::Dataset;
use crate::spatial::Level;
use crate::trend::{self, Measure};
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::Json;
use serde_json::{json, Value};

/// `/v1/classes/…` and `/v1/changes/…`.
pub fn routes() -> Vec<Route> {
    let gemeente = || json!({"name": "gemeente", "in": "query", "required": false, "description": "GM-code, of meerdere met komma's (de gemeenten van een RIEC-regio samen); zonder: alle gemeenten die de gebruiker mag zien", "schema": {"type": "string", "pattern": crate::api::query::GEMEENTEN_PATTERN}});
    let indicator = || json!({"name": "indicator", "in": "query", "required": true, "description": "Indicator-id, of `index`", "schema": {"type": "string", "minLength": 1}});
    vec![
        Route::new(
            "/v1/classes/{level}",
            Access::Needs(Cap::Read),
            get(classes),
        )
        .doc(
            "get",
            doc(
                "getClasses",
                "Vaste klassengrenzen per indicator, gekozen over alle kwartalen",
                vec![levels("level"), gemeente()],
                "Klassengrenzen",
            ),
        ),
        Route::new(
            "/v1/changes/{level}",
            Access::Needs(Cap::Read),
            get(changes),
        )
        .doc(
            "get",
            doc(
                "getChanges",
                "Verandering per gebied tussen twee kwartalen, met 95%-interval",
                vec![
                    levels("level"),
                    gemeente(),
                    indicator(),
                    query_param(
                        "from",
                        "Beginkwartaal (2024-Q1); standaard het eerste",
                        json!({"type": "string"}),
                    ),
                    datetime(),
                    crate::api::openapi::reference("alle"),
                ],
                "Veranderingen",
            ),
        ),
    ]
}

/// The level, the gemeenten asked for (each of which the caller must read) or, without
/// `gemeente`, every gemeente the caller may read (`None`), and their units at the level that
/// the caller may see.
fn areas(
    state: &AppState,
    caller: &Caller,
    ds: &Dataset,
    level: &str,
    q: &Query,
) -> Result<(Level, Option<String>, Vec<usize>), ApiError> {
    let level = Level::from_id(level)
        .ok_or_else(|| ApiError::NotFound(format!("niveau '{level}' bestaat niet")))?;
    let scope = caller.reads();
    let asked = q.get("gemeente").map(str::to_string);
    let codes: std::collections::HashSet<&str> = match &asked {
        Some(gemeente) => {
            let codes = super::query::gemeenten(gemeente).map_err(|e| ApiError::invalid(&[e]))?;
            for g in &codes {
                if !scope.sees(g) {
                    let _ = out_of_scope(state, caller, &format!("{}/{g}", level.id()));
                }
                if !scope.sees(g) || ds.unit(Level::Gemeente, g).is_none() {
                    return Err(ApiError::NotFound(format!(
                        "gemeente '{g}' komt niet voor in de dataset"
                    )));
                }
            }
            codes.into_iter().collect()
        }
        None => ds
            .gemeenten_seen(&scope)
            .map(|g| ds.units[g].code.as_str())
            .collect(),
    };
    let units = ds
        .level_units(level)
        .iter()
        .copied()
        .filter(|&u| codes.contains(ds.units[u].gemeente.as_str()) && ds.visible(u, &scope))
        .collect();
    Ok((level, asked, units))
}

/// `GET /v1/classes/{level}?gemeente=`: for each indicator, quantile breaks over the
/// gemeenten's published figures at this level in every quarter, so that the map's classes
/// stay put while the quarters play and a rising figure changes class.
pub async fn classes(
    State(state): State<AppState>,
    caller: Caller,
    Path(level): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q = Query::parse(q.as_deref(), &["gemeente"])?;
    let ds = state.dataset()?;
    let (level, gemeente, units) = areas(&state, &caller, &ds, &level, &q)?;
    let v = tokio::task::spawn_blocking(move || -> Result<Value, ApiError> {
        let breaks = trend::fixed_breaks(&ds, &units).map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(json!({
            "level": level.id(), "gemeente": gemeente, "classes": trend::CLASSES,
            "method": "kwantielen (20, 40, 60, 80 en 95%) van alle gepubliceerde cijfers van dit niveau in de gevraagde gemeenten (zonder gemeente: alle die de gebruiker mag zien), over alle kwartalen", "areas": units.len(), "probabilities": trend::CLASS_PROBS,
            "periods": [ds.periods.first(), ds.periods.last()],
            "indicators": breaks,
        }))
    })
    .await??;
    Ok(Json(v))
}

/// `GET /v1/changes/{level}?gemeente=&indicator=&from=&datetime=`: per area, the change from
/// `from` (default the first quarter) to `datetime` (default the latest), its 95 % interval
/// and what it means: `meer_druk` or `minder_druk` only when the interval excludes no change.
pub async fn changes(
    State(state): State<AppState>,
    caller: Caller,
    Path(level): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q = Query::parse(
        q.as_deref(),
        &["gemeente", "indicator", "from", "datetime", "reference"],
    )?;
    let ds = state.dataset()?;
    let (level, gemeente, units) = areas(&state, &caller, &ds, &level, &q)?;
    let v = tokio::task::spawn_blocking(move || -> Result<Value, ApiError> {
        let ind = q.get("indicator").ok_or_else(|| ApiError::invalid(&["indicator: ontbreekt".to_string()]))?;
        let reference = query::reference(q.get("reference")).map_err(|e| ApiError::invalid(&[e]))?;
        let measure = if ind == "index" {
            Measure::Index(reference)
        } else {
            Measure::Indicator(ds.indicator_index(ind).ok_or_else(|| {
                ApiError::invalid(&[format!("indicator: '{}' bestaat niet", ind.chars().take(40).collect::<String>())])
            })?)
        };
        let to = query::period(&ds, q.get("datetime")).map_err(|e| ApiError::invalid(&[e]))?;
        let from = match q.get("from") {
            None => 0,
            Some(f) => query::period(&ds, Some(f)).map_err(|e| ApiError::invalid(&[e.replacen("datetime", "from", 1)]))?,
        };
        if from > to {
            return Err(ApiError::invalid(&[format!("from: {} ligt na {}", ds.periods[from], ds.periods[to])]));
        }
        let list = trend::changes(&ds, &units, measure, from, to)?;
        let count = |d: trend::Direction| list.iter().filter(|c| c.direction == d).count();
        let why = |r: trend::Unknown| list.iter().filter(|c| c.reason == Some(r)).count();
        let (naam, unit) = match measure {
            Measure::Index(_) => ("Drukindex".to_string(), "standaardafwijkingen".to_string()),
            Measure::Indicator(j) => (ds.indicators[j].naam.clone(), ds.indicators[j].unit.clone()),
        };
        Ok(json!({
            "level": level.id(), "gemeente": gemeente, "indicator": ind, "naam": naam, "unit": unit,
            "from": ds.periods[from], "to": ds.periods[to],
            "summary": {
                "meer_druk": count(trend::Direction::MeerDruk),
                "minder_druk": count(trend::Direction::MinderDruk),
                "geen_verandering": count(trend::Direction::GeenVerandering),
                "onbekend": count(trend::Direction::Onbekend),
                "onbekend_onderdrukt": why(trend::Unknown::Onderdrukt),
                "onbekend_onzeker": why(trend::Unknown::Onzeker),
            },
            "method": format!(
                "verschil van de gepubliceerde cijfers; 95%-interval uit de steekproefvariantie van beide cijfers en hun afronding; alleen een interval dat nul uitsluit telt als verandering; onbekend als een cijfer in een van beide kwartalen onderdrukt is (reason: onderdrukt) of de index er onzeker is, met meer dan {}% van het gewicht onderdrukt of een standaardfout boven {} (reason: onzeker)",
                crate::score::MAX_MISSING_WEIGHT * 100.0, crate::score::MAX_SE
            ),
            "changes": list,
        }))
    })
    .await??;
    Ok(Json(v))
}
