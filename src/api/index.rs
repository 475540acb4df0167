//! The pressure index over HTTP: its explanation per area, the ranking of a gemeente's wijken
//! or buurten, and the published method and weights.

use super::areas::Area;
use super::openapi::{datetime, levels, path_param, query_param};
use super::problem::ApiError;
use super::query::{self, Query};
use super::route::{doc, Access, Route};
use super::AppState;
use crate::auth::Cap;
use crate::decimals::stat;
use crate::score::{self, CLASS_LABELS};
use crate::spatial::Level;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::Json;
use serde_json::{json, Value};

/// `/v1/index/…` and `/v1/ranking/…`.
pub fn routes() -> Vec<Route> {
    vec![
        Route::new("/v1/index/method", Access::Public, get(method)).doc("get", doc("getIndexMethod", "Methode en gewichten van de drukindex", vec![], "Methode")),
        Route::new("/v1/index/{level}/{code}", Access::Needs(Cap::Read), get(explain)).doc("get", doc("getIndex", "Index, klasse, interval en oorzaken van een gebied", vec![levels("level"), path_param("code", "Code"), datetime(), query_param("theme", "Thema", json!({"type": "string"})), crate::api::openapi::reference("alle")], "Uitleg")),
        Route::new("/v1/ranking/{gemeente}", Access::Needs(Cap::Read), get(ranking)).doc("get", doc("getRanking", "Rangorde van wijken, buurten of postcodegebieden naar druk", vec![path_param("gemeente", "GM-code"), query_param("level", "wijken, buurten of pc4 (postcodegebieden, voor gemeenten zonder wijken in de geladen grenzen)", json!({"type": "string", "enum": ["wijken", "buurten", "pc4"]})), query_param("theme", "Thema", json!({"type": "string"})), crate::api::openapi::reference("alle"), datetime()], "Rangorde")),
    ]
}

/// `GET /v1/index/{level}/{code}`: index, class, interval and drivers.
pub async fn explain(area: Area, RawQuery(q): RawQuery) -> Result<Json<Value>, ApiError> {
    let q = Query::parse(q.as_deref(), &["datetime", "theme", "reference"])?;
    let Area {
        ds,
        unit: u,
        level,
        code,
        ..
    } = area;
    let v = tokio::task::spawn_blocking(move || -> Result<Value, ApiError> {
        let p = query::period(&ds, q.get("datetime")).map_err(|e| ApiError::invalid(&[e]))?;
        let s = score::unit_score(&ds, u, p, query::scope(&q)?)?.ok_or_else(|| ApiError::NotFound(format!("geen gegevens voor '{code}' in {}", ds.periods[p])))?;
        let mut drivers = s.contributions.clone();
        drivers.sort_by(|a, b| b.contribution.abs().total_cmp(&a.contribution.abs()));
        Ok(json!({
            "level": level, "code": code, "naam": ds.units[u].naam, "period": ds.periods[p], "theme": q.get("theme"),
            "index": stat(s.index), "class": s.class, "class_label": CLASS_LABELS[usize::from(s.class - 1)],
            "low": stat(s.low), "high": stat(s.high), "se": stat(s.se), "low_confidence": s.low_confidence, "missing_weight": stat(s.missing_weight),
            "sum_of_contributions": stat(score::contributions_sum(&s)),
            "themes": score::theme_scores(&s).into_iter().map(|(t, v)| (t, stat(v))).collect::<std::collections::HashMap<_, _>>(),
            // A contribution as it serializes (its statistics rounded there), with its name.
            "drivers": drivers.iter().map(|c| {
                let mut v = json!(c);
                v["naam"] = json!(ds.indicator_name(&c.indicator));
                v
            }).collect::<Vec<_>>(),
            "method": "/v1/index/method",
        }))
    })
    .await??;
    Ok(Json(v))
}

/// `GET /v1/index/method`: method, weights and parameters.
pub async fn method(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let ds = state.dataset()?;
    let weights = score::indicator_weights(&ds, None);
    Ok(Json(json!({
        "steps": [
            "Per gebied en kwartaal: de gepubliceerde rate van elke indicator (na onthullingscontrole).",
            "Empirische-Bayesstabilisatie: de rate wordt naar die van het bovenliggende gebied getrokken (buurt → wijk, overige → gemeente), des te sterker naarmate de noemer kleiner is. Een onderdrukte rate telt als het bovenliggende gemiddelde, met volle onzekerheid.",
            "Standaardisatie: (geschatte rate − gemiddelde over de gebieden van hetzelfde niveau) / de spreiding van de ware rates tussen die gebieden (de wortel van de tussen-gebiedsvariantie uit de stabilisatie); het teken zo dat positief = meer druk. Zo telt een onderdrukt cijfer met hoogstens zijn eigen gewicht mee in de onzekerheid.",
            "Themascores en index: gewogen som met de gewichten hieronder, daarna uitgedrukt in standaarddeviaties over de gebieden van hetzelfde niveau; per indicator is de bijdrage = gewicht × gestandaardiseerde waarde (op dezelfde schaal), en de bijdragen tellen op tot de index.",
            "Onzekerheid: 95%-interval uit de posterieure varianties; 'laag vertrouwen' als meer dan 40% van het gewicht op ontbrekende cijfers rust of de standaardfout groter is dan 1 standaarddeviatie (het interval beslaat dan de meeste klassen). Gebieden waarvan de intervallen overlappen delen een rangnummer.",
            "Klassen: 9 klassen op vaste grenzen in standaarddeviaties, zoals de Leefbaarometer er 9 kent.",
            "Gebieden over een gemeentegrens (PC4, PC6, H3-cellen): hun cijfers tellen alle adressen in het gebied, aan beide kanten; in rangorde, briefing en gemeentekeuze horen ze bij één gemeente, die van hun adres met de laagste postcode (bij gelijke postcode de laagste RD-coördinaten). Reikt het voor meer dan 1 % van zijn oppervlak in een andere gemeente van de dataset, dan tonen kaart, API en exports het alleen aan wie beide gemeenten mag zien."
        ],
        "class_bounds": score::CLASS_BOUNDS,
        "class_labels": CLASS_LABELS,
        "mean_cv": score::MEAN_CV,
        "themes": ds.themes,
        "indicator_weights": ds.indicators.iter().zip(&weights).map(|(m, w)| json!({"indicator": m.id, "naam": m.naam, "theme": m.theme, "weight": w, "enforcement": m.enforcement})).collect::<Vec<_>>(),
        "note": "Indicatoren die handhavingsactiviteit weerspiegelen krijgen gewicht 0, zodat de index zich niet voedt met eigen interventies. De index adviseert; een mens beslist.",
    })))
}

/// `GET /v1/ranking/{gemeente}?level=wijken|buurten&theme=&datetime=`
pub async fn ranking(
    State(state): State<AppState>,
    caller: super::auth::Caller,
    Path(gemeente): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q = Query::parse(q.as_deref(), &["level", "theme", "reference", "datetime"])?;
    let ds = state.dataset()?;
    if !caller.reads().sees(&gemeente) {
        let _ = super::auth::out_of_scope(&state, &caller, &format!("ranking/{gemeente}"));
        return Err(ApiError::NotFound(format!(
            "gemeente '{gemeente}' komt niet voor in de dataset"
        )));
    }
    let v = tokio::task::spawn_blocking(move || -> Result<Value, ApiError> {
        if ds.unit(Level::Gemeente, &gemeente).is_none() {
            return Err(ApiError::NotFound(format!("gemeente '{gemeente}' komt niet voor in de dataset")));
        }
        let level = query::ranking_level(&q)?;
        let p = query::period(&ds, q.get("datetime")).map_err(|e| ApiError::invalid(&[e]))?;
        let rows = score::ranking(&ds, &gemeente, level, p, query::scope(&q)?)?;
        Ok(json!({"gemeente": gemeente, "level": level.id(), "period": ds.periods[p], "periods": ds.periods, "theme": q.get("theme"), "ranking": rows}))
    })
    .await??;
    Ok(Json(v))
}
