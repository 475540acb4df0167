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

use super::{Area, Boundaries, Level};
use check::{check_layer, lies_in};
use files::{read_geojson, read_gpkg};
use std::collections::HashMap;

mod check;
mod files;

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
