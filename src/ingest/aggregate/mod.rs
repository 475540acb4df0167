//! Steps 2 and 3: locate each distinct coordinate once (H3 res 7–10 by index, PC4/PC6 from
//! the postcode, buurt/wijk/gemeente by point-in-polygon), aggregate rows per location and
//! quarter (and, for measures that count addresses, per address and quarter), then roll up
//! to every spatial unit.
//!
//! Reading runs on several threads: each owns a [`Partial`]; the partials are merged and
//! finished into [`UnitAggregates`]. The result does not depend on how the rows were split
//! over threads. Nothing here outlives the ingest.

use super::error::RowError;
use super::locate::{LocKey, Location, Locator};
use super::read::Parsed;
use crate::catalogue::{AddressRule, Catalogue, Condition, Measure, MeasureSpec, RowValue};
use crate::disclosure::Structure;
use crate::spatial::Level;
use ahash::AHashMap;
use h3o::CellIndex;

mod distinct;
mod keys;
mod plan;
mod rollup;

use keys::{bucketed, source_salt};
pub use keys::{later_occurrences, repeated_hashes, KeyBuckets};
pub use plan::Plan;
use plan::{BaseValue, Final};
use rollup::Table;
pub use rollup::{pack_pc4, pack_pc6, unpack_pc6, UnitAggregates, UnitKey};

/// Address-level values of one source kept per run: consecutive rows of one address and
/// quarter. Runs of the same address and quarter are combined at the end.
pub const MAX_ADDR_BASES: usize = 4;

/// Per-source accumulators of one thread: a row per (location, quarter) as the rows come.
///
/// A new row is appended whenever the (location, quarter) differs from the last row's; no
/// lookup table is kept. Extracts come grouped (by address, or quarter by quarter and then
/// by address), so a key comes back only across a piece boundary, and a duplicate row is
/// harmless: every figure is a sum, and rows of the same key are added into the same units
/// in the end. For extracts in another order, rows are compacted (sorted and merged per
/// key) once they are more than twice the distinct keys met ([`Distinct`]), so memory stays
/// within twice what a lookup table would hold. At national volume the lookup table was
/// 1.2 GB and a fifth of the reading pass's CPU time.
#[derive(Default)]
struct SourceAcc {
    /// Per row: `location << 16 | quarter`.
    lq_keys: Vec<u64>,
    /// Per row and base: the rows counted ([`Plan::src_width`] per row).
    acc: Vec<u32>,
    /// Per row and base that sums a column: the sum ([`Plan::src_sum_slot`]).
    sums: Vec<f64>,
    last_lq: (u64, u32),
    /// Per row: the source's address-level finals (addresses counted), added as runs close.
    afin: Vec<u32>,
    /// The open run: address-and-quarter key, location, quarter, values.
    run: Option<Run>,
    /// The row the open run is counted at when it closes.
    run_row: u32,
    /// Finished runs.
    runs: Vec<Run>,
    /// The distinct keys of `lq_keys` met so far.
    distinct: distinct::Distinct,
    /// Rows when compaction was last considered.
    checked_at: usize,
}

/// Rows between two looks at whether an accumulation should be compacted.
const COMPACT_CHECK_ROWS: usize = 1 << 16;

/// Consecutive rows of one address (dwelling) and quarter (32 bytes: millions are kept).
#[derive(Debug, Clone, Copy)]
struct Run {
    key: u64,
    /// The location it counts at (the one with the smallest key if the address has several).
    loc: u32,
    quarter: u16,
    /// Rows (counting bases) or the column's max (max bases), per address base.
    vals: [f32; MAX_ADDR_BASES],
}

impl SourceAcc {
    /// Appends a zeroed row for `lq`; compacts first when the rows have grown to more than
    /// twice the distinct keys (and more than `compact_above`).
    fn push_row(&mut self, plan: &Plan, source: usize, lq: u64, compact_above: usize) -> u32 {
        let n = self.lq_keys.len();
        if n >= self.checked_at + COMPACT_CHECK_ROWS.min(compact_above.max(1)) {
            self.checked_at = n;
            #[expect(clippy::cast_precision_loss, reason = "an estimate")]
            if n > compact_above && n as f64 > 2.0 * self.distinct.estimate() {
                self.compact(plan, source);
                self.checked_at = self.lq_keys.len();
            }
        }
        self.distinct.add(lq);
        let r = u32::try_from(self.lq_keys.len()).unwrap_or(u32::MAX);
        self.lq_keys.push(lq);
        self.acc.resize(self.acc.len() + plan.src_width[source], 0);
        self.sums
            .resize(self.sums.len() + plan.src_sum_width[source], 0.0);
        self.afin
            .resize(self.afin.len() + plan.addr_finals[source].len(), 0);
        r
    }

    /// Merges the rows of each key into one, in key order (ties in row order, so the result
    /// depends on the rows alone). The open run's row moves with its key.
    fn compact(&mut self, plan: &Plan, source: usize) {
        let (w, ws, wa) = (
            plan.src_width[source],
            plan.src_sum_width[source],
            plan.addr_finals[source].len(),
        );
        let n = self.lq_keys.len();
        let mut order: Vec<u32> = (0..u32::try_from(n).unwrap_or(u32::MAX)).collect();
        order.sort_unstable_by_key(|&i| (self.lq_keys[i as usize], i));
        let mut new_of = vec![0u32; n];
        let (mut keys, mut acc, mut sums, mut afin) =
            (Vec::new(), Vec::new(), Vec::<f64>::new(), Vec::new());
        for &i in &order {
            let i = i as usize;
            let k = self.lq_keys[i];
            if keys.last() != Some(&k) {
                keys.push(k);
                acc.resize(acc.len() + w, 0u32);
                sums.resize(sums.len() + ws, 0.0);
                afin.resize(afin.len() + wa, 0u32);
            }
            let r = keys.len() - 1;
            new_of[i] = u32::try_from(r).unwrap_or(u32::MAX);
            add_row_into(&mut acc, &self.acc, r, i, w);
            add_row_into(&mut sums, &self.sums, r, i, ws);
            add_row_into(&mut afin, &self.afin, r, i, wa);
        }
        tracing::debug!(
            source,
            rows = n,
            kept = keys.len(),
            "accumulation compacted"
        );
        if self.run.is_some() {
            self.run_row = new_of[self.run_row as usize];
        }
        self.last_lq = (u64::MAX, 0);
        (self.lq_keys, self.acc, self.sums, self.afin) = (keys, acc, sums, afin);
    }
}

/// Adds row `from` of `src` into row `to` of `dst`, rows of `width` values.
fn add_row_into<T: Copy + std::ops::AddAssign>(
    dst: &mut [T],
    src: &[T],
    to: usize,
    from: usize,
    width: usize,
) {
    for (d, &v) in dst[to * width..(to + 1) * width]
        .iter_mut()
        .zip(&src[from * width..(from + 1) * width])
    {
        *d += v;
    }
}

const _: () = assert!(std::mem::size_of::<Run>() == 32);

/// A location one thread has met: its key, its id and whether it lies in a gemeente, and the
/// entry of the location met right after it the last time.
struct Met {
    key: LocKey,
    id: u32,
    inside: bool,
    next: u32,
}

/// One thread's accumulation.
pub struct Partial<'p, 'a> {
    plan: &'p Plan,
    locator: &'p Locator<'a>,
    /// Locations this thread has met: where each is in `met`.
    loc_cache: hashbrown::HashTable<u32>,
    /// Its hash (seeded per run: coordinates come from outside).
    loc_hash: ahash::RandomState,
    /// The locations met, in the order first met, each with the one met after it last time.
    met: Vec<Met>,
    /// The entry of `met` of the last row's location.
    last_met: u32,
    /// Rows whose location was not the last one or the one met after it last time.
    lookups: u64,
    src: Vec<SourceAcc>,
    keys: KeyBuckets,
    /// Keys to find: where rows with these key hashes were read.
    find: Option<&'p std::collections::HashSet<u64>>,
    found: Vec<(u64, u64)>,
    /// Accumulations of fewer rows are never compacted ([`SourceAcc`]).
    compact_above: usize,
}

impl<'p, 'a> Partial<'p, 'a> {
    /// An empty accumulation; with `find`, it also records where rows with those key hashes
    /// were read (see [`Self::found`]).
    #[must_use]
    pub fn new(
        plan: &'p Plan,
        locator: &'p Locator<'a>,
        find: Option<&'p std::collections::HashSet<u64>>,
    ) -> Self {
        Self {
            plan,
            locator,
            loc_cache: hashbrown::HashTable::new(),
            loc_hash: ahash::RandomState::new(),
            met: Vec::new(),
            last_met: u32::MAX,
            lookups: 0,
            src: (0..plan.src_bases.len())
                .map(|_| SourceAcc {
                    last_lq: (u64::MAX, 0),
                    ..SourceAcc::default()
                })
                .collect(),
            keys: vec![Vec::new(); 256],
            find,
            found: Vec::new(),
            compact_above: 1 << 20,
        }
    }

    /// The location of a row's coordinates and postcode. Extracts list the same addresses in
    /// the same order quarter after quarter (and source after source), so the location met
    /// after the last one the previous time is tried first; a lookup in the thread's table is
    /// the fallback (a lookup whenever the location changed, in a B-tree, cost a seventh of
    /// the national reading pass's own time).
    #[inline]
    fn location(&mut self, p: &Parsed) -> Result<u32, RowError> {
        let key = (p.postcode, p.x.to_bits(), p.y.to_bits());
        let last = self.last_met;
        let at = match self.met.get(last as usize) {
            Some(m) if m.key == key => last,
            Some(m) if self.met.get(m.next as usize).is_some_and(|n| n.key == key) => m.next,
            _ => {
                let at = self.look_up(key);
                if let Some(m) = self.met.get_mut(last as usize) {
                    m.next = at;
                }
                at
            }
        };
        self.last_met = at;
        let m = &self.met[at as usize];
        if !m.inside {
            return Err(RowError {
                line: p.line,
                column: "x,y".into(),
                rule: "coordinates lie in no Dutch gemeente".into(),
            });
        }
        Ok(m.id)
    }

    /// The entry of `met` for a location not predicted: from the thread's table, or located
    /// (through the shared locator) and added.
    fn look_up(&mut self, key: LocKey) -> u32 {
        self.lookups += 1;
        let hash = self.loc_hash.hash_one(key);
        let (met, loc_hash) = (&mut self.met, &self.loc_hash);
        if let Some(&at) = self.loc_cache.find(hash, |&i| met[i as usize].key == key) {
            return at;
        }
        let (id, inside) = self.locator.locate(key);
        let at = u32::try_from(met.len()).unwrap_or(u32::MAX);
        met.push(Met {
            key,
            id,
            inside,
            next: u32::MAX,
        });
        self.loc_cache
            .insert_unique(hash, at, |&i| loc_hash.hash_one(met[i as usize].key));
        at
    }

    /// Adds one validated row of `source`; `pos` records where it was read, for the
    /// duplicate check after reading.
    ///
    /// # Errors
    /// Coordinates in no Dutch gemeente.
    #[inline]
    pub fn add(&mut self, source: usize, pos: u64, p: &Parsed) -> Result<(), RowError> {
        let loc = self.location(p)?;
        let plan = self.plan;
        // Keys of all sources in one space: the source is mixed in.
        let k = p.key_hash ^ source_salt(source);
        self.keys[(k >> 56) as usize].push(k);
        if let Some(f) = self.find {
            if f.contains(&k) {
                self.found.push((k, pos));
            }
        }
        let bases = &plan.src_bases[source];
        let s = &mut self.src[source];
        let lq = u64::from(loc) << 16 | u64::from(p.period);
        let row = if s.last_lq.0 == lq {
            s.last_lq.1
        } else {
            let r = s.push_row(plan, source, lq, self.compact_above);
            s.last_lq = (lq, r);
            r
        };
        let (n, ns) = (plan.src_width[source], plan.src_sum_width[source]);
        let acc = &mut s.acc[row as usize * n..(row as usize + 1) * n];
        let sums = &mut s.sums[row as usize * ns..(row as usize + 1) * ns];
        for ((&b, a), &slot) in bases
            .iter()
            .zip(acc.iter_mut())
            .zip(&plan.src_sum_slot[source])
        {
            let base = &plan.bases[b];
            if base.conditions.iter().all(|c| c.holds(&p.values)) {
                *a += 1;
                if let (BaseValue::Sum(c), Some(slot)) = (base.value, slot) {
                    sums[slot] += p.values[c];
                }
            }
        }
        let abases = &plan.addr_bases[source];
        if abases.is_empty() {
            return Ok(());
        }
        // One run per address (dwelling) and quarter while its rows come together.
        let key = p.address ^ u64::from(p.period).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        if s.run.as_ref().is_some_and(|r| r.key != key) {
            close_run(plan, source, s);
        }
        let fresh = s.run.is_none();
        let run = s.run.get_or_insert(Run {
            key,
            loc,
            quarter: p.period,
            vals: [0.0; MAX_ADDR_BASES],
        });
        if fresh {
            s.run_row = row;
        } else if run.loc != loc && self.locator.key(loc) < self.locator.key(run.loc) {
            // One address at several coordinates: it counts at the smallest location.
            run.loc = loc;
            s.run_row = row;
        }
        for (l, &b) in abases.iter().enumerate() {
            let base = &plan.bases[b];
            if base.conditions.iter().all(|c| c.holds(&p.values)) {
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "one address in one quarter: f32 is exact enough"
                )]
                match base.value {
                    BaseValue::One | BaseValue::Sum(_) => run.vals[l] += 1.0,
                    BaseValue::Max(c) => run.vals[l] = run.vals[l].max(p.values[c] as f32),
                }
            }
        }
        Ok(())
    }

    /// Closes the open runs: the next rows come from elsewhere in the extracts.
    pub fn end_piece(&mut self) {
        for (source, s) in self.src.iter_mut().enumerate() {
            close_run(self.plan, source, s);
        }
    }

    /// Reserves room for the key hashes of about `rows` rows, so that the buckets are not
    /// copied while they grow.
    pub fn reserve_keys(&mut self, rows: usize) {
        let per = rows / 256 + rows / 2048 + 16;
        for b in &mut self.keys {
            b.reserve(per);
        }
    }

    /// Reserves room in each source's accumulators for about `rows[source]` rows, so that
    /// they are not copied as they grow: each copy writes fresh pages, which the kernel zeroes
    /// first (at national volume the largest single cost of the reading pass). Room that is
    /// never written takes no memory. Where the system refuses that much address space (a
    /// small machine, a large CSV whose rows are estimated), the accumulators grow as before.
    pub fn reserve_rows(&mut self, rows: &[usize]) {
        let plan = self.plan;
        for (source, (s, &r)) in self.src.iter_mut().zip(rows).enumerate() {
            // A refusal leaves the vector as it was; it then grows as it is written.
            let _ = s.lq_keys.try_reserve(r);
            let _ = s.acc.try_reserve(r.saturating_mul(plan.src_width[source]));
            let _ = s
                .sums
                .try_reserve(r.saturating_mul(plan.src_sum_width[source]));
            let _ = s
                .afin
                .try_reserve(r.saturating_mul(plan.addr_finals[source].len()));
            if !plan.addr_bases[source].is_empty() {
                let _ = s.runs.try_reserve(r);
            }
        }
    }

    /// The key hashes of the rows read, bucketed, for the duplicate check.
    pub fn take_keys(&mut self) -> KeyBuckets {
        std::mem::replace(&mut self.keys, vec![Vec::new(); 256])
    }

    /// The hashes looked for and where they were read.
    #[must_use]
    pub fn found(&self) -> &[(u64, u64)] {
        &self.found
    }
}

/// The value of an address-level final for one address and quarter.
fn addr_value(f: &Final, vals: &[f32; MAX_ADDR_BASES]) -> u32 {
    let v = match *f {
        Final::MinRows { slot, min, .. } => vals[slot] >= min && vals[slot] > 0.0,
        Final::AreaBelow {
            rows, area, value, ..
        } => {
            let n = f64::from(vals[rows]);
            n > 0.0 && f64::from(vals[area]) / n < value
        }
        Final::Rows { .. } => false,
    };
    u32::from(v)
}

/// The stretches of rows of one quarter, as (quarter, first row, end), when there are few
/// (extracts that come quarter by quarter): each quarter's task then reads its own rows
/// rather than passing over all of them. `None` when the quarters alternate often.
fn quarter_segments(lq_keys: &[u64]) -> Option<Vec<(u16, u32, u32)>> {
    let mut segments: Vec<(u16, u32, u32)> = Vec::new();
    for (r, &lq) in lq_keys.iter().enumerate() {
        let q = (lq & 0xffff) as u16;
        let r = u32::try_from(r).ok()?;
        match segments.last_mut() {
            Some(last) if last.0 == q => last.2 = r + 1,
            _ => {
                if segments.len() > lq_keys.len() / 64 + 16 {
                    return None;
                }
                segments.push((q, r, r + 1));
            }
        }
    }
    Some(segments)
}

/// Counts the open run of `source` at its row and keeps it (its key may come back).
fn close_run(plan: &Plan, source: usize, s: &mut SourceAcc) {
    if let Some(r) = s.run.take() {
        let fins = &plan.addr_finals[source];
        let row = s.run_row as usize * fins.len();
        for (k, (_, f)) in fins.iter().enumerate() {
            s.afin[row + k] += addr_value(f, &r.vals);
        }
        s.runs.push(r);
    }
}

/// A run of an address cut by a piece boundary: its location, quarter and values.
type CutRun = (u32, u16, Run);

/// The source whose addresses draw PC6 outlines: the population register.
pub const REGISTER_SOURCE: &str = "brp";

/// Rolls the accumulation of every thread up to every unit of every level.
#[must_use]
pub fn finish(mut partials: Vec<Partial<'_, '_>>) -> UnitAggregates {
    // What only reading needed goes first: each thread's table of the locations it met.
    let lookups: u64 = partials.iter().map(|p| p.lookups).sum();
    for p in &mut partials {
        p.loc_cache = hashbrown::HashTable::new();
        p.met = Vec::new();
    }
    let Some(first) = partials.first() else {
        unreachable!("a pass has at least one thread")
    };
    let (plan, locator) = (first.plan, first.locator);
    let located = locator.take();
    // Locations in key order, so that unit numbering does not depend on thread timing.
    let mut order: Vec<u32> = (0..u32::try_from(located.keys.len()).unwrap_or(u32::MAX))
        .filter(|&i| located.locations[i as usize].is_some())
        .collect();
    order.sort_unstable_by_key(|&i| located.keys[i as usize]);
    let mut renum = vec![u32::MAX; located.keys.len()];
    for (new, &old) in order.iter().enumerate() {
        renum[old as usize] = u32::try_from(new).unwrap_or(u32::MAX);
    }
    let locations: Vec<Location> = order
        .iter()
        .filter_map(|&i| located.locations[i as usize])
        .collect();
    drop((order, located));

    tracing::debug!(
        locations = locations.len(),
        lookups,
        runs = partials
            .iter()
            .flat_map(|p| &p.src)
            .map(|s| s.runs.len())
            .sum::<usize>(),
        rows = partials
            .iter()
            .flat_map(|p| &p.src)
            .map(|s| s.lq_keys.len())
            .sum::<usize>(),
        "locations numbered"
    );
    let nf = plan.finals.len();
    let (mut q0, mut q1) = (u16::MAX, 0u16);
    for p in &partials {
        for s in &p.src {
            // Runs are counted at rows of `lq_keys`: their quarters are among these.
            for q in s.lq_keys.iter().map(|&k| (k & 0xffff) as u16) {
                q0 = q0.min(q);
                q1 = q1.max(q);
            }
        }
    }
    let us = rollup::units(&locations);
    let (sum_slot, ns) = plan.final_sum_slots();
    let mut table = Table::new(q0, q1, us.units.len(), sum_slot.clone(), ns);
    // Which finals each source feeds.
    let mut row_finals: Vec<Vec<(usize, usize)>> = vec![Vec::new(); plan.src_bases.len()];
    for (j, f) in plan.finals.iter().enumerate() {
        if let Final::Rows { source, local } = *f {
            row_finals[source].push((j, local));
        }
    }
    // Adds row `r` of a thread's accumulation of `source` into a row of the table.
    let add_row = |counts: &mut [u32], sums: &mut [f64], source: usize, s: &SourceAcc, r: usize| {
        let (n, nsw) = (plan.src_width[source], plan.src_sum_width[source]);
        let acc = &s.acc[r * n..(r + 1) * n];
        let srow = &s.sums[r * nsw..(r + 1) * nsw];
        for &(j, l) in &row_finals[source] {
            counts[j] = counts[j].wrapping_add(acc[l]);
            if let (Some(t), Some(o)) = (sum_slot[j], plan.src_sum_slot[source][l]) {
                sums[t] += srow[o];
            }
        }
        let fins = &plan.addr_finals[source];
        for (k, &(j, _)) in fins.iter().enumerate() {
            counts[j] = counts[j].wrapping_add(s.afin[r * fins.len() + k]);
        }
    };
    // Address-level measures were counted per run as the runs closed. A run is a whole
    // address and quarter unless its key comes back (a dwelling cut by a piece boundary):
    // those runs are taken out again below and counted once, combined. Only they are kept.
    let mut cut_runs: Vec<(usize, Vec<CutRun>)> = Vec::new();
    for source in 0..plan.addr_finals.len() {
        if plan.addr_finals[source].is_empty() {
            continue;
        }
        // The run keys of each thread bucketed on its own core, then checked per bucket.
        let buckets: Vec<KeyBuckets> = {
            use rayon::prelude::*;
            partials
                .par_iter()
                .map(|p| bucketed(p.src[source].runs.iter().map(|r| r.key)))
                .collect()
        };
        let repeated = repeated_hashes(&buckets);
        drop(buckets);
        tracing::debug!(repeated = repeated.len(), "runs checked");
        // A one-word filter in front of the set: most runs are passed over with a bit test.
        let filter = repeated.iter().fold(0u64, |f, k| f | 1 << (k & 63));
        let mut cut = Vec::new();
        for p in &mut partials {
            let s = &mut p.src[source];
            if !repeated.is_empty() {
                for r in &s.runs {
                    if filter & (1 << (r.key & 63)) != 0 && repeated.contains(&r.key) {
                        cut.push((renum[r.loc as usize], r.quarter, *r));
                    }
                }
            }
            s.runs = Vec::new();
        }
        cut_runs.push((source, cut));
    }
    // The population register's figures per location: where PC6 outlines may come from.
    let register: Vec<bool> = plan
        .measure_specs
        .iter()
        .map(|m| m.source == REGISTER_SOURCE)
        .collect();
    let mut register_units = vec![0i64; locations.len()];
    let mut cbuf = vec![0u32; nf];
    // Per source: the bases of its rows, and the address-level finals, that the register's
    // finals count.
    let register_rows: Vec<Vec<usize>> = row_finals
        .iter()
        .map(|fs| {
            fs.iter()
                .filter(|&&(j, _)| register[j])
                .map(|&(_, l)| l)
                .collect()
        })
        .collect();
    let register_addr: Vec<Vec<usize>> = plan
        .addr_finals
        .iter()
        .map(|fs| {
            fs.iter()
                .enumerate()
                .filter(|(_, (j, _))| register[*j])
                .map(|(k, _)| k)
                .collect()
        })
        .collect();
    // The finest units of each location by the number it was located under (the number in
    // the accumulations' rows), in one flat list: rows come in about the order their
    // locations were first met, so this is read in order, where `renum` and a list per
    // location cost two cache misses per row.
    let mut leaf_start: Vec<u32> = Vec::with_capacity(renum.len() + 1);
    let mut leaf_units: Vec<u32> = Vec::with_capacity(renum.len() * 3);
    leaf_start.push(0);
    for &new in &renum {
        if let Some(l) = us.leaves.get(new as usize) {
            leaf_units.extend_from_slice(l);
        }
        leaf_start.push(u32::try_from(leaf_units.len()).unwrap_or(u32::MAX));
    }
    let register_of = |counts: &[u32]| -> i64 {
        (0..nf)
            .filter(|&j| register[j])
            .map(|j| i64::from(counts[j]))
            .sum()
    };
    // Each row of the threads' accumulations goes straight into its location's finest units
    // (H3 res 10, PC6, buurt or the finest area above it), one quarter per task; no table
    // per location is built. Source by source (each final counts one source's rows, so the
    // order of sources changes no sum), and a source's sums are freed as soon as every
    // thread's are in the table: the table grows as the accumulations shrink.
    for source in 0..plan.src_bases.len() {
        for s in partials.iter_mut().map(|p| &mut p.src[source]) {
            // The register's counts of each row, read where they sit in the row (what
            // `add_row` would put in the register's finals), without a row of all finals.
            let (reg_rows, reg_addr) = (&register_rows[source], &register_addr[source]);
            if !reg_rows.is_empty() || !reg_addr.is_empty() {
                let (n, wa) = (plan.src_width[source], plan.addr_finals[source].len());
                for (r, &lq) in s.lq_keys.iter().enumerate() {
                    let v: i64 = reg_rows
                        .iter()
                        .map(|&l| i64::from(s.acc[r * n + l]))
                        .chain(reg_addr.iter().map(|&k| i64::from(s.afin[r * wa + k])))
                        .sum();
                    register_units[renum[(lq >> 16) as usize] as usize] += v;
                }
            }
            {
                use rayon::prelude::*;
                let (s, leaf_start, leaf_units) = (&*s, &leaf_start, &leaf_units);
                let segments = quarter_segments(&s.lq_keys);
                table.quarters_mut().for_each(|(q, mut quarter)| {
                    let mut add = |r: usize, lq: u64| {
                        let o = (lq >> 16) as usize;
                        let leaves =
                            &leaf_units[leaf_start[o] as usize..leaf_start[o + 1] as usize];
                        for &u in leaves {
                            let (counts, sums) = quarter.row(u as usize);
                            add_row(counts, sums, source, s, r);
                        }
                    };
                    match &segments {
                        Some(segments) => {
                            for &(_, from, to) in segments.iter().filter(|x| x.0 == q) {
                                for r in from as usize..to as usize {
                                    add(r, s.lq_keys[r]);
                                }
                            }
                        }
                        None => {
                            for (r, &lq) in s.lq_keys.iter().enumerate() {
                                if lq & 0xffff == u64::from(q) {
                                    add(r, lq);
                                }
                            }
                        }
                    }
                });
            }
            s.acc = Vec::new();
            s.sums = Vec::new();
            s.afin = Vec::new();
            s.lq_keys = Vec::new();
        }
    }
    tracing::debug!(
        finals = nf,
        counts = table.counts.len(),
        sums = table.sums.len(),
        rss_mb = super::resident_mb(),
        cpu = ?super::cpu_seconds(),
        "finest units"
    );
    // The runs of cut addresses: taken out, then counted once, combined.
    for (source, cut) in &cut_runs {
        if cut.is_empty() {
            continue;
        }
        let (source, finals_of_source) = (*source, &plan.addr_finals[*source]);
        let abases = &plan.addr_bases[source];
        // Counts are whole numbers: a run taken out is subtracted, with wrapping arithmetic,
        // from counts it was added to, so no count ends below zero.
        let mut add_run = |loc: u32, q: u16, vals: &[f32; MAX_ADDR_BASES], take_out: bool| {
            cbuf.fill(0);
            for (j, f) in finals_of_source {
                cbuf[*j] += addr_value(f, vals);
            }
            let sign = if take_out { -1 } else { 1 };
            register_units[loc as usize] += sign * register_of(&cbuf);
            for &u in &us.leaves[loc as usize] {
                let (counts, _) = table.row_mut(u, q);
                for (d, &v) in counts.iter_mut().zip(&cbuf) {
                    *d = if take_out {
                        d.wrapping_sub(v)
                    } else {
                        d.wrapping_add(v)
                    };
                }
            }
        };
        // Per repeated key: location, quarter and the values of its runs combined.
        let mut combined: AHashMap<u64, (u32, u16, [f32; MAX_ADDR_BASES])> = AHashMap::new();
        for &(loc, q, ref r) in cut {
            add_run(loc, q, &r.vals, true);
            match combined.get_mut(&r.key) {
                None => {
                    combined.insert(r.key, (loc, q, r.vals));
                }
                Some(c) => {
                    // Locations are numbered in key order: the smallest key is the smallest
                    // number.
                    c.0 = c.0.min(loc);
                    for (l, &b) in abases.iter().enumerate() {
                        if matches!(plan.bases[b].value, BaseValue::Max(_)) {
                            c.2[l] = c.2[l].max(r.vals[l]);
                        } else {
                            c.2[l] += r.vals[l];
                        }
                    }
                }
            }
        }
        let mut combined: Vec<_> = combined.into_iter().collect();
        combined.sort_unstable_by_key(|&(key, _)| key);
        for (_, (loc, q, vals)) in &combined {
            add_run(*loc, *q, vals, false);
        }
    }
    // Without the register in the catalogue every address draws.
    let no_register = !register.contains(&true);
    let registered: Vec<bool> = register_units
        .iter()
        .map(|&v| no_register || v > 0)
        .collect();
    // The threads' accumulations are freed while the parents are summed.
    std::thread::scope(|sc| {
        sc.spawn(move || drop(partials));
        rollup::roll_up_parents(&us, &mut table);
        tracing::debug!(rss_mb = super::resident_mb(), "parents summed");
        rollup::aggregates(&locations, us, table, &registered, plan)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::CountKind;
    use crate::ingest::read::MAX_COLUMNS;

    /// A register row: resident `r` of address `a` (on a 40 m grid in Venlo) in quarter `q`.
    fn register_row(a: u64, r: u64, q: u16, line: u64) -> Parsed {
        let mut values = [0.0; MAX_COLUMNS];
        for (c, v) in values.iter_mut().enumerate() {
            #[expect(clippy::cast_precision_loss, reason = "small test values")]
            let x = ((a * 7 + r * 3 + u64::from(q) + c as u64) % 13) as f64;
            *v = if c == 0 { x % 2.0 } else { x };
        }
        #[expect(clippy::cast_precision_loss, reason = "small test values")]
        let (x, y) = (
            207_000.0 + (a % 60) as f64 * 40.0,
            375_000.0 + (a / 60) as f64 * 40.0,
        );
        Parsed {
            line,
            key_hash: (a << 20 | r << 16 | u64::from(q)).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            address: a.wrapping_mul(0xBF58_476D_1CE4_E5B9),
            postcode: *b"5912AB",
            x,
            y,
            period: 8100 + q,
            values,
        }
    }

    /// Per unit and quarter with data: the unit, the quarter, (value, count) per measure.
    type Figures = Vec<(UnitKey, u16, Vec<(f64, f64)>)>;

    /// Every unit's key, quarter and figures, in the table's order.
    fn figures(ua: &UnitAggregates) -> Figures {
        (0..ua.rows.len())
            .map(|r| {
                let (u, q) = ua.rows[r];
                (
                    ua.units[u as usize],
                    q,
                    (0..ua.n_measures).map(|m| ua.value(r, m)).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn rows_in_any_order_give_the_same_figures_and_compaction_bounds_the_rows_kept() {
        let cat = Catalogue::builtin().unwrap();
        let plan = Plan::new(&cat).unwrap();
        let bounds = crate::spatial::Boundaries::embedded().unwrap();
        let brp = cat.sources.iter().position(|s| s.id == "brp").unwrap();
        // 1,200 addresses × 4 quarters × 3 residents, quarter by quarter and address by
        // address, as extracts come; 4,800 distinct (location, quarter) keys.
        let mut grouped = Vec::new();
        for q in 0..4u16 {
            for a in 0..1_200u64 {
                for r in 0..3 {
                    grouped.push(register_row(a, r, q, grouped.len() as u64 + 2));
                }
            }
        }
        // The same rows shuffled (a fixed permutation): no two rows of a key together.
        let mut shuffled = grouped.clone();
        let n = shuffled.len();
        for i in (1..n).rev() {
            let j = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) as usize % (i + 1);
            shuffled.swap(i, j);
        }
        let mut lookups = Vec::new();
        let mut run = |rows: &[Parsed], compact_above: usize| -> (Vec<_>, usize) {
            let locator = Locator::new(&bounds);
            let mut p = Partial::new(&plan, &locator, None);
            p.compact_above = compact_above;
            for (i, row) in rows.iter().enumerate() {
                p.add(brp, i as u64, row).unwrap();
            }
            p.end_piece();
            let kept = p.src[brp].lq_keys.len();
            lookups.push(p.lookups);
            (figures(&finish(vec![p])), kept)
        };
        let (expected, kept) = run(&grouped, usize::MAX);
        assert_eq!(kept, 4_800, "grouped rows: one accumulator row per key");
        assert!(expected.len() > 100 && expected.iter().any(|f| f.2.iter().any(|v| v.0 > 0.0)));
        let (same, kept) = run(&grouped, 100);
        assert_eq!(
            (same, kept),
            (expected.clone(), 4_800),
            "nothing to compact"
        );
        let (unbounded, kept_unbounded) = run(&shuffled, usize::MAX);
        assert_eq!(unbounded, expected);
        assert!(kept_unbounded > 12_000, "{kept_unbounded}");
        let (compacted, kept) = run(&shuffled, 100);
        assert_eq!(compacted, expected, "compaction changes no figure");
        // At most twice the keys (and the estimate's error), plus the rows between checks.
        assert!(kept <= 2 * 4_800 * 21 / 20 + 100, "{kept}");
        // Grouped rows are located by the order met before: a lookup per address in the
        // first quarter and one at the second quarter's start (the last address is then
        // known to lead to the first); shuffled rows need one nearly every row.
        assert_eq!(lookups[0], 1_200 + 1, "{lookups:?}");
        assert!(lookups[2] > 14_000, "{lookups:?}");
    }

    #[test]
    fn an_area_over_a_gemeente_border_belongs_to_the_gemeente_of_its_lowest_postcode() {
        let cat = Catalogue::builtin().unwrap();
        let plan = Plan::new(&cat).unwrap();
        let bounds = crate::spatial::Boundaries::embedded().unwrap();
        let brp = cat.sources.iter().position(|s| s.id == "brp").unwrap();
        // Venlo's centre and Reuver (Beesel), in one postcode area 5912 for this test.
        let (venlo, reuver) = ((209_000.0, 376_500.0), (202_500.0, 369_500.0));
        let gemeente = |(x, y): (f64, f64)| {
            let (lon, lat) = crate::spatial::rd_to_wgs84(x, y);
            bounds.locate(lon, lat).unwrap().gemeente as u64
        };
        assert_ne!(gemeente(venlo), gemeente(reuver), "two gemeenten");
        for (lowest, other) in [(venlo, reuver), (reuver, venlo)] {
            let row = |a: u64, postcode: &[u8; 6], (x, y): (f64, f64), line: u64| Parsed {
                postcode: *postcode,
                x,
                y,
                ..register_row(a, 0, 0, line)
            };
            let rows = [row(1, b"5912AA", lowest, 2), row(2, b"5912ZZ", other, 3)];
            // Whichever address comes first in the extract.
            for order in [[0, 1], [1, 0]] {
                let locator = Locator::new(&bounds);
                let mut p = Partial::new(&plan, &locator, None);
                for (i, &r) in order.iter().enumerate() {
                    p.add(brp, i as u64, &rows[r]).unwrap();
                }
                p.end_piece();
                let ua = finish(vec![p]);
                let of = |level: Level| {
                    let u = ua.units.iter().position(|k| k.level == level).unwrap();
                    ua.units[ua.unit_gemeente[u] as usize].key
                };
                assert_eq!(of(Level::Pc4), gemeente(lowest), "{order:?}");
                // Each PC6 lies on its own side, and the H3 cells are far apart.
                assert_eq!(ua.units.iter().filter(|k| k.level == Level::Pc6).count(), 2);
            }
        }
    }

    #[test]
    fn a_catalogue_with_too_many_address_counts_per_source_is_refused() {
        let mut cat = Catalogue::builtin().unwrap();
        assert!(Plan::new(&cat).is_ok());
        let template = cat.indicator("adresdrukte").unwrap().clone();
        for i in 0..MAX_ADDR_BASES {
            let mut ind = template.clone();
            ind.about.id = format!("extra_{i}");
            ind.numerator.count = Some(CountKind::Addresses);
            ind.numerator.conditions = vec![format!("maanden_op_adres < {}", i + 2)];
            cat.indicators.push(ind);
        }
        let err = Plan::new(&cat).unwrap_err();
        assert!(
            err.contains("'brp'") && err.contains("address-level"),
            "{err}"
        );
    }
}
