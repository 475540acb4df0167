//! An area's profile over HTTP: JSON for the API (`/v1/areas/{level}/{code}/profile`) and a
//! printable page for people (`/profiel/{level}/{code}`), from [`crate::profile`].

use super::areas::Area;
use super::openapi::{datetime, levels, path_param};
use super::problem::ApiError;
use super::query::{self, Query};
use super::route::{doc, Access, Route};
use crate::auth::Cap;
use crate::charts::{fmt_num, html_escape};
use crate::profile::{self, Profile};
use axum::extract::RawQuery;
use axum::response::Html;
use axum::routing::get;
use axum::Json;
use std::fmt::Write as _;

/// The profile routes.
pub fn routes() -> Vec<Route> {
    vec![
        Route::new("/v1/areas/{level}/{code}/profile", Access::Needs(Cap::Read), get(json)).doc("get", doc("getAreaProfile", "Profiel van een gebied: elke indicator tegen de gemeente, alle geladen gemeenten en vergelijkbare gebieden", vec![levels("level"), path_param("code", "Code"), datetime()], "Profiel")),
        Route::new("/profiel/{level}/{code}", Access::Needs(Cap::Read), get(page)),
    ]
}

async fn build(area: Area, q: Option<String>) -> Result<Profile, ApiError> {
    let q = Query::parse(q.as_deref(), &["datetime"])?;
    let Area {
        ds, unit, caller, ..
    } = area;
    tokio::task::spawn_blocking(move || {
        let p = query::period(&ds, q.get("datetime")).map_err(|e| ApiError::invalid(&[e]))?;
        let scope = caller.reads();
        let candidates: Vec<usize> = ds
            .level_units(ds.units[unit].level)
            .iter()
            .copied()
            .filter(|&c| ds.visible(c, &scope))
            .collect();
        profile::profile(&ds, unit, p, &candidates).map_err(|e| ApiError::Internal(e.to_string()))
    })
    .await?
}

/// `GET /v1/areas/{level}/{code}/profile?datetime=`
pub async fn json(area: Area, RawQuery(q): RawQuery) -> Result<Json<Profile>, ApiError> {
    Ok(Json(build(area, q).await?))
}

fn cell(v: Option<f64>) -> String {
    v.map_or_else(
        || "<span class=\"klein\">onderdrukt</span>".into(),
        |x| fmt_num(x).replace('-', "−"),
    )
}

/// `GET /profiel/{level}/{code}?datetime=`: the printable profile.
pub async fn page(area: Area, RawQuery(q): RawQuery) -> Result<Html<String>, ApiError> {
    let p = build(area, q).await?;
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>Profiel {naam} — {period}</title>
<style>
@page {{ size: A4; margin: 14mm; }}
body {{ font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10pt; color: #111; margin: 0 auto; max-width: 182mm; }}
h1 {{ font-size: 16pt; margin: 0 0 1mm; }} #samenvatting {{ background: #f3f3f3; padding: 2.5mm 3.5mm; border-radius: 2mm; }}
table {{ width: 100%; border-collapse: collapse; }} td, th {{ padding: 1.2mm 1.5mm; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }}
th {{ font-size: 8.5pt; color: #444; }} .r {{ text-align: right; white-space: nowrap; }} .klein {{ font-size: 8pt; color: #444; }}
.ongunstig {{ color: #a11d12; font-weight: bold; }} .gunstig {{ color: #1a5f2a; font-weight: bold; }}
</style></head><body>
<h1>{naam}: profiel</h1>
<p class="klein">{level} {code} in {gemeente} · kwartaal {period} · Wijkradar</p>
<p id="samenvatting">{summary}</p>
<table><tr><th>Indicator</th><th class="r">{naam}</th><th></th><th class="r">{gemeente}</th><th class="r">Alle geladen gemeenten</th><th class="r">Vergelijkbare gebieden</th></tr>"#,
        naam = html_escape(&p.naam),
        period = html_escape(&p.period),
        level = html_escape(p.level),
        code = html_escape(&p.code),
        gemeente = html_escape(&p.gemeente_naam),
        summary = html_escape(&p.summary),
    );
    for l in &p.lines {
        let (pijl, class, titel) = match (l.verschil, l.ongunstig) {
            (Some("hoger"), Some(true)) => (
                "▲",
                "ongunstig",
                "duidelijk hoger dan de gemeente: meer druk",
            ),
            (Some("hoger"), _) => (
                "▲",
                "gunstig",
                "duidelijk hoger dan de gemeente: minder druk",
            ),
            (Some("lager"), Some(true)) => (
                "▼",
                "ongunstig",
                "duidelijk lager dan de gemeente: meer druk",
            ),
            (Some("lager"), _) => (
                "▼",
                "gunstig",
                "duidelijk lager dan de gemeente: minder druk",
            ),
            (Some(_), _) => ("=", "", "niet duidelijk anders dan de gemeente"),
            (None, _) => ("", "", ""),
        };
        let _ = write!(
            h,
            r#"<tr><td>{}<br><span class="klein">{}</span></td><td class="r">{}</td><td class="{class}" title="{titel}">{pijl}</td><td class="r">{}</td><td class="r">{}</td><td class="r">{}</td></tr>"#,
            html_escape(&l.kort),
            html_escape(&l.unit),
            cell(l.area),
            cell(l.gemeente),
            cell(l.alle),
            cell(l.vergelijkbaar),
        );
    }
    let _ = write!(
        h,
        r#"</table><p class="klein">▲/▼: het cijfer van het gebied ligt buiten zijn 95%-interval boven of onder dat van de gemeente; rood = meer druk, groen = minder druk, = : geen duidelijk verschil. Vergelijkbare gebieden: de {n} gebieden van hetzelfde niveau in de geladen gemeenten met het aantal inwoners het dichtst bij dit gebied ({comp}). Alleen gepubliceerde cijfers; onderdrukt = minder dan 10 gevallen, of verborgen om een ander cijfer te beschermen.</p></body></html>"#,
        n = p.comparable.len(),
        comp = html_escape(&p.comparable.join(", ")),
    );
    Ok(Html(h))
}
