//! The publishing rule: which figure of an ingest is shown, rounded how, with which rate.
//! Counts come from [`super::protect`]; see [`publish`] for the rule.

use super::{protect_with, Params, Status};
use crate::ingest::aggregate::UnitAggregates;
use crate::spatial::Level;
use std::collections::BTreeMap;

/// How many figures of one level, quarter and indicator have data, are published, are
/// suppressed and carry a rate: the coverage table, and all that is kept of the suppressed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Coverage {
    pub present: u64,
    pub published: u64,
    pub suppressed: u64,
    pub rated: u64,
}

/// The outcome of disclosure control: the published figures only (a national ingest has a
/// hundred million figures with data, nearly all suppressed; they are counted, not kept),
/// and the coverage per level, quarter and indicator.
#[derive(Debug, Clone, Default)]
pub struct Publication {
    pub figures: Vec<Figure>,
    pub coverage: BTreeMap<(Level, u16, u16), Coverage>,
}

impl Publication {
    /// Figures with data, published or not.
    #[must_use]
    pub fn present(&self) -> u64 {
        self.coverage.values().map(|c| c.present).sum()
    }

    /// Figures with data that are suppressed.
    #[must_use]
    pub fn suppressed(&self) -> u64 {
        self.coverage.values().map(|c| c.suppressed).sum()
    }
}

// `Level as usize` is its place in `Level::ALL` (coverage is counted per level by it).
const _: () = {
    let mut i = 0;
    while i < Level::ALL.len() {
        assert!(Level::ALL[i] as usize == i);
        i += 1;
    }
};

/// One disclosure-controlled figure.
#[derive(Debug, Clone)]
pub struct Figure {
    pub unit: u32,
    pub period: u16,
    pub indicator: u16,
    /// Rounded to a multiple of `round_to`; `None` unless published.
    pub count: Option<u64>,
    /// From the published (rounded) count and denominator, or a mean; `None` unless the
    /// count is published and the denominator reaches the indicator's minimum.
    pub rate: Option<f64>,
    /// The denominator behind the rate, rounded like a count; `None` where the rate is.
    pub denominator: Option<u64>,
    pub status: Status,
    pub rate_suppressed: bool,
}

/// The published rate of a count indicator: from the rounded count and the rounded
/// denominator, so that it tells nothing the two published figures do not (an exact rate
/// beside a rounded count gives the exact denominator away, and with it every numerator).
#[must_use]
pub fn share_rate(count: u64, denominator: u64, scale: f64) -> Option<f64> {
    if denominator == 0 {
        return None;
    }
    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    let r = count as f64 / denominator as f64 * scale;
    Some((r * 100.0).round() / 100.0)
}

/// Applies disclosure control to every computed indicator, unit and quarter (in parallel
/// over indicators and quarters; each is protected on its own).
///
/// The rule, also on the method page:
/// - counts from fewer than k units (k_fine at the fine levels) are hidden, with
///   complementary suppression ([`protect`]);
/// - a share (overcrowded addresses among addresses) is hidden, count and rate, where fewer
///   than k units of the denominator lack the attribute (nearly 100 %): it would tell the
///   attribute of (nearly) every address in the area; likewise no group of hidden units
///   that an attacker can isolate by differencing (a parent minus its published children,
///   with the denominators known) may have fewer than k lacking the attribute;
/// - counts are rounded to multiples of `round_to`; a rate only beside a published count
///   whose exact denominator reaches the indicator's minimum, computed from the rounded count
///   and the rounded denominator (which is published with it); means to two decimals.
#[must_use]
pub fn publish(
    ua: &UnitAggregates,
    indicators: &[&crate::catalogue::Indicator],
    params: Params,
) -> Publication {
    use rayon::prelude::*;
    let mut by_period: BTreeMap<u16, Vec<usize>> = BTreeMap::new();
    for (r, &(_, q)) in ua.rows.iter().enumerate() {
        by_period.entry(q).or_default().push(r);
    }
    let measures: Vec<Option<(usize, usize)>> = indicators
        .iter()
        .map(|ind| {
            Some((
                ua.measure_index(&ind.numerator)?,
                ua.measure_index(&ind.denominator)?,
            ))
        })
        .collect();
    // Indicators whose counts disclosure control decides alike: not shares, the same
    // denominator, numerators that count the same units everywhere (two means over the same
    // respondents). The first of them decides for all.
    let mut decided_by: Vec<usize> = (0..indicators.len()).collect();
    for j in 0..indicators.len() {
        let Some((nj, dj)) = measures[j] else {
            continue;
        };
        if indicators[j].is_share() {
            continue;
        }
        if let Some(i) = (0..j).find(|&i| {
            decided_by[i] == i
                && !indicators[i].is_share()
                && measures[i].is_some_and(|(ni, di)| di == dj && ua.same_counts(ni, nj))
        }) {
            decided_by[j] = i;
        }
    }
    let jobs: Vec<(usize, usize, usize, u16)> = measures
        .iter()
        .enumerate()
        .filter(|&(ii, _)| decided_by[ii] == ii)
        .filter_map(|(ii, m)| m.map(|(num, den)| (ii, num, den)))
        .flat_map(|(ii, num, den)| by_period.keys().map(move |&q| (ii, num, den, q)))
        .collect();
    tracing::debug!(
        jobs = jobs.len(),
        decided_by_another = (0..indicators.len())
            .filter(|&i| decided_by[i] != i)
            .count(),
        "disclosure control per indicator and quarter"
    );
    let parts: Vec<Publication> = jobs
        .par_iter()
        .map(|&(ii, num, den, q)| {
            let share = indicators[ii].is_share();
            let rows = &by_period[&q];
            let mut n: Vec<Option<f64>> = vec![None; ua.units.len()];
            // Per unit, how many of the denominator lack the attribute (shares only).
            let mut lacking = vec![0.0; if share { ua.units.len() } else { 0 }];
            for &r in rows {
                let u = ua.rows[r].0 as usize;
                let (_, nn) = ua.value(r, num);
                let (dv, _) = ua.value(r, den);
                if nn > 0.0 || dv > 0.0 {
                    n[u] = Some(nn);
                }
                if share {
                    lacking[u] = (dv - nn).max(0.0);
                }
            }
            let status = protect_with(&ua.structure, params, &n, &lacking);
            let mut out = Publication::default();
            for (jj, m) in measures.iter().enumerate().skip(ii) {
                let Some((num, den)) = m.filter(|_| decided_by[jj] == ii) else {
                    continue;
                };
                publish_one(
                    ua,
                    indicators[jj],
                    jj,
                    (num, den),
                    q,
                    rows,
                    &status,
                    params,
                    &mut out,
                );
            }
            out
        })
        .collect();
    let mut all = Publication {
        figures: Vec::with_capacity(parts.iter().map(|p| p.figures.len()).sum()),
        coverage: BTreeMap::new(),
    };
    for p in parts {
        all.figures.extend(p.figures);
        for (k, c) in p.coverage {
            let e = all.coverage.entry(k).or_default();
            e.present += c.present;
            e.published += c.published;
            e.suppressed += c.suppressed;
            e.rated += c.rated;
        }
    }
    all
}

/// The figures and coverage of indicator `ii` (measures `num`, `den`) in quarter `q`, with
/// the counts' `status` from disclosure control, added to `out`.
#[expect(clippy::too_many_arguments, reason = "one job's parts")]
fn publish_one(
    ua: &UnitAggregates,
    ind: &crate::catalogue::Indicator,
    ii: usize,
    (num, den): (usize, usize),
    q: u16,
    rows: &[usize],
    status: &[Status],
    params: Params,
    out: &mut Publication,
) {
    let indicator = u16::try_from(ii).unwrap_or(u16::MAX);
    // Per level (an index into `Level::ALL`); into the map once, at the end.
    let mut coverage = [Coverage::default(); Level::ALL.len()];
    for &r in rows {
        let u = ua.rows[r].0;
        let st = status[u as usize];
        if st == Status::Absent {
            continue;
        }
        let c = &mut coverage[ua.units[u as usize].level as usize];
        c.present += 1;
        if st != Status::Published {
            c.suppressed += 1;
            continue;
        }
        let (nv, nn) = ua.value(r, num);
        let (dv, _) = ua.value(r, den);
        let rate_ok = dv >= ind.min_denominator && dv > 0.0;
        let count = params.publish_count(nn);
        let denominator = rate_ok.then(|| params.round(dv));
        let rate = match denominator {
            Some(_) if ind.is_mean() => Some((nv / dv * ind.scale * 100.0).round() / 100.0),
            Some(d) => share_rate(count, d, ind.scale),
            None => None,
        };
        c.published += 1;
        c.rated += u64::from(rate.is_some());
        out.figures.push(Figure {
            unit: u,
            period: q,
            indicator,
            count: Some(count),
            rate,
            denominator: rate.and(denominator),
            status: st,
            rate_suppressed: rate.is_none(),
        });
    }
    for (l, c) in Level::ALL.into_iter().zip(coverage) {
        if c.present > 0 {
            out.coverage.insert((l, q, indicator), c);
        }
    }
}

/// The suppression flag served beside a figure: set when the unit has no published count or
/// no published rate (a suppressed figure and one without data look alike on purpose).
#[must_use]
pub fn served_suppressed(count_published: bool, rate_published: bool) -> bool {
    !count_published || !rate_published
}
