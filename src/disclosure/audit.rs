//! The exact audit of what the published counts give away, as τ-ARGUS audits a protected
//! table: for a hidden figure (or a sum of hidden figures), the smallest and largest value
//! consistent with every published count (each known only to its rounding interval) and
//! every relation of the disclosure model ([`Structure::covers`]: a unit is the sum of its
//! parts), counts never negative. Each bound is one linear programme (`microlp`), so the
//! interval holds against *any* linear combination of published figures an attacker could
//! form, not only the relations [`super::derivable`] follows one at a time.
//!
//! It is the LP relaxation: an attacker who also uses that counts are whole numbers can at
//! most round the bounds inward to the next integer.

use super::{Params, Structure};
use crate::spatial::Level;
use microlp::{ComparisonOp, OptimizationDirection, Problem};

/// The smallest and largest value an attacker can give a figure (or a sum of figures).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

impl Interval {
    /// Its width: how much the attacker is left not knowing.
    #[must_use]
    pub fn width(self) -> f64 {
        self.high - self.low
    }

    /// How many whole numbers it holds: a count hidden because it is below `k` is protected
    /// when this is at least `k`.
    #[must_use]
    pub fn possible_values(self) -> f64 {
        (self.high + 1e-6).floor() - (self.low - 1e-6).ceil() + 1.0
    }
}

/// The attacker's system of one quarter and one indicator over a chosen set of levels.
#[derive(Debug, Clone)]
pub struct Audit {
    /// Per unit of the structure, its variable (None: outside the audited levels).
    var: Vec<Option<usize>>,
    /// Per variable, its bounds.
    bounds: Vec<(f64, f64)>,
    /// `whole = Σ parts`, by variable.
    relations: Vec<(usize, Vec<usize>)>,
    /// `Σ plus − Σ minus = group`, by variable ([`super::differences`]): the group is a
    /// variable of its own, never negative.
    differences: Vec<(Vec<usize>, Vec<usize>, usize)>,
}

/// The values a published (rounded) count `r` can stand for: rounding to the nearest
/// multiple of `round_to`, halves up (see [`Params::round`]).
#[must_use]
pub fn rounding_interval(r: f64, round_to: u32) -> (f64, f64) {
    let half = f64::from(round_to / 2);
    let up = f64::from(round_to - 1 - round_to / 2);
    ((r - half).max(0.0), r + up)
}

impl Audit {
    /// The system over the units of `levels`: `published[u]` is the count served for unit
    /// `u` (None: hidden, or never served). Relations with a part or whole outside `levels`
    /// are left out (so the audit covers exactly what those levels give away); the total of
    /// all data, where the model uses it, is a variable of its own.
    #[must_use]
    pub fn new(s: &Structure, published: &[Option<f64>], p: Params, levels: &[Level]) -> Self {
        let mut var = vec![None; s.len()];
        let mut bounds = Vec::new();
        for u in 0..s.len() {
            if levels.contains(&s.levels[u]) {
                var[u] = Some(bounds.len());
                bounds.push(published[u].map_or((0.0, f64::INFINITY), |r| p.count_interval(r)));
            }
        }
        let total = bounds.len();
        bounds.push((0.0, f64::INFINITY));
        let mut relations = Vec::new();
        for c in &s.covers {
            let parts: Option<Vec<usize>> = c.parts.iter().map(|&x| var[x as usize]).collect();
            let whole = match c.whole {
                None => Some(total),
                Some(w) => var[w as usize],
            };
            if let (Some(w), Some(parts)) = (whole, parts) {
                relations.push((w, parts));
            }
        }
        let mut differences = Vec::new();
        for d in &s.differences {
            let of = |xs: &[u32]| {
                xs.iter()
                    .map(|&x| var[x as usize])
                    .collect::<Option<Vec<_>>>()
            };
            if let (Some(plus), Some(minus)) = (of(&d.plus), of(&d.minus)) {
                differences.push((plus, minus, bounds.len()));
                bounds.push((0.0, f64::INFINITY));
            }
        }
        Self {
            var,
            bounds,
            relations,
            differences,
        }
    }

    /// The attacker's programme with objective `objective` (per variable); every bound is
    /// capped at `cap` (`f64::INFINITY`: exact).
    fn problem(
        &self,
        objective: &[f64],
        direction: OptimizationDirection,
        cap: f64,
    ) -> (Problem, Vec<microlp::Variable>) {
        let mut lp = Problem::new(direction);
        let vars: Vec<microlp::Variable> = self
            .bounds
            .iter()
            .zip(objective)
            .map(|(&(lo, hi), &c)| lp.add_var(c, (lo, hi.min(cap.max(lo)))))
            .collect();
        for (w, parts) in &self.relations {
            let mut e: Vec<(microlp::Variable, f64)> = vec![(vars[*w], 1.0)];
            e.extend(parts.iter().map(|&x| (vars[x], -1.0)));
            lp.add_constraint(e.as_slice(), ComparisonOp::Eq, 0.0);
        }
        for (plus, minus, group) in &self.differences {
            let mut e: Vec<(microlp::Variable, f64)> = vec![(vars[*group], -1.0)];
            e.extend(plus.iter().map(|&x| (vars[x], 1.0)));
            e.extend(minus.iter().map(|&x| (vars[x], -1.0)));
            lp.add_constraint(e.as_slice(), ComparisonOp::Eq, 0.0);
        }
        (lp, vars)
    }

    /// The objective that adds up the variables of `units`, or None when a unit lies outside
    /// the audited levels.
    fn objective(&self, units: &[u32]) -> Option<Vec<f64>> {
        let mut c = vec![0.0; self.bounds.len()];
        for &u in units {
            c[self.var[u as usize]?] += 1.0;
        }
        Some(c)
    }

    /// The interval of the sum of `units` (all within the audited levels), or None when a
    /// unit lies outside them or the published figures contradict each other.
    #[must_use]
    pub fn interval(&self, units: &[u32]) -> Option<Interval> {
        let objective = self.objective(units)?;
        let solve = |direction| -> Option<f64> {
            match self.problem(&objective, direction, f64::INFINITY).0.solve() {
                Ok(o) => o.solution().map(microlp::Solution::objective),
                Err(microlp::Error::Unbounded) => Some(f64::INFINITY),
                Err(_) => None,
            }
        };
        let low = solve(OptimizationDirection::Minimize)?;
        let high = solve(OptimizationDirection::Maximize)?;
        Some(Interval { low, high })
    }

    /// One point the attacker cannot rule out: its value per variable. With `caps` empty,
    /// the objective is made as small as it gets; otherwise each group's sum counts up to its
    /// cap and no further (so that groups do not compete beyond what proves them), and the
    /// total of that is made as large as it gets. Every variable is capped at `CAP`, so
    /// that the programme is bounded.
    fn witness(&self, groups: &[&[usize]], caps: &[f64]) -> Option<Vec<f64>> {
        const CAP: f64 = 1e7;
        let n = self.bounds.len();
        if caps.is_empty() {
            let mut objective = vec![0.0; n];
            for g in groups {
                for &v in *g {
                    objective[v] += 1.0;
                }
            }
            let (lp, _) = self.problem(&objective, OptimizationDirection::Minimize, CAP);
            let outcome = lp.solve().ok()?;
            return Some(outcome.solution()?.iter().map(|(_, v)| v).take(n).collect());
        }
        let (mut lp, x) = self.problem(&vec![0.0; n], OptimizationDirection::Maximize, CAP);
        for (g, &cap) in groups.iter().zip(caps) {
            // y ≤ Σ x over the group, 0 ≤ y ≤ cap, maximise Σ y.
            let y = lp.add_var(1.0, (0.0, cap));
            let mut e: Vec<(microlp::Variable, f64)> = vec![(y, 1.0)];
            e.extend(g.iter().map(|&v| (x[v], -1.0)));
            lp.add_constraint(e.as_slice(), ComparisonOp::Le, 0.0);
        }
        let outcome = lp.solve().ok()?;
        Some(outcome.solution()?.iter().map(|(_, v)| v).take(n).collect())
    }

    /// The groups (each a sum of units, with its threshold) that the published figures pin to
    /// fewer possible values than their threshold, with their exact interval; empty when
    /// every group is protected. Equivalent to [`Audit::interval`] for each group, but
    /// instead of two programmes per group it first looks for witnesses: points the attacker
    /// cannot rule out, one with the sum of the groups not yet proven as small as it gets,
    /// one with each of them as large as needed (a few programmes in all). The feasible
    /// values of a group form an interval, so two witnesses far enough apart prove it
    /// protected; only the groups left after a few rounds get their exact interval. Groups
    /// with a unit outside the audited levels are skipped.
    #[must_use]
    pub fn narrowed(&self, groups: &[(Vec<u32>, f64)]) -> Vec<(usize, Interval)> {
        const ROUNDS: usize = 4;
        let vars: Vec<Option<Vec<usize>>> = groups
            .iter()
            .map(|(units, _)| units.iter().map(|&u| self.var[u as usize]).collect())
            .collect();
        let mut seen: Vec<Interval> = vec![
            Interval {
                low: f64::INFINITY,
                high: f64::NEG_INFINITY
            };
            groups.len()
        ];
        let value =
            |point: &[f64], g: usize| -> f64 { vars[g].iter().flatten().map(|&x| point[x]).sum() };
        let proven = |i: Interval, thr: f64| i.low <= i.high && i.possible_values() >= thr;
        let mut open: Vec<usize> = (0..groups.len()).filter(|&g| vars[g].is_some()).collect();
        for _ in 0..ROUNDS {
            if open.is_empty() {
                break;
            }
            let members: Vec<&[usize]> = open
                .iter()
                .map(|&g| vars[g].as_deref().unwrap_or_default())
                .collect();
            if let Some(point) = self.witness(&members, &[]) {
                for &g in &open {
                    seen[g].low = seen[g].low.min(value(&point, g));
                }
            }
            // Far enough above the lowest value seen: the threshold of possible values, and
            // a little more, as the solver's values are not exact.
            let caps: Vec<f64> = open
                .iter()
                .map(|&g| seen[g].low.max(0.0) + groups[g].1 - 1.0 + 0.01)
                .collect();
            if let Some(point) = self.witness(&members, &caps) {
                for &g in &open {
                    seen[g].high = seen[g].high.max(value(&point, g));
                }
            }
            let before = open.len();
            open.retain(|&g| !proven(seen[g], groups[g].1));
            if open.len() == before {
                break;
            }
        }
        open.into_iter()
            .filter_map(|g| {
                let i = self.interval(&groups[g].0)?;
                (i.possible_values() < groups[g].1).then_some((g, i))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A gemeente of `n` wijken, each of two buurten, with every address in one buurt.
    fn tree(n: u32) -> Structure {
        let mut levels = vec![Level::Gemeente];
        let mut parent = vec![None];
        let mut memberships = Vec::new();
        for w in 0..n {
            let wid = 1 + 3 * w;
            levels.extend([Level::Wijk, Level::Buurt, Level::Buurt]);
            parent.extend([Some(0), Some(wid), Some(wid)]);
            for b in [wid + 1, wid + 2] {
                // Two addresses per buurt, so every unit has its own set.
                memberships.push(vec![0, wid, b]);
                memberships.push(vec![0, wid, b]);
            }
        }
        Structure::new(levels, parent, &memberships)
    }

    const P: Params = Params {
        k: 10,
        k_fine: 20,
        round_to: 5,
    };
    const ADMIN: [Level; 3] = [Level::Gemeente, Level::Wijk, Level::Buurt];

    #[test]
    fn rounding_to_five_hides_two_either_way() {
        assert_eq!(rounding_interval(25.0, 5), (23.0, 27.0));
        assert_eq!(rounding_interval(0.0, 5), (0.0, 2.0));
        for n in 0..200u32 {
            let r = P.round(f64::from(n));
            #[expect(clippy::cast_precision_loss, reason = "small")]
            let (lo, hi) = rounding_interval(r as f64, 5);
            assert!(f64::from(n) >= lo && f64::from(n) <= hi, "{n} → {r}");
        }
    }

    #[test]
    fn a_small_count_stands_for_the_whole_band() {
        assert_eq!(P.publish_count(12.0), 15);
        assert_eq!(P.publish_count(19.0), 15);
        assert_eq!(P.publish_count(20.0), 20);
        assert_eq!(P.count_interval(15.0), (10.0, 19.0));
        assert_eq!(P.count_interval(20.0), (20.0, 22.0));
        assert_eq!(P.count_interval(25.0), (23.0, 27.0));
        // A wijk of 12 around hidden fine cells: each can be anything from 0 to 19, k_fine
        // possible values, where the rounded 10 allowed 0 to 12.
        let s = tree(1);
        let published = vec![None, Some(15.0), None, None];
        let i = Audit::new(&s, &published, P, &ADMIN)
            .interval(&[2])
            .unwrap();
        assert!(
            (i.possible_values() - f64::from(P.k_fine)).abs() < 1e-6,
            "{i:?}"
        );
    }

    #[test]
    fn a_wijk_minus_its_published_buurt_is_known_within_the_rounding() {
        // Wijk published 25 (23–27), one buurt published 20 (20–22: 18 and 19 are in the
        // band of small counts), the other hidden: it is 25 − 20 give or take both, [1, 7].
        let s = tree(1);
        let published = vec![None, Some(25.0), Some(20.0), None];
        let a = Audit::new(&s, &published, P, &ADMIN);
        let i = a.interval(&[3]).unwrap();
        assert!(
            (i.low - 1.0).abs() < 1e-6 && (i.high - 7.0).abs() < 1e-6,
            "{i:?}"
        );
        // With both buurten hidden, each can be anything from 0 to the wijk's 27.
        let published = vec![None, Some(25.0), None, None];
        let i = Audit::new(&s, &published, P, &ADMIN)
            .interval(&[2])
            .unwrap();
        assert!((i.high - 27.0).abs() < 1e-6 && i.low.abs() < 1e-6, "{i:?}");
        // Their sum is the wijk's.
        let i = Audit::new(&s, &published, P, &ADMIN)
            .interval(&[2, 3])
            .unwrap();
        assert!(
            (i.low - 23.0).abs() < 1e-6 && (i.high - 27.0).abs() < 1e-6,
            "{i:?}"
        );
    }

    #[test]
    fn relations_combine_across_the_tree() {
        // Gemeente 60 (58–62); wijk A published 30 (28–32) with buurten hidden; wijk B hidden
        // with buurt B1 published 25 (23–27) and B2 hidden. B = G − A lies in [26, 34], so
        // B2 = B − B1 in [0, 11]: found only by combining two relations.
        let s = tree(2);
        let published = vec![Some(60.0), Some(30.0), None, None, None, Some(25.0), None];
        let i = Audit::new(&s, &published, P, &ADMIN)
            .interval(&[6])
            .unwrap();
        assert!(i.low.abs() < 1e-6 && (i.high - 11.0).abs() < 1e-6, "{i:?}");
    }

    /// A tree of wijken of two buurten with the given buurt counts, the exact value of every
    /// unit, and what is published: the first units by `show`, the rest by their flag.
    fn shown_tree(
        buurten: &[(u32, bool)],
        show: &[bool],
    ) -> (Structure, Vec<f64>, Vec<Option<f64>>) {
        let n = u32::try_from(buurten.len() / 2).unwrap();
        let s = tree(n);
        let mut truth = vec![0.0; s.len()];
        for w in 0..n as usize {
            let (a, b) = (buurten[2 * w].0, buurten[2 * w + 1].0);
            truth[2 + 3 * w] = f64::from(a);
            truth[3 + 3 * w] = f64::from(b);
            truth[1 + 3 * w] = f64::from(a + b);
            truth[0] += f64::from(a + b);
        }
        #[expect(clippy::cast_precision_loss, reason = "small")]
        let published: Vec<Option<f64>> = (0..s.len())
            .map(|u| {
                let shown = if u < show.len() {
                    show[u]
                } else {
                    buurten[(u - 1) / 3 * 2].1
                };
                shown.then(|| P.publish_count(truth[u]) as f64)
            })
            .collect();
        (s, truth, published)
    }

    proptest! {
        /// The witness search finds exactly the groups that the per-group intervals find.
        #[test]
        fn narrowed_agrees_with_the_intervals(
            buurten in proptest::collection::vec((0u32..40, any::<bool>()), 2..12),
            show in proptest::collection::vec(any::<bool>(), 7),
        ) {
            let (s, _, published) = shown_tree(&buurten, &show);
            let a = Audit::new(&s, &published, P, &ADMIN);
            let mut groups: Vec<(Vec<u32>, f64)> =
                (0..u32::try_from(s.len()).unwrap()).map(|u| (vec![u], 10.0)).collect();
            groups.extend(s.covers.iter().map(|c| (c.parts.clone(), 10.0)));
            let found: Vec<usize> = a.narrowed(&groups).into_iter().map(|(g, _)| g).collect();
            for (g, (units, thr)) in groups.iter().enumerate() {
                let i = a.interval(units).unwrap();
                prop_assert_eq!(i.possible_values() < *thr, found.contains(&g), "group {:?}: {:?}", units, i);
            }
        }

        /// Whatever is published, the true value lies in the interval: the audit never
        /// claims the attacker knows more than the figures allow.
        #[test]
        fn the_truth_lies_in_the_interval(
            buurten in proptest::collection::vec((0u32..40, any::<bool>()), 2..12),
            show in proptest::collection::vec(any::<bool>(), 7),
        ) {
            let (s, truth, published) = shown_tree(&buurten, &show);
            let a = Audit::new(&s, &published, P, &ADMIN);
            for (u, &v) in truth.iter().enumerate() {
                let i = a.interval(&[u32::try_from(u).unwrap()]).unwrap();
                prop_assert!(v >= i.low - 1e-6 && v <= i.high + 1e-6, "unit {u}: {v} not in {i:?}");
            }
        }
    }
}
