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
            let _ = write!(out, "{}", crate::decimals::stat(x));
        }
        _ => out.push_str("null"),
    }
}

/// The fixed properties of a feature, in the order written.
const FIXED: [&str; 7] = [
    "code", "naam", "level", "period", "parent", "wijk", "gemeente",
];
/// The properties of each indicator: `{id}_count` and so on.
const PER_INDICATOR: [&str; 4] = ["count", "rate", "denominator", "suppressed"];
/// The index's properties.
const INDEX: [&str; 5] = [
    "index",
    "index_class",
    "index_low_confidence",
    "index_low",
    "index_high",
];

/// Which properties the features of a page carry (`properties=`, OGC API Features Part 6
/// "property selection"): all unless asked otherwise. The map asks only for what it draws,
/// which makes a national layer an eighth of its size. Each property asked for holds its key as
/// written (`"overlast_rate":`), made once per page rather than once per feature.
#[derive(Debug, Clone)]
pub struct Want {
    fixed: [Option<String>; 7],
    indicators: Vec<[Option<String>; 4]>,
    index: [Option<String>; 5],
}

/// A property's key as written: `"name":`.
fn key_text(name: &str) -> String {
    format!("\"{name}\":")
}

impl Want {
    /// Every property, or (`ask` false) none yet.
    fn every(ds: &Dataset, ask: bool) -> Self {
        let when = |name: String| ask.then(|| key_text(&name));
        Self {
            fixed: FIXED.map(|n| when(n.to_string())),
            indicators: ds
                .indicators
                .iter()
                .map(|m| PER_INDICATOR.map(|s| when(format!("{}_{s}", m.id))))
                .collect(),
            index: INDEX.map(|n| when(n.to_string())),
        }
    }

    /// Every property.
    #[must_use]
    pub fn all(ds: &Dataset) -> Self {
        Self::every(ds, true)
    }

    /// Whether any indicator's figure is asked for (else the layer's figures are not read).
    #[must_use]
    pub fn figures(&self) -> bool {
        self.indicators.iter().flatten().any(Option::is_some)
    }

    /// Whether any index property is asked for (else the index is not computed).
    #[must_use]
    pub fn index(&self) -> bool {
        self.index.iter().any(Option::is_some)
    }

    /// The properties named, or why not: each must be a fixed property, an index property or
    /// an indicator's `_count`, `_rate`, `_denominator` or `_suppressed`.
    ///
    /// # Errors
    /// The names that are no property of the features.
    pub fn of(ds: &Dataset, names: &[String]) -> Result<Self, String> {
        let mut w = Self::every(ds, false);
        let mut unknown = Vec::new();
        for n in names {
            let slot = if let Some(i) = FIXED.iter().position(|f| f == n) {
                &mut w.fixed[i]
            } else if let Some(i) = INDEX.iter().position(|f| f == n) {
                &mut w.index[i]
            } else if let Some((j, k)) = ds.indicators.iter().enumerate().find_map(|(j, m)| {
                let suffix = n.strip_prefix(m.id.as_str())?.strip_prefix('_')?;
                PER_INDICATOR
                    .iter()
                    .position(|s| *s == suffix)
                    .map(|k| (j, k))
            }) {
                &mut w.indicators[j][k]
            } else {
                unknown.push(format!("'{n}'"));
                continue;
            };
            *slot = Some(key_text(n));
        }
        if unknown.is_empty() {
            Ok(w)
        } else {
            Err(format!(
                "properties: {} {} geen eigenschap van de features; kies uit {}, {}, en per indicator <indicator>_count, _rate, _denominator of _suppressed (zie /v1/indicators)",
                unknown.join(", "),
                if unknown.len() == 1 { "is" } else { "zijn" },
                FIXED.join(", "),
                INDEX.join(", ")
            ))
        }
    }
}

/// Writes a property's key as [`Want`] holds it, after a comma unless it is the first.
fn key(out: &mut String, first: &mut bool, key: &str) {
    if !std::mem::take(first) {
        out.push(',');
    }
    out.push_str(key);
}

/// A whole number as it is, or null.
fn opt_display(out: &mut String, v: Option<impl std::fmt::Display>) {
    match v {
        Some(x) => {
            let _ = write!(out, "{x}");
        }
        None => out.push_str("null"),
    }
}

fn opt_str(out: &mut String, s: Option<&str>) {
    match s {
        Some(n) => json_str(out, n),
        None => out.push_str("null"),
    }
}

/// The published figures and the index a page's features are written from.
pub(crate) type Sources = (
    Option<std::sync::Arc<crate::dataset::Layer>>,
    Option<std::sync::Arc<crate::score::LayerScores>>,
);

/// What the features of `level` in `period` are written from, as far as `want` needs it
/// (`properties=code` needs neither figures nor index, so neither is read or computed).
///
/// # Errors
/// Database errors.
pub(crate) fn sources(
    ds: &Dataset,
    level: crate::spatial::Level,
    period: usize,
    reference: crate::score::Reference,
    want: &Want,
) -> Result<Sources, duckdb::Error> {
    let layer = want
        .figures()
        .then(|| ds.layer(level, period))
        .transpose()?;
    let scores = want
        .index()
        .then(|| {
            crate::score::layer_scores(ds, level, period, crate::score::Scope::against(reference))
                .ok()
        })
        .flatten();
    Ok((layer, scores))
}

/// Writes one feature (GeoJSON) for unit `u` in period `p`, with the properties `want` names.
#[expect(
    clippy::too_many_arguments,
    reason = "one writer for items and single features"
)]
pub(crate) fn write_feature(
    out: &mut String,
    ds: &Dataset,
    u: usize,
    p: usize,
    layer: Option<&crate::dataset::Layer>,
    scores: Option<&crate::score::LayerScores>,
    crs: Crs,
    want: &Want,
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
    out.push_str(",\"properties\":{");
    let first = &mut true;
    let has_wijk = unit.level != Level::Gemeente && unit.level != Level::Wijk;
    let fixed: [Option<Option<&str>>; 7] = [
        Some(Some(&unit.code)),
        Some(unit.naam.as_deref()),
        Some(Some(unit.level.id())),
        Some(Some(&ds.periods[p])),
        Some(unit.parent.as_deref()),
        has_wijk.then_some(unit.wijk.as_deref()),
        Some(Some(&unit.gemeente)),
    ];
    for (value, k) in fixed.into_iter().zip(&want.fixed) {
        if let (Some(v), Some(k)) = (value, k) {
            key(out, first, k);
            opt_str(out, v);
        }
    }
    for (f, w) in layer
        .into_iter()
        .flat_map(|l| l.row(pos))
        .zip(&want.indicators)
    {
        if let Some(k) = &w[0] {
            key(out, first, k);
            opt_display(out, f.count);
        }
        if let Some(k) = &w[1] {
            key(out, first, k);
            num(out, f.rate);
        }
        if let Some(k) = &w[2] {
            key(out, first, k);
            opt_display(out, f.denominator);
        }
        if let Some(k) = &w[3] {
            key(out, first, k);
            let _ = write!(
                out,
                "{}",
                crate::disclosure::served_suppressed(f.present, f.rate.is_some())
            );
        }
    }
    let s = scores.and_then(|s| s[pos].as_ref());
    for (i, k) in want.index.iter().enumerate() {
        let Some(k) = k else { continue };
        key(out, first, k);
        match (s, i) {
            (Some(s), 0) => num(out, Some(s.index)),
            (Some(s), 1) => {
                let _ = write!(out, "{}", s.class);
            }
            (Some(s), 2) => {
                let _ = write!(out, "{}", s.low_confidence);
            }
            (Some(s), 3) => num(out, Some(s.low)),
            (Some(s), _) => num(out, Some(s.high)),
            (None, 2) => out.push_str("true"),
            (None, _) => out.push_str("null"),
        }
    }
    out.push_str("}}");
}
