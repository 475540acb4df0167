//! Imported boundaries: written in one copy-on-write transaction, read back for the next
//! ingest. Versions written before an import keep the units (and outlines) they were located
//! in; the import only changes what later ingests use.

use super::{StoreError, Writer};
use crate::spatial::{import::Layer, Area, Level, StoredLayer};
use std::path::Path;

/// One stored import, as `wijkradar boundaries list` shows it.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub id: i32,
    pub imported_at: String,
    pub level: String,
    pub year: i32,
    pub source: String,
    pub areas: i64,
    pub water: i64,
}

/// Stores checked layers from one file; returns their ids. A file whose content was imported
/// before is not stored again (its earlier ids are returned).
///
/// # Errors
/// I/O and DuckDB errors; the database is then unchanged.
pub fn write_import(
    db: &Path,
    layers: &[Layer],
    content_hash: &str,
) -> Result<(Vec<i32>, bool), StoreError> {
    let file = db.display().to_string();
    let dberr = |source: duckdb::Error| StoreError::Db {
        file: file.clone(),
        source,
    };
    Writer::begin(db)?.commit(|tx| {
        let earlier: Vec<i32> = {
            let mut st = tx
                .prepare("SELECT id FROM boundary_import WHERE content_hash = ? ORDER BY id")
                .map_err(dberr)?;
            st.query_map([content_hash], |r| r.get(0))
                .map_err(dberr)?
                .collect::<Result<_, _>>()
                .map_err(dberr)?
        };
        if !earlier.is_empty() {
            return Ok((earlier, false));
        }
        let mut ids = Vec::new();
        for l in layers {
            let id: i32 = tx
                .query_row(
                    "INSERT INTO boundary_import
                     SELECT coalesce(max(id), 0) + 1, now()::TIMESTAMP, ?, ?, ?, ?, ?, ?
                     FROM boundary_import RETURNING id",
                    duckdb::params![
                        l.level.id(),
                        l.year,
                        l.source,
                        content_hash,
                        l.areas.len() as i64,
                        l.water as i64
                    ],
                    |r| r.get(0),
                )
                .map_err(dberr)?;
            let mut app = tx.appender("boundary_area").map_err(dberr)?;
            for a in &l.areas {
                let geometry =
                    geojson::Geometry::new(geojson::GeometryValue::from(&a.geometry)).to_string();
                let geometry_rd = a
                    .geometry_rd
                    .as_ref()
                    .map(|g| geojson::Geometry::new(geojson::GeometryValue::from(g)).to_string());
                app.append_row(duckdb::params![
                    id,
                    a.code,
                    a.naam,
                    a.wijk,
                    a.gemeente,
                    a.inwoners,
                    a.woningen,
                    a.plaats,
                    geometry,
                    geometry_rd
                ])
                .map_err(dberr)?;
            }
            app.flush().map_err(dberr)?;
            ids.push(id);
        }
        Ok((ids, true))
    })
}

/// Every stored import, oldest first.
///
/// # Errors
/// DuckDB errors.
pub fn list_imports(conn: &duckdb::Connection) -> Result<Vec<ImportRow>, duckdb::Error> {
    if !has_imports_table(conn)? {
        return Ok(Vec::new());
    }
    let mut st = conn.prepare(
        "SELECT id, strftime(imported_at, '%Y-%m-%d %H:%M'), level, year, source, areas, water
         FROM boundary_import ORDER BY id",
    )?;
    let rows = st.query_map([], |r| {
        Ok(ImportRow {
            id: r.get(0)?,
            imported_at: r.get(1)?,
            level: r.get(2)?,
            year: r.get(3)?,
            source: r.get(4)?,
            areas: r.get(5)?,
            water: r.get(6)?,
        })
    })?;
    rows.collect()
}

fn has_imports_table(conn: &duckdb::Connection) -> Result<bool, duckdb::Error> {
    conn.query_row(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'boundary_import'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

/// The stored imports with their areas, oldest first (none when the database does not exist
/// yet).
///
/// # Errors
/// DuckDB errors, or a stored geometry that does not parse.
pub fn stored_layers(db: &Path) -> Result<Vec<StoredLayer>, StoreError> {
    if !db.exists() {
        return Ok(Vec::new());
    }
    let file = db.display().to_string();
    let dberr = |source: duckdb::Error| StoreError::Db {
        file: file.clone(),
        source,
    };
    let conn = super::open_read_only(db)?;
    let mut out = Vec::new();
    let rd = super::column_or_null(&conn, "boundary_area", "geometry_rd").map_err(dberr)?;
    for row in list_imports(&conn).map_err(dberr)? {
        let Some(level) = Level::from_id(&row.level) else {
            continue;
        };
        let mut st = conn
            .prepare(&format!(
                "SELECT code, naam, wijk, gemeente, inwoners, woningen, plaats, geometry, {rd}
                 FROM boundary_area WHERE import_id = ? ORDER BY code"
            ))
            .map_err(dberr)?;
        let rows = st
            .query_map([row.id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<f64>>(4)?,
                    r.get::<_, Option<f64>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, Option<String>>(8)?,
                ))
            })
            .map_err(dberr)?;
        let mut areas = Vec::new();
        for r in rows {
            let (code, naam, wijk, gemeente, inwoners, woningen, plaats, geometry, geometry_rd) =
                r.map_err(dberr)?;
            let bad = |m: String| StoreError::Io {
                file: file.clone(),
                message: format!("boundary import {}, area {code}: {m}", row.id),
            };
            let parse = |text: &str| -> Result<geo::MultiPolygon<f64>, StoreError> {
                let g: geojson::Geometry = text
                    .parse()
                    .map_err(|e: geojson::Error| bad(e.to_string()))?;
                g.try_into().map_err(|e: geojson::Error| bad(e.to_string()))
            };
            let geometry = parse(&geometry)?;
            let geometry_rd = geometry_rd.as_deref().map(parse).transpose()?;
            areas.push(Area {
                code,
                naam,
                wijk,
                gemeente,
                geometry,
                geometry_rd,
                inwoners,
                woningen,
                plaats,
            });
        }
        out.push(StoredLayer {
            id: row.id,
            level,
            year: row.year,
            areas,
        });
    }
    Ok(out)
}
