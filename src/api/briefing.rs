//! The wethouder's one-page briefing (HTML, printable) and its map (SVG).

use super::auth::Caller;
use super::problem::ApiError;
use super::query::{self, Query};
use super::route::{Access, Route};
use super::AppState;
use crate::auth::Cap;
use crate::charts::{self, html_escape};
use crate::dataset::Dataset;
use crate::intervention;
use crate::profile::and_list;
use crate::score;
use crate::spatial::Level;
use crate::trend;
use axum::extract::{Path, RawQuery, State};
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

/// What a briefing ranks and maps: the gemeente's wijken, or, for a gemeente without wijken in
/// the loaded boundaries, its postcode areas (PC4), with the words for them.
#[derive(Debug, Clone, Copy)]
pub(super) struct Areas {
    pub(super) level: Level,
    /// "wijk", "wijken", "Wijk", "Wijken" or the same for postcode areas.
    pub(super) one: &'static str,
    pub(super) many: &'static str,
    pub(super) head: &'static str,
    pub(super) heads: &'static str,
    /// "elke andere wijk".
    pub(super) every_other: &'static str,
}

impl Areas {
    const WIJKEN: Self = Self {
        level: Level::Wijk,
        one: "wijk",
        many: "wijken",
        head: "Wijk",
        heads: "Wijken",
        every_other: "elke andere wijk",
    };
    const PC4: Self = Self {
        level: Level::Pc4,
        one: "postcodegebied",
        many: "postcodegebieden",
        head: "Postcodegebied",
        heads: "Postcodegebieden",
        every_other: "elk ander postcodegebied",
    };

    /// Wijken when every one of `gemeenten` has them, else postcode areas, which every
    /// gemeente has: a ranking over several gemeenten compares areas of one kind, and leaves
    /// none of them out.
    pub(super) fn of(ds: &Dataset, gemeenten: &[&str]) -> Self {
        if gemeenten.iter().all(|g| ds.has_units(Level::Wijk, g)) {
            Self::WIJKEN
        } else {
            Self::PC4
        }
    }
}

/// The `reference` of a briefing request (`alle`, the default, `gemeente` or `regio`); no other
/// parameter.
fn briefing_reference(q: Option<&str>) -> Result<score::Reference, ApiError> {
    let q = Query::parse(q, &["reference"])?;
    query::reference(q.get("reference")).map_err(|e| ApiError::invalid(&[e]))
}

fn area_geometries(
    ds: &Dataset,
    gemeente: &str,
    level: Level,
    p: usize,
    reference: score::Reference,
) -> Result<Vec<(String, charts::MapArea)>, ApiError> {
    let scores = score::layer_scores(ds, level, p, score::Scope::against(reference))?;
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
        let score = scores[ds.pos_in_level[u]].as_ref();
        out.push((
            unit.code.clone(),
            charts::MapArea {
                outline: mp,
                class: score.map(|s| s.class),
                faint: score.is_some_and(|s| s.low_confidence),
                name: unit.naam.clone().unwrap_or_else(|| unit.code.clone()),
            },
        ));
    }
    Ok(out)
}

/// `GET /briefing/{gemeente}/map.svg`: the wijken (or postcode areas) by index class.
pub async fn map_svg(
    State(state): State<AppState>,
    caller: Caller,
    Path(gemeente): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let reference = briefing_reference(q.as_deref())?;
    let ds = state.dataset()?;
    if !caller.scope(Cap::Briefing).sees(&gemeente) {
        return Err(super::auth::out_of_scope(
            &state,
            &caller,
            &format!("briefing/{gemeente}"),
        ));
    }
    // Made once per version and gemeente (the bounded cache of the dataset).
    let svg = tokio::task::spawn_blocking(move || {
        ds.cached(
            &format!("briefing-map|{gemeente}|{}", reference.id()),
            || -> Result<String, ApiError> {
                let p = ds.periods.len().saturating_sub(1);
                let a = Areas::of(&ds, &[&gemeente]);
                let areas: Vec<charts::MapArea> =
                    area_geometries(&ds, &gemeente, a.level, p, reference)?
                        .into_iter()
                        .map(|(_, a)| a)
                        .collect();
                Ok(charts::choropleth_svg(
                    &format!("Drukindex per {}, {}", a.one, ds.periods[p]),
                    &areas,
                    640,
                    520,
                ))
            },
            String::len,
        )
    })
    .await??;
    Ok((
        [(header::CONTENT_TYPE, "image/svg+xml")],
        svg.as_str().to_owned(),
    )
        .into_response())
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
    RawQuery(q): RawQuery,
) -> Result<Html<String>, ApiError> {
    let reference = briefing_reference(q.as_deref())?;
    let ds = state.dataset()?;
    if !caller.scope(Cap::Briefing).sees(&gemeente) {
        return Err(super::auth::out_of_scope(
            &state,
            &caller,
            &format!("briefing/{gemeente}"),
        ));
    }
    // The page depends on the version and the gemeente only (a project recorded writes a new
    // version): made once, then served from the bounded cache.
    let html = tokio::task::spawn_blocking(move || {
        ds.cached(
            &format!("briefing|{gemeente}|{}", reference.id()),
            || briefing_html(&ds, &gemeente, reference),
            String::len,
        )
    })
    .await??;
    Ok(Html(html.as_str().to_owned()))
}

/// A figure as people read it: decimal comma, a true minus sign.
pub(super) fn num(v: f64) -> String {
    charts::fmt_num(v).replace('-', "−")
}

/// The two indicators that drive a wijk's index most, by their short names.
pub(super) fn drivers(ds: &Dataset, r: &score::RankRow) -> String {
    r.drivers
        .iter()
        .take(2)
        .map(|d| html_escape(&ds.indicator_short(&d.indicator)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// One indicator that changed beyond its uncertainty in one wijk since the previous quarter.
struct Moved {
    wijk: String,
    indicator: String,
    unit: String,
    change: trend::Change,
    /// |change| over half its interval: how clearly it moved.
    clarity: f64,
}

/// Per wijk of the gemeente, the indicators of the index that changed beyond their 95 %
/// interval from `p − 1` to `p`, most clearly moved first.
fn moved_indicators(ds: &Dataset, units: &[usize], p: usize) -> Result<Vec<Moved>, ApiError> {
    let mut out = Vec::new();
    if p == 0 {
        return Ok(out);
    }
    let weights = score::indicator_weights(ds, None);
    for (j, m) in ds.indicators.iter().enumerate() {
        if weights[j] <= 0.0 {
            continue;
        }
        for c in trend::changes(ds, units, trend::Measure::Indicator(j), p - 1, p)? {
            if !matches!(
                c.direction,
                trend::Direction::MeerDruk | trend::Direction::MinderDruk
            ) {
                continue;
            }
            let (Some(d), Some(lo), Some(hi)) = (c.change, c.low, c.high) else {
                continue;
            };
            out.push(Moved {
                wijk: c.naam.clone().unwrap_or_else(|| c.code.clone()),
                indicator: m.short_name().to_string(),
                unit: m.unit.clone(),
                clarity: d.abs() / ((hi - lo) / 2.0).max(1e-9),
                change: c,
            });
        }
    }
    out.sort_by(|a, b| b.clarity.total_cmp(&a.clarity));
    Ok(out)
}

impl Moved {
    fn sentence(&self) -> String {
        let c = &self.change;
        let (from, to) = (c.from.unwrap_or(0.0), c.to.unwrap_or(0.0));
        format!(
            "<b>{}</b>: {} {} van {} naar {} {} ({})",
            html_escape(&self.wijk),
            html_escape(&self.indicator.to_lowercase()),
            if to > from { "steeg" } else { "daalde" },
            num(from),
            num(to),
            html_escape(&self.unit),
            if c.direction == trend::Direction::MeerDruk {
                "meer druk"
            } else {
                "minder druk"
            }
        )
    }
}

/// The ranking's first rows as people can tell them apart: a tie of more than three wijken
/// is one line ("2= Venlo-Centrum, Tegelen-Centrum en 12 andere"), at most `max` lines.
fn top_groups(rows: &[score::RankRow], max: usize) -> Vec<(String, Vec<&score::RankRow>)> {
    let mut out: Vec<(String, Vec<&score::RankRow>)> = Vec::new();
    let ranked: Vec<&score::RankRow> = rows.iter().filter(|r| r.rank.is_some()).collect();
    let mut i = 0;
    while i < ranked.len() && out.len() < max {
        let rank = ranked[i].rank.unwrap_or(0);
        let group: Vec<&score::RankRow> = ranked[i..]
            .iter()
            .take_while(|r| r.rank == Some(rank))
            .copied()
            .collect();
        i += group.len();
        if group.len() > 3 {
            out.push((format!("{rank}="), group));
        } else {
            let tie = if group.len() > 1 { "=" } else { "" };
            for r in group {
                if out.len() < max {
                    out.push((format!("{rank}{tie}"), vec![r]));
                }
            }
        }
    }
    out
}

/// A headline and a verdict for each of the gemeente's projects.
fn project_lines(
    ds: &Dataset,
    projects: &[intervention::Intervention],
) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    for iv in projects {
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
        let head = format!(
            "<b>{}</b> ({}, {} t/m {})",
            html_escape(&iv.naam),
            html_escape(&and_list(&names)),
            iv.start_date,
            iv.end_date
        );
        let verdict = match intervention::effect(ds, iv)? {
            Some(e) => match e.outcomes.iter().find(|o| o.target).or(e.outcomes.first()) {
                Some(o) => format!(
                    r#"{}: <span class="oordeel {}">{}</span> — {} {} tegenover {} vergelijkbare wijken zonder project (95%: {} tot {})."#,
                    html_escape(&if o.outcome == "index" {
                        "Drukindex".to_string()
                    } else {
                        ds.indicator_short(&o.outcome)
                    }),
                    match o.verdict {
                        intervention::Verdict::Verbeterd => "beter",
                        intervention::Verdict::Verslechterd => "slechter",
                        intervention::Verdict::NietAantoonbaar => "gelijk",
                    },
                    o.verdict_label,
                    signed(o.effect),
                    html_escape(&o.unit),
                    o.n_control,
                    signed(o.low),
                    signed(o.high)
                ),
                None => "nog geen meting voor en na de start.".into(),
            },
            None => "nog geen meting voor en na de start.".into(),
        };
        out.push((head, verdict));
    }
    Ok(out)
}

/// The briefing's first line: the area with the highest pressure, or the areas that share
/// first place, and how clear that is.
fn top_line(rows: &[score::RankRow], a: Areas) -> String {
    // The first place: the ranked areas that share the first rank (one or several).
    let first_rank = rows.iter().find_map(|r| r.rank);
    let first: Vec<&score::RankRow> = rows
        .iter()
        .filter(|r| first_rank.is_some() && r.rank == first_rank)
        .collect();
    // Areas without a place (low confidence) may have a higher index than the first: said,
    // never passed over, and "clearly higher" then only claims what the ranked ones show.
    let first_index = if first.is_empty() {
        f64::MAX
    } else {
        first.iter().map(|r| r.index).fold(f64::MIN, f64::max)
    };
    let higher_unranked = rows
        .iter()
        .filter(|x| x.rank.is_none() && x.index > first_index)
        .count();
    let unranked = match higher_unranked {
        0 => String::new(),
        1 => format!(
            " Eén {} met een hogere index heeft te weinig gegevens voor een plaats (laag vertrouwen).",
            a.one
        ),
        n => format!(
            " {n} {} met een hogere index hebben te weinig gegevens voor een plaats (laag vertrouwen).",
            a.many
        ),
    };
    match first[..] {
        [r] => {
            let others: Vec<&score::RankRow> = rows
                .iter()
                .filter(|x| x.rank.is_some() && x.code != r.code)
                .collect();
            let next_high = others.iter().map(|x| x.high).fold(f64::MIN, f64::max);
            let ahead = if others.is_empty() {
                format!("; als enige {} met genoeg gegevens voor een plaats", a.one)
            } else if r.low > next_high && higher_unranked == 0 {
                format!("; duidelijk hoger dan {}", a.every_other)
            } else if r.low > next_high {
                format!("; duidelijk hoger dan {} met een plaats", a.every_other)
            } else {
                String::new()
            };
            format!(
                r#"<p id="kort-top"><span class="kop">Hoogste druk</span><b>{}</b>: index {} (klasse {} van 9, {}){ahead}.{unranked}</p>"#,
                html_escape(&r.naam),
                num(r.index),
                r.class,
                r.class_label,
            )
        }
        [_, _, ..] => {
            // A long tie is named by its first two and counted, as in the table.
            let mut names: Vec<String> = first.iter().take(3).map(|r| r.naam.clone()).collect();
            if first.len() > 3 {
                names.truncate(2);
                names.push(format!("{} andere {}", first.len() - 2, a.many));
            }
            // Where the shared first place stands: a first place below the average is no
            // alarm, and the reader should not have to find that in the table.
            let (lo, hi) = first.iter().fold((f64::MAX, f64::MIN), |(lo, hi), r| {
                (lo.min(r.index), hi.max(r.index))
            });
            let (c0, c1) = first.iter().fold((u8::MAX, 0), |(c0, c1), r| {
                (c0.min(r.class), c1.max(r.class))
            });
            let classes = if c0 == c1 {
                format!("klasse {c0} van 9")
            } else {
                format!("klasse {c0} tot {c1} van 9")
            };
            let level = match (c0, c1) {
                (_, 1..=4) => ": minder druk dan gemiddeld",
                (6..=9, _) => ": meer druk dan gemiddeld",
                _ => "",
            };
            format!(
                r#"<p id="kort-top"><span class="kop">Hoogste druk</span>{} delen de eerste plaats (index {} tot {}, {classes}{level}); hun onzekerheidsmarges overlappen.{unranked}</p>"#,
                html_escape(&and_list(&names)),
                num(lo),
                num(hi),
            )
        }
        [] => format!(
            r#"<p id="kort-top"><span class="kop">Hoogste druk</span>geen {} met genoeg gegevens voor een rangorde.</p>"#,
            a.one
        ),
    }
}

fn briefing_html(
    ds: &Dataset,
    gemeente: &str,
    reference: score::Reference,
) -> Result<String, ApiError> {
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
    let a = Areas::of(ds, &[gemeente]);
    let rows = score::ranking(ds, gemeente, a.level, p, score::Scope::against(reference))?;
    let top = top_groups(&rows, 5);
    // The map names only the wijken of the top lines and of projects: readable at print size.
    let mut named: Vec<String> = top
        .iter()
        .flat_map(|(_, g)| g.iter().take(3).map(|r| r.code.clone()))
        .collect();
    let own: Vec<intervention::Intervention> = intervention::interventions(ds)?
        .into_iter()
        .filter(|iv| iv.gemeenten(ds).contains(gemeente))
        .collect();
    let projects = project_lines(ds, &own)?;
    for iv in &own {
        named.extend(iv.codes.iter().cloned());
    }
    named.dedup();
    // Names are placed in this order, so the most important one is never crowded out.
    let mut order: Vec<(usize, charts::MapArea)> =
        area_geometries(ds, gemeente, a.level, p, reference)?
            .into_iter()
            .map(|(code, mut a)| {
                let k = named.iter().position(|n| *n == code).unwrap_or(usize::MAX);
                if k == usize::MAX {
                    a.name.clear();
                }
                (k, a)
            })
            .collect();
    order.sort_by_key(|(k, _)| *k);
    let areas: Vec<charts::MapArea> = order.into_iter().map(|(_, a)| a).collect();
    let faint = areas.iter().filter(|a| a.faint).count();
    let map = charts::choropleth_svg(
        &format!("Drukindex per {}, {period}", a.one),
        &areas,
        560,
        470,
    );
    let units: Vec<usize> = ds
        .level_units(a.level)
        .iter()
        .copied()
        .filter(|&u| ds.units[u].gemeente == gemeente)
        .collect();
    let moved = moved_indicators(ds, &units, p)?;
    let previous = p.checked_sub(1).map(|q| ds.periods[q].clone());
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>Briefing leefbaarheid {g} — {period}</title>
<style>
@page {{ size: A4; margin: 12mm 13mm; }}
body {{ font-family: "DejaVu Sans", Arial, sans-serif; font-size: 9.5pt; line-height: 1.3; color: #111; margin: 0 auto; max-width: 184mm; }}
h1 {{ font-size: 16pt; margin: 0 0 1mm; }} h2 {{ font-size: 11.5pt; margin: 4mm 0 1.5mm; border-bottom: 1px solid #bbb; }}
#kort {{ background: #f3f3f3; border-radius: 2mm; padding: 2.5mm 3.5mm; margin: 2mm 0 3mm; }}
#kort p {{ margin: 1mm 0; }} #kort .kop {{ display: inline-block; min-width: 34mm; font-weight: bold; }}
table {{ width: 100%; border-collapse: collapse; }} td, th {{ padding: 1mm 1.2mm; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }}
th {{ font-size: 8.5pt; color: #444; }} .r {{ text-align: right; white-space: nowrap; }} .klein {{ font-size: 8pt; color: #444; }}
.twee {{ display: flex; gap: 4mm; align-items: flex-start; }} .twee > :first-child {{ flex: 11; }} .twee > :last-child {{ flex: 9; }}
svg {{ max-width: 100%; height: auto; }} .legenda span {{ display: inline-block; width: 3.5mm; height: 3mm; margin-right: 0.8mm; vertical-align: middle; }}
.oordeel {{ font-weight: bold; padding: 0 1mm; border-left: 1.2mm solid #888; }} .oordeel.beter {{ border-color: #1a7f37; }} .oordeel.slechter {{ border-color: #b42318; }}
.detail {{ break-before: page; page-break-before: always; }}
@media screen {{ .detail {{ margin-top: 12mm; border-top: 3px double #999; }} }}
</style></head><body>
<h1>Leefbaarheid in {g}: waar neemt de druk toe?</h1>
<p class="klein">Briefing voor het college · kwartaal {period} · datasetversie {v} van {created} · Wijkradar</p>"#,
        g = html_escape(&gname),
        v = ds.version,
        created = html_escape(&ds.created_at),
    );
    // In short: the top, what moved, the projects. A reader has it in the first half page.
    h.push_str(r#"<section id="kort">"#);
    if a.level != Level::Wijk {
        let _ = write!(
            h,
            r#"<p id="kort-niveau" class="klein">{g} heeft in de geladen grenzen geen wijken: deze briefing vergelijkt postcodegebieden (PC4). Een beheerder laadt de wijken met <code>wijkradar boundaries import</code>.</p>"#,
            g = html_escape(&gname)
        );
    }
    h.push_str(&top_line(&rows, a));
    let prev = previous.as_deref().unwrap_or("—");
    if moved.is_empty() {
        let _ = write!(
            h,
            r#"<p id="kort-veranderd"><span class="kop">Sinds {prev}</span>geen indicator veranderde in een {} meer dan de onzekerheid.</p>"#,
            a.one
        );
    } else {
        let up: Vec<&Moved> = moved
            .iter()
            .filter(|m| m.change.direction == trend::Direction::MeerDruk)
            .collect();
        let down = moved.len() - up.len();
        let _ = write!(
            h,
            r#"<p id="kort-veranderd"><span class="kop">Sinds {prev}</span>{}. In totaal {} duidelijke {}: {} naar meer druk, {} naar minder.</p>"#,
            moved
                .iter()
                .take(2)
                .map(Moved::sentence)
                .collect::<Vec<_>>()
                .join("; "),
            moved.len(),
            if moved.len() == 1 {
                "verandering"
            } else {
                "veranderingen"
            },
            up.len(),
            down
        );
    }
    if projects.is_empty() {
        h.push_str(r#"<p id="kort-project"><span class="kop">Projecten</span>geen LSI-project vastgelegd.</p>"#);
    }
    for (head, verdict) in projects.iter().take(2) {
        let _ = write!(
            h,
            r#"<p id="kort-project"><span class="kop">Project</span>{head}: {verdict}</p>"#
        );
    }
    h.push_str("</section>");
    let _ = write!(
        h,
        r#"<div class="twee"><div>{map}<div class="legenda klein">"#
    );
    for (i, c) in charts::CLASS_COLORS.iter().enumerate() {
        let _ = write!(h, r#"<span style="background:{c}"></span>{}&nbsp;"#, i + 1);
    }
    let _ = write!(
        h,
        r#"<br>1 = veel minder druk dan gemiddeld · 9 = veel meer druk · grijs = onderdrukt (minder dan 10 gevallen, of verborgen om een ander cijfer te beschermen){faint}. Namen: de {many} uit de tabel en met een project.</div></div>"#,
        many = a.many,
        faint = if faint > 0 {
            format!(
                " · licht = laag vertrouwen ({faint} {}): te veel cijfers onderdrukt of onzeker; niet gerangschikt",
                if faint == 1 { a.one } else { a.many }
            )
        } else {
            String::new()
        }
    );
    let _ = write!(
        h,
        r#"<div><h2 style="margin-top:0">{heads} met de meeste druk</h2><table><tr><th>#</th><th>{head}</th><th class="r">Index</th><th>Drijft de index</th></tr>"#,
        heads = a.heads,
        head = a.head
    );
    for (rank, g) in &top {
        if let [r] = g.as_slice() {
            let _ = write!(
                h,
                r#"<tr><td>{rank}</td><td><b>{}</b><br><span class="klein">klasse {} · {} tot {}</span></td><td class="r">{}<br>{}</td><td class="klein">{}</td></tr>"#,
                html_escape(&r.naam),
                r.class,
                num(r.low),
                num(r.high),
                num(r.index),
                charts::sparkline(&r.trend, 60.0, 14.0),
                drivers(ds, r)
            );
        } else {
            let names: Vec<String> = g.iter().take(2).map(|r| r.naam.clone()).collect();
            let _ = write!(
                h,
                r#"<tr><td>{rank}</td><td colspan="3">{} en {} andere {}<br><span class="klein">niet van elkaar te onderscheiden: hun onzekerheidsmarges overlappen (index {} tot {})</span></td></tr>"#,
                html_escape(&names.join(", ")),
                g.len() - names.len(),
                a.many,
                num(g.iter().map(|r| r.index).fold(f64::MAX, f64::min)),
                num(g.iter().map(|r| r.index).fold(f64::MIN, f64::max)),
            );
        }
    }
    let unranked = rows.iter().filter(|r| r.rank.is_none()).count();
    let _ = write!(
        h,
        r#"</table><p class="klein">Kwartaal {period}. Een = betekent een gedeelde plaats.{}</p></div></div>"#,
        if unranked > 0 {
            format!(
                " {unranked} {} {} te weinig gegevens voor een plaats.",
                if unranked == 1 { a.one } else { a.many },
                if unranked == 1 { "heeft" } else { "hebben" }
            )
        } else {
            String::new()
        }
    );
    let _ = write!(
        h,
        r#"<h2>Hoe te lezen</h2><p class="klein">De drukindex telt {n} indicatoren in {t} thema's op (gewichten: {w}) en drukt het resultaat uit in standaardafwijkingen van het gemiddelde van alle {many} {waar}: 0 is gemiddeld, +2 veel meer druk. Een verandering of projecteffect telt pas als het 95%-interval nul uitsluit. Alleen geaggregeerde cijfers; aantallen onder {k} onderdrukt, de rest {r}; geen nationaliteit, herkomst of andere beschermde kenmerken. De index adviseert; een mens beslist. Volledige methode en gewichten: <a href="/methode.html">/methode.html</a> en /v1/index/method. Details op de volgende pagina.</p>"#,
        n = ds.indicators.len(),
        t = ds.themes.len(),
        many = a.many,
        waar = html_escape(&match reference {
            score::Reference::Alle => "in de dataset".to_string(),
            _ => format!("van {}", ds.reference_name(gm, reference)),
        }),
        w = html_escape(
            &ds.themes
                .iter()
                .map(|t| format!("{} {:.0}%", t.naam, t.weight * 100.0))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        k = ds.params.k,
        r = ds.params.rounding_text(),
    );
    // Page 2: the detail, for who wants it.
    let _ = write!(
        h,
        r#"<section class="detail"><h2>Detail: alle {many}</h2><table><tr><th>#</th><th>{head}</th><th class="r">Index</th><th class="r">95%-interval</th><th class="r">Δ kwartaal</th><th>Drijft de index</th></tr>"#,
        many = a.many,
        head = a.head
    );
    for r in &rows {
        let _ = write!(
            h,
            r#"<tr><td>{}</td><td>{}</td><td class="r">{}</td><td class="r">{} tot {}</td><td class="r">{}</td><td class="klein">{}</td></tr>"#,
            r.rank.map_or("—".into(), |k| format!(
                "{k}{}",
                if r.tied { "=" } else { "" }
            )),
            html_escape(&r.naam),
            num(r.index),
            num(r.low),
            num(r.high),
            r.change_previous.map_or("—".into(), signed),
            drivers(ds, r)
        );
    }
    h.push_str("</table>");
    let _ = write!(h, "<h2>Duidelijke veranderingen sinds {prev}</h2>");
    if moved.is_empty() {
        h.push_str("<p>Geen.</p>");
    } else {
        h.push_str("<ul>");
        for m in moved.iter().take(12) {
            let _ = write!(h, "<li>{}.</li>", m.sentence());
        }
        h.push_str("</ul>");
    }
    h.push_str("<h2>Projecten</h2>");
    if projects.is_empty() {
        h.push_str("<p>Er zijn geen LSI-projecten vastgelegd.</p>");
    }
    for (head, verdict) in &projects {
        let _ = write!(h, "<p>{head}: {verdict}</p>");
    }
    let _ = write!(
        h,
        r#"<p class="klein">Bronnen: {src}.</p></section></body></html>"#,
        src = html_escape(
            &ds.indicators
                .iter()
                .flat_map(|m| m.partners.split(", "))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join("; ")
        ),
    );
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(code: &str, rank: Option<usize>, index: f64, low: f64, high: f64) -> score::RankRow {
        score::RankRow {
            rank,
            tied: false,
            level: "wijken",
            code: code.into(),
            naam: format!("Wijk {code}"),
            gemeente: "GM0983".into(),
            index,
            class: 5,
            class_label: "gemiddeld",
            low,
            high,
            low_confidence: rank.is_none(),
            change_previous: None,
            change_year: None,
            drivers: Vec::new(),
            trend: Vec::new(),
        }
    }

    fn line(rows: &[score::RankRow]) -> String {
        top_line(rows, Areas::WIJKEN)
    }

    #[test]
    fn the_top_line_never_passes_over_a_higher_area_without_a_place() {
        // The only ranked wijk, three with a higher index but too little data.
        let rows = [
            row("A", Some(1), -0.01, -1.9, 1.9),
            row("B", None, 2.1, -0.1, 4.4),
            row("C", None, 2.0, -0.5, 4.6),
            row("D", None, 1.2, -1.2, 3.6),
            row("E", None, -1.0, -3.0, 1.0),
        ];
        let l = line(&rows);
        assert!(l.contains("<b>Wijk A</b>"), "{l}");
        assert!(
            l.contains("als enige wijk met genoeg gegevens voor een plaats"),
            "{l}"
        );
        assert!(!l.contains("duidelijk hoger"), "{l}");
        assert!(
            l.contains(" 3 wijken met een hogere index hebben te weinig gegevens"),
            "{l}"
        );

        // Clearly ahead of the ranked ones: said for all only when none without a place is higher.
        let clear = [
            row("A", Some(1), 3.0, 2.5, 3.5),
            row("B", Some(2), 0.5, 0.0, 1.0),
        ];
        let l = line(&clear);
        assert!(
            l.contains("; duidelijk hoger dan elke andere wijk.</p>"),
            "{l}"
        );
        let mut some = clear.to_vec();
        some.push(row("C", None, 3.2, 0.0, 6.4));
        let l = line(&some);
        assert!(
            l.contains("duidelijk hoger dan elke andere wijk met een plaats."),
            "{l}"
        );
        assert!(
            l.contains(" Eén wijk met een hogere index heeft te weinig gegevens"),
            "{l}"
        );

        // Two sharing the first place are both named.
        let two = [
            row("A", Some(1), 1.0, 0.0, 2.0),
            row("B", Some(1), 0.9, -0.1, 1.9),
            row("C", Some(3), -1.0, -2.0, 0.0),
        ];
        let l = line(&two);
        assert!(l.contains("Wijk A en Wijk B delen de eerste plaats"), "{l}");
        // A first place shared by more than three (one line in the table) the same way.
        let tie = [
            row("A", Some(1), 1.0, 0.0, 2.0),
            row("B", Some(1), 0.9, -0.1, 1.9),
            row("C", Some(1), 0.8, -0.2, 1.8),
            row("D", Some(1), 0.7, -0.3, 1.7),
            row("E", None, 1.5, -1.0, 4.0),
        ];
        let l = line(&tie);
        assert!(l.contains("delen de eerste plaats"), "{l}");
        assert!(l.contains(" Eén wijk met een hogere index"), "{l}");
    }

    #[test]
    fn a_shared_first_place_says_where_it_stands_against_the_average() {
        let with = |classes: [u8; 3], index: [f64; 3]| -> String {
            let rows: Vec<score::RankRow> = ["A", "B", "C"]
                .iter()
                .zip(classes.iter().zip(index))
                .map(|(c, (&class, i))| score::RankRow {
                    class,
                    ..row(c, Some(1), i, i - 1.5, i + 1.5)
                })
                .collect();
            line(&rows)
        };
        // Groningen against the whole country: every area in the first place below average.
        let l = with([3, 1, 2], [-0.41, -2.65, -1.2]);
        assert!(
            l.contains(
                "delen de eerste plaats (index −2,65 tot −0,41, klasse 1 tot 3 van 9: minder druk dan gemiddeld)"
            ),
            "{l}"
        );
        let l = with([8, 9, 9], [1.9, 2.8, 2.5]);
        assert!(
            l.contains("(index 1,90 tot 2,80, klasse 8 tot 9 van 9: meer druk dan gemiddeld)"),
            "{l}"
        );
        let l = with([5, 5, 5], [0.1, 0.2, 0.0]);
        assert!(l.contains("(index 0,00 tot 0,20, klasse 5 van 9)"), "{l}");
        let l = with([4, 6, 5], [-0.3, 0.4, 0.1]);
        assert!(l.contains("klasse 4 tot 6 van 9);"), "{l}");
    }
}
