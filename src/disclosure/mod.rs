//! Step 4: disclosure control, the one place where a figure is suppressed or rounded.
//!
//! - primary suppression: a count from fewer than `k` units (`k_fine` at H3 res 10 and PC6);
//! - complementary suppression in each nested family (H3 7 ⊃ 8 ⊃ 9 ⊃ 10, PC4 ⊃ PC6,
//!   gemeente ⊃ wijk ⊃ buurt): a published parent minus its published children never leaves
//!   a group of 1 to k−1 units;
//! - differencing across families: for every pair of units whose addresses nest (a PC6 whose
//!   addresses all lie in one H3 cell, a res-10 cell inside a buurt, …) the difference of the
//!   two published counts is 0 or at least `k`;
//! - published counts are rounded to multiples of `round_to` (deterministic, so stable across
//!   reruns); rates only where the denominator reaches the indicator's minimum.
//!
//! [`protect`] decides which counts may be shown; [`publish`] applies that decision and the
//! publishing rule (rounding, the rate rule and its precision) to every indicator, unit and
//! quarter of an ingest; [`served_suppressed`] is the flag the API shows beside a figure.

pub mod audit;
pub mod differences;
mod knowledge;
mod publish;

use knowledge::{Knowledge, Scan};

pub use publish::{publish, served_suppressed, Coverage, Figure, Publication};

use crate::spatial::Level;
use serde::{Deserialize, Serialize};

/// Disclosure-control parameters; stored with every dataset version.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// Minimum number of units behind a published count (never below 5).
    pub k: u32,
    /// Minimum at the finest levels (H3 res 10, PC6), which overlap each other.
    pub k_fine: u32,
    /// Published counts are multiples of this.
    pub round_to: u32,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            k: 10,
            k_fine: 20,
            round_to: 5,
        }
    }
}

/// Refused parameter sets.
#[derive(Debug, thiserror::Error)]
pub enum ParamsError {
    #[error("k = {0} is below the floor of 5 units (DOMAIN.md: never show fewer than 5)")]
    KTooSmall(u32),
    #[error("k_fine = {k_fine} must be at least k = {k}")]
    FineBelowK { k: u32, k_fine: u32 },
    #[error("round_to must be at least 1")]
    Rounding,
}

impl Params {
    /// Checks the parameters.
    ///
    /// # Errors
    /// When `k < 5`, `k_fine < k` or `round_to == 0`.
    pub fn validate(self) -> Result<Self, ParamsError> {
        if self.k < 5 {
            return Err(ParamsError::KTooSmall(self.k));
        }
        if self.k_fine < self.k {
            return Err(ParamsError::FineBelowK {
                k: self.k,
                k_fine: self.k_fine,
            });
        }
        if self.round_to == 0 {
            return Err(ParamsError::Rounding);
        }
        Ok(self)
    }

    /// The threshold for a level.
    #[must_use]
    pub fn threshold(self, level: Level) -> f64 {
        f64::from(if level.is_fine() { self.k_fine } else { self.k })
    }

    /// Rounds a count to the nearest multiple of `round_to` (halves up).
    #[must_use]
    pub fn round(self, n: f64) -> u64 {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "counts are small and non-negative"
        )]
        let n = n.max(0.0).round() as u64;
        let r = u64::from(self.round_to);
        (n + r / 2) / r * r
    }

    /// A count as published: rounded ([`Self::round`]), except that every count from `k` up
    /// to `k_fine − 1` (shown only above the fine levels) is shown as one value, the band's
    /// middle rounded (15 for 10–19). A published unit of 10 to 19 would otherwise bound each
    /// hidden fine cell inside it (PC6, H3 res 10) to fewer than `k_fine` possible values;
    /// the band leaves them `0..=k_fine − 1`.
    #[must_use]
    pub fn publish_count(self, n: f64) -> u64 {
        let whole = n.max(0.0).round();
        if whole >= f64::from(self.k) && whole < f64::from(self.k_fine) {
            self.band_value()
        } else {
            self.round(n)
        }
    }

    /// The interval an attacker gives a count `n` once it is published.
    #[must_use]
    pub fn interval_of(self, n: f64) -> (f64, f64) {
        #[expect(clippy::cast_precision_loss, reason = "small counts")]
        self.count_interval(self.publish_count(n) as f64)
    }

    /// The value that stands for the band `k..k_fine`.
    fn band_value(self) -> u64 {
        self.round(f64::from(self.k + self.k_fine - 1) / 2.0)
    }

    /// The band of small counts shown as one value: (from, to inclusive, shown as), every
    /// count the shown value can stand for; None when `k == k_fine`.
    #[must_use]
    pub fn small_count_band(self) -> Option<(u64, u64, u64)> {
        (self.k_fine > self.k).then(|| {
            let v = self.band_value();
            #[expect(clippy::cast_precision_loss, reason = "small counts")]
            let (lo, hi) = self.count_interval(v as f64);
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "whole, non-negative"
            )]
            (lo as u64, hi as u64, v)
        })
    }

    /// The parameters as served beside figures (API, exports).
    #[must_use]
    pub fn described(self) -> serde_json::Value {
        serde_json::json!({
            "k": self.k,
            "k_fine": self.k_fine,
            "round_to": self.round_to,
            "small_count_band": self.small_count_band().map(|(from, to, shown_as)| {
                serde_json::json!({"from": from, "to": to, "shown_as": shown_as})
            }),
        })
    }

    /// The publishing rule in one Dutch sentence, for pages and metadata.
    #[must_use]
    pub fn rounding_text(self) -> String {
        match self.small_count_band() {
            Some((from, to, shown)) => format!(
                "afgerond op veelvouden van {}, en aantallen van {from} tot en met {to} allemaal als {shown}",
                self.round_to
            ),
            None => format!("afgerond op veelvouden van {}", self.round_to),
        }
    }

    /// The counts a published count `r` can stand for (the smallest and largest `n` with
    /// `publish_count(n) == r`): 23–27 for 25, 10–19 for the band's 15, 20–22 for 20.
    #[must_use]
    pub fn count_interval(self, r: f64) -> (f64, f64) {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a published count: whole, non-negative"
        )]
        let r_whole = r.max(0.0) as u64;
        let (round_to, k_fine) = (u64::from(self.round_to), u64::from(self.k_fine));
        let top = r_whole.max(k_fine) + round_to + 1;
        // Far above the band only the rounding's neighbours can publish as `r`.
        let start = if r_whole > k_fine + round_to {
            r_whole - round_to
        } else {
            0
        };
        let mut hull: Option<(u64, u64)> = None;
        for n in start..=top {
            #[expect(clippy::cast_precision_loss, reason = "small counts")]
            if self.publish_count(n as f64) as f64 == r {
                hull = Some(hull.map_or((n, n), |(lo, _)| (lo, n)));
            }
        }
        #[expect(clippy::cast_precision_loss, reason = "small counts")]
        hull.map_or((r, r), |(lo, hi)| (lo as f64, hi as f64))
    }
}

/// An extract's row count as served: to the nearest thousand (0: fewer than 500).
#[must_use]
pub fn rows_approx(rows: i64) -> i64 {
    (rows.max(0) + 500) / 1000 * 1000
}

/// What happened to a unit's count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// No data for this unit in this period.
    Absent,
    Published,
    /// Fewer than k units.
    Primary,
    /// Hidden so that a suppressed figure cannot be recovered by subtraction.
    Secondary,
}

impl Status {
    /// The reason as stored and served (`null` when published).
    #[must_use]
    pub fn reason(self) -> Option<&'static str> {
        match self {
            Self::Published => None,
            Self::Absent => Some("geen_gegevens"),
            Self::Primary => Some("klein_aantal"),
            Self::Secondary => Some("complementair"),
        }
    }
}

/// The nesting of units: parents within families and nested pairs across them.
#[derive(Debug, Clone, Default)]
pub struct Structure {
    pub levels: Vec<Level>,
    pub parent: Vec<Option<u32>>,
    children_start: Vec<u32>,
    children: Vec<u32>,
    /// `(sub, sup)`: every address of `sub` lies in `sup`, and `sup` has more addresses.
    pub pairs: Vec<(u32, u32)>,
    /// Sets of units that partition another unit (or, with `whole == None`, all the data):
    /// the children of a unit in its family, the top level of each family (gemeenten, PC4,
    /// H3 res 7, whose sum is the total), units of another family that together hold
    /// exactly the addresses of a unit (the PC6s of a buurt, the PC4s of a gemeente), and a
    /// unit of another family with exactly the same addresses (a PC6 that is a whole res-9
    /// cell), as a cover of one part.
    pub covers: Vec<Cover>,
    /// [`Self::covers_of`]: offsets per unit into `covers_of`.
    covers_start: Vec<u32>,
    covers_of: Vec<u32>,
    /// [`Self::pairs_of`]: offsets per unit into `pairs_of`.
    pairs_start: Vec<u32>,
    pairs_of: Vec<u32>,
    /// Overlaps of two families' units told by differencing sets of them
    /// ([`differences::differences`]).
    pub differences: Vec<differences::Difference>,
}

/// `whole` = the sum of `parts`, a relation every attacker can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cover {
    /// `None`: the total over all loaded data, taken as known.
    pub whole: Option<u32>,
    pub parts: Vec<u32>,
}

impl Structure {
    /// Builds the structure from which units each address belongs to.
    ///
    /// `memberships[a]` lists the unit ids of address `a` (at most one per level);
    /// `parent[u]` is the unit's parent in its own family.
    #[must_use]
    pub fn new(levels: Vec<Level>, parent: Vec<Option<u32>>, memberships: &[Vec<u32>]) -> Self {
        let n = levels.len();
        // children, CSR
        let mut counts = vec![0u32; n + 1];
        for p in parent.iter().flatten() {
            counts[*p as usize + 1] += 1;
        }
        for i in 0..n {
            counts[i + 1] += counts[i];
        }
        let mut fill = counts.clone();
        let mut children = vec![0u32; counts[n] as usize];
        for (c, p) in parent.iter().enumerate() {
            if let Some(p) = p {
                children[fill[*p as usize] as usize] = u32::try_from(c).unwrap_or(u32::MAX);
                fill[*p as usize] += 1;
            }
        }
        // addresses per unit
        let mut size = vec![0u32; n];
        let mut first = vec![u32::MAX; n];
        for (a, units) in memberships.iter().enumerate() {
            for &u in units {
                size[u as usize] += 1;
                if first[u as usize] == u32::MAX {
                    first[u as usize] = u32::try_from(a).unwrap_or(u32::MAX);
                }
            }
        }
        // sub ⊂ sup: candidates are the units of sub's first address; check every address of sub.
        // A unit of another family with the same size that holds every address of sub holds
        // the same addresses: the two counts are equal (kept once, from the lower id).
        let top_of = |u: u32| Structure::family_top(levels[u as usize]);
        let mut candidates: Vec<Vec<u32>> = vec![Vec::new(); n];
        for u in 0..n {
            if first[u] != u32::MAX {
                let me = u32::try_from(u).unwrap_or(u32::MAX);
                candidates[u] = memberships[first[u] as usize]
                    .iter()
                    .copied()
                    .filter(|&s| {
                        s != me
                            && (size[s as usize] > size[u]
                                || (size[s as usize] == size[u]
                                    && s > me
                                    && top_of(s) != top_of(me)))
                    })
                    .collect();
            }
        }
        for units in memberships {
            for &u in units {
                let c = &mut candidates[u as usize];
                if !c.is_empty() {
                    c.retain(|s| units.contains(s));
                }
            }
        }
        let (mut pairs, mut same) = (Vec::new(), Vec::new());
        for (u, c) in candidates.into_iter().enumerate() {
            for s in c {
                let pair = (u32::try_from(u).unwrap_or(u32::MAX), s);
                if size[s as usize] == size[u] {
                    same.push(pair);
                } else {
                    pairs.push(pair);
                }
            }
        }
        let mut covers = covers(&levels, &counts, &children, &size, &pairs);
        // Units of two families with the same addresses (a PC6 that is all of a res-9 cell's
        // addresses): one is the other, a relation like any cover.
        covers.extend(same.into_iter().map(|(u, s)| Cover {
            whole: Some(s),
            parts: vec![u],
        }));
        // Per unit (and the total, index n): the covers it is in, as part or whole.
        let mut covers_start = vec![0u32; n + 2];
        for c in &covers {
            for &u in c
                .parts
                .iter()
                .chain(std::iter::once(&c.whole.unwrap_or(n as u32)))
            {
                covers_start[u as usize + 1] += 1;
            }
        }
        for i in 1..covers_start.len() {
            covers_start[i] += covers_start[i - 1];
        }
        let mut fill = covers_start.clone();
        let mut covers_of = vec![0u32; covers_start[n + 1] as usize];
        for (i, c) in covers.iter().enumerate() {
            for &u in c
                .parts
                .iter()
                .chain(std::iter::once(&c.whole.unwrap_or(n as u32)))
            {
                covers_of[fill[u as usize] as usize] = u32::try_from(i).unwrap_or(u32::MAX);
                fill[u as usize] += 1;
            }
        }
        // Per unit: the nested pairs it is in, as sub or sup.
        let mut pairs_start = vec![0u32; n + 1];
        for &(sub, sup) in &pairs {
            pairs_start[sub as usize + 1] += 1;
            pairs_start[sup as usize + 1] += 1;
        }
        for i in 1..pairs_start.len() {
            pairs_start[i] += pairs_start[i - 1];
        }
        let mut fill = pairs_start.clone();
        let mut pairs_of = vec![0u32; pairs_start[n] as usize];
        for (i, &(sub, sup)) in pairs.iter().enumerate() {
            for u in [sub, sup] {
                pairs_of[fill[u as usize] as usize] = u32::try_from(i).unwrap_or(u32::MAX);
                fill[u as usize] += 1;
            }
        }
        let differences = differences::differences(&levels, memberships);
        Self {
            pairs_start,
            pairs_of,
            levels,
            parent,
            children_start: counts,
            children,
            pairs,
            covers,
            covers_start,
            covers_of,
            differences,
        }
    }

    /// The covers unit `u` (or the total, `u == len()`) is in, in cover order.
    fn covers_of(&self, u: usize) -> &[u32] {
        &self.covers_of[self.covers_start[u] as usize..self.covers_start[u + 1] as usize]
    }

    /// The nested pairs unit `u` is in, in pair order.
    fn pairs_of(&self, u: usize) -> &[u32] {
        &self.pairs_of[self.pairs_start[u] as usize..self.pairs_start[u + 1] as usize]
    }

    /// The families' top levels and every unit whose children are known.
    #[must_use]
    pub fn family_top(level: Level) -> Level {
        let mut l = level;
        while let Some(p) = l.parent() {
            l = p;
        }
        l
    }

    /// The children of a unit in its family.
    #[must_use]
    pub fn children(&self, u: u32) -> &[u32] {
        let u = u as usize;
        &self.children[self.children_start[u] as usize..self.children_start[u + 1] as usize]
    }

    /// Number of units.
    #[must_use]
    pub fn len(&self) -> usize {
        self.levels.len()
    }

    /// True when there are no units.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }
}

/// The covers of a structure: family children, family tops against the total, and
/// cross-family sets of units that hold exactly a unit's addresses.
fn covers(
    levels: &[Level],
    children_start: &[u32],
    children: &[u32],
    size: &[u32],
    pairs: &[(u32, u32)],
) -> Vec<Cover> {
    let n = levels.len();
    let mut out = Vec::new();
    for u in 0..n {
        let kids = &children[children_start[u] as usize..children_start[u + 1] as usize];
        if !kids.is_empty() {
            out.push(Cover {
                whole: u32::try_from(u).ok(),
                parts: kids.to_vec(),
            });
        }
    }
    // The coarsest level present in each family partitions all the data.
    let depth = |mut l: Level| {
        let mut d = 0;
        while let Some(p) = l.parent() {
            l = p;
            d += 1;
        }
        d
    };
    let mut tops: std::collections::BTreeMap<Level, (usize, Vec<u32>)> = Default::default();
    for (u, &l) in levels.iter().enumerate() {
        if size[u] == 0 {
            continue;
        }
        let e = tops
            .entry(Structure::family_top(l))
            .or_insert((usize::MAX, Vec::new()));
        let d = depth(l);
        if d < e.0 {
            *e = (d, Vec::new());
        }
        if d == e.0 {
            e.1.push(u32::try_from(u).unwrap_or(u32::MAX));
        }
    }
    for (_, parts) in tops.into_values() {
        out.push(Cover { whole: None, parts });
    }
    // Cross-family: the subs of one level inside a unit of another family, when their
    // addresses add up to the unit's.
    let mut inside: std::collections::BTreeMap<(u32, Level), (u64, Vec<u32>)> = Default::default();
    for &(sub, sup) in pairs {
        let (ls, lp) = (levels[sub as usize], levels[sup as usize]);
        if Structure::family_top(ls) == Structure::family_top(lp) {
            continue;
        }
        let e = inside.entry((sup, ls)).or_default();
        e.0 += u64::from(size[sub as usize]);
        e.1.push(sub);
    }
    for ((sup, _), (total, parts)) in inside {
        if total == u64::from(size[sup as usize]) && parts.len() > 1 {
            out.push(Cover {
                whole: Some(sup),
                parts,
            });
        }
    }
    out
}

/// Decides which counts may be published. `n[u]` is the exact number of units behind unit
/// `u`'s count, `None` where the unit has no data.
#[must_use]
pub fn protect(s: &Structure, p: Params, n: &[Option<f64>]) -> Vec<Status> {
    protect_with(s, p, n, &[])
}

/// Which counts an attacker knows from published ones: published counts (and units
/// without data), and every count that follows from a cover (a whole and all but one of its
/// parts, or all parts). The total over all data is a virtual unit with index `s.len()`: it
/// is known once every top unit of one family is. Returns, per unit and for the total,
/// whether it is known and, for a hidden one, the cover it follows from.
#[must_use]
pub fn derivable(s: &Structure, status: &[Status]) -> (Vec<bool>, Vec<Option<usize>>) {
    let k = Knowledge::new(s, status);
    let via = (0..k.via.len()).map(|u| k.via(u)).collect();
    (k.known, via)
}

/// Picks the published count of a cover to hide (not the given unit).
type Pick<'a> = dyn Fn(&[Status], &Cover, usize) -> Option<u32> + 'a;

/// The published count whose hiding breaks the derivation of unit `u` (or of the total,
/// `u == s.len()`): a published count of the cover `u` follows from, or else one that breaks
/// the derivation of another hidden count (or the total) in that cover.
fn breaker(
    s: &Structure,
    status: &[Status],
    k: &Knowledge,
    u: usize,
    smallest_published: &Pick<'_>,
    depth: usize,
) -> Option<u32> {
    let c = &s.covers[k.via(u)?];
    if let Some(y) = smallest_published(status, c, u) {
        return Some(y);
    }
    if depth > 32 {
        return None;
    }
    let total = s.len();
    c.parts
        .iter()
        .map(|&x| x as usize)
        .chain(std::iter::once(c.whole.map_or(total, |w| w as usize)))
        .filter(|&x| x != u && k.known[x] && (x == total || status[x] != Status::Published))
        .find_map(|x| breaker(s, status, k, x, smallest_published, depth + 1))
}

/// Whether a group of units (one unit, the hidden parts of a relation, the difference of a
/// nested pair) may not be told: `n` of them have the attribute and `lacking` do not; it is
/// sensitive when somebody has it and either fewer than `thr` have it (a small count) or
/// fewer than `thr` lack it (a share of nearly 100 %: it tells the attribute of nearly every
/// unit in the group).
fn sensitive(n: f64, lacking: f64, thr: f64) -> bool {
    n > 0.0 && (n < thr || lacking < thr)
}

/// Whether a group of `value` units that an attacker isolates by differencing, with `top` the
/// upper bound the published figures give it, pins the fine cells inside it (PC6, H3 res 10)
/// to fewer than `k_fine` possible values. Only a group of 1 to `k_fine − 2` can: a fine cell
/// inside it with a count is then hidden (below `k_fine`), and a larger group's bound is at
/// least its value.
fn pins_fine_cells(p: Params, value: f64, top: impl FnOnce() -> Option<f64>) -> bool {
    value > 0.5
        && value < f64::from(p.k_fine) - 1.5
        && top().is_some_and(|t| t < f64::from(p.k_fine) - 1.0 - 1e-9)
}

/// What an attacker knows of unit `x`'s count: a published count's interval, a derived one
/// exactly, an unknown one only that it is not negative.
fn attacker_bounds(
    p: Params,
    status: &[Status],
    known: &[bool],
    n: &[Option<f64>],
    x: u32,
) -> (f64, f64) {
    let v = n[x as usize].unwrap_or(0.0);
    match status[x as usize] {
        Status::Published => p.interval_of(v),
        _ if known[x as usize] => (v, v),
        _ => (0.0, f64::INFINITY),
    }
}

/// The published count among `units` with the smallest value (ties: the lower id): the one
/// complementary suppression hides.
fn smallest_published_of(
    status: &[Status],
    n: &[Option<f64>],
    units: impl IntoIterator<Item = u32>,
) -> Option<u32> {
    let val = |u: u32| n[u as usize].unwrap_or(0.0);
    units
        .into_iter()
        .filter(|&x| status[x as usize] == Status::Published)
        .min_by(|&a, &b| val(a).total_cmp(&val(b)).then(a.cmp(&b)))
}

/// As [`protect`], for a share: `lacking[u]` is the number of units of the denominator
/// without the attribute (denominator − count; empty for a count that is not a share). A
/// unit, a sum of hidden parts or a difference of nested units where fewer than the
/// threshold lack the attribute is protected like a small count: hidden, and not derivable
/// from published figures (the denominators are taken as known, as CBS and the BAG publish
/// them).
///
/// Complementary suppression works on the relations an attacker has ([`Structure::covers`]
/// and nested pairs): no hidden count below its threshold may follow from published ones;
/// for every cover whose whole is known (published or derivable), the parts not known must
/// add up to 0 or at least the threshold of their level; for every nested pair of known
/// counts, the difference likewise. A group of 1 to `k_fine − 2` so isolated must also keep
/// an upper bound of at least `k_fine − 1` ([`pins_fine_cells`]): every fine cell inside it
/// with a count is hidden, and the bound is theirs. Where not, the smallest published count
/// of the relation is hidden as well, until nothing changes.
///
/// What an attacker knows is derived once and then kept up to date as counts are hidden
/// ([`Knowledge::hide`]); after the first scan of all relations, a scan looks only at the
/// relations with a unit whose status or knownness changed since (and at the covers whose
/// verdict went through a derivation elsewhere, [`breaker`]).
#[must_use]
pub fn protect_with(s: &Structure, p: Params, n: &[Option<f64>], lacking: &[f64]) -> Vec<Status> {
    protect_scanning(s, p, n, lacking, Scans::Narrowed)
}

/// How the scans after the first choose their relations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scans {
    /// Those with a unit that changed, all when they are more than a sixteenth of all.
    Narrowed,
    /// Those with a unit that changed, however many (for tests: every narrowed path taken).
    #[cfg_attr(not(test), expect(dead_code, reason = "for tests"))]
    AlwaysNarrowed,
    /// Every relation (for tests: the definition the narrowed scans must agree with).
    Full,
}

/// [`protect_with`], its scans as `scans` says.
#[expect(
    clippy::too_many_lines,
    reason = "one fixed point over four kinds of relation"
)]
fn protect_scanning(
    s: &Structure,
    p: Params,
    n: &[Option<f64>],
    lacking: &[f64],
    scans: Scans,
) -> Vec<Status> {
    let val = |u: u32| n[u as usize].unwrap_or(0.0);
    // Without a share nothing is sensitive for lacking the attribute.
    let share = !lacking.is_empty();
    let lack = |u: u32| lacking.get(u as usize).copied().unwrap_or(0.0);
    let lacking_in = |x: f64| if share { x } else { f64::INFINITY };
    let unit_sensitive = |u: usize| {
        let v = n[u].unwrap_or(0.0);
        let c = lacking_in(lack(u32::try_from(u).unwrap_or(u32::MAX)));
        sensitive(v, c, p.threshold(s.levels[u]))
    };
    let mut status: Vec<Status> = n
        .iter()
        .zip(&s.levels)
        .enumerate()
        .map(|(u, (v, &l))| match v {
            None => Status::Absent,
            Some(v) if *v < p.threshold(l) => Status::Primary,
            Some(_) if unit_sensitive(u) => Status::Primary,
            Some(_) => Status::Published,
        })
        .collect();
    let total = s.len();
    let smallest_published = |status: &[Status], c: &Cover, not: usize| {
        smallest_published_of(
            status,
            n,
            c.parts
                .iter()
                .copied()
                .chain(c.whole)
                .filter(|&x| x as usize != not),
        )
    };
    // The only counts the first rule can act on: sensitive ones (all hidden from the start).
    let sensitive_units: Vec<usize> = (0..total).filter(|&u| unit_sensitive(u)).collect();
    let mut k = Knowledge::new(s, &status);
    // Counts hidden since `k` was brought up to date; units whose status or knownness changed
    // since the last scan began; covers whose verdict went through a derivation elsewhere.
    let (mut hidden, mut dirty, mut sticky) = (Vec::<u32>::new(), Vec::<u32>::new(), Vec::new());
    let most = |len: usize| match scans {
        Scans::Narrowed => len / 16,
        Scans::AlwaysNarrowed | Scans::Full => usize::MAX,
    };
    let mut cover_scan = Scan::new(s.covers.len(), most(s.covers.len()));
    let mut pair_scan = Scan::new(s.pairs.len(), most(s.pairs.len()));
    let mut scanned = false;
    loop {
        // A hidden count below its threshold that follows from published ones: hide one more
        // count of the relation it follows from.
        for &u in &sensitive_units {
            if status[u] != Status::Published && k.known[u] {
                if let Some(y) = breaker(s, &status, &k, u, &smallest_published, 0) {
                    status[y as usize] = Status::Secondary;
                    hidden.push(y);
                }
            }
        }
        if !hidden.is_empty() {
            dirty.extend_from_slice(&hidden);
            k.hide(s, &hidden, &mut dirty);
            hidden.clear();
            continue;
        }
        let narrow = scanned && scans != Scans::Full;
        scanned = true;
        if narrow {
            cover_scan.of(dirty
                .iter()
                .flat_map(|&u| s.covers_of(u as usize))
                .copied()
                .chain(sticky.drain(..)));
        } else {
            cover_scan.all();
            sticky.clear();
        }
        while let Some(i) = cover_scan.next() {
            let c = &s.covers[i];
            let (whole, whole_lacking) = match c.whole {
                None if k.known[total] => (
                    c.parts.iter().map(|&x| val(x)).sum::<f64>(),
                    c.parts.iter().map(|&x| lack(x)).sum::<f64>(),
                ),
                Some(w) if k.known[w as usize] => (val(w), lack(w)),
                _ => continue,
            };
            let known = &k.known;
            let mut any_known = false;
            let (visible, visible_lacking) = c
                .parts
                .iter()
                .filter(|&&x| known[x as usize])
                .inspect(|_| any_known = true)
                .fold((0.0, 0.0), |(a, b), &x| (a + val(x), b + lack(x)));
            // With no part known the rest is the whole itself, which is known already.
            if !any_known {
                continue;
            }
            let residual = whole - visible;
            let Some(&first) = c.parts.first() else {
                continue;
            };
            let thr = p.threshold(s.levels[first as usize]);
            if sensitive(residual, lacking_in(whole_lacking - visible_lacking), thr)
                || pins_fine_cells(p, residual, || {
                    // The attacker's upper bound for the rest: the published whole's top
                    // minus the known parts' bottoms (a derived part counts as exact).
                    let w = c
                        .whole
                        .filter(|&w| status[w as usize] == Status::Published)?;
                    let bottoms: f64 = c
                        .parts
                        .iter()
                        .filter(|&&x| known[x as usize])
                        .map(|&x| attacker_bounds(p, &status, known, n, x).0)
                        .sum();
                    Some(attacker_bounds(p, &status, known, n, w).1 - bottoms)
                })
            {
                let smallest = smallest_published_of(&status, n, c.parts.iter().copied());
                let y = match (smallest, c.whole) {
                    (Some(x), _) => x,
                    (None, Some(w)) if status[w as usize] == Status::Published => w,
                    // The whole is known through other relations (or it is the total): break
                    // that derivation.
                    (None, w) => {
                        sticky.push(u32::try_from(i).unwrap_or(u32::MAX));
                        let w = w.map_or(total, |w| w as usize);
                        match breaker(s, &status, &k, w, &smallest_published, 0) {
                            Some(y) => y,
                            None => continue,
                        }
                    }
                };
                status[y as usize] = Status::Secondary;
                hidden.push(y);
                for &j in s.covers_of(y as usize) {
                    cover_scan.join(j);
                }
            }
        }
        if narrow {
            pair_scan.of(dirty
                .iter()
                .chain(&hidden)
                .filter(|&&u| (u as usize) < total)
                .flat_map(|&u| s.pairs_of(u as usize))
                .copied());
        } else {
            pair_scan.all();
        }
        while let Some(i) = pair_scan.next() {
            let (sub, sup) = s.pairs[i];
            if k.known[sub as usize] && k.known[sup as usize] {
                let d = val(sup) - val(sub);
                let thr = p
                    .threshold(s.levels[sub as usize])
                    .max(p.threshold(s.levels[sup as usize]));
                let top = || {
                    let published = |u: u32| status[u as usize] == Status::Published;
                    (published(sup) && published(sub)).then(|| {
                        attacker_bounds(p, &status, &k.known, n, sup).1
                            - attacker_bounds(p, &status, &k.known, n, sub).0
                    })
                };
                if sensitive(d, lacking_in(lack(sup) - lack(sub)), thr)
                    || pins_fine_cells(p, d, top)
                {
                    let y = if status[sub as usize] == Status::Published {
                        sub
                    } else if status[sup as usize] == Status::Published {
                        sup
                    } else {
                        continue;
                    };
                    status[y as usize] = Status::Secondary;
                    hidden.push(y);
                    for &j in s.pairs_of(y as usize) {
                        pair_scan.join(j);
                    }
                }
            }
        }
        // An overlap of two families' units told by differencing (two wijken minus the PC4s
        // they fill): it may not pin the fine cells inside it either. (Few: always all.)
        for d in &s.differences {
            if !d.plus.iter().all(|&x| k.known[x as usize]) {
                continue;
            }
            let sum = |xs: &[u32]| xs.iter().map(|&x| val(x)).sum::<f64>();
            let value = sum(&d.plus) - sum(&d.minus);
            let top = || {
                let bounds = |x: u32| attacker_bounds(p, &status, &k.known, n, x);
                Some(
                    d.plus.iter().map(|&x| bounds(x).1).sum::<f64>()
                        - d.minus.iter().map(|&x| bounds(x).0).sum::<f64>(),
                )
            };
            if pins_fine_cells(p, value, top) {
                let smallest =
                    smallest_published_of(&status, n, d.plus.iter().chain(&d.minus).copied());
                if let Some(x) = smallest {
                    status[x as usize] = Status::Secondary;
                    hidden.push(x);
                }
            }
        }
        if hidden.is_empty() {
            return status;
        }
        dirty.clear();
        dirty.extend_from_slice(&hidden);
        k.hide(s, &hidden, &mut dirty);
        hidden.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn params_floor() {
        assert!(Params {
            k: 4,
            k_fine: 10,
            round_to: 5
        }
        .validate()
        .is_err());
        assert!(Params {
            k: 10,
            k_fine: 5,
            round_to: 5
        }
        .validate()
        .is_err());
        assert!(Params::default().validate().is_ok());
    }

    #[test]
    fn rounding_to_five_is_stable() {
        let p = Params::default();
        assert_eq!(p.round(12.0), 10);
        assert_eq!(p.round(12.5), 15);
        assert_eq!(p.round(13.0), 15);
        assert_eq!(p.round(10.0), 10);
        assert_eq!(p.round(17.0), p.round(17.0));
    }

    /// gemeente 0 ⊃ wijk 1, 2; wijk 1 ⊃ buurt 3, 4; wijk 2 ⊃ buurt 5.
    fn small_tree() -> Structure {
        let levels = vec![
            Level::Gemeente,
            Level::Wijk,
            Level::Wijk,
            Level::Buurt,
            Level::Buurt,
            Level::Buurt,
        ];
        let parent = vec![None, Some(0), Some(0), Some(1), Some(1), Some(2)];
        // addresses: 2 in buurt 3, 2 in buurt 4, 1 in buurt 5
        let m = vec![
            vec![0, 1, 3],
            vec![0, 1, 3],
            vec![0, 1, 4],
            vec![0, 1, 4],
            vec![0, 2, 5],
        ];
        Structure::new(levels, parent, &m)
    }

    #[test]
    fn single_suppressed_child_gets_a_complement() {
        let s = small_tree();
        // buurt 3 = 4 (primary), buurt 4 = 30, wijk 1 = 34
        let n = [
            Some(100.0),
            Some(34.0),
            Some(66.0),
            Some(4.0),
            Some(30.0),
            Some(66.0),
        ];
        let st = protect(&s, Params::default(), &n);
        assert_eq!(st[3], Status::Primary);
        // wijk 1 − buurt 4 would reveal buurt 3: buurt 4 must go too.
        assert_eq!(st[4], Status::Secondary);
        assert_eq!(st[1], Status::Published);
    }

    #[test]
    fn the_total_minus_published_top_units_never_reveals_a_small_one() {
        // Two families over the same 3 addresses: gemeente 0 ⊃ wijk 1 (all); pc4 2, 3 with no
        // parent. pc4 3 holds 4 units: the total (40) minus pc4 2 (36) would reveal it.
        let levels = vec![Level::Gemeente, Level::Wijk, Level::Pc4, Level::Pc4];
        let parent = vec![None, Some(0), None, None];
        let m = vec![vec![0, 1, 2], vec![0, 1, 2], vec![0, 1, 3]];
        let s = Structure::new(levels, parent, &m);
        assert!(s.covers.contains(&Cover {
            whole: None,
            parts: vec![2, 3]
        }));
        let n = [Some(40.0), Some(40.0), Some(36.0), Some(4.0)];
        let st = protect(&s, Params::default(), &n);
        assert_eq!(st[3], Status::Primary);
        assert_ne!(st[2], Status::Published, "{st:?}");
    }

    #[test]
    fn units_of_another_family_that_fill_a_unit_are_a_cover() {
        // buurt 0 holds addresses a, b, c; pc6 1 holds a, b and pc6 2 holds c.
        let levels = vec![Level::Buurt, Level::Pc6, Level::Pc6];
        let parent = vec![None, None, None];
        let m = vec![vec![0, 1], vec![0, 1], vec![0, 2]];
        let s = Structure::new(levels, parent, &m);
        assert!(s.covers.contains(&Cover {
            whole: Some(0),
            parts: vec![1, 2]
        }));
        // buurt 30, pc6 1 = 27 (published), pc6 2 = 3: buurt − pc6 1 reveals pc6 2.
        let n = [Some(30.0), Some(27.0), Some(3.0)];
        let st = protect(
            &s,
            Params {
                k: 10,
                k_fine: 20,
                round_to: 5,
            },
            &n,
        );
        assert_eq!(st[2], Status::Primary);
        assert_ne!(st[1], Status::Published);
    }

    #[test]
    fn fine_levels_are_held_to_k_fine_in_complements() {
        // h3-9 0 ⊃ h3-10 1 (40), h3-10 2 (15): 15 ≥ k but < k_fine, so 1 must go too.
        let levels = vec![Level::H3_9, Level::H3_10, Level::H3_10];
        let parent = vec![None, Some(0), Some(0)];
        let m = vec![vec![0, 1], vec![0, 2]];
        let s = Structure::new(levels, parent, &m);
        let n = [Some(55.0), Some(40.0), Some(15.0)];
        let st = protect(&s, Params::default(), &n);
        assert_eq!(st[2], Status::Primary);
        assert_eq!(st[1], Status::Secondary);
    }

    #[test]
    fn nested_pairs_are_found() {
        let s = small_tree();
        // wijk 2 and buurt 5 hold the same single address: equal sets are no pair.
        assert!(!s.pairs.contains(&(5, 2)));
        assert!(s.pairs.contains(&(3, 1)));
        assert!(s.pairs.contains(&(3, 0)));
        assert!(s.pairs.contains(&(1, 0)));
        assert!(!s.pairs.contains(&(0, 1)));
    }

    /// Random addresses in two overlapping families (admin: gemeente ⊃ wijk ⊃ buurt; grid:
    /// h3-8 ⊃ h3-9 ⊃ h3-10) with random counts per address; per unit its count and how many
    /// lack the attribute (both added up from the addresses, as in an ingest).
    fn world() -> impl Strategy<Value = (Structure, Vec<Option<f64>>, Vec<f64>)> {
        (1usize..60)
            .prop_flat_map(|n_addr| {
                (
                    prop::collection::vec((0u32..3, 0u32..3, 0u32..2, 0u32..3, 0u32..3), n_addr),
                    prop::collection::vec((0u32..8, 0u32..12), n_addr),
                )
            })
            .prop_map(|(addrs, counts)| {
                let mut ids: std::collections::HashMap<(Level, Vec<u32>), u32> = Default::default();
                let mut levels = Vec::new();
                let mut memberships = Vec::new();
                let mut unit_n: Vec<f64> = Vec::new();
                let mut unit_lacking: Vec<f64> = Vec::new();
                for ((w, b, g8, g9, g10), (c, l)) in addrs.iter().zip(&counts) {
                    let paths: [(Level, Vec<u32>); 6] = [
                        (Level::Gemeente, vec![]),
                        (Level::Wijk, vec![*w]),
                        (Level::Buurt, vec![*w, *b]),
                        (Level::H3_8, vec![*g8]),
                        (Level::H3_9, vec![*g8, *g9]),
                        (Level::H3_10, vec![*g8, *g9, *g10]),
                    ];
                    let mut mine = Vec::new();
                    for (lvl, key) in paths {
                        let next = u32::try_from(levels.len()).unwrap();
                        let id = *ids.entry((lvl, key)).or_insert_with(|| {
                            levels.push(lvl);
                            unit_n.push(0.0);
                            unit_lacking.push(0.0);
                            next
                        });
                        unit_n[id as usize] += f64::from(*c);
                        unit_lacking[id as usize] += f64::from(*l);
                        mine.push(id);
                    }
                    memberships.push(mine);
                }
                (levels, memberships, unit_n, unit_lacking)
            })
            .prop_map(|(levels, memberships, unit_n, unit_lacking)| {
                // Parents follow from the memberships: the parent of a unit is the unit at the
                // parent level of any of its addresses.
                let mut parent = vec![None; levels.len()];
                for units in &memberships {
                    for &u in units {
                        if let Some(pl) = levels[u as usize].parent() {
                            parent[u as usize] =
                                units.iter().copied().find(|&v| levels[v as usize] == pl);
                        }
                    }
                }
                let s = Structure::new(levels, parent, &memberships);
                (s, unit_n.into_iter().map(Some).collect(), unit_lacking)
            })
    }

    #[test]
    fn a_unit_with_the_same_addresses_as_a_hidden_fine_count_is_hidden_too() {
        // Buurt B1 holds one address, which is all of H3 res-9 cell a and res-10 cell a:
        // its 12 would be the fine cell's 12, which k_fine = 20 hides.
        use Level::{Buurt, Gemeente, Wijk, H3_10, H3_8, H3_9};
        let levels = vec![Gemeente, Wijk, Buurt, Buurt, H3_8, H3_9, H3_9, H3_10, H3_10];
        let parent = vec![
            None,
            Some(0),
            Some(1),
            Some(1),
            None,
            Some(4),
            Some(4),
            Some(5),
            Some(6),
        ];
        let memberships = vec![
            vec![0, 1, 2, 4, 5, 7],
            vec![0, 1, 3, 4, 6, 8],
            vec![0, 1, 3, 4, 6, 8],
        ];
        let s = Structure::new(levels, parent, &memberships);
        assert!(s.covers.contains(&Cover {
            whole: Some(7),
            parts: vec![2]
        }));
        let n: Vec<Option<f64>> = [52.0, 52.0, 12.0, 40.0, 52.0, 12.0, 40.0, 12.0, 40.0]
            .into_iter()
            .map(Some)
            .collect();
        let st = protect(&s, Params::default(), &n);
        assert_eq!(st[7], Status::Primary);
        assert_ne!(st[2], Status::Published, "{st:?}");
        let (known, _) = derivable(&s, &st);
        assert!(!known[2] && !known[7], "{st:?}");
    }

    /// Venlo's case (2025-Q4) in small: wijk 1 holds 20 PC6s of PC4 4 and PC6s `jb`, `jc` of
    /// PC4 6; wijk 2 the other 10 PC6s of PC4 4 and all of PC4 5; wijk 3 the rest of PC4 6.
    /// Every relation taken one at a time leaves the hidden PC6s room; wijk 1 + wijk 2 −
    /// PC4 4 − PC4 5 is `jb` + `jc` (7), and the four rounded counts bound it to 0..13.
    fn two_wijken_and_two_pc4s() -> (Structure, Vec<Option<f64>>, [usize; 2]) {
        use Level::{Gemeente, Pc4, Pc6, Wijk};
        let mut levels = vec![Gemeente, Wijk, Wijk, Wijk, Pc4, Pc4, Pc4];
        let mut parent = vec![None, Some(0), Some(0), Some(0), None, None, None];
        let mut memberships = Vec::new();
        // (wijk, PC4, addresses per PC6, PC6s)
        for (wijk, pc4, each, pc6s) in [
            (1, 4, 5, 20),
            (1, 6, 4, 1),
            (1, 6, 3, 1),
            (2, 4, 5, 10),
            (2, 5, 5, 16),
            (3, 6, 5, 20),
        ] {
            for _ in 0..pc6s {
                let me = u32::try_from(levels.len()).unwrap();
                levels.push(Pc6);
                parent.push(Some(pc4));
                for _ in 0..each {
                    memberships.push(vec![0, wijk, pc4, me]);
                }
            }
        }
        let s = Structure::new(levels, parent, &memberships);
        let mut n = vec![0.0; s.len()];
        for m in &memberships {
            for &u in m {
                n[u as usize] += 1.0;
            }
        }
        (s, n.into_iter().map(Some).collect(), [7 + 20, 7 + 21])
    }

    #[test]
    fn two_wijken_minus_two_pc4s_do_not_pin_the_pc6s_left_over() {
        let (s, n, [jb, jc]) = two_wijken_and_two_pc4s();
        assert!(s.differences.contains(&differences::Difference {
            plus: vec![1, 2],
            minus: vec![4, 5]
        }));
        let p = Params::default();
        let st = protect(&s, p, &n);
        assert_eq!((st[jb], st[jc]), (Status::Primary, Status::Primary));
        assert!(
            [1, 2, 4, 5].iter().any(|&u| st[u] != Status::Published),
            "{:?}",
            &st[..7]
        );
        // The exact audit over what is published agrees: the PC6s keep k_fine values.
        let published: Vec<Option<f64>> = n
            .iter()
            .zip(&st)
            .map(|(v, s)| (*s == Status::Published).then(|| p.publish_count(v.unwrap()) as f64))
            .collect();
        let a = audit::Audit::new(&s, &published, p, &Level::ALL);
        for u in [jb, jc] {
            let i = a.interval(&[u32::try_from(u).unwrap()]).unwrap();
            assert!(i.possible_values() >= f64::from(p.k_fine), "{i:?}");
        }
    }

    /// [`derivable`] as full sweeps over every cover until one changes nothing: the
    /// definition the queued sweeps must agree with, `via` included.
    fn derivable_by_full_sweeps(
        s: &Structure,
        status: &[Status],
    ) -> (Vec<bool>, Vec<Option<usize>>) {
        let mut k = Knowledge::at_start(s, status);
        loop {
            let mut changed = false;
            for i in 0..s.covers.len() {
                changed |= k.follows(s, i).is_some();
            }
            if !changed {
                let via = (0..k.via.len()).map(|u| k.via(u)).collect();
                return (k.known, via);
            }
        }
    }

    proptest! {
        /// A published count stands for an interval that holds the truth, and a count shown
        /// outside the fine levels (at least `k`) never bounds what lies inside it below
        /// `k_fine` possible values: its interval reaches `k_fine − 1`.
        #[test]
        fn a_published_count_keeps_k_fine_room_for_what_lies_inside(
            k in 5u32..30, extra in 0u32..30, round_to in 1u32..11, n in 0u32..400,
        ) {
            let p = Params { k, k_fine: k + extra, round_to };
            let r = p.publish_count(f64::from(n));
            #[expect(clippy::cast_precision_loss, reason = "small counts")]
            let (lo, hi) = p.count_interval(r as f64);
            prop_assert!(lo <= f64::from(n) && f64::from(n) <= hi, "{n} → {r} → [{lo}, {hi}]");
            if n >= k {
                prop_assert!(hi + 1.0 >= f64::from(p.k_fine), "{n} → {r} → [{lo}, {hi}]");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        /// Scans narrowed to the relations whose units changed decide as scans of all.
        #[test]
        fn narrowed_scans_decide_as_scans_of_all((s, n, lacking) in world(), k in 5u32..8, extra in 0u32..6) {
            let p = Params { k, k_fine: k + extra, round_to: 5 };
            for lacking in [&lacking[..], &[]] {
                let full = protect_scanning(&s, p, &n, lacking, Scans::Full);
                prop_assert_eq!(&protect_scanning(&s, p, &n, lacking, Scans::AlwaysNarrowed), &full);
                prop_assert_eq!(&protect_scanning(&s, p, &n, lacking, Scans::Narrowed), &full);
            }
        }

        /// Knowledge kept up to date as counts are hidden, a few at a time, is the knowledge
        /// derived from scratch, and every derivation it keeps holds.
        #[test]
        fn knowledge_kept_up_to_date_is_knowledge_from_scratch(
            (s, n, _) in world(),
            hide in proptest::collection::vec(0u8..4, 64),
            order in proptest::collection::vec(0usize..1000, 1..12),
        ) {
            let mut st: Vec<Status> = (0..s.len())
                .map(|u| match (n[u], hide[u % hide.len()]) {
                    (None, _) => Status::Absent,
                    (Some(_), 0 | 1) => Status::Published,
                    (Some(_), 2) => Status::Secondary,
                    _ => Status::Primary,
                })
                .collect();
            let mut k = Knowledge::new(&s, &st);
            for step in order.chunks(3) {
                let published: Vec<u32> = (0..s.len()).filter(|&u| st[u] == Status::Published)
                    .map(|u| u32::try_from(u).unwrap()).collect();
                if published.is_empty() { break; }
                let mut hidden: Vec<u32> = step.iter().map(|&i| published[i % published.len()]).collect();
                hidden.sort_unstable();
                hidden.dedup();
                for &y in &hidden { st[y as usize] = Status::Secondary; }
                let before = k.known.clone();
                let mut lost = Vec::new();
                k.hide(&s, &hidden, &mut lost);
                let (known, _) = derivable(&s, &st);
                prop_assert_eq!(&k.known, &known);
                let mut went: Vec<u32> = (0..=s.len()).filter(|&u| before[u] && !known[u])
                    .map(|u| u32::try_from(u).unwrap()).collect();
                lost.sort_unstable();
                went.sort_unstable();
                prop_assert_eq!(lost, went);
                for u in 0..=s.len() {
                    let Some(c) = k.via(u) else {
                        prop_assert!(u == s.len() || !known[u] || matches!(st[u], Status::Published | Status::Absent));
                        continue;
                    };
                    prop_assert!(known[u]);
                    let cover = &s.covers[c];
                    let whole = cover.whole.map_or(s.len(), |w| w as usize);
                    let members: Vec<usize> = cover.parts.iter().map(|&x| x as usize).chain([whole]).collect();
                    prop_assert!(members.contains(&u));
                    prop_assert!(members.iter().all(|&x| x == u || known[x]));
                }
            }
        }

        #[test]
        fn queued_sweeps_find_what_full_sweeps_find((s, n, _) in world(), hide in proptest::collection::vec(0u8..4, 64)) {
            // Any status: each unit published, hidden or absent by the random pattern.
            let st: Vec<Status> = (0..s.len())
                .map(|u| match (n[u], hide[u % hide.len()]) {
                    (None, _) => Status::Absent,
                    (Some(_), 0) => Status::Published,
                    (Some(_), 1) => Status::Secondary,
                    _ => Status::Primary,
                })
                .collect();
            prop_assert_eq!(derivable(&s, &st), derivable_by_full_sweeps(&s, &st));
            let p = Params { k: 5, k_fine: 8, round_to: 5 };
            let protected = protect(&s, p, &n);
            prop_assert_eq!(derivable(&s, &protected), derivable_by_full_sweeps(&s, &protected));
        }


        /// No group an attacker isolates by differencing (the unknown parts of a relation
        /// with a published whole, the difference of two published nested counts) of 1 to
        /// `k_fine − 2` units keeps an upper bound below `k_fine − 1`: it would pin each
        /// hidden fine cell inside it to fewer than `k_fine` values.
        #[test]
        fn no_isolated_group_pins_the_fine_cells_inside_it((s, n, _) in world()) {
            let p = Params { k: 5, k_fine: 10, round_to: 5 };
            let st = protect(&s, p, &n);
            let (known, _) = derivable(&s, &st);
            let val = |u: u32| n[u as usize].unwrap_or(0.0);
            let shown = |u: u32| st[u as usize] == Status::Published;
            let small = |g: f64| g > 0.0 && g < f64::from(p.k_fine) - 1.0;
            for c in &s.covers {
                let Some(w) = c.whole.filter(|&w| shown(w)) else { continue };
                if c.parts.iter().all(|&x| !known[x as usize]) { continue; }
                let rest: f64 = c.parts.iter().filter(|&&x| !known[x as usize]).map(|&x| val(x)).sum();
                let bottoms: f64 = c.parts.iter().filter(|&&x| known[x as usize])
                    .map(|&x| if shown(x) { p.interval_of(val(x)).0 } else { val(x) }).sum();
                let top = p.interval_of(val(w)).1 - bottoms;
                prop_assert!(!small(rest) || top >= f64::from(p.k_fine) - 1.0, "{c:?}: {rest} ≤ {top}");
            }
            for &(sub, sup) in &s.pairs {
                if shown(sub) && shown(sup) {
                    let top = p.interval_of(val(sup)).1 - p.interval_of(val(sub)).0;
                    let d = val(sup) - val(sub);
                    prop_assert!(!small(d) || top >= f64::from(p.k_fine) - 1.0, "{sub} ⊂ {sup}: {d} ≤ {top}");
                }
            }
        }

        #[test]
        fn no_published_count_below_threshold((s, n, _) in world()) {
            let p = Params { k: 5, k_fine: 8, round_to: 5 };
            let st = protect(&s, p, &n);
            for (u, status) in st.iter().enumerate() {
                if *status == Status::Published {
                    prop_assert!(n[u].unwrap() >= p.threshold(s.levels[u]));
                    prop_assert_eq!(p.round(n[u].unwrap()) % 5, 0);
                }
            }
        }

        #[test]
        fn no_suppressed_value_recoverable_from_parent_minus_children((s, n, _) in world()) {
            let p = Params { k: 5, k_fine: 8, round_to: 5 };
            let st = protect(&s, p, &n);
            for u in 0..s.len() {
                if st[u] != Status::Published { continue; }
                let kids = s.children(u as u32);
                if kids.is_empty() { continue; }
                let visible: f64 = kids.iter().filter(|&&c| st[c as usize] == Status::Published).map(|&c| n[c as usize].unwrap()).sum();
                let hidden = n[u].unwrap() - visible;
                prop_assert!(hidden == 0.0 || hidden >= 5.0, "parent {u} leaves {hidden}");
            }
        }

        #[test]
        fn no_hidden_count_below_its_threshold_follows_from_published_ones((s, n, _) in world()) {
            let p = Params { k: 5, k_fine: 8, round_to: 5 };
            let st = protect(&s, p, &n);
            let (known, _) = derivable(&s, &st);
            for u in 0..s.len() {
                let v = n[u].unwrap_or(0.0);
                if st[u] != Status::Published && v > 0.0 && v < p.threshold(s.levels[u]) {
                    prop_assert!(!known[u], "unit {u} ({v}) follows from published counts");
                }
            }
            // Every relation with a known whole leaves its unknown parts at 0 or ≥ threshold.
            for c in &s.covers {
                let whole_known = c.whole.map_or(known[s.len()], |w| known[w as usize]);
                if !whole_known { continue; }
                if c.parts.iter().all(|&x| !known[x as usize]) { continue; }
                let rest: f64 = c.parts.iter().filter(|&&x| !known[x as usize]).map(|&x| n[x as usize].unwrap_or(0.0)).sum();
                let thr = p.threshold(s.levels[c.parts[0] as usize]);
                prop_assert!(rest == 0.0 || rest >= thr, "{c:?} leaves {rest}");
            }
        }

        #[test]
        fn a_share_of_nearly_everyone_is_hidden_and_not_derivable((s, n, lacking) in world()) {
            let p = Params { k: 5, k_fine: 8, round_to: 5 };
            let st = protect_with(&s, p, &n, &lacking);
            let (known, _) = derivable(&s, &st);
            for u in 0..s.len() {
                let (v, c) = (n[u].unwrap_or(0.0), lacking[u]);
                if v > 0.0 && c < p.threshold(s.levels[u]) {
                    prop_assert!(st[u] != Status::Published, "unit {u}: {v} have it, {c} lack it");
                    prop_assert!(!known[u], "unit {u} ({v} of {}) follows from published counts", v + c);
                }
            }
            for c in &s.covers {
                let whole_known = c.whole.map_or(known[s.len()], |w| known[w as usize]);
                if !whole_known || c.parts.iter().all(|&x| !known[x as usize]) { continue; }
                let hidden = c.parts.iter().filter(|&&x| !known[x as usize]);
                let (rest, rest_lacking) = hidden.fold((0.0, 0.0), |(a, b), &x| (a + n[x as usize].unwrap_or(0.0), b + lacking[x as usize]));
                let thr = p.threshold(s.levels[c.parts[0] as usize]);
                prop_assert!(rest == 0.0 || rest_lacking >= thr, "{c:?} leaves {rest} of {}", rest + rest_lacking);
            }
        }

        #[test]
        fn no_difference_of_nested_published_counts_is_small((s, n, _) in world()) {
            let p = Params { k: 5, k_fine: 8, round_to: 5 };
            let st = protect(&s, p, &n);
            for &(sub, sup) in &s.pairs {
                if st[sub as usize] == Status::Published && st[sup as usize] == Status::Published {
                    let d = n[sup as usize].unwrap() - n[sub as usize].unwrap();
                    prop_assert!(d == 0.0 || d >= 5.0, "{sup} − {sub} = {d}");
                }
            }
        }
    }
}
