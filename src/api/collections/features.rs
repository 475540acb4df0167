//! Features as GeoJSON text, written straight into the page (one writer for items, single
//! features and exports), and their geometry in the CRS asked for.

#[allow(clippy::wildcard_imports)]
use super::*;
use std::fmt::Write as _;

/// The coordinate reference systems the API serves (OGC API Features Part 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crs {
    /// WGS84 longitude, latitude (the storage CRS).
    Crs84,
    /// RD New (EPSG:28992): x east, y north, metres.
    RdNew,
}

impl Crs {
    /// Reads a `crs` or `bbox-crs` value (the URI, or `EPSG:28992` / `CRS84` for short).
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            CRS84 | "CRS84" | "OGC:CRS84" | "http://www.opengis.net/def/crs/EPSG/0/4326" => {
                Some(Self::Crs84)
            }
            RD_NEW | "EPSG:28992" => Some(Self::RdNew),
            _ => None,
        }
    }

    /// The URI.
    #[must_use]
    pub fn uri(self) -> &'static str {
        match self {
            Self::Crs84 => CRS84,
            Self::RdNew => RD_NEW,
        }
    }
}

/// A unit's geometry in `crs`: the stored CRS84 GeoJSON as it is, or in RD New the boundary
/// source's own coordinates where it gave RD New, else transformed to the centimetre.
fn geometry_in(unit: &crate::dataset::Unit, crs: Crs) -> String {
    if crs == Crs::Crs84 {
        return unit.geometry.clone();
    }
    if let Some(rd) = &unit.geometry_rd {
        return rd.clone();
    }
    crate::dataset::outline_rd(unit)
        .and_then(|rd| serde_json::to_string(&geojson::Geometry::from(&rd)).ok())
        .unwrap_or_else(|| unit.geometry.clone())
}

fn json_str(out: &mut String, s: &str) {
    let _ = write!(out, "{}", serde_json::Value::String(s.to_string()));
}

fn num(out: &mut String, v: Option<f64>) {
    match v {
        Some(x) if x.is_finite() => {
            let _ = write!(out, "{}", (x * 1000.0).round() / 1000.0);
        }
        _ => out.push_str("null"),
    }
}

/// Writes one feature (GeoJSON) for unit `u` in period `p`.
pub(crate) fn write_feature(
    out: &mut String,
    ds: &Dataset,
    u: usize,
    p: usize,
    layer: &crate::dataset::Layer,
    scores: Option<&crate::score::LayerScores>,
    crs: Crs,
) {
    let unit = &ds.units[u];
    let pos = ds.pos_in_level[u];
    out.push_str("{\"type\":\"Feature\",\"id\":");
    json_str(out, &unit.code);
    out.push_str(",\"geometry\":");
    if crs == Crs::Crs84 {
        out.push_str(&unit.geometry);
    } else {
        out.push_str(&geometry_in(unit, crs));
    }
    out.push_str(",\"properties\":{\"code\":");
    json_str(out, &unit.code);
    out.push_str(",\"naam\":");
    match &unit.naam {
        Some(n) => json_str(out, n),
        None => out.push_str("null"),
    }
    out.push_str(",\"level\":");
    json_str(out, unit.level.id());
    out.push_str(",\"period\":");
    json_str(out, &ds.periods[p]);
    out.push_str(",\"parent\":");
    match &unit.parent {
        Some(n) => json_str(out, n),
        None => out.push_str("null"),
    }
    if unit.level != Level::Gemeente && unit.level != Level::Wijk {
        out.push_str(",\"wijk\":");
        match &unit.wijk {
            Some(n) => json_str(out, n),
            None => out.push_str("null"),
        }
    }
    out.push_str(",\"gemeente\":");
    json_str(out, &unit.gemeente);
    for (j, m) in ds.indicators.iter().enumerate() {
        let f = layer.values[pos][j];
        let _ = write!(out, ",\"{}_count\":", m.id);
        match f.count {
            Some(c) => {
                let _ = write!(out, "{c}");
            }
            None => out.push_str("null"),
        }
        let _ = write!(out, ",\"{}_rate\":", m.id);
        num(out, f.rate);
        let _ = write!(out, ",\"{}_denominator\":", m.id);
        match f.denominator {
            Some(d) => {
                let _ = write!(out, "{d}");
            }
            None => out.push_str("null"),
        }
        let _ = write!(
            out,
            ",\"{}_suppressed\":{}",
            m.id,
            crate::disclosure::served_suppressed(f.present, f.rate.is_some())
        );
    }
    if let Some(s) = scores.and_then(|s| s[pos].as_ref()) {
        out.push_str(",\"index\":");
        num(out, Some(s.index));
        let _ = write!(
            out,
            ",\"index_class\":{},\"index_low_confidence\":{}",
            s.class, s.low_confidence
        );
        out.push_str(",\"index_low\":");
        num(out, Some(s.low));
        out.push_str(",\"index_high\":");
        num(out, Some(s.high));
    } else {
        out.push_str(",\"index\":null,\"index_class\":null,\"index_low_confidence\":true,\"index_low\":null,\"index_high\":null");
    }
    out.push_str("}}");
}
