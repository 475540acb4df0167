//! An area's profile: every indicator of a wijk or buurt against its gemeente, all loaded
//! gemeenten together and comparable areas (the five of the same level, in any loaded
//! gemeente, nearest in number of inhabitants), with whether the difference from the
//! gemeente lies outside the area's 95 % interval, and a one-line summary. Built from
//! published figures only.

use crate::catalogue::Polarity;
use crate::dataset::{Dataset, Held};
use crate::trend::figure_variance;
use serde::Serialize;

/// How many comparable areas.
pub const COMPARABLE: usize = 5;

/// One indicator in the profile.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub indicator: String,
    pub naam: String,
    pub kort: String,
    pub unit: String,
    /// The area's published figure (None: suppressed).
    pub area: Option<f64>,
    pub gemeente: Option<f64>,
    /// All loaded gemeenten together (from their published counts and denominators).
    #[serde(serialize_with = "crate::decimals::ser_opt")]
    pub alle: Option<f64>,
    /// Mean of the comparable areas' published figures.
    #[serde(serialize_with = "crate::decimals::ser_opt")]
    pub vergelijkbaar: Option<f64>,
    /// Against the gemeente, beyond the area's 95 % interval: `hoger`, `lager`, or
    /// `gelijk`; None when the area's figure is suppressed.
    pub verschil: Option<&'static str>,
    /// The difference means more pressure (`true`), less (`false`), or none (None).
    pub ongunstig: Option<bool>,
}

/// A profile.
#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    pub level: &'static str,
    pub code: String,
    pub naam: String,
    pub gemeente: String,
    pub gemeente_naam: String,
    pub period: String,
    pub comparable: Vec<String>,
    pub lines: Vec<Line>,
    pub summary: String,
}

/// The population proxy used to find comparable areas: the denominator of indicator `j`,
/// the first counted per inhabitant.
fn size(held: &mut Held<'_>, j: usize, u: usize, p: usize) -> Option<f64> {
    #[expect(clippy::cast_precision_loss, reason = "counts")]
    held.fig(u, j, p).ok()?.denominator.map(|d| d as f64)
}

/// The profile of unit `u` in period `p`, its comparable areas among `candidates` (the units
/// of its level the caller may see).
///
/// # Errors
/// DuckDB errors.
pub fn profile(
    ds: &Dataset,
    u: usize,
    p: usize,
    candidates: &[usize],
) -> Result<Profile, duckdb::Error> {
    let unit = &ds.units[u];
    let gm = ds.gemeente_of(u);
    let gemeenten: Vec<usize> = ds
        .level_units(crate::spatial::Level::Gemeente)
        .iter()
        .copied()
        .filter(|&g| {
            candidates
                .iter()
                .any(|&c| ds.units[c].gemeente == ds.units[g].code)
        })
        .collect();
    let per_inhabitant = ds
        .indicators
        .iter()
        .position(|m| m.unit.contains("inwoners"));
    let mut held = Held::new(ds);
    let own = per_inhabitant.and_then(|j| size(&mut held, j, u, p));
    let mut near: Vec<(f64, usize)> = candidates
        .iter()
        .copied()
        .filter(|&c| c != u)
        .filter_map(|c| Some(((size(&mut held, per_inhabitant?, c, p)? - own?).abs(), c)))
        .collect();
    near.sort_by(|a, b| a.0.total_cmp(&b.0));
    near.truncate(COMPARABLE);
    let mut lines = Vec::new();
    for (j, m) in ds.indicators.iter().enumerate() {
        let f = held.fig(u, j, p)?;
        let g = gm.map(|g| held.fig(g, j, p)).transpose()?;
        // All gemeenten: published counts over published denominators (means: by count).
        let (mut num, mut den) = (0.0, 0.0);
        for &g in &gemeenten {
            let x = held.fig(g, j, p)?;
            #[expect(clippy::cast_precision_loss, reason = "counts")]
            match (x.rate, x.count, x.denominator) {
                (Some(r), Some(c), _) if m.mean => {
                    num += r * c as f64;
                    den += c as f64;
                }
                (Some(_), Some(c), Some(d)) if d > 0 => {
                    num += c as f64 * m.scale;
                    den += d as f64;
                }
                _ => {}
            }
        }
        let alle = (den > 0.0).then(|| num / den);
        let comp: Vec<f64> = near
            .iter()
            .filter_map(|&(_, c)| held.fig(c, j, p).ok()?.rate)
            .collect();
        #[expect(clippy::cast_precision_loss, reason = "small")]
        let vergelijkbaar =
            (!comp.is_empty()).then(|| comp.iter().sum::<f64>() / comp.len() as f64);
        let gemeente = g.and_then(|g| g.rate);
        let (verschil, ongunstig) = match (f.rate, gemeente, figure_variance(ds, j, f)) {
            (Some(a), Some(b), Some(v)) => {
                let half = 1.96 * v.sqrt();
                let worse_if_higher = m.polarity == Polarity::HigherIsWorse;
                if a - half > b {
                    (Some("hoger"), Some(worse_if_higher))
                } else if a + half < b {
                    (Some("lager"), Some(!worse_if_higher))
                } else {
                    (Some("gelijk"), None)
                }
            }
            _ => (None, None),
        };
        lines.push(Line {
            indicator: m.id.clone(),
            naam: m.naam.clone(),
            kort: m.short_name().to_string(),
            unit: m.unit.clone(),
            area: f.rate,
            gemeente,
            alle,
            vergelijkbaar,
            verschil,
            ongunstig,
        });
    }
    let naam = unit.naam.clone().unwrap_or_else(|| unit.code.clone());
    let gemeente_naam = gm
        .and_then(|g| ds.units[g].naam.clone())
        .unwrap_or_else(|| unit.gemeente.clone());
    let summary = summary(&naam, &gemeente_naam, &lines);
    Ok(Profile {
        level: unit.level.id(),
        code: unit.code.clone(),
        naam,
        gemeente: unit.gemeente.clone(),
        gemeente_naam,
        period: ds.periods[p].clone(),
        comparable: near
            .iter()
            .map(|&(_, c)| {
                ds.units[c]
                    .naam
                    .clone()
                    .unwrap_or_else(|| ds.units[c].code.clone())
            })
            .collect(),
        lines,
        summary,
    })
}

/// The generated one-line summary.
#[must_use]
pub fn summary(naam: &str, gemeente: &str, lines: &[Line]) -> String {
    let shown = lines.iter().filter(|l| l.verschil.is_some()).count();
    let worse: Vec<&str> = lines
        .iter()
        .filter(|l| l.ongunstig == Some(true))
        .map(|l| l.kort.as_str())
        .collect();
    let better = lines.iter().filter(|l| l.ongunstig == Some(false)).count();
    if shown == 0 {
        return format!("{naam}: geen cijfers te vergelijken met {gemeente} (onderdrukt).");
    }
    let mut s = format!(
        "{naam} scoort op {} van {shown} indicatoren duidelijk ongunstiger dan {gemeente}",
        worse.len()
    );
    if !worse.is_empty() {
        let first: Vec<String> = worse.iter().take(3).map(|w| w.to_lowercase()).collect();
        s.push_str(&format!(", vooral {}", and_list(&first)));
    }
    s.push_str(&format!(", en op {better} gunstiger."));
    s
}

/// "a", "a en b", "a, b en c".
#[must_use]
pub fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [a] => a.clone(),
        [rest @ .., last] => format!("{} en {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(kort: &str, verschil: Option<&'static str>, ongunstig: Option<bool>) -> Line {
        Line {
            indicator: kort.into(),
            naam: kort.into(),
            kort: kort.into(),
            unit: "%".into(),
            area: Some(1.0),
            gemeente: Some(1.0),
            alle: None,
            vergelijkbaar: None,
            verschil,
            ongunstig,
        }
    }

    #[test]
    fn the_summary_names_what_is_worse() {
        let l = vec![
            line("Overbewoning", Some("hoger"), Some(true)),
            line("Overlast", Some("hoger"), Some(true)),
            line("WOZ-waarde", Some("hoger"), Some(false)),
            line("Geweld", Some("gelijk"), None),
            line("Onderhuur", None, None),
        ];
        assert_eq!(
            summary("Klingerberg", "Venlo", &l),
            "Klingerberg scoort op 2 van 4 indicatoren duidelijk ongunstiger dan Venlo, vooral overbewoning en overlast, en op 1 gunstiger."
        );
        assert!(summary("X", "Venlo", &[line("a", None, None)]).contains("geen cijfers"));
        assert_eq!(and_list(&["a".into(), "b".into(), "c".into()]), "a, b en c");
        assert_eq!(and_list(&["a".into()]), "a");
    }
}
