//! Spatial units: CBS boundaries (gemeente, wijk, buurt, PC4), the point-in-polygon index that
//! locates addresses, H3 cells and their polygons, and the RD New ↔ WGS84 transform.

use geo::{BoundingRect, Centroid, Contains, Coord, LineString, MultiPolygon, Point, Polygon};
use h3o::{CellIndex, LatLng, Resolution};
use rstar::{primitives::GeomWithData, RTree, AABB};
use serde::Serialize;
use std::collections::HashMap;

pub mod import;
mod rd;

pub use rd::{in_rd_bounds, rd_to_wgs84, wgs84_to_rd, RD_BOUNDS};

/// Spatial levels, one OGC API collection each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Level {
    Gemeente,
    Wijk,
    Buurt,
    Pc4,
    Pc6,
    H3_7,
    H3_8,
    H3_9,
    H3_10,
}

impl Level {
    /// Every level, coarse to fine within each family.
    pub const ALL: [Level; 9] = [
        Level::Gemeente,
        Level::Wijk,
        Level::Buurt,
        Level::Pc4,
        Level::Pc6,
        Level::H3_7,
        Level::H3_8,
        Level::H3_9,
        Level::H3_10,
    ];

    /// Collection id in the API and level name in the database.
    #[must_use]
    pub fn id(self) -> &'static str {
        match self {
            Self::Gemeente => "gemeenten",
            Self::Wijk => "wijken",
            Self::Buurt => "buurten",
            Self::Pc4 => "pc4",
            Self::Pc6 => "pc6",
            Self::H3_7 => "h3-7",
            Self::H3_8 => "h3-8",
            Self::H3_9 => "h3-9",
            Self::H3_10 => "h3-10",
        }
    }

    /// Parses a collection id.
    #[must_use]
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.id() == id)
    }

    /// Dutch title.
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Self::Gemeente => "Gemeenten",
            Self::Wijk => "Wijken",
            Self::Buurt => "Buurten",
            Self::Pc4 => "Postcodegebieden (PC4)",
            Self::Pc6 => "Postcodes (PC6)",
            Self::H3_7 => "H3-cellen resolutie 7 (≈ 5,2 km²)",
            Self::H3_8 => "H3-cellen resolutie 8 (≈ 0,74 km²)",
            Self::H3_9 => "H3-cellen resolutie 9 (≈ 0,105 km²)",
            Self::H3_10 => "H3-cellen resolutie 10 (≈ 0,015 km²)",
        }
    }

    /// The next coarser level in the same nested family.
    #[must_use]
    pub fn parent(self) -> Option<Self> {
        match self {
            Self::Wijk => Some(Self::Gemeente),
            Self::Buurt => Some(Self::Wijk),
            Self::Pc6 => Some(Self::Pc4),
            Self::H3_8 => Some(Self::H3_7),
            Self::H3_9 => Some(Self::H3_8),
            Self::H3_10 => Some(Self::H3_9),
            Self::Gemeente | Self::Pc4 | Self::H3_7 => None,
        }
    }

    /// The finest level of each overlapping family, protected with a higher threshold.
    #[must_use]
    pub fn is_fine(self) -> bool {
        matches!(self, Self::Pc6 | Self::H3_10)
    }

    /// H3 resolution for the H3 levels.
    #[must_use]
    pub fn h3_resolution(self) -> Option<Resolution> {
        match self {
            Self::H3_7 => Some(Resolution::Seven),
            Self::H3_8 => Some(Resolution::Eight),
            Self::H3_9 => Some(Resolution::Nine),
            Self::H3_10 => Some(Resolution::Ten),
            _ => None,
        }
    }
}

/// A named boundary area (buurt, wijk, gemeente, PC4).
#[derive(Debug, Clone)]
pub struct Area {
    pub code: String,
    pub naam: String,
    pub wijk: Option<String>,
    pub gemeente: Option<String>,
    pub geometry: MultiPolygon<f64>,
    /// The outline in RD New as the source gave it, where the source is in RD New (the CBS
    /// Wijk- en Buurtkaart): output in RD New uses it, so that it is lossless.
    pub geometry_rd: Option<MultiPolygon<f64>>,
    /// CBS inhabitants (2024 for wijk/gemeente, 2021 for PC4) where known.
    pub inwoners: Option<f64>,
    /// CBS dwellings (2024) where known.
    pub woningen: Option<f64>,
    /// The place (PC4 areas).
    pub plaats: Option<String>,
}

/// Errors loading boundary files.
#[derive(Debug, thiserror::Error)]
pub enum SpatialError {
    #[error("boundary file {file}: {message}")]
    Boundary { file: String, message: String },
}

/// The embedded boundary files (CBS/Kadaster 2024, CC BY 4.0; see data/README.md): all
/// gemeenten, the wijken of seven gemeenten, Venlo's buurten, every PC4 area (Venlo's at
/// source resolution, the rest generalised).
pub mod embedded {
    pub const BUURTEN: &str = include_str!("../../data/venlo_buurten_2024.geojson");
    pub const WIJKEN: &str = include_str!("../../data/wijken_2024_selected_gemeenten.geojson");
    pub const GEMEENTEN: &str = include_str!("../../data/nl_gemeenten_2023.geojson");
    pub const PC4: &str = include_str!("../../data/venlo_pc4.geojson");
    pub const PC4_NL: &str = include_str!("../../data/nl_pc4_generalised.geojson");
    pub const PC4_NAMEN: &str = include_str!("../../data/venlo_pc4_namen_spatialrisk.csv");
}

type Indexed = GeomWithData<rstar::primitives::Rectangle<[f64; 2]>, usize>;

/// One level of boundary areas with a bounding-box R-tree for point-in-polygon look-ups.
#[derive(Debug)]
pub struct AreaSet {
    pub areas: Vec<Area>,
    by_code: HashMap<String, usize>,
    tree: RTree<Indexed>,
}

impl AreaSet {
    fn new(areas: Vec<Area>) -> Self {
        let by_code = areas
            .iter()
            .enumerate()
            .map(|(i, a)| (a.code.clone(), i))
            .collect();
        let items = areas
            .iter()
            .enumerate()
            .filter_map(|(i, a)| {
                let r = a.geometry.bounding_rect()?;
                Some(GeomWithData::new(
                    rstar::primitives::Rectangle::from_corners(
                        [r.min().x, r.min().y],
                        [r.max().x, r.max().y],
                    ),
                    i,
                ))
            })
            .collect();
        Self {
            areas,
            by_code,
            tree: RTree::bulk_load(items),
        }
    }

    /// The area containing the point (lon, lat), if any; where generalised outlines overlap,
    /// the first in the file (so that detailed outlines listed first win).
    #[must_use]
    pub fn locate(&self, lon: f64, lat: f64) -> Option<usize> {
        let p = Point::new(lon, lat);
        self.tree
            .locate_all_at_point(&[lon, lat])
            .map(|g| g.data)
            .filter(|&i| self.areas[i].geometry.contains(&p))
            .min()
    }

    /// Index of the area with this code.
    #[must_use]
    pub fn index(&self, code: &str) -> Option<usize> {
        self.by_code.get(code).copied()
    }

    /// The area with this code.
    #[must_use]
    pub fn get(&self, code: &str) -> Option<&Area> {
        self.index(code).map(|i| &self.areas[i])
    }

    /// Areas whose bounding box intersects the given box.
    pub fn in_envelope(&self, min: [f64; 2], max: [f64; 2]) -> impl Iterator<Item = usize> + '_ {
        self.tree
            .locate_in_envelope_intersecting(&AABB::from_corners(min, max))
            .map(|g| g.data)
    }
}

/// All boundary levels Wijkradar knows.
#[derive(Debug)]
pub struct Boundaries {
    pub buurten: AreaSet,
    pub wijken: AreaSet,
    pub gemeenten: AreaSet,
    pub pc4: AreaSet,
    /// The newest boundary year in use (2024 for the shipped files).
    pub year: i32,
    /// The imports laid over the shipped files (ids in the database), oldest first.
    pub imports: Vec<i32>,
}

/// The shipped boundaries' year (CBS gebiedsindelingen 2024).
pub const SHIPPED_YEAR: i32 = 2024;

/// "Wijk 25 Klingerberg" → "Klingerberg": the number is CBS's, the name is the residents'.
#[must_use]
pub fn strip_wijk_number(naam: &str) -> String {
    if let Some(rest) = naam.strip_prefix("Wijk ") {
        if let Some((num, name)) = rest.split_once(' ') {
            if !num.is_empty() && num.chars().all(|c| c.is_ascii_digit()) {
                return name.to_string();
            }
        }
    }
    naam.to_string()
}

/// An import as stored: its id, level, year and areas.
#[derive(Debug, Clone)]
pub struct StoredLayer {
    pub id: i32,
    pub level: Level,
    pub year: i32,
    pub areas: Vec<Area>,
}

fn prop_str(f: &geojson::Feature, key: &str) -> Option<String> {
    match f.property(key)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn prop_f64(f: &geojson::Feature, key: &str) -> Option<f64> {
    f.property(key).and_then(serde_json::Value::as_f64)
}

/// Reads a GeoJSON FeatureCollection of (Multi)Polygons into areas.
///
/// # Errors
/// When the text is not a FeatureCollection or a feature lacks its code or a polygon.
pub fn read_areas(
    text: &str,
    file: &str,
    code_key: &str,
    naam_key: &str,
    wijk_key: Option<&str>,
    gemeente_key: Option<&str>,
) -> Result<Vec<Area>, SpatialError> {
    let err = |message: String| SpatialError::Boundary {
        file: file.to_string(),
        message,
    };
    let gj: geojson::GeoJson = text
        .parse()
        .map_err(|e: geojson::Error| err(e.to_string()))?;
    let geojson::GeoJson::FeatureCollection(fc) = gj else {
        return Err(err("not a FeatureCollection".into()));
    };
    let mut out = Vec::with_capacity(fc.features.len());
    for (i, f) in fc.features.iter().enumerate() {
        let code =
            prop_str(f, code_key).ok_or_else(|| err(format!("feature {i} has no '{code_key}'")))?;
        let geom = f
            .geometry
            .as_ref()
            .ok_or_else(|| err(format!("feature {code} has no geometry")))?;
        let g: geo::Geometry<f64> = geom
            .clone()
            .try_into()
            .map_err(|e: geojson::Error| err(format!("{code}: {e}")))?;
        let geometry = match g {
            geo::Geometry::Polygon(p) => MultiPolygon::new(vec![p]),
            geo::Geometry::MultiPolygon(m) => m,
            _ => return Err(err(format!("{code}: not a polygon"))),
        };
        out.push(Area {
            naam: prop_str(f, naam_key).unwrap_or_else(|| code.clone()),
            wijk: wijk_key.and_then(|k| prop_str(f, k)),
            gemeente: gemeente_key.and_then(|k| prop_str(f, k)),
            geometry,
            geometry_rd: None,
            inwoners: prop_f64(f, "inwoners_2024").or_else(|| prop_f64(f, "inwoners_2021")),
            woningen: prop_f64(f, "woningvoorraad_2024"),
            plaats: prop_str(f, "plaats"),
            code,
        });
    }
    Ok(out)
}

impl Boundaries {
    /// The boundaries embedded in the binary: all gemeenten, the wijken of Venlo, Haarlem,
    /// Rotterdam, Utrecht, Eindhoven, Tilburg and Zwolle, Venlo's buurten, and every PC4 area.
    ///
    /// # Errors
    /// Only if an embedded file is damaged (a test loads them).
    pub fn embedded() -> Result<Self, SpatialError> {
        let venlo_pc4 = read_areas(embedded::PC4, "venlo_pc4.geojson", "pc4", "pc4", None, None)?;
        let names: HashMap<&str, &str> = embedded::PC4_NAMEN
            .lines()
            .skip(1)
            .filter_map(|l| {
                let mut it = l.split(',');
                Some((it.next()?, it.next()?))
            })
            .collect();
        let mut pc4 = Vec::new();
        for mut a in venlo_pc4 {
            if let Some(n) = names.get(a.code.as_str()) {
                a.naam = (*n).to_string();
            }
            a.gemeente = Some("GM0983".into());
            pc4.push(a);
        }
        let detailed: std::collections::HashSet<String> =
            pc4.iter().map(|a| a.code.clone()).collect();
        for mut a in read_areas(
            embedded::PC4_NL,
            "nl_pc4_generalised.geojson",
            "pc4",
            "pc4",
            None,
            None,
        )? {
            if !detailed.contains(&a.code) {
                // Name the area after its place: "2011 Haarlem".
                a.naam = match &a.plaats {
                    Some(p) => format!("{} {p}", a.code),
                    None => a.code.clone(),
                };
                pc4.push(a);
            }
        }
        let mut wijken = read_areas(
            embedded::WIJKEN,
            "wijken_2024_selected_gemeenten.geojson",
            "wijkcode",
            "wijknaam",
            None,
            Some("gemeentecode"),
        )?;
        for w in &mut wijken {
            w.naam = strip_wijk_number(&w.naam);
        }
        Ok(Self {
            buurten: AreaSet::new(read_areas(
                embedded::BUURTEN,
                "venlo_buurten_2024.geojson",
                "buurtcode",
                "buurtnaam",
                Some("wijkcode"),
                Some("gemeentecode"),
            )?),
            wijken: AreaSet::new(wijken),
            gemeenten: AreaSet::new(read_areas(
                embedded::GEMEENTEN,
                "nl_gemeenten_2023.geojson",
                "gemeentecode",
                "gemeentenaam",
                None,
                None,
            )?),
            pc4: AreaSet::new(pc4),
            year: SHIPPED_YEAR,
            imports: Vec::new(),
        })
    }

    /// These boundaries with imported layers laid over them, oldest first: an imported
    /// gemeente or PC4 area replaces the one with its code; imported wijken or buurten replace
    /// all wijken or buurten of the gemeenten they cover (a new year may merge or split them).
    #[must_use]
    pub fn with_imports(self, layers: Vec<StoredLayer>) -> Self {
        let Self {
            buurten,
            wijken,
            gemeenten,
            pc4,
            mut year,
            mut imports,
        } = self;
        let (mut buurten, mut wijken, mut gemeenten, mut pc4) =
            (buurten.areas, wijken.areas, gemeenten.areas, pc4.areas);
        for l in layers {
            year = year.max(l.year);
            imports.push(l.id);
            match l.level {
                Level::Gemeente | Level::Pc4 => {
                    let set = if l.level == Level::Gemeente {
                        &mut gemeenten
                    } else {
                        &mut pc4
                    };
                    let at: HashMap<String, usize> = set
                        .iter()
                        .enumerate()
                        .map(|(i, a)| (a.code.clone(), i))
                        .collect();
                    for a in l.areas {
                        match at.get(&a.code) {
                            Some(&i) => set[i] = a,
                            None => set.push(a),
                        }
                    }
                }
                Level::Wijk | Level::Buurt => {
                    let set = if l.level == Level::Wijk {
                        &mut wijken
                    } else {
                        &mut buurten
                    };
                    let covered: std::collections::HashSet<String> =
                        l.areas.iter().filter_map(|a| a.gemeente.clone()).collect();
                    set.retain(|a| !a.gemeente.as_ref().is_some_and(|g| covered.contains(g)));
                    set.extend(l.areas);
                }
                _ => {}
            }
        }
        Self {
            buurten: AreaSet::new(buurten),
            wijken: AreaSet::new(wijken),
            gemeenten: AreaSet::new(gemeenten),
            pc4: AreaSet::new(pc4),
            year,
            imports,
        }
    }

    /// The levels with boundaries for a gemeente, and those it lacks (buurten or wijken not
    /// shipped or imported): those levels stay empty for it, all others work.
    #[must_use]
    pub fn levels_of(&self, gemeente: &str) -> (Vec<Level>, Vec<Level>) {
        let has = |set: &AreaSet| {
            set.areas
                .iter()
                .any(|a| a.gemeente.as_deref() == Some(gemeente))
        };
        let mut with = vec![Level::Gemeente];
        let mut without = Vec::new();
        for (level, set) in [(Level::Wijk, &self.wijken), (Level::Buurt, &self.buurten)] {
            if has(set) {
                with.push(level);
            } else {
                without.push(level);
            }
        }
        // Postcodes and H3 cells need no boundary file.
        with.extend(
            Level::ALL
                .into_iter()
                .filter(|l| self.set(*l).is_none() || *l == Level::Pc4),
        );
        (with, without)
    }

    /// The area set of a boundary level (`None` for PC6 and H3, which have no boundary file).
    #[must_use]
    pub fn set(&self, level: Level) -> Option<&AreaSet> {
        match level {
            Level::Gemeente => Some(&self.gemeenten),
            Level::Wijk => Some(&self.wijken),
            Level::Buurt => Some(&self.buurten),
            Level::Pc4 => Some(&self.pc4),
            _ => None,
        }
    }

    /// Locates a WGS84 point in the boundaries. `None` outside every gemeente. The wijk is
    /// the buurt's where buurten are known, else found among the wijken.
    #[must_use]
    pub fn locate(&self, lon: f64, lat: f64) -> Option<Place> {
        if let Some(b) = self.buurten.locate(lon, lat) {
            let area = &self.buurten.areas[b];
            let gm = area
                .gemeente
                .as_deref()
                .and_then(|c| self.gemeenten.index(c));
            if let Some(gemeente) = gm {
                let wijk = area.wijk.as_deref().and_then(|c| self.wijken.index(c));
                return Some(Place {
                    buurt: Some(b),
                    wijk,
                    gemeente,
                });
            }
        }
        let gemeente = self.gemeenten.locate(lon, lat)?;
        let code = &self.gemeenten.areas[gemeente].code;
        let wijk = self
            .wijken
            .locate(lon, lat)
            .filter(|&w| self.wijken.areas[w].gemeente.as_deref() == Some(code.as_str()));
        Some(Place {
            buurt: None,
            wijk,
            gemeente,
        })
    }
}

/// Where a point lies: indices into the buurten, wijken and gemeenten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub buurt: Option<usize>,
    pub wijk: Option<usize>,
    pub gemeente: usize,
}

/// The H3 cells (res 7, 8, 9, 10) of a WGS84 point; the coarser ones are derived by index.
#[must_use]
pub fn h3_cells(lon: f64, lat: f64) -> Option<[CellIndex; 4]> {
    let c10 = LatLng::new(lat, lon).ok()?.to_cell(Resolution::Ten);
    Some([
        c10.parent(Resolution::Seven)?,
        c10.parent(Resolution::Eight)?,
        c10.parent(Resolution::Nine)?,
        c10,
    ])
}

/// The polygon of an H3 cell in WGS84 (lon, lat).
#[must_use]
pub fn cell_polygon(cell: CellIndex) -> Polygon<f64> {
    let mut ring: Vec<Coord<f64>> = cell
        .boundary()
        .iter()
        .map(|ll| Coord {
            x: ll.lng(),
            y: ll.lat(),
        })
        .collect();
    if let Some(first) = ring.first().copied() {
        ring.push(first);
    }
    Polygon::new(LineString::new(ring), vec![])
}

/// The outline of a set of res-10 cells (used as PC6 geometry).
#[must_use]
pub fn dissolve_cells(cells: &[CellIndex]) -> MultiPolygon<f64> {
    let mut unique = cells.to_vec();
    unique.sort_unstable();
    unique.dedup();
    match h3o::geom::SolventBuilder::new()
        .build()
        .dissolve(unique.iter().copied())
    {
        Ok(mp) => mp,
        Err(_) => MultiPolygon::new(unique.into_iter().map(cell_polygon).collect()),
    }
}

/// Representative point (lon, lat) of a geometry.
#[must_use]
pub fn centroid(g: &MultiPolygon<f64>) -> (f64, f64) {
    g.centroid().map_or((0.0, 0.0), |p| (p.x(), p.y()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_boundaries_hold_klingerberg() {
        let b = Boundaries::embedded().unwrap();
        assert_eq!(b.buurten.areas.len(), 114);
        assert_eq!(b.wijken.areas.len(), 168);
        assert!(b.pc4.areas.len() > 4000);
        assert_eq!(b.pc4.get("5925").unwrap().naam, "5925 Klingerberg");
        assert_eq!(b.pc4.get("2011").unwrap().naam, "2011 Haarlem");
        assert_eq!(b.gemeenten.areas.len(), 342);
        let w = b.wijken.get("WK098325").unwrap();
        assert_eq!(w.naam, "Klingerberg");
        assert_eq!(w.inwoners, Some(3845.0));
        let kb = b.buurten.get("BU09832501").unwrap();
        let (lon, lat) = centroid(&kb.geometry);
        let place = b.locate(lon, lat).unwrap();
        assert_eq!(b.buurten.areas[place.buurt.unwrap()].code, "BU09832501");
        assert_eq!(b.wijken.areas[place.wijk.unwrap()].code, "WK098325");
        assert_eq!(b.gemeenten.areas[place.gemeente].code, "GM0983");
        // Haarlem has wijken but no shipped buurten: the wijk is found among the wijken.
        let oude_stad = b.wijken.get("WK039201").unwrap();
        let (lon, lat) = centroid(&oude_stad.geometry);
        let place = b.locate(lon, lat).unwrap();
        assert_eq!(place.buurt, None);
        assert_eq!(b.wijken.areas[place.wijk.unwrap()].code, "WK039201");
        assert_eq!(b.gemeenten.areas[place.gemeente].code, "GM0392");
        let (with, without) = b.levels_of("GM0392");
        assert!(with.contains(&Level::Wijk) && without == vec![Level::Buurt]);
        // The North Sea is in no gemeente.
        assert!(b.locate(3.0, 53.5).is_none());
    }

    #[test]
    fn h3_parents_nest() {
        let cells = h3_cells(6.17, 51.37).unwrap();
        assert_eq!(cells[3].parent(Resolution::Nine), Some(cells[2]));
        assert_eq!(cells[0].resolution(), Resolution::Seven);
        let poly = cell_polygon(cells[3]);
        assert!(poly.contains(&Point::new(6.17, 51.37)));
    }
}
