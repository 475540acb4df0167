//! Checking one raw layer: its level from its fields, codes, years, counts and geometry
//! (CRS, validity, mending), and the spatial nesting of an area in its parent.

use super::files::{Crs, RawLayer, Value};
use super::{Layer, Problem};
use crate::spatial::{rd_to_wgs84, strip_wijk_number, Area, Level};
use geo::{
    Area as _, BooleanOps as _, BoundingRect, Contains, Coord, Distance, Euclidean, InteriorPoint,
    MapCoords, MultiPolygon, Validation,
};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// Which level a layer holds, from its fields.
fn level_of(fields: &HashMap<String, Value>) -> Option<Level> {
    let has = |k: &str| fields.contains_key(k);
    if has("buurtcode") {
        Some(Level::Buurt)
    } else if has("wijkcode") {
        Some(Level::Wijk)
    } else if has("gemeentecode") {
        Some(Level::Gemeente)
    } else if has("postcode") || has("pc4") || has("postcode4") {
        Some(Level::Pc4)
    } else {
        None
    }
}

fn code_rule(level: Level) -> (&'static str, &'static str, usize) {
    match level {
        Level::Gemeente => ("gemeentecode", "GM", 4),
        Level::Wijk => ("wijkcode", "WK", 6),
        Level::Buurt => ("buurtcode", "BU", 8),
        _ => ("postcode", "", 4),
    }
}

fn well_formed(code: &str, prefix: &str, digits: usize) -> bool {
    code.strip_prefix(prefix)
        .is_some_and(|d| d.len() == digits && d.bytes().all(|b| b.is_ascii_digit()))
        && !(prefix.is_empty() && code.starts_with('0'))
}

/// CBS marks secret or unknown counts with negative numbers (−99997 and the like).
fn count(fields: &HashMap<String, Value>, keys: &[&str]) -> Option<f64> {
    keys.iter()
        .find_map(|k| fields.get(*k).and_then(Value::number))
        .filter(|n| *n >= 0.0)
}

pub(super) fn check_layer(
    r: RawLayer,
    year: Option<i32>,
    problems: &mut Vec<Problem>,
) -> Option<Layer> {
    let file_name = Path::new(&r.file)
        .file_name()
        .map_or_else(|| r.file.clone(), |n| n.to_string_lossy().into_owned());
    let source = if r.file.ends_with(".gpkg") {
        format!("{file_name}#{}", r.name)
    } else {
        file_name
    };
    let problem = |problems: &mut Vec<Problem>, feature: &str, field: &str, rule: String| {
        problems.push(Problem {
            file: r.file.clone(),
            layer: r.name.clone(),
            feature: feature.to_string(),
            field: field.to_string(),
            rule,
        });
    };
    let Some(first) = r.features.first() else {
        problem(problems, "-", "-", "the layer has no features".into());
        return None;
    };
    let Some(level) = level_of(&first.fields) else {
        problem(
            problems,
            &first.id,
            "-",
            "no CBS code field: a layer needs buurtcode, wijkcode, gemeentecode or postcode (pc4)"
                .into(),
        );
        return None;
    };
    let (code_field, prefix, digits) = code_rule(level);
    let code_keys: &[&str] = if level == Level::Pc4 {
        &["postcode", "pc4", "postcode4"]
    } else {
        std::slice::from_ref(&code_field)
    };
    let naam_keys: &[&str] = match level {
        Level::Gemeente => &["gemeentenaam"],
        Level::Wijk => &["wijknaam"],
        Level::Buurt => &["buurtnaam"],
        _ => &["plaats", "woonplaats", "naam"],
    };
    let mut years = HashSet::new();
    let mut seen = HashSet::new();
    let mut areas = Vec::new();
    let mut water = 0;
    let mut repaired = Vec::new();
    for f in &r.features {
        let is_water = f
            .fields
            .get("water")
            .is_some_and(|v| v.text().eq_ignore_ascii_case("ja"));
        if is_water {
            water += 1;
            continue;
        }
        let Some(code) = code_keys
            .iter()
            .find_map(|k| f.fields.get(*k).map(Value::text))
        else {
            problem(problems, &f.id, code_field, "missing".into());
            continue;
        };
        let code = if level == Level::Pc4 {
            code.chars().take(4).collect::<String>()
        } else {
            code
        };
        if !well_formed(&code, prefix, digits) {
            problem(
                problems,
                &f.id,
                code_field,
                format!(
                    "not a {} code ({})",
                    level.id(),
                    if prefix.is_empty() {
                        "four digits, not starting with 0".to_string()
                    } else {
                        format!("{prefix} and {digits} digits")
                    }
                ),
            );
            continue;
        }
        if !seen.insert(code.clone()) {
            problem(
                problems,
                &code,
                code_field,
                "the code occurs twice in the layer".into(),
            );
            continue;
        }
        // Nesting by code: BU0983 25 01 lies in WK0983 25 in GM0983.
        let digits_of = |c: &str| c.get(2..).unwrap_or_default().to_string();
        let mut gemeente = None;
        let mut wijk = None;
        if matches!(level, Level::Wijk | Level::Buurt) {
            let expected = format!("GM{}", &digits_of(&code)[..4]);
            match f.fields.get("gemeentecode").map(Value::text) {
                Some(g) if g != expected => problem(
                    problems,
                    &code,
                    "gemeentecode",
                    format!("{g} does not contain {code}: its code says {expected}"),
                ),
                _ => {}
            }
            gemeente = Some(expected);
        }
        if level == Level::Buurt {
            let expected = format!("WK{}", &digits_of(&code)[..6]);
            match f.fields.get("wijkcode").map(Value::text) {
                Some(w) if w != expected => problem(
                    problems,
                    &code,
                    "wijkcode",
                    format!("{w} does not contain {code}: its code says {expected}"),
                ),
                _ => {}
            }
            wijk = Some(expected);
        }
        // The year: jaarstatcode "2024BU09832501", or jaar.
        if year.is_none() {
            let y = ["jaarstatcode", "jrstatcode"]
                .iter()
                .find_map(|k| f.fields.get(*k))
                .and_then(|v| v.text().get(..4).and_then(|y| y.parse::<i32>().ok()))
                .or_else(|| {
                    f.fields
                        .get("jaar")
                        .and_then(Value::number)
                        .map(|y| y as i32)
                });
            match y {
                Some(y) if (1990..=2100).contains(&y) => {
                    years.insert(y);
                }
                _ => problem(
                    problems,
                    &code,
                    "jaarstatcode",
                    "no year: the feature has no jaarstatcode or jaar; give the year with --year"
                        .into(),
                ),
            }
        }
        let Some(geometry) = polygonal(f.geometry.as_ref()) else {
            problem(
                problems,
                &code,
                "geometry",
                "missing or not a (multi)polygon".into(),
            );
            continue;
        };
        // Generalised CBS outlines do self-intersect now and then (14 of the 4,067 shipped PC4
        // areas): such a ring is mended as GIS tools do (a union, which splits a crossing ring
        // into valid parts) and reported; a geometry that stays invalid or empty is refused.
        let geometry = match geometry.check_validation() {
            Ok(()) => geometry,
            Err(e) => {
                // The union with nothing under the non-zero fill rule: every part the ring
                // encloses, whichever way it winds there (both lobes of a bow tie).
                let mended = geometry.union_with_fill_rule(
                    &MultiPolygon::new(vec![]),
                    geo::algorithm::bool_ops::FillRule::NonZero,
                );
                if mended.0.is_empty() || mended.check_validation().is_err() {
                    problem(
                        problems,
                        &code,
                        "geometry",
                        format!("not a valid polygon, and it cannot be mended: {e}"),
                    );
                    continue;
                }
                repaired.push(code.clone());
                mended
            }
        };
        // A ring along a line is valid by the rules but has no area (under 1 m²).
        let tiny = if r.crs == Crs::RdNew { 1.0 } else { 1e-10 };
        if geometry.unsigned_area() < tiny {
            problem(
                problems,
                &code,
                "geometry",
                "the outline has no area".into(),
            );
            continue;
        }
        let (geometry, geometry_rd) = match r.crs {
            Crs::RdNew => (
                geometry.map_coords(|c| {
                    let (x, y) = rd_to_wgs84(c.x, c.y);
                    Coord { x, y }
                }),
                Some(geometry),
            ),
            Crs::Wgs84 => (geometry, None),
        };
        let inside = geometry.bounding_rect().is_some_and(|b| {
            b.min().x >= 3.0 && b.max().x <= 7.5 && b.min().y >= 50.6 && b.max().y <= 53.8
        });
        if !inside {
            problem(
                problems,
                &code,
                "geometry",
                format!(
                    "lies outside the Netherlands in {}: is the coordinate system right?",
                    if r.crs == Crs::RdNew {
                        "RD New"
                    } else {
                        "WGS84"
                    }
                ),
            );
            continue;
        }
        let naam = naam_keys
            .iter()
            .find_map(|k| f.fields.get(*k).map(Value::text))
            .filter(|n| !n.is_empty());
        let naam = match (level, naam) {
            (Level::Wijk, Some(n)) => strip_wijk_number(&n),
            (Level::Pc4, Some(p)) => format!("{code} {p}"),
            (_, Some(n)) => n,
            (_, None) => code.clone(),
        };
        areas.push(Area {
            naam,
            wijk,
            gemeente,
            geometry,
            geometry_rd,
            inwoners: count(
                &f.fields,
                &[
                    "aantal_inwoners",
                    "aantalinwoners",
                    "inwoners",
                    "inwoners_2024",
                ],
            ),
            woningen: count(
                &f.fields,
                &["woningvoorraad", "aantal_woningen", "woningvoorraad_2024"],
            ),
            plaats: ["plaats", "woonplaats"]
                .iter()
                .find_map(|k| f.fields.get(*k).map(Value::text)),
            code,
        });
    }
    let year = match (year, years.len()) {
        (Some(y), _) => y,
        (None, 1) => years.into_iter().next().unwrap_or_default(),
        (None, 0) => return None, // reported per feature above
        (None, _) => {
            let mut ys: Vec<i32> = years.into_iter().collect();
            ys.sort_unstable();
            problem(
                problems,
                "-",
                "jaarstatcode",
                format!(
                    "features of several years ({ys:?}) in one layer; import one year at a time"
                ),
            );
            return None;
        }
    };
    Some(Layer {
        level,
        year,
        file: r.file.clone(),
        layer: r.name.clone(),
        source,
        areas,
        water,
        repaired,
    })
}

/// Whether `child` lies in `parent` as far as generalised outlines of two levels can nest: its
/// interior point inside, or half its area, or (a sliver the generalisation left along the
/// parent's edge) every corner within about 200 m (0.002°). Else the share of it inside.
pub(super) fn lies_in(child: &MultiPolygon<f64>, parent: &MultiPolygon<f64>) -> Result<(), f64> {
    if child
        .interior_point()
        .is_some_and(|pt| parent.contains(&pt))
    {
        return Ok(());
    }
    let inside =
        child.intersection(parent).unsigned_area() / child.unsigned_area().max(f64::MIN_POSITIVE);
    let near = || {
        child.0.iter().all(|poly| {
            poly.exterior()
                .points()
                .all(|pt| Euclidean.distance(parent, &pt) < 0.002)
        })
    };
    if inside >= 0.5 || near() {
        Ok(())
    } else {
        Err(inside)
    }
}

fn polygonal(g: Option<&geo::Geometry<f64>>) -> Option<MultiPolygon<f64>> {
    match g? {
        geo::Geometry::Polygon(p) => Some(MultiPolygon::new(vec![p.clone()])),
        geo::Geometry::MultiPolygon(m) => Some(m.clone()),
        _ => None,
    }
}
