//! The GeoPackage export (RD New by default), through the `geopackage` crate.

use super::*;

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
            if rd {
                return crate::dataset::outline_rd(&ds.units[u]);
            }
            crate::dataset::outline_crs84(&ds.units[u])
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
            let pos = ds.pos_in_level[u];
            for &j in &r.indicators {
                let f = layer_data.get(pos, j);
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
