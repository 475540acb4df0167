//! Several gemeenten together over HTTP: which RIEC regions the caller sees, a ranking of the
//! wijken or buurten of a region's gemeenten side by side, the ranking of all the caller's
//! gemeenten (`/v1/ranking`), and the region briefing.
//!
//! A region shows only the gemeenten that are in the dataset and that the caller may see; a
//! region with none of them is a 404, as an unknown one is (never "exists, but not yours").

use super::auth::Caller;
use super::briefing::{drivers, num, Areas};
use super::openapi::{datetime, path_param, query_param};
use super::problem::ApiError;
use super::query::{self, Query};
use super::route::{doc, Access, Route};
use super::AppState;
use crate::auth::Cap;
use crate::charts::{self, html_escape};
use crate::dataset::Dataset;
use crate::regions::{Region, Regions};
use crate::score::{self, Reference};
use crate::spatial::Level;
use axum::extract::{Path, RawQuery, State};
use axum::response::Html;
use axum::routing::get;
use axum::Json;
use serde_json::{json, Value};
use std::fmt::Write as _;

/// `/v1/regions…` and `/briefing/region/{region}`.
pub fn routes() -> Vec<Route> {
    let id = || path_param("region", "Regio-id (limburg, noord-holland …)");
    vec![
        Route::new("/v1/regions", Access::Needs(Cap::Read), get(list)).doc("get", doc("getRegions", "De RIEC-regio's met de gemeenten uit de dataset die de gebruiker mag zien", vec![], "Regio's")),
        Route::new("/v1/regions/{region}/ranking", Access::Needs(Cap::Read), get(ranking)).doc("get", doc("getRegionRanking", "Rangorde van de wijken, buurten of postcodegebieden van alle gemeenten van een regio samen", vec![id(), query_param("level", "wijken, buurten of pc4 (postcodegebieden). Standaard wijken als elke gemeente van de regio ze in de geladen grenzen heeft, anders pc4, zodat geen gemeente wegvalt (zoals de regiobriefing); het antwoord noemt het niveau", json!({"type": "string", "enum": ["wijken", "buurten", "pc4"]})), query_param("theme", "Thema", json!({"type": "string"})), crate::api::openapi::reference("regio"), datetime()], "Rangorde")),
        Route::new("/v1/ranking", Access::Needs(Cap::Read), get(ranking_all)).doc("get", doc("getRankingAll", "Rangorde van de wijken of postcodegebieden van alle gemeenten die de gebruiker mag zien samen (voor een landelijke analist: heel Nederland); de hoogste `limit`", vec![query_param("level", "wijken, buurten of pc4. Standaard wijken als elke gemeente ze in de geladen grenzen heeft, anders pc4; het antwoord noemt het niveau", json!({"type": "string", "enum": ["wijken", "buurten", "pc4"]})), query_param("theme", "Thema", json!({"type": "string"})), crate::api::openapi::reference("alle"), datetime(), query_param("limit", "Hoeveel gebieden, vanaf de hoogste druk (standaard 100, hoogstens 10000); numberMatched telt ze alle", json!({"type": "integer", "minimum": 1, "default": 100}))], "Rangorde")),
        Route::new("/briefing/region/{region}", Access::Needs(Cap::Briefing), get(page)),
    ]
}

/// Areas in the ranking of all gemeenten when `limit` is not given.
const RANKING_ALL_LIMIT: usize = 100;

/// `GET /v1/ranking`: the areas of every gemeente the caller sees in one ranking, the index
/// against all of them unless asked otherwise; the highest `limit`.
pub async fn ranking_all(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q = Query::parse(
        q.as_deref(),
        &["level", "theme", "reference", "datetime", "limit"],
    )?;
    let ds = state.dataset()?;
    let scope = caller.reads();
    let codes: Vec<String> = ds
        .gemeenten_seen(&scope)
        .map(|u| ds.units[u].code.clone())
        .collect();
    let v = tokio::task::spawn_blocking(move || -> Result<Value, ApiError> {
        let refs: Vec<&str> = codes.iter().map(String::as_str).collect();
        let level = match q.get("level") {
            None => Areas::of(&ds, &refs).level,
            Some(_) => query::ranking_level(&q)?,
        };
        let p = query::period(&ds, q.get("datetime")).map_err(|e| ApiError::invalid(&[e]))?;
        let limit = query::uint("limit", q.get("limit"), RANKING_ALL_LIMIT)
            .map_err(|e| ApiError::invalid(&[e]))?
            .clamp(1, crate::api::collections::MAX_LIMIT);
        let sc = query::scope(&q)?;
        let mut rows = score::ranking_in(&ds, &refs, level, p, sc)?;
        let matched = rows.len();
        rows.truncate(limit);
        Ok(json!({
            "gemeenten": codes.len(),
            "level": level.id(),
            "period": ds.periods[p],
            "reference": sc.reference,
            "theme": q.get("theme"),
            "numberMatched": matched,
            "numberReturned": rows.len(),
            "ranking": rows,
        }))
    })
    .await??;
    Ok(Json(v))
}

/// The region's gemeenten that are in the dataset and that `sees` allows, with their names.
fn visible(ds: &Dataset, r: &Region, sees: impl Fn(&str) -> bool) -> Vec<(String, String)> {
    r.gemeenten
        .iter()
        .filter(|g| sees(g))
        .filter_map(|g| {
            let u = ds.unit(Level::Gemeente, g)?;
            Some((
                g.clone(),
                ds.units[u].naam.clone().unwrap_or_else(|| g.clone()),
            ))
        })
        .collect()
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!(
        "regio '{id}' heeft geen gemeenten in de dataset die u mag zien"
    ))
}

/// `GET /v1/regions`.
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let ds = state.dataset()?;
    let scope = caller.reads();
    let regions: Vec<Value> = Regions::builtin()
        .regions
        .iter()
        .filter_map(|r| {
            let g = visible(&ds, r, |g| scope.sees(g));
            (!g.is_empty()).then(|| {
                json!({
                    "id": r.id,
                    "naam": r.naam,
                    "gemeenten": g.iter().map(|(c, n)| json!({"code": c, "naam": n})).collect::<Vec<_>>(),
                    "gemeenten_in_regio": r.gemeenten.len(),
                    "links": [
                        {"rel": "ranking", "href": format!("/v1/regions/{}/ranking", r.id)},
                        {"rel": "briefing", "href": format!("/briefing/region/{}", r.id), "type": "text/html"},
                    ],
                })
            })
        })
        .collect();
    Ok(Json(json!({ "regions": regions })))
}

/// `GET /v1/regions/{region}/ranking`: standardised against the region unless asked otherwise.
pub async fn ranking(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q = Query::parse(q.as_deref(), &["level", "theme", "reference", "datetime"])?;
    let ds = state.dataset()?;
    let region = Regions::builtin().get(&id).ok_or_else(|| not_found(&id))?;
    let scope = caller.reads();
    let gemeenten = visible(&ds, region, |g| scope.sees(g));
    if gemeenten.is_empty() {
        return Err(not_found(&id));
    }
    let region = region.clone();
    let v = tokio::task::spawn_blocking(move || -> Result<Value, ApiError> {
        let codes: Vec<&str> = gemeenten.iter().map(|(c, _)| c.as_str()).collect();
        // By default what the region's briefing ranks: wijken when every gemeente has them,
        // else postcode areas, so that no gemeente drops out.
        let level = match q.get("level") {
            None => Areas::of(&ds, &codes).level,
            Some(_) => query::ranking_level(&q)?,
        };
        let p = query::period(&ds, q.get("datetime")).map_err(|e| ApiError::invalid(&[e]))?;
        let mut sc = query::scope(&q)?;
        if q.get("reference").is_none() {
            sc.reference = Reference::Regio;
        }
        let rows = score::ranking_in(&ds, &codes, level, p, sc)?;
        Ok(json!({
            "region": {"id": region.id, "naam": region.naam},
            "gemeenten": gemeenten.iter().map(|(c, n)| json!({"code": c, "naam": n})).collect::<Vec<_>>(),
            "level": level.id(),
            "period": ds.periods[p],
            "reference": sc.reference,
            "theme": q.get("theme"),
            "ranking": rows,
        }))
    })
    .await??;
    Ok(Json(v))
}

/// `GET /briefing/region/{region}`: the region's gemeenten side by side and its wijken with the
/// most pressure, standardised against the region; each gemeente links to its own briefing.
pub async fn page(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Html<String>, ApiError> {
    let ds = state.dataset()?;
    let region = Regions::builtin().get(&id).ok_or_else(|| not_found(&id))?;
    let scope = caller.scope(Cap::Briefing);
    let gemeenten = visible(&ds, region, |g| scope.sees(g));
    if gemeenten.is_empty() {
        return Err(not_found(&id));
    }
    let region = region.clone();
    let html = tokio::task::spawn_blocking(move || region_html(&ds, &region, &gemeenten)).await??;
    Ok(Html(html))
}

fn region_html(
    ds: &Dataset,
    region: &Region,
    gemeenten: &[(String, String)],
) -> Result<String, ApiError> {
    let p = ds.periods.len().checked_sub(1).ok_or(ApiError::NoData)?;
    let period = &ds.periods[p];
    let sc = score::Scope {
        theme: None,
        reference: Reference::Regio,
    };
    let codes: Vec<&str> = gemeenten.iter().map(|(c, _)| c.as_str()).collect();
    // Wijken when every gemeente has them in the loaded boundaries; else postcode areas (PC4),
    // which every gemeente has, so that no gemeente drops out of the region's comparison.
    let a = Areas::of(ds, &codes);
    let rows = score::ranking_in(ds, &codes, a.level, p, sc)?;
    let name_of = |g: &str| {
        gemeenten
            .iter()
            .find(|(c, _)| c == g)
            .map_or_else(|| g.to_string(), |(_, n)| n.clone())
    };
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>Briefing {r} — {period}</title>
<style>
@page {{ size: A4; margin: 12mm 13mm; }}
body {{ font-family: "DejaVu Sans", Arial, sans-serif; font-size: 9.5pt; line-height: 1.3; color: #111; margin: 0 auto; max-width: 184mm; }}
h1 {{ font-size: 16pt; margin: 0 0 1mm; }} h2 {{ font-size: 11.5pt; margin: 4mm 0 1.5mm; border-bottom: 1px solid #bbb; }}
table {{ width: 100%; border-collapse: collapse; }} td, th {{ padding: 1mm 1.2mm; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }}
th {{ font-size: 8.5pt; color: #444; }} .r {{ text-align: right; white-space: nowrap; }} .klein {{ font-size: 8pt; color: #444; }}
.klasse {{ display: inline-block; width: 3.5mm; height: 3mm; vertical-align: middle; margin-right: 1mm; }}
</style></head><body>
<h1>{r}: waar neemt de druk toe?</h1>
<p class="klein">Regiobriefing · kwartaal {period} · datasetversie {v} van {created} · Wijkradar</p>
<p>Gemeenten in deze briefing: <b>{names}</b>{missing}. De drukindex is hier gestandaardiseerd tegen alle {many} van deze gemeenten samen, zodat {many} over de gemeentegrens te vergelijken zijn.{pc4}</p>"#,
        many = a.many,
        pc4 = why_pc4(ds, gemeenten, a.level),
        r = html_escape(&region.naam),
        v = ds.version,
        created = html_escape(&ds.created_at),
        names = html_escape(&crate::profile::and_list(
            &gemeenten.iter().map(|(_, n)| n.clone()).collect::<Vec<_>>()
        )),
        missing = match region.gemeenten.len() - gemeenten.len() {
            0 => String::new(),
            n => format!(
                " ({n} andere {} van de regio {} niet in de gegevens of niet voor u)",
                if n == 1 { "gemeente" } else { "gemeenten" },
                if n == 1 { "is" } else { "zijn" }
            ),
        },
    );
    let _ = write!(
        h,
        r#"<h2>De gemeenten naast elkaar</h2><table id="gemeenten"><tr><th>Gemeente</th><th class="r">{heads} met index</th><th class="r">Klasse 8–9</th><th>Hoogste druk</th><th></th></tr>"#,
        heads = a.heads
    );
    let mut uncertain = false;
    for (code, naam) in gemeenten {
        let own: Vec<&score::RankRow> = rows.iter().filter(|r| &r.gemeente == code).collect();
        let high = own.iter().filter(|r| r.class >= 8).count();
        // The highest area with a place in the ranking; when none has one (too little data
        // everywhere), the highest index, said to be uncertain, rather than a blank beside a
        // count of areas in classes 8–9.
        let top = match (own.iter().find(|r| r.rank.is_some()), own.first()) {
            (Some(r), _) => format!("{} (index {})", html_escape(&r.naam), num(r.index)),
            (None, Some(r)) => {
                uncertain = true;
                format!(
                    "{} (index {}; laag vertrouwen)",
                    html_escape(&r.naam),
                    num(r.index)
                )
            }
            (None, None) => "—".to_string(),
        };
        let _ = write!(
            h,
            r#"<tr><td><b>{}</b></td><td class="r">{}</td><td class="r">{high}</td><td>{top}</td><td><a href="/briefing/{code}">briefing</a></td></tr>"#,
            html_escape(naam),
            own.len(),
        );
    }
    h.push_str("</table>");
    if uncertain {
        let _ = write!(
            h,
            r#"<p class="klein">Laag vertrouwen: de {many} van die gemeente hebben te weinig gegevens voor een plaats in de rangorde; hun index is dan onzeker.</p>"#,
            many = a.many
        );
    }
    let _ = write!(
        h,
        r#"<h2>{heads} met de meeste druk in de regio</h2><table id="top"><tr><th>#</th><th>{head}</th><th>Gemeente</th><th class="r">Index (95%)</th><th>Drijft de index</th></tr>"#,
        heads = a.heads,
        head = a.head
    );
    for r in rows.iter().filter(|r| r.rank.is_some()).take(10) {
        let colour = charts::CLASS_COLORS
            .get(usize::from(r.class.saturating_sub(1)))
            .copied()
            .unwrap_or("#ccc");
        let _ = write!(
            h,
            r#"<tr><td>{}{}</td><td><span class="klasse" style="background:{colour}"></span><b>{}</b></td><td>{}</td><td class="r">{} ({} tot {})</td><td class="klein">{}</td></tr>"#,
            r.rank.unwrap_or(0),
            if r.tied { "=" } else { "" },
            html_escape(&r.naam),
            html_escape(&name_of(&r.gemeente)),
            num(r.index),
            num(r.low),
            num(r.high),
            drivers(ds, r),
        );
    }
    h.push_str("</table>");
    let _ = write!(
        h,
        r#"<p class="klein">Gelijke rang (=): de onzekerheidsmarges overlappen. Alleen geaggregeerde cijfers; aantallen onder {k} onderdrukt, de rest {rnd}. De index adviseert; een mens beslist. Methode: <a href="/methode.html">/methode.html</a>.</p></body></html>"#,
        k = ds.params.k,
        rnd = ds.params.rounding_text(),
    );
    Ok(h)
}

/// Why a region's briefing compares postcode areas (empty when it compares wijken): which of
/// its gemeenten lack wijken in the loaded boundaries, named from the shorter side.
fn why_pc4(ds: &Dataset, gemeenten: &[(String, String)], level: Level) -> String {
    if level == Level::Wijk {
        return String::new();
    }
    let (with, without): (Vec<_>, Vec<_>) = gemeenten
        .iter()
        .partition(|(code, _)| ds.has_units(Level::Wijk, code));
    let names = |g: &[&(String, String)]| {
        html_escape(&crate::profile::and_list(
            &g.iter().map(|(_, n)| n.clone()).collect::<Vec<_>>(),
        ))
    };
    let has = |n: usize| if n == 1 { "heeft" } else { "hebben" };
    let who = if with.is_empty() {
        "Geen van deze gemeenten heeft wijken in de geladen grenzen".to_string()
    } else if with.len() <= without.len() {
        format!(
            "Alleen {} {} wijken in de geladen grenzen",
            names(&with),
            has(with.len())
        )
    } else {
        format!(
            "{} {} geen wijken in de geladen grenzen",
            names(&without),
            has(without.len())
        )
    };
    let own = if with.is_empty() {
        ""
    } else {
        " De eigen briefing van een gemeente met wijken vergelijkt haar wijken."
    };
    format!(
        " {who}: deze briefing vergelijkt daarom postcodegebieden (PC4), die elke gemeente heeft.{own} Een beheerder laadt wijken met <code>wijkradar boundaries import</code>."
    )
}
