//! The publishing rule: which figure of an ingest is shown, rounded how, with which rate.
//! Counts come from [`protect`]; a rate only beside a published count whose denominator
//! reaches the indicator's minimum, to two decimals.

use super::{protect, Params, Status};
use crate::ingest::aggregate::UnitAggregates;
use std::collections::BTreeMap;

/// One disclosure-controlled figure.
#[derive(Debug, Clone)]
pub struct Figure {
    pub unit: u32,
    pub period: u16,
    pub indicator: u16,
    pub count: Option<u64>,
    pub rate: Option<f64>,
    pub status: Status,
    pub rate_suppressed: bool,
}

/// Applies disclosure control to every computed indicator, unit and quarter (in parallel
/// over indicators and quarters; each is protected on its own).
#[must_use]
pub fn publish(
    ua: &UnitAggregates,
    indicators: &[&crate::catalogue::Indicator],
    params: Params,
) -> Vec<Figure> {
    use rayon::prelude::*;
    let mut by_period: BTreeMap<u16, Vec<usize>> = BTreeMap::new();
    for (r, &(_, q)) in ua.rows.iter().enumerate() {
        by_period.entry(q).or_default().push(r);
    }
    let jobs: Vec<(usize, usize, usize, u16)> = indicators
        .iter()
        .enumerate()
        .filter_map(|(ii, ind)| {
            Some((
                ii,
                ua.measure_index(&ind.numerator)?,
                ua.measure_index(&ind.denominator)?,
            ))
        })
        .flat_map(|(ii, num, den)| by_period.keys().map(move |&q| (ii, num, den, q)))
        .collect();
    jobs.par_iter()
        .flat_map_iter(|&(ii, num, den, q)| {
            let ind = indicators[ii];
            let rows = &by_period[&q];
            let mut n: Vec<Option<f64>> = vec![None; ua.units.len()];
            for &r in rows {
                let (_, nn) = ua.value(r, num);
                let (dv, _) = ua.value(r, den);
                if nn > 0.0 || dv > 0.0 {
                    n[ua.rows[r].0 as usize] = Some(nn);
                }
            }
            let status = protect(&ua.structure, params, &n);
            let mut out = Vec::new();
            for &r in rows {
                let u = ua.rows[r].0;
                let st = status[u as usize];
                if st == Status::Absent {
                    continue;
                }
                let (nv, nn) = ua.value(r, num);
                let (dv, _) = ua.value(r, den);
                let published = st == Status::Published;
                let rate_ok = published && dv >= ind.min_denominator && dv > 0.0;
                out.push(Figure {
                    unit: u,
                    period: q,
                    indicator: u16::try_from(ii).unwrap_or(u16::MAX),
                    count: published.then(|| params.round(nn)),
                    rate: rate_ok.then(|| (nv / dv * ind.scale * 100.0).round() / 100.0),
                    status: st,
                    rate_suppressed: !rate_ok,
                });
            }
            out
        })
        .collect()
}


/// The suppression flag served beside a figure: set when the unit has no published count or
/// no published rate (a suppressed figure and one without data look alike on purpose).
#[must_use]
pub fn served_suppressed(count_published: bool, rate_published: bool) -> bool {
    !count_published || !rate_published
}
