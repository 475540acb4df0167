//! Reading boundary files as they come: GeoPackage (through the `geopackage` crate) and
//! GeoJSON, into raw layers of fields and geometry in the file's CRS, before any check.

use super::ImportError;
use std::collections::HashMap;
use std::path::Path;

/// The coordinate system of a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Crs {
    RdNew,
    Wgs84,
}

/// A field value as read from either format.
#[derive(Debug, Clone)]
pub(super) enum Value {
    Text(String),
    Number(f64),
}

impl Value {
    pub(super) fn text(&self) -> String {
        match self {
            Self::Text(s) => s.trim().to_string(),
            Self::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{n:.0}"),
            Self::Number(n) => n.to_string(),
        }
    }

    pub(super) fn number(&self) -> Option<f64> {
        match self {
            Self::Number(n) => Some(*n),
            Self::Text(s) => s.trim().parse().ok(),
        }
    }
}

/// One feature before checking: its position, fields and geometry (in the layer's CRS).
pub(super) struct RawFeature {
    pub(super) id: String,
    pub(super) fields: HashMap<String, Value>,
    pub(super) geometry: Option<geo::Geometry<f64>>,
}

pub(super) struct RawLayer {
    pub(super) file: String,
    pub(super) name: String,
    pub(super) crs: Crs,
    pub(super) features: Vec<RawFeature>,
}

pub(super) fn read_gpkg(path: &Path) -> Result<Vec<RawLayer>, ImportError> {
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

pub(super) fn read_geojson(path: &Path) -> Result<RawLayer, ImportError> {
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
