//! The wethouder's one-page briefing (HTML, printable) and its map (SVG).

use super::auth::Caller;
use super::problem::ApiError;
use super::route::{Access, Route};
use super::AppState;
use crate::auth::Cap;
use crate::charts::{self, html_escape};
use crate::dataset::Dataset;
use crate::intervention;
use crate::score;
use crate::spatial::Level;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use std::fmt::Write as _;

/// `/briefing/…` (HTML and SVG for people, not in the OpenAPI document).
pub fn routes() -> Vec<Route> {
    vec![
        Route::new(
            "/briefing/{gemeente}",
            Access::Needs(Cap::Briefing),
            get(page),
        ),
        Route::new(
            "/briefing/{gemeente}/map.svg",
            Access::Needs(Cap::Briefing),
            get(map_svg),
        ),
    ]
}

fn area_geometries(
    ds: &Dataset,
    gemeente: &str,
    level: Level,
    p: usize,
) -> Result<Vec<charts::MapArea>, ApiError> {
    let scores = score::layer_scores(ds, level, p, score::Scope::default())?;
    let mut out = Vec::new();
    for &u in ds.level_units(level) {
        let unit = &ds.units[u];
        if unit.gemeente != gemeente {
            continue;
        }
        let g: geojson::Geometry = unit
            .geometry
            .parse()
            .map_err(|e: geojson::Error| ApiError::Internal(e.to_string()))?;
        let geom: geo::Geometry<f64> = g
            .try_into()
            .map_err(|e: geojson::Error| ApiError::Internal(e.to_string()))?;
        let mp = match geom {
            geo::Geometry::Polygon(p) => geo::MultiPolygon::new(vec![p]),
            geo::Geometry::MultiPolygon(m) => m,
            _ => continue,
        };
        let class = scores[ds.pos_in_level[u]].as_ref().map(|s| s.class);
        out.push((
            mp,
            class,
            unit.naam.clone().unwrap_or_else(|| unit.code.clone()),
        ));
    }
    Ok(out)
}

/// `GET /briefing/{gemeente}/map.svg`: the wijken by index class.
pub async fn map_svg(
    State(state): State<AppState>,
    caller: Caller,
    Path(gemeente): Path<String>,
) -> Result<Response, ApiError> {
    let ds = state.dataset()?;
    if !caller.scope(Cap::Briefing).sees(&gemeente) {
        return Err(super::auth::out_of_scope(
            &state,
            &caller,
            &format!("briefing/{gemeente}"),
        ));
    }
    let svg = tokio::task::spawn_blocking(move || -> Result<String, ApiError> {
        let p = ds.periods.len().saturating_sub(1);
        let areas = area_geometries(&ds, &gemeente, Level::Wijk, p)?;
        Ok(charts::choropleth_svg(
            &format!("Drukindex per wijk, {}", ds.periods[p]),
            &areas,
            640,
            520,
        ))
    })
    .await??;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

fn signed(v: f64) -> String {
    let s = format!("{v:+.2}").replace('.', ",");
    s.replace('-', "−")
}

/// `GET /briefing/{gemeente}`: the wethouder's briefing, printable on one or two A4 pages.
pub async fn page(
    State(state): State<AppState>,
    caller: Caller,
    Path(gemeente): Path<String>,
) -> Result<Html<String>, ApiError> {
    let ds = state.dataset()?;
    if !caller.scope(Cap::Briefing).sees(&gemeente) {
        return Err(super::auth::out_of_scope(
            &state,
            &caller,
            &format!("briefing/{gemeente}"),
        ));
    }
    let html = tokio::task::spawn_blocking(move || briefing_html(&ds, &gemeente)).await??;
    Ok(Html(html))
}

fn briefing_html(ds: &Dataset, gemeente: &str) -> Result<String, ApiError> {
    let gm = ds.unit(Level::Gemeente, gemeente).ok_or_else(|| {
        ApiError::NotFound(format!(
            "gemeente '{gemeente}' komt niet voor in de dataset"
        ))
    })?;
    let gname = ds.units[gm]
        .naam
        .clone()
        .unwrap_or_else(|| gemeente.to_string());
    let p = ds.periods.len().checked_sub(1).ok_or(ApiError::NoData)?;
    let period = &ds.periods[p];
    let rows = score::ranking(ds, gemeente, Level::Wijk, p, score::Scope::default())?;
    let areas = area_geometries(ds, gemeente, Level::Wijk, p)?;
    let map = charts::choropleth_svg(&format!("Drukindex per wijk, {period}"), &areas, 520, 400);
    let rising: Vec<&score::RankRow> = rows
        .iter()
        .filter(|r| r.change_previous.is_some_and(|c| c > 0.15))
        .collect();
    let falling: Vec<&score::RankRow> = rows
        .iter()
        .filter(|r| r.change_previous.is_some_and(|c| c < -0.15))
        .collect();
    let top: Vec<&score::RankRow> = rows.iter().filter(|r| !r.low_confidence).take(5).collect();
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>Briefing leefbaarheid {g} — {period}</title>
<style>
@page {{ size: A4; margin: 14mm 14mm 14mm 14mm; }}
body {{ font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10pt; color: #111; margin: 0 auto; max-width: 182mm; }}
h1 {{ font-size: 17pt; margin: 0 0 2mm; }} h2 {{ font-size: 12pt; margin: 5mm 0 2mm; border-bottom: 1px solid #bbb; }}
.kop {{ display: flex; gap: 6mm; }} .kop div {{ flex: 1; background: #f3f3f3; padding: 2.5mm; border-radius: 2mm; }}
.kop b {{ display: block; font-size: 14pt; }}
table {{ width: 100%; border-collapse: collapse; }} td, th {{ padding: 1.2mm 1.5mm; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }}
th {{ font-size: 9pt; color: #444; }} .r {{ text-align: right; white-space: nowrap; }} .klein {{ font-size: 8.5pt; color: #444; }}
.twee {{ display: flex; gap: 5mm; align-items: flex-start; }} .twee > :first-child {{ flex: 5; }} .twee > :last-child {{ flex: 5; }}
svg {{ max-width: 100%; height: auto; }} .legenda span {{ display: inline-block; width: 4mm; height: 3mm; margin-right: 1mm; }}
</style></head><body>
<h1>Leefbaarheid in {g}: waar neemt de druk toe?</h1>
<p class="klein">Briefing voor het college · kwartaal {period} · datasetversie {v} van {created} · Wijkradar</p>"#,
        g = html_escape(&gname),
        v = ds.version,
        created = html_escape(&ds.created_at),
    );
    let first = rows.first();
    let _ = write!(
        h,
        r#"<div class="kop"><div>Hoogste druk<b>{}</b>{}</div><div>Stijgend sinds vorig kwartaal<b>{} wijken</b>{}</div><div>Dalend<b>{} wijken</b>&nbsp;</div></div>"#,
        first.map_or("—".into(), |r| html_escape(&r.naam)),
        first.map_or(String::new(), |r| format!(
            "klasse {} van 9 ({})",
            r.class, r.class_label
        )),
        rising.len(),
        if rising.is_empty() {
            String::new()
        } else {
            html_escape(
                &rising
                    .iter()
                    .take(3)
                    .map(|r| r.naam.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        },
        falling.len(),
    );
    let _ = write!(
        h,
        r#"<div class="twee"><div>{map}<div class="legenda klein">"#
    );
    for (i, c) in charts::CLASS_COLORS.iter().enumerate() {
        let _ = write!(h, r#"<span style="background:{c}"></span>{}&nbsp; "#, i + 1);
    }
    let _ = write!(
        h,
        r#"<br>1 = veel minder druk dan gemiddeld · 9 = veel meer druk · grijs = onderdrukt (te weinig gevallen, of verborgen om een ander cijfer te beschermen)</div></div><div><h2>Top 5 wijken naar druk</h2><table><tr><th>#</th><th>Wijk</th><th class="r">Index</th><th>Trend</th><th>Belangrijkste oorzaken</th></tr>"#
    );
    for r in &top {
        let drivers: Vec<String> = r
            .drivers
            .iter()
            .take(2)
            .map(|d| html_escape(&charts::short_label(&ds.indicator_name(&d.indicator))))
            .collect();
        let _ = write!(
            h,
            r#"<tr><td>{}{}</td><td><b>{}</b><br><span class="klein">klasse {} · {} t/m {}</span></td><td class="r">{}</td><td>{}</td><td class="klein">{}</td></tr>"#,
            r.rank.unwrap_or(0),
            if r.tied { "=" } else { "" },
            html_escape(&r.naam),
            r.class,
            signed(r.low),
            signed(r.high),
            signed(r.index),
            charts::sparkline(&r.trend, 70.0, 18.0),
            drivers.join("; ")
        );
    }
    h.push_str("</table></div></div>");
    h.push_str("<h2>Wat is er veranderd sinds vorig kwartaal</h2><ul>");
    let mut changes: Vec<&score::RankRow> = rows
        .iter()
        .filter(|r| r.change_previous.is_some())
        .collect();
    changes.sort_by(|a, b| {
        b.change_previous
            .unwrap_or(0.0)
            .abs()
            .total_cmp(&a.change_previous.unwrap_or(0.0).abs())
    });
    for r in changes.iter().take(4) {
        let c = r.change_previous.unwrap_or(0.0);
        let _ = write!(
            h,
            "<li><b>{}</b>: index {} ({} dan vorig kwartaal{}).</li>",
            html_escape(&r.naam),
            signed(r.index),
            if c > 0.0 {
                format!("{} hoger", signed(c).trim_start_matches('+'))
            } else {
                format!("{} lager", signed(-c).trim_start_matches('+'))
            },
            r.change_year.map_or(String::new(), |y| format!(
                "; een jaar eerder {}",
                signed(r.index - y)
            ))
        );
    }
    h.push_str("</ul><h2>Lopende en afgeronde interventies</h2>");
    // Only this gemeente's projects.
    let ivs: Vec<_> = intervention::interventions(ds)?
        .into_iter()
        .filter(|iv| iv.gemeenten(ds).contains(gemeente))
        .collect();
    if ivs.is_empty() {
        h.push_str("<p>Er zijn geen LSI-projecten vastgelegd.</p>");
    }
    for iv in &ivs {
        let names: Vec<String> = iv
            .codes
            .iter()
            .map(|c| {
                Level::from_id(&iv.level)
                    .and_then(|l| ds.unit(l, c))
                    .and_then(|u| ds.units[u].naam.clone())
                    .unwrap_or_else(|| c.clone())
            })
            .collect();
        let _ = write!(
            h,
            "<p><b>{}</b> ({}; {} t/m {}). ",
            html_escape(&iv.naam),
            html_escape(&names.join(", ")),
            iv.start_date,
            iv.end_date
        );
        match intervention::effect(ds, iv)? {
            Some(e) => {
                for o in &e.outcomes {
                    let what = if o.outcome == "index" {
                        "Drukindex"
                    } else {
                        "Veiligheidsbeleving van bewoners (cijfer)"
                    };
                    let sig = o.low > 0.0 || o.high < 0.0;
                    let _ = write!(
                        h,
                        "{what}: in het projectgebied van {} naar {}, in {} vergelijkbare wijken van {} naar {}: effect {} (95%: {} tot {}){}. ",
                        charts::fmt_num(o.treated_before),
                        charts::fmt_num(o.treated_after),
                        o.n_control,
                        charts::fmt_num(o.control_before),
                        charts::fmt_num(o.control_after),
                        signed(o.effect),
                        signed(o.low),
                        signed(o.high),
                        if sig { "" } else { ", niet zeker te onderscheiden van nul" }
                    );
                }
            }
            None => h.push_str("Nog geen meting voor en na de start."),
        }
        h.push_str("</p>");
    }
    let _ = write!(
        h,
        r#"<h2>Methode, bronnen en privacy</h2><p class="klein">De drukindex combineert {n} indicatoren in {t} thema's (gewichten: {w}). Cijfers per gebied zijn gestabiliseerd naar het bovenliggende gebied (empirische Bayes), gestandaardiseerd over de wijken van de gemeente en gewogen opgeteld; elke wijk heeft een onzekerheidsinterval, en wijken met te weinig gegevens krijgen geen rangnummer. Indicatoren die handhavingsactiviteit weerspiegelen tellen niet mee. Bronnen: {src}. Alleen geaggregeerde cijfers zijn opgeslagen: aantallen uit minder dan {k} eenheden zijn onderdrukt, aantallen zijn afgerond op {r}, en complementaire onderdrukking voorkomt terugrekenen. Geen nationaliteit, herkomst of andere beschermde kenmerken. De index adviseert; een mens beslist. Volledige methode: /v1/index/method.</p></body></html>"#,
        n = ds.indicators.len(),
        t = ds.themes.len(),
        w = html_escape(
            &ds.themes
                .iter()
                .map(|t| format!("{} {:.0}%", t.naam, t.weight * 100.0))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        src = html_escape(
            &ds.indicators
                .iter()
                .flat_map(|m| m.partners.split(", "))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join("; ")
        ),
        k = ds.params.k,
        r = ds.params.round_to,
    );
    Ok(h)
}
