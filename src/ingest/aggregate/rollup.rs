//! Step 3's second half: the figures per location and quarter rolled up through the parents
//! of every level (H3 by index, PC6 → PC4, buurt → wijk → gemeente), with the structure that
//! disclosure control needs.

use super::*;

/// Rows of figures per (location, quarter): a dense table (quarter-major, so that rows read
/// in extract order are written nearly in sequence) when it is small enough, else a map.
pub(super) struct LpIndex {
    pub(super) nf: usize,
    /// `(first quarter, quarters, locations)` when dense.
    pub(super) dense: Option<(u16, usize, usize)>,
    pub(super) present: Vec<bool>,
    pub(super) map: AHashMap<u64, u32>,
    pub(super) keys: Vec<(u32, u16)>,
    pub(super) last: (u64, usize),
}

impl LpIndex {
    /// A dense table when it holds at most `dense_max` values.
    pub(super) fn new(locations: usize, q0: u16, q1: u16, nf: usize, dense_max: usize) -> Self {
        let nq = usize::from(q1.saturating_sub(q0)) + 1;
        let dense =
            (q0 <= q1 && locations * nq * nf * 2 <= dense_max).then_some((q0, nq, locations));
        Self {
            nf,
            dense,
            present: dense.map_or_else(Vec::new, |(_, nq, l)| vec![false; nq * l]),
            map: AHashMap::new(),
            keys: Vec::new(),
            last: (u64::MAX, 0),
        }
    }

    /// The value table, zeroed (dense) or empty (grows with [`Self::row`]). A dense table's
    /// pages are touched on every core at once rather than one by one as rows arrive.
    pub(super) fn values(&self) -> Vec<f64> {
        use rayon::prelude::*;
        self.dense.map_or_else(Vec::new, |(_, nq, l)| {
            let mut v = vec![0.0; nq * l * self.nf * 2];
            v.par_chunks_mut(1 << 15).for_each(|c| c.fill(0.0));
            v
        })
    }

    #[inline]
    pub(super) fn row(&mut self, loc: u32, q: u16, vals: &mut Vec<f64>) -> usize {
        if let Some((q0, _, l)) = self.dense {
            let r = usize::from(q - q0) * l + loc as usize;
            self.present[r] = true;
            return r;
        }
        let key = u64::from(loc) << 16 | u64::from(q);
        if self.last.0 != key {
            let (keys, nf) = (&mut self.keys, self.nf);
            let r = *self.map.entry(key).or_insert_with(|| {
                keys.push((loc, q));
                vals.resize(vals.len() + nf * 2, 0.0);
                u32::try_from(keys.len() - 1).unwrap_or(u32::MAX)
            });
            self.last = (key, r as usize);
        }
        self.last.1
    }

    /// `(row, location, quarter)` of every row with data, in a fixed order.
    pub(super) fn rows(&self) -> Vec<(usize, u32, u16)> {
        match self.dense {
            Some((q0, _, l)) => self
                .present
                .iter()
                .enumerate()
                .filter(|(_, &p)| p)
                .map(|(r, _)| {
                    #[expect(clippy::cast_possible_truncation, reason = "bounded by the table")]
                    (r, (r % l) as u32, q0 + (r / l) as u16)
                })
                .collect(),
            None => {
                let mut rows: Vec<(usize, u32, u16)> = self
                    .keys
                    .iter()
                    .enumerate()
                    .map(|(r, &(loc, q))| (r, loc, q))
                    .collect();
                rows.sort_unstable_by_key(|&(_, loc, q)| (q, loc));
                rows
            }
        }
    }
}

/// Builds the units of every level from the locations and sums the location figures into
/// them: into each location's finest units, then up through the parents.
pub(super) fn rollup(
    locations: &[Location],
    lp: &[(usize, u32, u16)],
    lp_vals: &[f64],
    plan: &Plan,
) -> UnitAggregates {
    let nf = plan.finals.len();
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
    // A location's finest units: those of its units that are no other's parent.
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

    // The figures of every unit and, at the same time, the disclosure structure.
    let figures = || {
        let mut row_of: AHashMap<(u32, u16), u32> = AHashMap::new();
        let mut rows: Vec<(u32, u16)> = Vec::new();
        let mut vals: Vec<f64> = Vec::new();
        let mut add_into =
            |u: u32, period: u16, src: &[f64], rows: &mut Vec<(u32, u16)>, vals: &mut Vec<f64>| {
                let row = *row_of.entry((u, period)).or_insert_with(|| {
                    rows.push((u, period));
                    vals.resize(vals.len() + nf * 2, 0.0);
                    u32::try_from(rows.len() - 1).unwrap_or(u32::MAX)
                }) as usize;
                for (d, v) in vals[row * nf * 2..(row + 1) * nf * 2].iter_mut().zip(src) {
                    *d += v;
                }
            };
        for &(r, loc, period) in lp {
            let src = &lp_vals[r * nf * 2..(r + 1) * nf * 2];
            for &u in &leaves[loc as usize] {
                add_into(u, period, src, &mut rows, &mut vals);
            }
        }
        // Up through the parents, finest levels first.
        for level in [
            Level::H3_10,
            Level::H3_9,
            Level::H3_8,
            Level::Pc6,
            Level::Buurt,
            Level::Wijk,
        ] {
            let of_level: Vec<usize> = (0..rows.len())
                .filter(|&r| units[rows[r].0 as usize].level == level)
                .collect();
            for r in of_level {
                let (u, period) = rows[r];
                if let Some(p) = parent[u as usize] {
                    let src = vals[r * nf * 2..(r + 1) * nf * 2].to_vec();
                    add_into(p, period, &src, &mut rows, &mut vals);
                }
            }
        }
        (rows, vals)
    };
    let ((rows, vals), structure) = rayon::join(figures, || {
        Structure::new(
            units.iter().map(|u| u.level).collect(),
            parent.clone(),
            &memberships,
        )
    });
    tracing::debug!("structure");
    // PC6 outlines only from addresses in the population register (BRP), when it is in the
    // extracts: one row of another partner at an address where nobody is registered must not
    // draw a cell on the map.
    let register: Vec<usize> = plan
        .measure_specs
        .iter()
        .enumerate()
        .filter(|(_, m)| m.source == REGISTER_SOURCE)
        .map(|(i, _)| i)
        .collect();
    let mut registered = vec![register.is_empty(); locations.len()];
    for &(r, loc, _) in lp {
        if register
            .iter()
            .any(|&m| lp_vals[(r * nf + m) * 2 + 1] > 0.0)
        {
            registered[loc as usize] = true;
        }
    }
    let mut cells_of_pc6: AHashMap<u32, Vec<CellIndex>> = AHashMap::new();
    for ((loc, m), _) in locations
        .iter()
        .zip(&memberships)
        .zip(&registered)
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
        vals,
        n_measures: nf,
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
    /// `(unit, quarter)` per row.
    pub rows: Vec<(u32, u16)>,
    vals: Vec<f64>,
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
        let i = (r * self.n_measures + m) * 2;
        (self.vals[i], self.vals[i + 1])
    }

    /// Index of a catalogue measure.
    #[must_use]
    pub fn measure_index(&self, spec: &MeasureSpec) -> Option<usize> {
        self.measure_specs.iter().position(|m| m == spec)
    }
}
