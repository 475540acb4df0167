//! Boundaries as data: the CBS Wijk- en Buurtkaart as CBS and PDOK distribute it (a
//! GeoPackage in RD New with the layers `gemeenten`, `wijken` and `buurten`, or the same
//! layers as GeoJSON) and PC4 areas, read and checked before anything is stored.
//!
//! A layer's level follows from its fields (CBS's names: `buurtcode`, `wijkcode`,
//! `gemeentecode`; `postcode`/`pc4` for PC4), not from its name. Every problem is reported
//! with file, layer, feature and field, and nothing is stored while one remains:
//! - codes: `GM` + 4 digits, `WK` + 6, `BU` + 8, PC4 four digits; no code twice in a layer;
//! - nesting: a buurt's `wijkcode` and `gemeentecode`, and a wijk's `gemeentecode`, are the
//!   ones its own code starts with, and the parent exists (in the import or already known)
//!   and holds the area's interior point, or at least half of its area, or lies within about
//!   200 m of it (generalised outlines of two levels do not nest exactly: a sliver of one
//!   may lie along the edge of the other);
//! - geometry: a (multi)polygon, valid by the OGC rules (`geo`'s `Validation`); a
//!   self-intersecting outline is mended (union with itself) and reported, one that cannot
//!   be mended is refused;
//! - CRS: RD New (EPSG:28992) or WGS84/CRS84, and the coordinates inside the Netherlands;
//! - year: from `jaarstatcode`/`jrstatcode` (`2024BU09832501`), `jaar`, or `--year`.
//!
//! Water-only areas (`water = 'JA'`, as in the Wijk- en Buurtkaart) are left out.

use super::{rd_to_wgs84, strip_wijk_number, Area, Boundaries, Level};
use geo::{
    Area as _, BooleanOps as _, BoundingRect, Contains, Coord, Distance, Euclidean, InteriorPoint,
    MapCoords, MultiPolygon, Validation,
};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// One imported layer: a level of areas in WGS84, with its year and where it came from.
#[derive(Debug, Clone)]
pub struct Layer {
    pub level: Level,
    pub year: i32,
    /// The file as given.
    pub file: String,
    /// The layer's name (a GeoPackage table, or the GeoJSON file's stem).
    pub layer: String,
    /// The file's name, and the layer of a GeoPackage (`wijkbuurtkaart_2024.gpkg#buurten`).
    pub source: String,
    pub areas: Vec<Area>,
    /// Water-only areas left out.
    pub water: usize,
    /// Codes of areas whose self-intersecting outline was mended.
    pub repaired: Vec<String>,
}

/// One problem in a boundary file; never more than the code of the feature it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub layer: String,
    /// The feature: its code where it has one, else its position or fid.
    pub feature: String,
    pub field: String,
    pub rule: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}, layer '{}', feature {}, field '{}': {}",
            self.file, self.layer, self.feature, self.field, self.rule
        )
    }
}

/// Errors of a boundary import. Nothing is stored after any of them.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{file}: {message}")]
    File { file: String, message: String },
    #[error("{} problem(s) in the boundary files; nothing was imported:\n  {}", .0.len(), list(.0))]
    Invalid(Vec<Problem>),
}

fn list(problems: &[Problem]) -> String {
    const SHOWN: usize = 25;
    let mut lines: Vec<String> = problems
        .iter()
        .take(SHOWN)
        .map(ToString::to_string)
        .collect();
    if problems.len() > SHOWN {
        lines.push(format!("… and {} more", problems.len() - SHOWN));
    }
    lines.join("\n  ")
}

/// The coordinate system of a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Crs {
    RdNew,
    Wgs84,
}

/// A field value as read from either format.
#[derive(Debug, Clone)]
enum Value {
    Text(String),
    Number(f64),
}

impl Value {
    fn text(&self) -> String {
        match self {
            Self::Text(s) => s.trim().to_string(),
            Self::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{n:.0}"),
            Self::Number(n) => n.to_string(),
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            Self::Number(n) => Some(*n),
            Self::Text(s) => s.trim().parse().ok(),
        }
    }
}

/// One feature before checking: its position, fields and geometry (in the layer's CRS).
struct RawFeature {
    id: String,
    fields: HashMap<String, Value>,
    geometry: Option<geo::Geometry<f64>>,
}

struct RawLayer {
    file: String,
    name: String,
    crs: Crs,
    features: Vec<RawFeature>,
}

/// Reads and checks boundary files (GeoPackage or GeoJSON). `known` are the boundaries already
/// known (shipped or imported before), for the nesting check; `year` overrides the year in
/// the files.
///
/// # Errors
/// [`ImportError::File`] when a file cannot be read at all; [`ImportError::Invalid`] with
/// every problem found in every file.
pub fn read(
    files: &[std::path::PathBuf],
    known: &Boundaries,
    year: Option<i32>,
) -> Result<Vec<Layer>, ImportError> {
    let mut raw = Vec::new();
    for f in files {
        let ext = f
            .extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "gpkg" => raw.extend(read_gpkg(f)?),
            "geojson" | "json" => raw.push(read_geojson(f)?),
            _ => {
                return Err(ImportError::File {
                    file: f.display().to_string(),
                    message: "unsupported file type; expected .gpkg (GeoPackage) or .geojson"
                        .into(),
                })
            }
        }
    }
    let mut problems = Vec::new();
    let mut layers = Vec::new();
    for r in raw {
        if let Some(l) = check_layer(r, year, &mut problems) {
            layers.push(l);
        }
    }
    // Nesting across layers: each wijk in its gemeente and each buurt in its wijk, by code and
    // in space (its interior point inside the parent's outline), the parent taken from this
    // import or, failing that, from the boundaries already known.
    let imported = |level: Level| -> HashMap<&str, &Area> {
        layers
            .iter()
            .filter(|l| l.level == level)
            .flat_map(|l| l.areas.iter().map(|a| (a.code.as_str(), a)))
            .collect()
    };
    let (gemeenten, wijken) = (imported(Level::Gemeente), imported(Level::Wijk));
    let parent = |level: Level, code: &str| -> Option<&Area> {
        let here = if level == Level::Gemeente {
            &gemeenten
        } else {
            &wijken
        };
        here.get(code)
            .copied()
            .or_else(|| known.set(level).and_then(|s| s.get(code)))
    };
    for l in &layers {
        let (file, layer) = (&l.file, &l.layer);
        for a in &l.areas {
            let mut check = |field: &str, level: Level, code: Option<&str>| {
                let Some(code) = code else { return };
                let what = if level == Level::Gemeente {
                    "gemeente"
                } else {
                    "wijk"
                };
                let rule = match parent(level, code) {
                    None => format!(
                        "{what} {code} is neither in this import nor among the known boundaries"
                    ),
                    Some(p) => match lies_in(&a.geometry, &p.geometry) {
                        Ok(()) => return,
                        Err(inside) => format!(
                            "lies outside {what} {code} ({}): {:.0} % of it inside; are both of the same boundary year?",
                            p.naam,
                            inside * 100.0
                        ),
                    },
                };
                problems.push(Problem {
                    file: file.to_string(),
                    layer: layer.to_string(),
                    feature: a.code.clone(),
                    field: field.to_string(),
                    rule,
                });
            };
            if l.level == Level::Wijk {
                check("gemeentecode", Level::Gemeente, a.gemeente.as_deref());
            }
            if l.level == Level::Buurt {
                // A buurt lies in its wijk, which lies in its gemeente: the wijk is checked.
                if parent(Level::Gemeente, a.gemeente.as_deref().unwrap_or_default()).is_none() {
                    check("gemeentecode", Level::Gemeente, a.gemeente.as_deref());
                }
                check("wijkcode", Level::Wijk, a.wijk.as_deref());
            }
        }
    }
    if problems.is_empty() {
        Ok(layers)
    } else {
        Err(ImportError::Invalid(problems))
    }
}

fn read_gpkg(path: &Path) -> Result<Vec<RawLayer>, ImportError> {
    let file = path.display().to_string();
    let err = |e: geopackage::Error| ImportError::File {
        file: file.clone(),
        message: format!("not a readable GeoPackage: {e}"),
    };
    let gpkg = geopackage::GeoPackage::open_read_only(path).map_err(err)?;
    let mut out = Vec::new();
    for layer in gpkg.layers().map_err(err)? {
        let Some(gc) = layer.geometry_column() else {
            continue; // an attributes table
        };
        let name = layer.table_name().to_string();
        let srs = gpkg.srs(gc.srs_id).map_err(err)?;
        let crs = match srs.as_ref().map(|s| {
            (
                s.organization.to_ascii_uppercase(),
                s.organization_coordsys_id,
            )
        }) {
            Some((o, 28992)) if o == "EPSG" => Crs::RdNew,
            Some((o, 4326)) if o == "EPSG" => Crs::Wgs84,
            _ if gc.srs_id == 4326 => Crs::Wgs84,
            other => {
                return Err(ImportError::File {
                    file: file.clone(),
                    message: format!(
                        "layer '{name}': coordinate system {} is not supported; give RD New (EPSG:28992, as CBS and PDOK distribute it) or WGS84 (EPSG:4326)",
                        other.map_or_else(|| format!("srs_id {}", gc.srs_id), |(o, c)| format!("{o}:{c}"))
                    ),
                })
            }
        };
        let mut features = Vec::new();
        for f in layer.features().map_err(err)? {
            let f = f.map_err(err)?;
            let fields = f
                .iter()
                .filter_map(|(k, v)| {
                    let v = match v {
                        geopackage::ValueRef::Text(s) => Value::Text(s.to_string()),
                        geopackage::ValueRef::Integer(i) =>
                        {
                            #[expect(clippy::cast_precision_loss, reason = "codes and counts")]
                            Value::Number(i as f64)
                        }
                        geopackage::ValueRef::Float(x) => Value::Number(x),
                        _ => return None,
                    };
                    Some((k.to_ascii_lowercase(), v))
                })
                .collect();
            let geometry = f.geometry().ok().flatten().and_then(|g| g.to_geo());
            features.push(RawFeature {
                id: format!("fid {}", f.fid()),
                fields,
                geometry,
            });
        }
        out.push(RawLayer {
            file: file.clone(),
            name,
            crs,
            features,
        });
    }
    if out.is_empty() {
        return Err(ImportError::File {
            file,
            message: "holds no feature layer".into(),
        });
    }
    Ok(out)
}

fn read_geojson(path: &Path) -> Result<RawLayer, ImportError> {
    let file = path.display().to_string();
    let err = |message: String| ImportError::File {
        file: file.clone(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| err(format!("not JSON: {e}")))?;
    // RFC 7946 GeoJSON is CRS84; GDAL and PDOK write RD New with the old `crs` member.
    let crs = match value
        .pointer("/crs/properties/name")
        .and_then(serde_json::Value::as_str)
    {
        None => Crs::Wgs84,
        Some(n) if n.ends_with("28992") => Crs::RdNew,
        Some(n) if n.ends_with("CRS84") || n.ends_with("4326") => Crs::Wgs84,
        Some(n) => {
            return Err(err(format!(
                "coordinate system {n} is not supported; give RD New (EPSG:28992) or WGS84"
            )))
        }
    };
    drop(value);
    let fc = geojson::FeatureCollection::try_from(
        text.parse::<geojson::GeoJson>()
            .map_err(|e| err(e.to_string()))?,
    )
    .map_err(|e| err(format!("not a FeatureCollection: {e}")))?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let features = fc
        .features
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            let fields = f
                .properties
                .iter()
                .flatten()
                .filter_map(|(k, v)| {
                    let v = match v {
                        serde_json::Value::String(s) => Value::Text(s.clone()),
                        serde_json::Value::Number(n) => Value::Number(n.as_f64()?),
                        _ => return None,
                    };
                    Some((k.to_ascii_lowercase(), v))
                })
                .collect();
            let geometry = f.geometry.and_then(|g| geo::Geometry::try_from(g).ok());
            RawFeature {
                id: format!("#{}", i + 1),
                fields,
                geometry,
            }
        })
        .collect();
    Ok(RawLayer {
        file,
        name,
        crs,
        features,
    })
}

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

fn check_layer(r: RawLayer, year: Option<i32>, problems: &mut Vec<Problem>) -> Option<Layer> {
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
        let geometry = match r.crs {
            Crs::RdNew => geometry.map_coords(|c| {
                let (x, y) = rd_to_wgs84(c.x, c.y);
                Coord { x, y }
            }),
            Crs::Wgs84 => geometry,
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
fn lies_in(child: &MultiPolygon<f64>, parent: &MultiPolygon<f64>) -> Result<(), f64> {
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
