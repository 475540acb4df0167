//! Query-string handling: known keys only, every problem reported at once.

use super::problem::ApiError;
use crate::dataset::Dataset;

/// Parsed query parameters.
#[derive(Debug, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Parses `raw` and refuses keys outside `allowed`.
    ///
    /// # Errors
    /// 400 listing every unknown or repeated key.
    pub fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Self, ApiError> {
        let mut pairs = Vec::new();
        let mut problems = Vec::new();
        for part in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            let k = decode(k);
            let v = decode(v);
            if !allowed.contains(&k.as_str()) {
                problems.push(format!(
                    "onbekende parameter '{k}' (toegestaan: {})",
                    allowed.join(", ")
                ));
            } else if pairs.iter().any(|(x, _): &(String, String)| *x == k) {
                problems.push(format!("parameter '{k}' komt meer dan eens voor"));
            } else {
                pairs.push((k, v));
            }
        }
        if problems.is_empty() {
            Ok(Self { pairs })
        } else {
            Err(ApiError::invalid(&problems))
        }
    }

    /// The value of a key.
    #[must_use]
    pub fn get(&self, k: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(x, _)| x == k)
            .map(|(_, v)| v.as_str())
    }
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(b) = hex {
                    out.push(b);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Resolves `datetime` (a quarter `2025-Q3`, a date, a date-time, or an interval, whose
/// latest quarter in the data is taken) to a period index; default: the latest period.
///
/// # Errors
/// A message for the problem list.
pub fn period(ds: &Dataset, raw: Option<&str>) -> Result<usize, String> {
    let last = ds
        .periods
        .len()
        .checked_sub(1)
        .ok_or_else(|| "de dataset heeft geen perioden".to_string())?;
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(last);
    };
    let to_q = |s: &str| -> Option<u16> {
        if let Some(q) = crate::period::parse_period(s) {
            return Some(q);
        }
        let date = s.get(..10)?;
        let (y, m, _) = crate::period::parse_date(date.as_bytes())?;
        Some(crate::period::quarter_index(y, m))
    };
    let known: Vec<u16> = ds
        .periods
        .iter()
        .filter_map(|p| crate::period::parse_period(p))
        .collect();
    let pick = |lo: u16, hi: u16| known.iter().rposition(|&q| q >= lo && q <= hi);
    let res = if let Some((a, b)) = raw.split_once('/') {
        let lo = if a.is_empty() || a == ".." {
            0
        } else {
            to_q(a).ok_or_else(|| format!("datetime: '{a}' is geen datum of kwartaal"))?
        };
        let hi = if b.is_empty() || b == ".." {
            u16::MAX
        } else {
            to_q(b).ok_or_else(|| format!("datetime: '{b}' is geen datum of kwartaal"))?
        };
        pick(lo, hi)
    } else {
        let q = to_q(raw).ok_or_else(|| {
            format!("datetime: '{raw}' is geen kwartaal (2025-Q3), datum of interval")
        })?;
        pick(q, q)
    };
    res.ok_or_else(|| {
        format!(
            "datetime: geen gegevens voor '{raw}' (beschikbaar: {} t/m {})",
            ds.periods[0], ds.periods[last]
        )
    })
}

/// The pattern of a `gemeente` parameter: one GM-code or several, separated by commas.
pub const GEMEENTEN_PATTERN: &str = "^GM[0-9]{4}(,GM[0-9]{4})*$";

/// The most gemeenten one request may name (the Netherlands has 342).
pub const MAX_GEMEENTEN: usize = 400;

/// The GM-codes of a `gemeente` parameter (`GM0363` or `GM0363,GM0344`, the gemeenten of a
/// RIEC region together).
///
/// # Errors
/// A message naming the rule (not the value) when a part is no GM-code or there are too
/// many.
pub fn gemeenten(raw: &str) -> Result<Vec<&str>, String> {
    let codes: Vec<&str> = raw.split(',').collect();
    let ok =
        |c: &str| c.len() == 6 && c.starts_with("GM") && c[2..].bytes().all(|b| b.is_ascii_digit());
    if codes.len() > MAX_GEMEENTEN || !codes.iter().all(|c| ok(c)) {
        return Err(format!(
            "gemeente: verwacht een GM-code of meerdere met komma's ertussen (GM0363,GM0344), \
             hoogstens {MAX_GEMEENTEN}"
        ));
    }
    Ok(codes)
}

/// The level of a ranking: `level=wijken` (the default), `buurten` or `pc4` (for gemeenten
/// without wijken in the loaded boundaries).
///
/// # Errors
/// 400 for any other level.
pub fn ranking_level(q: &Query) -> Result<crate::spatial::Level, ApiError> {
    match q.get("level").unwrap_or("wijken") {
        "wijken" => Ok(crate::spatial::Level::Wijk),
        "buurten" => Ok(crate::spatial::Level::Buurt),
        "pc4" => Ok(crate::spatial::Level::Pc4),
        other => Err(ApiError::invalid(&[format!(
            "level: '{other}' (kies wijken, buurten of pc4)"
        )])),
    }
}

/// The index scope from `theme` and `reference` (`alle`, the default, `gemeente` or `regio`).
///
/// # Errors
/// 400 for an unknown reference.
pub fn scope(q: &Query) -> Result<crate::score::Scope<'_>, ApiError> {
    Ok(crate::score::Scope {
        theme: q.get("theme"),
        reference: reference(q.get("reference")).map_err(|e| ApiError::invalid(&[e]))?,
    })
}

/// Parses `reference` (`alle`, the default, `gemeente` or `regio`).
///
/// # Errors
/// A message for the problem list.
pub fn reference(raw: Option<&str>) -> Result<crate::score::Reference, String> {
    raw.map_or(Ok(crate::score::Reference::Alle), |r| {
        crate::score::Reference::parse(r)
            .ok_or_else(|| format!("reference: '{r}' (kies alle, gemeente of regio)"))
    })
}

/// Parses `bbox=minLon,minLat,maxLon,maxLat` (CRS84).
///
/// # Errors
/// A message for the problem list.
pub fn bbox(raw: Option<&str>) -> Result<Option<[f64; 4]>, String> {
    bbox_in(raw, true)
}

/// Parses `bbox` in a projected CRS (`geographic == false`: no latitude range) or CRS84.
///
/// # Errors
/// A message for the problem list.
pub fn bbox_in(raw: Option<&str>, geographic: bool) -> Result<Option<[f64; 4]>, String> {
    let Some(raw) = raw else { return Ok(None) };
    let v: Vec<f64> = raw
        .split(',')
        .map(|x| x.trim().parse::<f64>().ok().filter(|x| x.is_finite()))
        .collect::<Option<_>>()
        .ok_or_else(|| format!("bbox: '{raw}' is geen lijst van getallen"))?;
    let b = match v.as_slice() {
        [a, b, c, d] => [*a, *b, *c, *d],
        [a, b, _, c, d, _] => [*a, *b, *c, *d],
        _ => return Err("bbox: verwacht 4 getallen: minLon,minLat,maxLon,maxLat".into()),
    };
    if b[0] > b[2] || b[1] > b[3] || (geographic && (b[1] < -90.0 || b[3] > 90.0)) {
        return Err(format!(
            "bbox: '{raw}' is geen geldige omhullende (min ≤ max, breedtegraad tussen −90 en 90)"
        ));
    }
    Ok(Some(b))
}

/// Parses a non-negative integer parameter.
///
/// # Errors
/// A message for the problem list.
pub fn uint(name: &str, raw: Option<&str>, default: usize) -> Result<usize, String> {
    raw.map_or(Ok(default), |r| {
        r.parse::<usize>()
            .map_err(|_| format!("{name}: '{r}' is geen geheel getal ≥ 0"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemeenten_are_one_or_more_gm_codes() {
        assert_eq!(gemeenten("GM0983").unwrap(), ["GM0983"]);
        assert_eq!(gemeenten("GM0983,GM0392").unwrap(), ["GM0983", "GM0392"]);
        for bad in [
            "",
            "GM098",
            "GM0983,",
            "gm0983",
            "GM0983;GM0392",
            "GM09830",
            "Venlo",
        ] {
            let e = gemeenten(bad).unwrap_err();
            assert!(
                e.contains("GM-code") && (bad.is_empty() || !e.contains(bad)),
                "{bad}: {e}"
            );
        }
        assert!(gemeenten(&vec!["GM0983"; MAX_GEMEENTEN + 1].join(",")).is_err());
    }

    #[test]
    fn unknown_and_repeated_keys_are_all_listed() {
        let e = Query::parse(Some("limit=1&foo=2&limit=3&bar"), &["limit"])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("'foo'") && e.contains("'bar'") && e.contains("meer dan eens"),
            "{e}"
        );
    }

    #[test]
    fn percent_decoding() {
        let q = Query::parse(Some("q=Klingerberg%20Zuid&x=a+b"), &["q", "x"]).unwrap();
        assert_eq!(q.get("q"), Some("Klingerberg Zuid"));
        assert_eq!(q.get("x"), Some("a b"));
    }

    #[test]
    fn bbox_parsing() {
        assert_eq!(
            bbox(Some("6.1,51.3,6.2,51.4")).unwrap(),
            Some([6.1, 51.3, 6.2, 51.4])
        );
        assert!(bbox(Some("6.2,51.3,6.1,51.4")).is_err());
        assert!(bbox(Some("a,b")).is_err());
        // Not numbers, though Rust reads them as such: an empty answer is not what was meant.
        for b in [
            "NaN,NaN,NaN,NaN",
            "6.1,51.3,inf,51.4",
            "-infinity,51.3,6.2,51.4",
        ] {
            assert!(bbox(Some(b)).is_err(), "{b}");
            assert!(bbox_in(Some(b), false).is_err(), "{b}");
        }
    }
}
