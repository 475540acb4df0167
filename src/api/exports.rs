//! Exports for analysts: a layer's published figures as CSV for Dutch Excel (`;`, decimal
//! comma, UTF-8 with BOM, suppression written as a word), GeoJSON (CRS84) or GeoPackage (RD
//! New by default, R-tree, metadata inside), each with its
//! metadata (dataset version, period, disclosure parameters, boundary year, per indicator its
//! definition, source, legal basis and unit, generation time, attribution). Exports hold only
//! what the map shows, of the caller's gemeenten: they read the same published figures. Every
//! export is recorded in the audit log, and carries its newest signed checkpoint.

use super::auth::Caller;
use super::collections::base;
use super::collections::{Crs, CRS84, RD_NEW};
use super::openapi::query_param;
use super::problem::ApiError;
use super::query::{self, Query};
use super::route::{Access, Route};
use super::AppState;
use crate::auth::Cap;
use crate::auth::Scope;
use crate::dataset::Dataset;
use crate::spatial::Level;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{json, Value};
use std::fmt::Write as _;

/// The word written where a figure is not published (CSV).
pub const SUPPRESSED: &str = "onderdrukt";

/// `/v1/exports` and `/v1/exports/metadata`.
pub fn routes() -> Vec<Route> {
    let params = || {
        vec![
            json!({"name": "collection", "in": "query", "required": true, "schema": super::openapi::levels_schema()}),
            query_param(
                "datetime",
                "Kwartaal (2025-Q3); standaard het laatste; `alle` voor alle kwartalen in één GeoPackage",
                json!({"type": "string"}),
            ),
            query_param(
                "indicators",
                "Indicatoren, met komma's; standaard alle",
                json!({"type": "string"}),
            ),
            query_param(
                "bbox",
                "minLon,minLat,maxLon,maxLat (CRS84)",
                json!({"type": "string"}),
            ),
            query_param(
                "gemeente",
                "Alleen gebieden van deze gemeente",
                json!({"type": "string"}),
            ),
            query_param(
                "format",
                "csv (Nederlandse Excel), geojson of gpkg (GeoPackage, standaard in RD New)",
                json!({"type": "string", "enum": ["csv", "geojson", "gpkg"]}),
            ),
            query_param(
                "crs",
                "Voor gpkg: http://www.opengis.net/def/crs/EPSG/0/28992 (standaard) of CRS84",
                json!({"type": "string"}),
            ),
        ]
    };
    let ok = |types: &[&str], d: &str| {
        let content: serde_json::Map<String, serde_json::Value> = types
            .iter()
            .map(|t| ((*t).to_string(), json!({})))
            .collect();
        json!({"200": {"description": d, "content": content}, "400": {"$ref": "#/components/responses/Problem"}})
    };
    vec![
        Route::new("/v1/exports", Access::Needs(Cap::Export), get(export)).doc(
            "get",
            json!({"summary": "Download van een laag met zijn gepubliceerde cijfers (CSV, GeoJSON of GeoPackage), met metadata", "operationId": "getExport", "parameters": params(),
                   "responses": ok(
                       &["text/csv", "application/geo+json", "application/geopackage+sqlite3"],
                       "CSV (;, decimale komma, UTF-8 met BOM), GeoJSON of GeoPackage (naar `format`)")}),
        ),
        Route::new("/v1/exports/metadata", Access::Needs(Cap::Export), get(metadata)).doc(
            "get",
            json!({"summary": "De metadata van een export (naast de CSV)", "operationId": "getExportMetadata", "parameters": params(),
                   "responses": ok(&["application/json"], "Metadata")}),
        ),
    ]
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    GeoJson,
    /// GeoPackage 1.4 with an R-tree index, RD New by default.
    Gpkg,
}

impl Format {
    /// Content type and file extension.
    #[must_use]
    pub fn media(self) -> (&'static str, &'static str) {
        match self {
            Self::Csv => ("text/csv; charset=utf-8", "csv"),
            Self::GeoJson => ("application/geo+json", "geojson"),
            Self::Gpkg => ("application/geopackage+sqlite3", "gpkg"),
        }
    }
}

/// A validated export request.
#[derive(Debug, Clone)]
pub struct Request {
    pub level: Level,
    pub period: usize,
    /// Every quarter in one file (`datetime=alle`, GeoPackage only): one row per area and
    /// quarter, the quarter in the column `periode`.
    pub all_periods: bool,
    pub indicators: Vec<usize>,
    pub bbox: Option<[f64; 4]>,
    pub gemeente: Option<String>,
    pub format: Format,
    /// The CRS of the geometry (GeoPackage: RD New unless CRS84 is asked; GeoJSON: CRS84).
    pub crs: Crs,
    /// The gemeenten whose areas may be exported (the caller's; every one on the command line).
    pub scope: Scope,
    /// The newest signed checkpoint of the audit log, put in the export's metadata.
    pub checkpoint: Option<crate::auth::audit::Checkpoint>,
}

impl Request {
    /// Checks every parameter, listing every problem.
    ///
    /// # Errors
    /// 400 with every problem.
    pub fn parse(ds: &Dataset, q: &Query, scope: Scope) -> Result<Self, ApiError> {
        let mut problems = Vec::new();
        let level = match q.get("collection") {
            None => {
                problems.push("collection: verplicht (wijken, buurten, pc4, h3-9 …)".into());
                None
            }
            Some(c) => Level::from_id(c).or_else(|| {
                problems.push(format!("collection: '{c}' bestaat niet"));
                None
            }),
        };
        let all_periods = q.get("datetime") == Some("alle");
        let period = if all_periods {
            ds.periods.len().saturating_sub(1)
        } else {
            query::period(ds, q.get("datetime"))
                .map_err(|e| problems.push(e))
                .unwrap_or(0)
        };
        let indicators: Vec<usize> = match q.get("indicators") {
            None => (0..ds.indicators.len()).collect(),
            Some(list) => list
                .split(',')
                .filter(|s| !s.is_empty())
                .filter_map(|id| {
                    ds.indicator_index(id).or_else(|| {
                        problems.push(format!("indicators: '{id}' bestaat niet"));
                        None
                    })
                })
                .collect(),
        };
        let bbox = query::bbox(q.get("bbox"))
            .map_err(|e| problems.push(e))
            .unwrap_or(None);
        let gemeente = q.get("gemeente").map(str::to_string);
        if let Some(g) = &gemeente {
            if ds.unit(Level::Gemeente, g).is_none() || !scope.sees(g) {
                problems.push(format!("gemeente: '{g}' komt niet voor in de dataset"));
            }
        }
        let format = match q.get("format").unwrap_or("csv") {
            "csv" => Format::Csv,
            "geojson" | "json" => Format::GeoJson,
            "gpkg" | "geopackage" => Format::Gpkg,
            other => {
                problems.push(format!(
                    "format: '{other}' wordt niet ondersteund (csv, geojson, gpkg)"
                ));
                Format::Csv
            }
        };
        let crs = match (q.get("crs").map(|c| (c, Crs::parse(c))), format) {
            (None, Format::Gpkg) => Crs::RdNew,
            (None, _) => Crs::Crs84,
            (Some((c, None)), _) => {
                problems.push(format!(
                    "crs: '{c}' wordt niet ondersteund; kies {CRS84} of {RD_NEW}"
                ));
                Crs::Crs84
            }
            (Some((_, Some(Crs::RdNew))), Format::GeoJson) => {
                problems.push(
                    "crs: GeoJSON is altijd CRS84 (RFC 7946); kies format=gpkg voor RD New".into(),
                );
                Crs::Crs84
            }
            (Some((_, Some(c))), _) => c,
        };
        if all_periods && format != Format::Gpkg {
            problems.push(
                "datetime: 'alle' (alle kwartalen in één bestand) kan alleen met format=gpkg"
                    .into(),
            );
        }
        match level {
            Some(level) if problems.is_empty() => Ok(Self {
                level,
                period,
                all_periods,
                indicators,
                bbox,
                gemeente,
                format,
                crs,
                scope,
                checkpoint: None,
            }),
            _ => Err(ApiError::invalid(&problems)),
        }
    }

    /// The units of the export, in code order.
    fn units(&self, ds: &Dataset) -> Vec<usize> {
        ds.level_units(self.level)
            .iter()
            .copied()
            .filter(|&u| {
                let unit = &ds.units[u];
                let b = unit.bbox;
                self.bbox
                    .is_none_or(|q| b[0] <= q[2] && b[2] >= q[0] && b[1] <= q[3] && b[3] >= q[1])
                    && self.gemeente.as_ref().is_none_or(|g| &unit.gemeente == g)
                    && ds.visible(u, &self.scope)
            })
            .collect()
    }
}

/// The metadata of an export.
#[must_use]
pub fn metadata_of(ds: &Dataset, r: &Request, rows: usize, generated: &str) -> Value {
    json!({
        "dataset_version": ds.version,
        "dataset_created": ds.created_at,
        "collection": r.level.id(),
        "collection_title": r.level.title(),
        "period": if r.all_periods { json!(ds.periods) } else { json!(ds.periods[r.period]) },
        "rows": rows,
        "generated": generated,
        "crs": if r.format == Format::Csv { Value::Null } else { json!(r.crs.uri()) },
        "boundary_year": ds.boundary_year,
        "attribution": format!("Grenzen: Kadaster / CBS, {} (CC BY 4.0); PC4: © CBS, © ESRI Nederland", ds.boundary_year),
        "disclosure": {
            "k": ds.params.k, "k_fine": ds.params.k_fine, "round_to": ds.params.round_to,
            "rules": "Aantallen uit minder dan k eenheden (k_fine bij PC6 en H3 res. 10) zijn onderdrukt, ook aantallen die anders uit andere getallen terug te rekenen zijn; aantallen en noemers zijn afgerond op veelvouden van round_to; rates zijn berekend uit het afgeronde aantal en de afgeronde noemer; een aandeel van (bijna) 100 % is onderdrukt. Zie /methode.html.",
            "suppressed_as": SUPPRESSED,
        },
        "indicators": r.indicators.iter().map(|&j| {
            let m = &ds.indicators[j];
            json!({"id": m.id, "naam": m.naam, "name_en": m.name_en, "theme": m.theme, "unit": m.unit,
                   "sources": m.sources, "partners": m.partners, "legal_basis": m.legal_basis,
                   "polarity": m.polarity.id(), "min_denominator": m.min_denominator,
                   "columns": [format!("{}_aantal", m.id), format!("{}_noemer", m.id), format!("{}_rate", m.id)]})
        }).collect::<Vec<_>>(),
        "gemeenten": r.scope.0,
        "audit_checkpoint": r.checkpoint,
    })
}

/// A number with a decimal comma (CSV for Dutch Excel).
fn nl(v: f64) -> String {
    let s = format!("{v}");
    s.replace('.', ",")
}

/// Quotes a CSV field when it holds the separator, a quote or a line break.
fn field(s: &str) -> String {
    if s.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The CSV (with BOM) and its number of rows.
///
/// # Errors
/// Database errors.
pub fn csv(ds: &Dataset, r: &Request) -> Result<(String, usize), ApiError> {
    let mut out = Vec::new();
    let n = write_csv(ds, r, &mut out)?;
    Ok((String::from_utf8_lossy(&out).into_owned(), n))
}

/// Writes the CSV row by row to `w` (a file, or the response as it is sent): memory does not
/// grow with the layer. Returns the number of rows.
///
/// # Errors
/// Database errors; a write that fails (a client that went away).
pub fn write_csv(
    ds: &Dataset,
    r: &Request,
    w: &mut impl std::io::Write,
) -> Result<usize, ApiError> {
    let layer = ds.layer(r.level, r.period)?;
    let units = r.units(ds);
    let mut out = String::from("\u{feff}code;naam;niveau;gemeente;periode");
    for &j in &r.indicators {
        let id = &ds.indicators[j].id;
        let _ = write!(out, ";{id}_aantal;{id}_noemer;{id}_rate");
    }
    out.push_str("\r\n");
    for &u in &units {
        let unit = &ds.units[u];
        let _ = write!(
            out,
            "{};{};{};{};{}",
            field(&unit.code),
            field(unit.naam.as_deref().unwrap_or("")),
            r.level.id(),
            field(&unit.gemeente),
            ds.periods[r.period]
        );
        let figs = &layer.values[ds.pos_in_level[u]];
        for &j in &r.indicators {
            let f = figs[j];
            let word = |v: Option<String>| v.unwrap_or_else(|| SUPPRESSED.to_string());
            let _ = write!(
                out,
                ";{};{};{}",
                word(f.count.map(|c| c.to_string())),
                word(f.denominator.map(|d| d.to_string())),
                word(f.rate.map(nl))
            );
        }
        out.push_str("\r\n");
        if out.len() >= CHUNK {
            w.write_all(out.as_bytes()).map_err(gone)?;
            out.clear();
        }
    }
    w.write_all(out.as_bytes()).map_err(gone)?;
    Ok(units.len())
}

/// The GeoJSON FeatureCollection (CRS84) with the metadata as a foreign member.
///
/// # Errors
/// Database errors.
pub fn geojson(ds: &Dataset, r: &Request, generated: &str) -> Result<(String, usize), ApiError> {
    let mut out = Vec::new();
    let n = write_geojson(ds, r, generated, &mut out)?;
    Ok((String::from_utf8_lossy(&out).into_owned(), n))
}

/// Writes the GeoJSON feature by feature to `w`, as [`write_csv`] does.
///
/// # Errors
/// Database errors; a write that fails.
pub fn write_geojson(
    ds: &Dataset,
    r: &Request,
    generated: &str,
    w: &mut impl std::io::Write,
) -> Result<usize, ApiError> {
    let layer = ds.layer(r.level, r.period)?;
    let units = r.units(ds);
    let mut out = String::from("{\"type\":\"FeatureCollection\",\"features\":[");
    for (i, &u) in units.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let unit = &ds.units[u];
        let mut props = serde_json::Map::new();
        props.insert("code".into(), json!(unit.code));
        props.insert("naam".into(), json!(unit.naam));
        props.insert("level".into(), json!(r.level.id()));
        props.insert("gemeente".into(), json!(unit.gemeente));
        props.insert("period".into(), json!(ds.periods[r.period]));
        let figs = &layer.values[ds.pos_in_level[u]];
        for &j in &r.indicators {
            let (id, f) = (&ds.indicators[j].id, figs[j]);
            props.insert(format!("{id}_count"), json!(f.count));
            props.insert(format!("{id}_denominator"), json!(f.denominator));
            props.insert(format!("{id}_rate"), json!(f.rate));
            props.insert(
                format!("{id}_suppressed"),
                json!(crate::disclosure::served_suppressed(
                    f.present,
                    f.rate.is_some()
                )),
            );
        }
        let _ = write!(
            out,
            "{{\"type\":\"Feature\",\"id\":{},\"geometry\":{},\"properties\":{}}}",
            json!(unit.code),
            unit.geometry,
            Value::Object(props)
        );
        if out.len() >= CHUNK {
            w.write_all(out.as_bytes()).map_err(gone)?;
            out.clear();
        }
    }
    let meta = metadata_of(ds, r, units.len(), generated);
    let _ = write!(out, "],\"metadata\":{meta}}}");
    w.write_all(out.as_bytes()).map_err(gone)?;
    Ok(units.len())
}

/// Exports are handed to the writer in pieces of about this size.
const CHUNK: usize = 64 << 10;

fn gone(e: std::io::Error) -> ApiError {
    ApiError::Internal(format!("export not written: {e}"))
}

/// A `Write` that hands the export to the response body in pieces, through a channel of a
/// few pieces: the writer waits while the client reads, so an export of any size holds at
/// most about half a megabyte in memory.
struct ChunkWriter {
    buf: Vec<u8>,
    tx: tokio::sync::mpsc::Sender<Result<axum::body::Bytes, std::io::Error>>,
    rt: tokio::runtime::Handle,
}

/// A client that reads nothing of its export for this long is let go.
const STALL: std::time::Duration = std::time::Duration::from_secs(30);

impl std::io::Write for ChunkWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let piece = axum::body::Bytes::from(std::mem::take(&mut self.buf));
        match self
            .rt
            .block_on(tokio::time::timeout(STALL, self.tx.send(Ok(piece))))
        {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the client went away",
            )),
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the client read nothing for 30 s",
            )),
        }
    }
}

/// The receiving end as the response body's stream.
struct Pieces(tokio::sync::mpsc::Receiver<Result<axum::body::Bytes, std::io::Error>>);

impl futures_core::Stream for Pieces {
    type Item = Result<axum::body::Bytes, std::io::Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// Writes the GeoPackage (one feature table named after the collection, with an R-tree
/// index; `{id}_aantal`, `_noemer`, `_rate` and `_onderdrukt` per indicator; the metadata in
/// `gpkg_metadata` and, readable, in the attribute table `wijkradar_metadata`) to `path` and
/// returns its number of rows.
///
/// # Errors
/// Database and file errors.
pub fn gpkg(
    ds: &Dataset,
    r: &Request,
    generated: &str,
    path: &std::path::Path,
) -> Result<usize, ApiError> {
    use geo::MapCoords;
    use geopackage::core::metadata::MetadataScope;
    use geopackage::core::types::{ColumnType, GeometryType};
    use geopackage::{
        ColumnSpec, GeoPackage, GeometrySpec, NewFeature, NewMetadata, TableSchemaBuilder,
        Value as G,
    };
    let e = |x: geopackage::Error| ApiError::Internal(format!("GeoPackage: {x}"));
    let periods: Vec<usize> = if r.all_periods {
        (0..ds.periods.len()).collect()
    } else {
        vec![r.period]
    };
    let layers = periods
        .iter()
        .map(|&p| ds.layer(r.level, p))
        .collect::<Result<Vec<_>, _>>()?;
    let units = r.units(ds);
    let _ = std::fs::remove_file(path);
    let g = GeoPackage::create(path).map_err(e)?;
    let srs = if r.crs == Crs::RdNew {
        g.add_epsg_srs(28992).map_err(e)?;
        28992
    } else {
        4326
    };
    let table = r.level.id().replace('-', "_");
    let mut schema = TableSchemaBuilder::new(&table)
        .column(ColumnSpec::new("code", ColumnType::Text(None)))
        .column(ColumnSpec::new("naam", ColumnType::Text(None)))
        .column(ColumnSpec::new("niveau", ColumnType::Text(None)))
        .column(ColumnSpec::new("gemeente", ColumnType::Text(None)))
        .column(ColumnSpec::new("periode", ColumnType::Text(None)));
    for &j in &r.indicators {
        let id = &ds.indicators[j].id;
        schema = schema
            .column(ColumnSpec::new(format!("{id}_aantal"), ColumnType::Double))
            .column(ColumnSpec::new(format!("{id}_noemer"), ColumnType::Double))
            .column(ColumnSpec::new(format!("{id}_rate"), ColumnType::Double))
            .column(ColumnSpec::new(
                format!("{id}_onderdrukt"),
                ColumnType::Boolean,
            ));
    }
    let schema = schema.geometry(GeometrySpec::new(GeometryType::MultiPolygon, srs));
    let layer = g.create_layer(&schema).map_err(e)?;
    let rd = r.crs == Crs::RdNew;
    // Each outline is read and transformed once, whatever the number of quarters.
    let outlines: Vec<Option<geo::MultiPolygon<f64>>> = units
        .iter()
        .map(|&u| {
            let geom = ds.units[u]
                .geometry
                .parse::<geojson::Geometry>()
                .ok()
                .and_then(|g| geo::Geometry::<f64>::try_from(g).ok())?;
            let mp = match geom {
                geo::Geometry::Polygon(p) => geo::MultiPolygon(vec![p]),
                geo::Geometry::MultiPolygon(m) => m,
                _ => return None,
            };
            Some(if rd {
                mp.map_coords(|c| {
                    let (x, y) = crate::spatial::wgs84_to_rd(c.x, c.y);
                    geo::Coord {
                        x: (x * 100.0).round() / 100.0,
                        y: (y * 100.0).round() / 100.0,
                    }
                })
            } else {
                mp
            })
        })
        .collect();
    let features = periods.iter().zip(&layers).flat_map(|(&p, layer_data)| {
        units.iter().zip(&outlines).filter_map(move |(&u, mp)| {
            let unit = &ds.units[u];
            let mut values = vec![
                G::Text(unit.code.clone()),
                unit.naam.clone().map_or(G::Null, G::Text),
                G::Text(r.level.id().to_string()),
                G::Text(unit.gemeente.clone()),
                G::Text(ds.periods[p].clone()),
            ];
            let figs = &layer_data.values[ds.pos_in_level[u]];
            for &j in &r.indicators {
                let f = figs[j];
                let num = |v: Option<f64>| v.map_or(G::Null, G::Float);
                values.push(num(f.count.map(|c| c as f64)));
                values.push(num(f.denominator.map(|d| d as f64)));
                values.push(num(f.rate));
                values.push(G::Boolean(crate::disclosure::served_suppressed(
                    f.present,
                    f.rate.is_some(),
                )));
            }
            Some(NewFeature::new(mp.clone()?, values))
        })
    });
    let n = layer.write_all(features, 0).map_err(e)?.len();
    drop(layer);
    let meta = metadata_of(ds, r, n, generated);
    g.add_metadata(
        &NewMetadata::new(
            MetadataScope::Dataset,
            "https://wijkradar.nl/metadata/export/1",
            meta.to_string(),
        )
        .mime_type("application/json"),
    )
    .map_err(e)?;
    let attrs = g
        .create_attributes_table(
            &TableSchemaBuilder::new("wijkradar_metadata")
                .column(ColumnSpec::new("sleutel", ColumnType::Text(None)))
                .column(ColumnSpec::new("waarde", ColumnType::Text(None))),
        )
        .map_err(e)?;
    let mut rows: Vec<(String, String)> = Vec::new();
    if let Value::Object(m) = &meta {
        for (k, v) in m {
            if k == "indicators" {
                continue;
            }
            rows.push((
                k.clone(),
                v.as_str().map_or_else(|| v.to_string(), str::to_string),
            ));
        }
    }
    for &j in &r.indicators {
        let m = &ds.indicators[j];
        rows.push((
            format!("indicator {}", m.id),
            format!(
                "{} ({}); bron: {}; grondslag: {}",
                m.naam, m.unit, m.sources, m.legal_basis
            ),
        ));
    }
    attrs
        .write_all(
            rows.into_iter()
                .map(|(k, v)| NewFeature::<geo::Point<f64>> {
                    fid: None,
                    geometry: None,
                    values: vec![G::Text(k), G::Text(v)],
                }),
            0,
        )
        .map_err(e)?;
    drop(attrs);
    // Written as GeoPackage 1.3: GDAL 3.6 (Debian 12, and the QGIS of many gemeenten) warns
    // on every open of a 1.4 file and its validator wants the 1.3 R-tree triggers. The tables
    // are the same; 1.4 only split two triggers (`update5`–`7` for `update1` and `update3`).
    let t = format!("\"{table}\"");
    let r_t = format!("\"rtree_{table}_geom\"");
    let bounds = "NEW.\"fid\", ST_MinX(NEW.\"geom\"), ST_MaxX(NEW.\"geom\"), ST_MinY(NEW.\"geom\"), ST_MaxY(NEW.\"geom\")";
    let sql = format!(
        "PRAGMA user_version = 10300;
         DROP TRIGGER IF EXISTS \"rtree_{table}_geom_update5\";
         DROP TRIGGER IF EXISTS \"rtree_{table}_geom_update6\";
         DROP TRIGGER IF EXISTS \"rtree_{table}_geom_update7\";
         CREATE TRIGGER \"rtree_{table}_geom_update1\" AFTER UPDATE OF \"geom\" ON {t}
           WHEN OLD.\"fid\" = NEW.\"fid\" AND (NEW.\"geom\" NOTNULL AND NOT ST_IsEmpty(NEW.\"geom\"))
           BEGIN INSERT OR REPLACE INTO {r_t} VALUES ({bounds}); END;
         CREATE TRIGGER \"rtree_{table}_geom_update3\" AFTER UPDATE ON {t}
           WHEN OLD.\"fid\" != NEW.\"fid\" AND (NEW.\"geom\" NOTNULL AND NOT ST_IsEmpty(NEW.\"geom\"))
           BEGIN DELETE FROM {r_t} WHERE id = OLD.\"fid\"; INSERT OR REPLACE INTO {r_t} VALUES ({bounds}); END;
         UPDATE gpkg_extensions SET definition = replace(definition, 'spec140', 'spec120');"
    );
    g.connection()
        .execute_batch(&sql)
        .map_err(|x| ApiError::Internal(format!("GeoPackage: {x}")))?;
    Ok(n)
}

/// The time now as RFC 3339 (UTC, seconds).
#[must_use]
pub fn now() -> String {
    crate::period::now_rfc3339()
}

/// The audit-log entry of an export: who, what collection and filter, format, rows. Never
/// a figure.
#[must_use]
pub fn audit_event(r: &Request, rows: usize, who: &str) -> crate::auth::audit::Event {
    crate::auth::audit::Event::new(who, "export", r.level.id(), "ok")
        .in_gemeenten(
            r.gemeente
                .clone()
                .map_or_else(|| r.scope.0.clone(), |g| vec![g]),
        )
        .detail(
            json!({
                "period": r.period, "indicators": r.indicators.len(), "bbox": r.bbox,
                "gemeente": r.gemeente,
                "format": r.format.media().1, "crs": r.crs.uri(), "rows": rows,
            })
            .to_string(),
        )
}

/// The parameters of an export.
pub const PARAMS: [&str; 7] = [
    "collection",
    "datetime",
    "indicators",
    "bbox",
    "gemeente",
    "format",
    "crs",
];

/// `GET /v1/exports`
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let raw = q.clone().unwrap_or_default();
    let q = Query::parse(q.as_deref(), &PARAMS)?;
    let ds = state.dataset()?;
    let meta_link = format!("{}/exports/metadata?{raw}", base(&state, &headers));
    let st = state.clone();
    // Everything that can refuse the export is checked before the answer starts.
    // Only so many exports are written at once (`Limits::exports`): each holds a thread while
    // its client reads, so a client that starts many and reads none must not take them all.
    let slot = state
        .export_slots
        .clone()
        .try_acquire_owned()
        .map_err(|_| ApiError::ExportsBusy)?;
    let scope = caller.scope(Cap::Export);
    let (r, ds) = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let mut r = Request::parse(&ds, &q, scope)?;
        r.checkpoint = st.auth.audit.files.latest_checkpoint();
        ds.layer(r.level, r.period)?;
        Ok((r, ds))
    })
    .await??;
    // Then the file is written as it is sent (a GeoPackage is built in a private file first,
    // which is then sent from disk); the export is recorded when it is complete.
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    {
        let r = r.clone();
        let st = state.clone();
        let actor = caller.actor();
        let rt = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let mut w = ChunkWriter {
                buf: Vec::with_capacity(CHUNK),
                tx: tx.clone(),
                rt,
            };
            let when = now();
            let written = match r.format {
                Format::Csv => write_csv(&ds, &r, &mut w),
                Format::GeoJson => write_geojson(&ds, &r, &when, &mut w),
                Format::Gpkg => (|| {
                    let dir = tempfile_dir()?;
                    let path = dir.join("export.gpkg");
                    let n = gpkg(&ds, &r, &when, &path);
                    let file = std::fs::File::open(&path);
                    let _ = std::fs::remove_dir_all(&dir);
                    let n = n?;
                    let mut file = file.map_err(gone)?;
                    std::io::copy(&mut file, &mut w).map_err(gone)?;
                    Ok(n)
                })(),
            }
            .and_then(|n| std::io::Write::flush(&mut w).map(|()| n).map_err(gone));
            match written {
                Ok(rows) => st.auth.audit.record(audit_event(&r, rows, &actor)),
                Err(e) => {
                    tracing::warn!(error = %e, "an export stopped before its end");
                    // The body ends with an error, so the client sees a broken transfer,
                    // not a short file (never waiting: a stalled client has a full channel).
                    let _ = tx.try_send(Err(std::io::Error::other(e.to_string())));
                    let mut event = audit_event(&r, 0, &actor);
                    event.outcome = "afgebroken".into();
                    st.auth.audit.record(event);
                }
            }
        });
    }
    let body = axum::body::Body::from_stream(Pieces(rx));
    let (ct, ext) = r.format.media();
    let name = format!("wijkradar_{}.{ext}", r.level.id());
    Ok((
        [
            (header::CONTENT_TYPE, ct.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::LINK, format!("<{meta_link}>; rel=\"describedby\"")),
        ],
        body,
    )
        .into_response())
}

/// A private directory for one export file (removed after it is sent).
fn tempfile_dir() -> Result<std::path::PathBuf, ApiError> {
    let d = std::env::temp_dir().join(format!(
        "wijkradar-export-{}",
        &crate::auth::password::digest(&crate::auth::password::secret(""))[..16]
    ));
    std::fs::create_dir_all(&d).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(d)
}

/// `GET /v1/exports/metadata`: the metadata of the export with these parameters.
pub async fn metadata(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> Result<axum::Json<Value>, ApiError> {
    let q = Query::parse(q.as_deref(), &PARAMS)?;
    let ds = state.dataset()?;
    let cp = state.auth.audit.files.latest_checkpoint();
    let v = tokio::task::spawn_blocking(move || -> Result<Value, ApiError> {
        let mut r = Request::parse(&ds, &q, caller.scope(Cap::Export))?;
        r.checkpoint = cp;
        Ok(metadata_of(&ds, &r, r.units(&ds).len(), &now()))
    })
    .await??;
    Ok(axum::Json(v))
}
