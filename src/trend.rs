//! Change over time: class breaks fixed over every quarter (so that a rising figure changes
//! class when the quarters are played), and the change of a figure or the index between two
//! quarters with its 95 % interval, so that a change map marks only changes outside the
//! uncertainty. Works on published figures only: nothing here is finer than what the layers
//! already publish.

use crate::catalogue::Polarity;
use crate::dataset::Dataset;
use crate::score::{self, Scope, ScoreError};
use crate::spatial::Level;
use serde::Serialize;

/// Where an indicator's classes on the map break, as shares of all its published figures
/// over every quarter: quintiles, with the top fifth split at 95 %, so that an area that is
/// already high and rises further (Klingerberg's overlast in 2024) still changes class.
pub const CLASS_PROBS: [f64; 5] = [0.2, 0.4, 0.6, 0.8, 0.95];
/// Number of classes of an indicator on the map.
pub const CLASSES: usize = CLASS_PROBS.len() + 1;

/// Class breaks of every indicator at one level, over the given units and every quarter.
#[derive(Debug, Clone, Serialize)]
pub struct Breaks {
    pub indicator: String,
    /// Ascending, at most `CLASSES − 1`; a value ≥ `breaks[i]` is in class `i + 2`.
    pub breaks: Vec<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Published figures the breaks are chosen from.
    pub n: usize,
}

/// Quantile breaks (distinct, ascending) of `values` at the shares `probs` (ascending, in
/// (0, 1)).
#[must_use]
pub fn quantile_breaks(values: &mut [f64], probs: &[f64]) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    let mut out: Vec<f64> = Vec::new();
    if values.is_empty() {
        return out;
    }
    for &q in probs {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "an index into the sorted values"
        )]
        let i = ((q * values.len() as f64) as usize).min(values.len() - 1);
        let v = values[i];
        if out.last().is_none_or(|&l| v > l) && v > values[0] {
            out.push(v);
        }
    }
    out
}

/// Fixed breaks of every indicator over `units` (one level) and every quarter of the data.
///
/// # Errors
/// DuckDB errors.
pub fn fixed_breaks(ds: &Dataset, units: &[usize]) -> Result<Vec<Breaks>, duckdb::Error> {
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); ds.indicators.len()];
    for p in 0..ds.periods.len() {
        let mut held = crate::dataset::Held::new(ds);
        for &u in units {
            let layer = held.layer(ds.units[u].level, p)?;
            for (f, v) in layer.row(ds.pos_in_level[u]).zip(values.iter_mut()) {
                if let Some(r) = f.rate {
                    v.push(r);
                }
            }
        }
    }
    Ok(ds
        .indicators
        .iter()
        .zip(values)
        .map(|(m, mut v)| Breaks {
            indicator: m.id.clone(),
            n: v.len(),
            min: v.iter().copied().reduce(f64::min),
            max: v.iter().copied().reduce(f64::max),
            breaks: quantile_breaks(&mut v, &CLASS_PROBS),
        })
        .collect())
}

/// What a change means for the pressure on an area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The interval lies wholly on the side of more pressure.
    MeerDruk,
    /// Wholly on the side of less pressure.
    MinderDruk,
    /// The interval includes no change.
    GeenVerandering,
    /// Not known: see [`Change::reason`].
    Onbekend,
}

/// Why a change is not known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unknown {
    /// A figure is not published (suppressed, or no data) in one of the quarters.
    Onderdrukt,
    /// The index is uncertain in one of the quarters: more than
    /// [`score::MAX_MISSING_WEIGHT`] of its weights missing, or a standard error above
    /// [`score::MAX_SE`]; two such indexes may rest on different indicators.
    Onzeker,
}

impl Direction {
    /// From a change's interval and whether higher values mean more pressure.
    #[must_use]
    pub fn of(low: f64, high: f64, higher_is_worse: bool) -> Self {
        let (up, down) = (low > 0.0, high < 0.0);
        match (up, down, higher_is_worse) {
            (true, _, true) | (_, true, false) => Self::MeerDruk,
            (true, _, false) | (_, true, true) => Self::MinderDruk,
            _ => Self::GeenVerandering,
        }
    }
}

/// The change of one area between two quarters.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub code: String,
    pub naam: Option<String>,
    #[serde(serialize_with = "crate::decimals::ser_opt")]
    pub from: Option<f64>,
    #[serde(serialize_with = "crate::decimals::ser_opt")]
    pub to: Option<f64>,
    /// `to − from`.
    #[serde(serialize_with = "crate::decimals::ser_opt")]
    pub change: Option<f64>,
    #[serde(serialize_with = "crate::decimals::ser_opt")]
    pub low: Option<f64>,
    #[serde(serialize_with = "crate::decimals::ser_opt")]
    pub high: Option<f64>,
    pub direction: Direction,
    /// Why the change is not known (only when `direction` is `onbekend`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Unknown>,
}

/// Sampling variance of a published figure, with the rounding of its count.
#[must_use]
pub fn figure_variance(ds: &Dataset, j: usize, f: crate::dataset::Fig) -> Option<f64> {
    score::observed(ds.params, &ds.indicators[j], f).map(|(_, variance)| variance)
}

/// What to compare: an indicator (by position in the catalogue) or the index, standardised
/// against a reference.
#[derive(Debug, Clone, Copy)]
pub enum Measure {
    Indicator(usize),
    Index(score::Reference),
}

/// The change of `measure` for each of `units` from quarter `from` to quarter `to`.
///
/// # Errors
/// Score or database errors.
pub fn changes(
    ds: &Dataset,
    units: &[usize],
    measure: Measure,
    from: usize,
    to: usize,
) -> Result<Vec<Change>, ScoreError> {
    let mut out = Vec::with_capacity(units.len());
    let mut held = crate::dataset::Held::new(ds);
    // The index layers of each level and quarter met, looked up once (not once per unit).
    let mut layers: Vec<(Level, usize, std::sync::Arc<score::LayerScores>)> = Vec::new();
    let mut index_of = |u: usize, p: usize, scope: Scope<'_>| -> Result<_, ScoreError> {
        let level = ds.units[u].level;
        let at = match layers.iter().position(|(l, q, _)| *l == level && *q == p) {
            Some(at) => at,
            None => {
                layers.push((level, p, score::layer_scores(ds, level, p, scope)?));
                layers.len() - 1
            }
        };
        Ok(layers[at].2[ds.pos_in_level[u]]
            .as_ref()
            .map(|s| (s.index, s.se * s.se, s.low_confidence)))
    };
    for &u in units {
        // Per quarter: the value, its variance and whether it is too uncertain to compare.
        type Side = Option<(f64, f64, bool)>;
        let (a, b, higher_is_worse): (Side, Side, bool) = match measure {
            Measure::Indicator(j) => {
                let mut side = |p| -> Result<Side, ScoreError> {
                    let f = held.fig(u, j, p)?;
                    Ok(f.rate
                        .zip(figure_variance(ds, j, f))
                        .map(|(v, var)| (v, var, false)))
                };
                (
                    side(from)?,
                    side(to)?,
                    ds.indicators[j].polarity == Polarity::HigherIsWorse,
                )
            }
            Measure::Index(reference) => {
                let scope = Scope::against(reference);
                (index_of(u, from, scope)?, index_of(u, to, scope)?, true)
            }
        };
        let unit = &ds.units[u];
        let mut c = Change {
            code: unit.code.clone(),
            naam: unit.naam.clone(),
            from: a.map(|x| x.0),
            to: b.map(|x| x.0),
            change: None,
            low: None,
            high: None,
            direction: Direction::Onbekend,
            reason: None,
        };
        match (a, b) {
            (Some((va, sa, false)), Some((vb, sb, false))) => {
                let d = vb - va;
                let half = 1.96 * (sa + sb).sqrt();
                c.change = Some(d);
                c.low = Some(d - half);
                c.high = Some(d + half);
                c.direction = Direction::of(d - half, d + half, higher_is_worse);
            }
            (Some(_), Some(_)) => c.reason = Some(Unknown::Onzeker),
            _ => c.reason = Some(Unknown::Onderdrukt),
        }
        out.push(c);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn direction_follows_polarity() {
        assert_eq!(Direction::of(0.5, 2.0, true), Direction::MeerDruk);
        assert_eq!(Direction::of(0.5, 2.0, false), Direction::MinderDruk);
        assert_eq!(Direction::of(-2.0, -0.5, true), Direction::MinderDruk);
        assert_eq!(Direction::of(-2.0, -0.5, false), Direction::MeerDruk);
        assert_eq!(Direction::of(-1.0, 1.0, true), Direction::GeenVerandering);
    }

    #[test]
    fn quintiles_of_a_known_list() {
        let q5 = [0.2, 0.4, 0.6, 0.8];
        let mut v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(quantile_breaks(&mut v, &q5), vec![3.0, 5.0, 7.0, 9.0]);
        // The map's classes: the top 5 % of 100 values is a class of its own.
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(
            quantile_breaks(&mut v, &CLASS_PROBS),
            vec![21.0, 41.0, 61.0, 81.0, 96.0]
        );
        // Ties collapse; the minimum is never a break (it would make an empty first class).
        let mut flat = vec![0.0, 0.0, 0.0, 0.0, 1.0];
        assert_eq!(quantile_breaks(&mut flat, &q5), vec![1.0]);
        assert!(quantile_breaks(&mut [], &q5).is_empty());
    }

    proptest! {
        #[test]
        fn breaks_ascend_and_lie_within_the_values(mut v in proptest::collection::vec(-1e6f64..1e6, 0..200)) {
            let (lo, hi) = (v.iter().copied().reduce(f64::min), v.iter().copied().reduce(f64::max));
            let b = quantile_breaks(&mut v, &CLASS_PROBS);
            prop_assert!(b.len() < CLASSES);
            prop_assert!(b.windows(2).all(|w| w[0] < w[1]));
            if let (Some(lo), Some(hi)) = (lo, hi) {
                prop_assert!(b.iter().all(|&x| x > lo && x <= hi));
            }
        }
    }
}
