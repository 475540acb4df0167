//! Step 3 (geometry): the published code, name, parents and outline of every unit. Outlines
//! come from the boundaries (gemeente, wijk, buurt, PC4) or the H3 cells; PC6 outlines are
//! the dissolved cells of their registered (BRP) addresses.
//!
//! Which units are served at all is decided after disclosure control ([`served`]): areas
//! from the public boundaries always, postcodes and H3 cells only with a published figure.

use super::aggregate::{unpack_pc6, UnitAggregates, UnitKey};
use crate::spatial::{self, Boundaries, Level};
use std::collections::HashSet;

/// The published code of every unit (CBS code, postcode or H3 index).
#[must_use]
pub fn unit_codes(ua: &UnitAggregates, b: &Boundaries) -> Vec<String> {
    ua.units
        .iter()
        .map(|u| match b.set(u.level).filter(|_| u.level != Level::Pc4) {
            Some(set) => usize::try_from(u.key)
                .ok()
                .and_then(|i| set.areas.get(i))
                .map(|a| a.code.clone())
                .unwrap_or_default(),
            None => unit_code(*u),
        })
        .collect()
}

/// The published code of a unit.
#[must_use]
pub fn unit_code(u: UnitKey) -> String {
    match u.level {
        Level::Pc4 => format!("{:04}", u.key),
        Level::Pc6 => unpack_pc6(u.key),
        Level::H3_7 | Level::H3_8 | Level::H3_9 | Level::H3_10 => h3o::CellIndex::try_from(u.key)
            .map(|c| c.to_string())
            .unwrap_or_default(),
        Level::Gemeente | Level::Wijk | Level::Buurt => String::new(),
    }
}

/// A unit as stored (table `unit`) and as served (`dataset::Unit`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct UnitRow {
    pub level: Level,
    pub code: String,
    pub naam: Option<String>,
    pub parent: Option<String>,
    pub wijk: Option<String>,
    pub gemeente: String,
    /// GeoJSON (CRS84), six decimals.
    #[serde(skip)]
    pub geometry: String,
    /// GeoJSON in RD New as the boundary source gave it (unrounded), where it did.
    #[serde(skip)]
    pub geometry_rd: Option<String>,
    pub lon: f64,
    pub lat: f64,
    pub bbox: [f64; 4],
}

fn geometry_json(g: &geo::MultiPolygon<f64>) -> String {
    use geo::MapCoords;
    let r = g.map_coords(|c| geo::Coord {
        x: (c.x * 1e6).round() / 1e6,
        y: (c.y * 1e6).round() / 1e6,
    });
    let geom = if r.0.len() == 1 {
        geojson::Geometry::from(&r.0[0])
    } else {
        geojson::Geometry::from(&r)
    };
    serde_json::to_string(&geom).unwrap_or_default()
}

/// An RD New outline as GeoJSON, coordinates exactly as the source gave them.
fn geometry_rd_json(g: Option<&geo::MultiPolygon<f64>>) -> Option<String> {
    g.map(|g| geojson::Geometry::new(geojson::GeometryValue::from(g)).to_string())
}

/// The rows of the units that are served ([`served`]), given which units have a published
/// figure. Outlines are built only for those: a national ingest has hundreds of thousands of
/// cells and postcodes without one.
pub fn unit_rows(
    ua: &UnitAggregates,
    b: &Boundaries,
    codes: &[String],
    published: &[bool],
) -> Vec<UnitRow> {
    use geo::BoundingRect;
    let area_code = |level: Level, key: u64| -> Option<&spatial::Area> {
        let set = b.set(level)?;
        set.areas.get(usize::try_from(key).ok()?)
    };
    // gemeente and wijk of each unit: those of its first address (H3 cells and postcodes may
    // straddle borders).
    let mut gemeente_of = vec![String::new(); ua.units.len()];
    let mut wijk_of: Vec<Option<String>> = vec![None; ua.units.len()];
    for (u, key) in ua.units.iter().enumerate() {
        match key.level {
            Level::Gemeente => {
                gemeente_of[u] = area_code(Level::Gemeente, key.key)
                    .map(|a| a.code.clone())
                    .unwrap_or_default()
            }
            Level::Wijk | Level::Buurt => {
                if let Some(a) = area_code(key.level, key.key) {
                    gemeente_of[u] = a.gemeente.clone().unwrap_or_default();
                    wijk_of[u] = if key.level == Level::Wijk {
                        Some(a.code.clone())
                    } else {
                        a.wijk.clone()
                    };
                }
            }
            _ => {}
        }
    }
    for (u, anc) in ua.unit_gemeente.iter().enumerate() {
        if gemeente_of[u].is_empty() {
            gemeente_of[u] = gemeente_of[*anc as usize].clone();
        }
    }
    for (u, w) in ua.unit_wijk.iter().enumerate() {
        if wijk_of[u].is_none() {
            wijk_of[u] = w.and_then(|w| wijk_of[w as usize].clone());
        }
    }
    let code_of = |u: u32| -> String { codes[u as usize].clone() };
    // Geometry (PC6 outlines dissolved from their cells) and its JSON, unit by unit on every
    // core.
    use rayon::prelude::*;
    let mut out: Vec<UnitRow> = ua
        .units
        .par_iter()
        .enumerate()
        // Cells and postcodes are served only with a published figure: no outline otherwise.
        .filter(|&(u, key)| published[u] || served_without_figures(key.level))
        .filter_map(|(u, key)| {
            let u32_ = u32::try_from(u).unwrap_or(u32::MAX);
            let mut rd = None;
            let (code, naam, geom) = match key.level {
                Level::Gemeente | Level::Wijk | Level::Buurt => {
                    let a = area_code(key.level, key.key)?;
                    rd = geometry_rd_json(a.geometry_rd.as_ref());
                    (a.code.clone(), Some(a.naam.clone()), a.geometry.clone())
                }
                Level::Pc4 => {
                    let code = unit_code(*key);
                    match b.pc4.get(&code) {
                        Some(a) => {
                            rd = geometry_rd_json(a.geometry_rd.as_ref());
                            (code, Some(a.naam.clone()), a.geometry.clone())
                        }
                        None => {
                            // A PC4 outside the shipped PC4 file: the outline of its children's cells.
                            let cells: Vec<h3o::CellIndex> = ua
                                .cells_of_pc6
                                .iter()
                                .filter(|(c, _)| ua.structure.parent[**c as usize] == Some(u32_))
                                .flat_map(|(_, v)| v.iter().copied())
                                .collect();
                            (code, None, spatial::dissolve_cells(&cells))
                        }
                    }
                }
                Level::Pc6 => (
                    unit_code(*key),
                    None,
                    spatial::dissolve_cells(
                        ua.cells_of_pc6.get(&u32_).map_or(&[][..], Vec::as_slice),
                    ),
                ),
                _ => {
                    let cell = h3o::CellIndex::try_from(key.key).unwrap_or_else(|_| unreachable!());
                    (
                        cell.to_string(),
                        None,
                        geo::MultiPolygon::new(vec![spatial::cell_polygon(cell)]),
                    )
                }
            };
            if geom.0.is_empty() {
                // A postcode without a registered address: not drawn, not served.
                return None;
            }
            let parent = ua.structure.parent[u].map(code_of);
            let (lon, lat) = spatial::centroid(&geom);
            let r = geom.bounding_rect().map_or([lon, lat, lon, lat], |r| {
                [r.min().x, r.min().y, r.max().x, r.max().y]
            });
            let row = UnitRow {
                level: key.level,
                code,
                naam,
                parent,
                wijk: if key.level == Level::Wijk {
                    None
                } else {
                    wijk_of[u].clone()
                },
                gemeente: gemeente_of[u].clone(),
                geometry: geometry_json(&geom),
                geometry_rd: rd,
                lon,
                lat,
                bbox: r,
            };
            served(&row, published[u]).then_some(row)
        })
        .collect();
    let seen_codes: HashSet<(Level, String)> =
        out.iter().map(|r| (r.level, r.code.clone())).collect();
    // Every buurt and wijk of the gemeenten in the data, also those without addresses.
    let gemeenten: HashSet<String> = out
        .iter()
        .filter(|u| u.level == Level::Gemeente)
        .map(|u| u.code.clone())
        .collect();
    for (level, set) in [(Level::Wijk, &b.wijken), (Level::Buurt, &b.buurten)] {
        for a in &set.areas {
            let gm = a.gemeente.clone().unwrap_or_default();
            if gemeenten.contains(&gm) && !seen_codes.contains(&(level, a.code.clone())) {
                let (lon, lat) = spatial::centroid(&a.geometry);
                let r = a
                    .geometry
                    .bounding_rect()
                    .map_or([lon, lat, lon, lat], |r| {
                        [r.min().x, r.min().y, r.max().x, r.max().y]
                    });
                out.push(UnitRow {
                    level,
                    code: a.code.clone(),
                    naam: Some(a.naam.clone()),
                    parent: if level == Level::Wijk {
                        Some(gm.clone())
                    } else {
                        a.wijk.clone()
                    },
                    wijk: if level == Level::Buurt {
                        a.wijk.clone()
                    } else {
                        None
                    },
                    gemeente: gm,
                    geometry: geometry_json(&a.geometry),
                    geometry_rd: geometry_rd_json(a.geometry_rd.as_ref()),
                    lon,
                    lat,
                    bbox: r,
                });
            }
        }
    }
    out
}

/// Whether a unit is served: an area from the public boundaries (its existence is public),
/// or a postcode or H3 cell with at least one published figure. A cell or postcode without
/// one would place records at a few buildings by its mere existence.
#[must_use]
pub fn served(row: &UnitRow, has_published_figure: bool) -> bool {
    match row.level {
        Level::Gemeente | Level::Wijk | Level::Buurt => true,
        Level::Pc4 => row.naam.is_some() || has_published_figure,
        _ => has_published_figure,
    }
}

/// Whether units of a level may be served without a published figure ([`served`]: areas of
/// the public boundaries); H3 cells and PC6 may not.
fn served_without_figures(level: Level) -> bool {
    matches!(
        level,
        Level::Gemeente | Level::Wijk | Level::Buurt | Level::Pc4
    )
}
