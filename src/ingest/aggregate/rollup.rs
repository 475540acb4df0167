//! Step 3's second half: the units of every level, a table of figures per unit and quarter
//! (filled at each location's finest units, then rolled up through the parents: H3 by index,
//! PC6 → PC4, buurt → wijk → gemeente), with the structure that disclosure control needs.

use super::*;

/// The units of every level that the located addresses fall in, and how they nest.
pub(super) struct Units {
    pub(super) units: Vec<UnitKey>,
    /// Per location: its unit of every level it has (gemeente first).
    pub(super) memberships: Vec<Vec<u32>>,
    pub(super) parent: Vec<Option<u32>>,
    /// Per location: its finest units (those of its units that are no other's parent).
    pub(super) leaves: Vec<Vec<u32>>,
    unit_gemeente: Vec<u32>,
    unit_wijk: Vec<Option<u32>>,
}

/// Numbers the units of every level in location order and links each to its parent.
pub(super) fn units(locations: &[Location]) -> Units {
    let mut units: Vec<UnitKey> = Vec::new();
    let mut unit_of: AHashMap<UnitKey, u32> = AHashMap::new();
    let mut intern = |k: UnitKey| -> u32 {
        *unit_of.entry(k).or_insert_with(|| {
            units.push(k);
            u32::try_from(units.len() - 1).unwrap_or(u32::MAX)
        })
    };
    let memberships: Vec<Vec<u32>> = locations
        .iter()
        .map(|loc| {
            let mut m = Vec::with_capacity(9);
            m.push(intern(UnitKey {
                level: Level::Gemeente,
                key: u64::from(loc.gemeente),
            }));
            if let Some(w) = loc.wijk {
                m.push(intern(UnitKey {
                    level: Level::Wijk,
                    key: u64::from(w),
                }));
            }
            if let Some(b) = loc.buurt {
                m.push(intern(UnitKey {
                    level: Level::Buurt,
                    key: u64::from(b),
                }));
            }
            m.push(intern(UnitKey {
                level: Level::Pc4,
                key: pack_pc4(&loc.postcode),
            }));
            m.push(intern(UnitKey {
                level: Level::Pc6,
                key: pack_pc6(&loc.postcode),
            }));
            for (lvl, c) in [Level::H3_7, Level::H3_8, Level::H3_9, Level::H3_10]
                .into_iter()
                .zip(loc.cells)
            {
                m.push(intern(UnitKey {
                    level: lvl,
                    key: u64::from(c),
                }));
            }
            m
        })
        .collect();
    let mut parent = vec![None; units.len()];
    for m in &memberships {
        for &u in m {
            if let Some(pl) = units[u as usize].level.parent() {
                parent[u as usize] = m.iter().copied().find(|&v| units[v as usize].level == pl);
            }
        }
    }
    let mut unit_gemeente = vec![0u32; units.len()];
    let mut unit_wijk: Vec<Option<u32>> = vec![None; units.len()];
    let mut assigned = vec![false; units.len()];
    for m in &memberships {
        let wijk = m
            .iter()
            .copied()
            .find(|&v| units[v as usize].level == Level::Wijk);
        for &u in m {
            if !assigned[u as usize] {
                assigned[u as usize] = true;
                unit_gemeente[u as usize] = m[0];
                unit_wijk[u as usize] = wijk;
            }
        }
    }
    let leaves: Vec<Vec<u32>> = memberships
        .iter()
        .map(|m| {
            m.iter()
                .copied()
                .filter(|&u| !m.iter().any(|&v| parent[v as usize] == Some(u)))
                .collect()
        })
        .collect();
    tracing::debug!(units = units.len(), "units");
    Units {
        units,
        memberships,
        parent,
        leaves,
        unit_gemeente,
        unit_wijk,
    }
}

/// The figures of every unit and quarter: a dense table, quarter-major (each quarter is a
/// slice of its own, filled on its own core). Per row, every measure's count (units, rows or
/// addresses: whole numbers, `u32`) and, for the few measures that sum a column, the sum
/// (`f64`): a quarter of the bytes of a (value, count) pair of `f64` per measure, and at
/// national size these are the largest tables of an ingest.
pub(super) struct Table {
    pub(super) q0: u16,
    pub(super) nq: usize,
    pub(super) n: usize,
    pub(super) nf: usize,
    /// Per measure: its slot among a row's sums, if it sums a column.
    pub(super) sum_slot: Vec<Option<usize>>,
    /// Sums per row.
    pub(super) ns: usize,
    pub(super) counts: Vec<u32>,
    pub(super) sums: Vec<f64>,
    pub(super) present: Vec<bool>,
}

/// One quarter of a [`Table`], to fill on one core.
pub(super) struct Quarter<'t> {
    nf: usize,
    ns: usize,
    counts: &'t mut [u32],
    sums: &'t mut [f64],
    present: &'t mut [bool],
}

impl Quarter<'_> {
    /// The counts and sums of unit `u`, marked as having data.
    #[inline]
    pub(super) fn row(&mut self, u: usize) -> (&mut [u32], &mut [f64]) {
        self.present[u] = true;
        (
            &mut self.counts[u * self.nf..(u + 1) * self.nf],
            &mut self.sums[u * self.ns..(u + 1) * self.ns],
        )
    }
}

impl Table {
    /// A zeroed table. Its pages are mapped as they are first written (the memory of the
    /// accumulations it is filled from is freed meanwhile).
    pub(super) fn new(q0: u16, q1: u16, n: usize, sum_slot: Vec<Option<usize>>, ns: usize) -> Self {
        let nq = if q0 <= q1 {
            usize::from(q1 - q0) + 1
        } else {
            0
        };
        let nf = sum_slot.len();
        Self {
            q0,
            nq,
            n,
            nf,
            sum_slot,
            ns,
            counts: vec![0; nq * n * nf],
            sums: vec![0.0; nq * n * ns],
            present: vec![false; nq * n],
        }
    }

    /// The row of unit `u` in quarter `q`.
    #[inline]
    pub(super) fn row(&self, u: u32, q: u16) -> usize {
        usize::from(q - self.q0) * self.n + u as usize
    }

    /// The counts and sums of unit `u` in quarter `q`, marked as having data.
    pub(super) fn row_mut(&mut self, u: u32, q: u16) -> (&mut [u32], &mut [f64]) {
        let r = self.row(u, q);
        self.present[r] = true;
        let (nf, ns) = (self.nf, self.ns);
        (
            &mut self.counts[r * nf..(r + 1) * nf],
            &mut self.sums[r * ns..(r + 1) * ns],
        )
    }

    /// Every quarter, to fill on its own core.
    pub(super) fn quarters_mut(
        &mut self,
    ) -> impl rayon::iter::IndexedParallelIterator<Item = (u16, Quarter<'_>)> {
        use rayon::prelude::*;
        let (n, nf, ns, q0) = (self.n.max(1), self.nf, self.ns, self.q0);
        // A table without sums has an empty slice per quarter.
        let sums: Vec<&mut [f64]> = if ns == 0 {
            (0..self.nq).map(|_| <&mut [f64]>::default()).collect()
        } else {
            self.sums.chunks_mut(n * ns).collect()
        };
        self.counts
            .par_chunks_mut(n * nf)
            .zip(sums)
            .zip(self.present.par_chunks_mut(n))
            .enumerate()
            .map(move |(qi, ((counts, sums), present))| {
                (
                    q0 + u16::try_from(qi).unwrap_or(u16::MAX),
                    Quarter {
                        nf,
                        ns,
                        counts,
                        sums,
                        present,
                    },
                )
            })
    }
}

/// Sums every unit into its parent, per quarter, finest levels first.
pub(super) fn roll_up_parents(us: &Units, table: &mut Table) {
    use rayon::prelude::*;
    let (nf, ns) = (table.nf, table.ns);
    let of_level = |level: Level| -> Vec<u32> {
        (0..u32::try_from(us.units.len()).unwrap_or(u32::MAX))
            .filter(|&u| us.units[u as usize].level == level && us.parent[u as usize].is_some())
            .collect()
    };
    let levels: Vec<Vec<u32>> = [
        Level::H3_10,
        Level::H3_9,
        Level::H3_8,
        Level::Pc6,
        Level::Buurt,
        Level::Wijk,
    ]
    .into_iter()
    .map(of_level)
    .collect();
    table.quarters_mut().for_each(|(_, mut quarter)| {
        let (mut counts, mut sums) = (vec![0u32; nf], vec![0.0; ns]);
        for level in &levels {
            for &u in level {
                if !quarter.present[u as usize] {
                    continue;
                }
                let Some(p) = us.parent[u as usize] else {
                    continue;
                };
                let (c, s) = quarter.row(u as usize);
                counts.copy_from_slice(c);
                sums.copy_from_slice(s);
                let (pc, ps) = quarter.row(p as usize);
                for (d, v) in pc.iter_mut().zip(&counts) {
                    *d = d.wrapping_add(*v);
                }
                for (d, v) in ps.iter_mut().zip(&sums) {
                    *d += v;
                }
            }
        }
    });
}

/// The aggregates of `table`, with the disclosure structure and the PC6 outlines drawn
/// from the addresses in the population register (`registered`, per location).
pub(super) fn aggregates(
    locations: &[Location],
    us: Units,
    table: Table,
    registered: &[bool],
    plan: &Plan,
) -> UnitAggregates {
    let Units {
        units,
        memberships,
        parent,
        unit_gemeente,
        unit_wijk,
        ..
    } = us;
    let structure = Structure::new(
        units.iter().map(|u| u.level).collect(),
        parent,
        &memberships,
    );
    tracing::debug!("structure");
    let mut rows = Vec::new();
    for qi in 0..table.nq {
        for u in 0..table.n {
            if table.present[qi * table.n + u] {
                #[expect(clippy::cast_possible_truncation, reason = "bounded by the table")]
                rows.push((u as u32, table.q0 + qi as u16));
            }
        }
    }
    let mut cells_of_pc6: AHashMap<u32, Vec<CellIndex>> = AHashMap::new();
    for ((loc, m), _) in locations
        .iter()
        .zip(&memberships)
        .zip(registered)
        .filter(|(_, &reg)| reg)
    {
        if let Some(&u) = m.iter().find(|&&u| units[u as usize].level == Level::Pc6) {
            cells_of_pc6.entry(u).or_default().push(loc.cells[3]);
        }
    }
    UnitAggregates {
        units,
        structure,
        rows,
        table,
        n_measures: plan.finals.len(),
        measure_specs: plan.measure_specs.clone(),
        addresses: locations.len(),
        cells_of_pc6,
        unit_gemeente,
        unit_wijk,
    }
}

/// Unit keys: H3 cell index, packed postcode, or boundary index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnitKey {
    pub level: Level,
    pub key: u64,
}

/// PC4 digits as a number.
#[must_use]
pub fn pack_pc4(pc: &[u8; 6]) -> u64 {
    pc[..4]
        .iter()
        .fold(0u64, |a, &d| a * 10 + u64::from(d - b'0'))
}

/// PC6 packed in a u64 (bytes).
#[must_use]
pub fn pack_pc6(pc: &[u8; 6]) -> u64 {
    pc.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b))
}

/// The text of a packed PC6.
#[must_use]
pub fn unpack_pc6(k: u64) -> String {
    (0..6)
        .rev()
        .map(|i| char::from(((k >> (i * 8)) & 0xff) as u8))
        .collect()
}

/// Exact (not yet disclosure-controlled) aggregates per unit and quarter. Lives in memory
/// only, between aggregation and disclosure control.
pub struct UnitAggregates {
    pub units: Vec<UnitKey>,
    pub structure: Structure,
    /// `(unit, quarter)` of every row with data, quarter by quarter.
    pub rows: Vec<(u32, u16)>,
    table: Table,
    pub n_measures: usize,
    pub measure_specs: Vec<MeasureSpec>,
    /// Distinct located coordinates.
    pub addresses: usize,
    /// The res-10 cells of each PC6's registered (BRP) addresses: its published geometry.
    pub cells_of_pc6: AHashMap<u32, Vec<CellIndex>>,
    /// The gemeente unit of each unit's first address.
    pub unit_gemeente: Vec<u32>,
    /// The wijk unit of each unit's first address, if any.
    pub unit_wijk: Vec<Option<u32>>,
}

impl UnitAggregates {
    /// `(value, units)` of measure `m` in row `r`.
    #[must_use]
    pub fn value(&self, r: usize, m: usize) -> (f64, f64) {
        let (u, q) = self.rows[r];
        let t = &self.table;
        let row = t.row(u, q);
        let count = f64::from(t.counts[row * t.nf + m]);
        match t.sum_slot[m] {
            Some(s) => (t.sums[row * t.ns + s], count),
            None => (count, count),
        }
    }

    /// Whether measures `a` and `b` count the same number of units in every unit and
    /// quarter (the numerators of two means over the same respondents).
    #[must_use]
    pub fn same_counts(&self, a: usize, b: usize) -> bool {
        let t = &self.table;
        a == b || t.counts.chunks_exact(t.nf).all(|row| row[a] == row[b])
    }

    /// Index of a catalogue measure.
    #[must_use]
    pub fn measure_index(&self, spec: &MeasureSpec) -> Option<usize> {
        self.measure_specs.iter().position(|m| m == spec)
    }
}
