//! Steps 2 and 3: locate each distinct address once (H3 res 7–10 by index, PC4/PC6 from the
//! postcode, buurt/wijk/gemeente by point-in-polygon) and aggregate rows per address and
//! quarter, then roll the address aggregates up to every spatial unit.
//!
//! Nothing here outlives the ingest: the address table is dropped once the unit aggregates
//! are built.

use super::read::Parsed;
use super::RowError;
use crate::catalogue::{AddressRule, Catalogue, Condition, Measure, MeasureSpec, RowValue};
use crate::disclosure::Structure;
use crate::spatial::{h3_cells, rd_to_wgs84, Boundaries, Level};
use ahash::AHashMap;
use h3o::CellIndex;

/// Where an address lies.
#[derive(Debug, Clone, Copy)]
pub struct Location {
    pub cells: [CellIndex; 4],
    pub postcode: [u8; 6],
    pub buurt: Option<u32>,
    pub wijk: Option<u32>,
    pub gemeente: u32,
}

/// A row-level accumulator: a measure without its address rule, or the max of a column.
#[derive(Debug, Clone, PartialEq)]
struct Base {
    source: usize,
    conditions: Vec<Condition>,
    value: BaseValue,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum BaseValue {
    One,
    Sum(usize),
    Max(usize),
}

/// A measure as computed per address and quarter from the bases.
#[derive(Debug, Clone)]
enum Final {
    Rows(usize),
    AddressesMinRows {
        base: usize,
        min: f64,
    },
    AddressesAreaBelow {
        rows: usize,
        area: usize,
        value: f64,
    },
}

/// Unit keys: H3 cell index, packed postcode, or boundary index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnitKey {
    pub level: Level,
    pub key: u64,
}

/// Address- and quarter-level accumulation of one ingest. An address is a dwelling
/// (postcode, house number, suffix); a location is a distinct coordinate, shared by the
/// dwellings of one building.
pub struct Aggregator<'a> {
    bounds: &'a Boundaries,
    bases: Vec<Base>,
    by_source: Vec<Vec<usize>>,
    finals: Vec<Final>,
    /// One entry per distinct catalogue measure (numerators and denominators).
    pub measure_specs: Vec<MeasureSpec>,
    /// Address (postcode + huisnummer + toevoeging, hashed) → location.
    addr_of: AHashMap<u64, u32>,
    /// Distinct coordinates (with postcode) → location.
    loc_of: AHashMap<([u8; 6], u64, u64), u32>,
    pub locations: Vec<Location>,
    slot_of: AHashMap<u64, u32>,
    slots: Vec<(u32, u16)>,
    /// Per slot and base: (sum, rows). `f32` is exact here: one address in one quarter.
    acc: Vec<f32>,
    /// The previous row's slot key and slot: extracts list an address's rows together.
    last: (u64, usize),
}

const NOWHERE: u32 = u32::MAX;

impl<'a> Aggregator<'a> {
    /// Prepares the accumulators for every measure in the catalogue.
    ///
    /// # Panics
    /// Never for a catalogue that passed [`Catalogue::parse`].
    #[must_use]
    pub fn new(cat: &Catalogue, bounds: &'a Boundaries) -> Self {
        let mut bases: Vec<Base> = Vec::new();
        let mut base_id = |b: Base| -> usize {
            if let Some(i) = bases.iter().position(|x| *x == b) {
                i
            } else {
                bases.push(b);
                bases.len() - 1
            }
        };
        let mut finals = Vec::new();
        let mut measure_specs: Vec<MeasureSpec> = Vec::new();
        for ind in &cat.indicators {
            for spec in [&ind.numerator, &ind.denominator] {
                if measure_specs.contains(spec) {
                    continue;
                }
                let m: Measure = cat.compile_measure(spec).expect("catalogue was checked");
                let value = match m.value {
                    RowValue::One => BaseValue::One,
                    RowValue::Sum(c) => BaseValue::Sum(c),
                };
                let rows = base_id(Base {
                    source: m.source,
                    conditions: m.conditions.clone(),
                    value,
                });
                finals.push(match m.per_address {
                    None => Final::Rows(rows),
                    Some(AddressRule::MinRows(min)) => Final::AddressesMinRows { base: rows, min },
                    Some(AddressRule::AreaPerRowBelow { column, value }) => {
                        let area = base_id(Base {
                            source: m.source,
                            conditions: m.conditions,
                            value: BaseValue::Max(column),
                        });
                        Final::AddressesAreaBelow { rows, area, value }
                    }
                });
                measure_specs.push(spec.clone());
            }
        }
        let mut by_source = vec![Vec::new(); cat.sources.len()];
        for (i, b) in bases.iter().enumerate() {
            by_source[b.source].push(i);
        }
        Self {
            bounds,
            bases,
            by_source,
            finals,
            measure_specs,
            addr_of: AHashMap::new(),
            loc_of: AHashMap::new(),
            locations: Vec::new(),
            slot_of: AHashMap::new(),
            slots: Vec::new(),
            acc: Vec::new(),
            last: (u64::MAX, 0),
        }
    }

    /// Index of a catalogue measure among [`Self::measure_specs`].
    #[must_use]
    pub fn measure_index(&self, spec: &MeasureSpec) -> usize {
        self.measure_specs
            .iter()
            .position(|m| m == spec)
            .unwrap_or(usize::MAX)
    }

    fn locate(&mut self, p: &Parsed) -> u32 {
        if let Some(&a) = self.addr_of.get(&p.address) {
            return a;
        }
        let key = (p.postcode, p.x.to_bits(), p.y.to_bits());
        if let Some(&a) = self.loc_of.get(&key) {
            self.addr_of.insert(p.address, a);
            return a;
        }
        let (lon, lat) = rd_to_wgs84(p.x, p.y);
        let id = match (h3_cells(lon, lat), self.bounds.locate(lon, lat)) {
            (Some(cells), Some((buurt, gemeente))) => {
                let wijk = buurt.and_then(|b| {
                    let code = self.bounds.buurten.areas[b].wijk.as_deref()?;
                    self.bounds.wijken.index(code)
                });
                self.locations.push(Location {
                    cells,
                    postcode: p.postcode,
                    buurt: buurt.map(|b| u32::try_from(b).unwrap_or(NOWHERE)),
                    wijk: wijk.map(|w| u32::try_from(w).unwrap_or(NOWHERE)),
                    gemeente: u32::try_from(gemeente).unwrap_or(NOWHERE),
                });
                u32::try_from(self.locations.len() - 1).unwrap_or(NOWHERE)
            }
            _ => NOWHERE,
        };
        self.loc_of.insert(key, id);
        self.addr_of.insert(p.address, id);
        id
    }

    /// Adds one validated row of `source`.
    ///
    /// # Errors
    /// Coordinates in no Dutch gemeente. (Duplicate keys are found by the caller.)
    pub fn add(&mut self, source: usize, p: &Parsed) -> Result<(), RowError> {
        let nb = self.bases.len();
        // One slot per address (dwelling) and quarter; the address is located only once.
        let slot_key = p.address ^ u64::from(p.period).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let slot = if self.last.0 == slot_key {
            self.last.1
        } else {
            let slot = self.slot(slot_key, p)?;
            self.last = (slot_key, slot);
            slot
        };
        let acc = &mut self.acc[slot * nb * 2..(slot + 1) * nb * 2];
        for &b in &self.by_source[source] {
            let base = &self.bases[b];
            if base.conditions.iter().all(|c| c.holds(&p.values)) {
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "per-address values fit f32 exactly enough"
                )]
                match base.value {
                    BaseValue::One => acc[b * 2] += 1.0,
                    BaseValue::Sum(c) => acc[b * 2] += p.values[c] as f32,
                    BaseValue::Max(c) => acc[b * 2] = acc[b * 2].max(p.values[c] as f32),
                }
                acc[b * 2 + 1] += 1.0;
            }
        }
        Ok(())
    }

    fn slot(&mut self, slot_key: u64, p: &Parsed) -> Result<usize, RowError> {
        let nb = self.bases.len();
        Ok(match self.slot_of.get(&slot_key) {
            Some(&s) => s as usize,
            None => {
                let loc = self.locate(p);
                if loc == NOWHERE {
                    return Err(RowError {
                        line: p.line,
                        column: "x,y".into(),
                        rule: "coordinates lie in no Dutch gemeente".into(),
                    });
                }
                let s = self.slots.len();
                self.slots.push((loc, p.period));
                self.acc.resize(self.acc.len() + nb * 2, 0.0);
                self.slot_of
                    .insert(slot_key, u32::try_from(s).unwrap_or(NOWHERE));
                s
            }
        })
    }

    /// Number of distinct locations (coordinates) located.
    #[must_use]
    pub fn locations(&self) -> usize {
        self.locations.len()
    }

    fn final_value(&self, slot: usize, f: &Final) -> (f64, f64) {
        let nb = self.bases.len();
        let acc = &self.acc[slot * nb * 2..(slot + 1) * nb * 2];
        let a = |i: usize| f64::from(acc[i]);
        match *f {
            Final::Rows(b) => (a(b * 2), a(b * 2 + 1)),
            Final::AddressesMinRows { base, min } => {
                let q = f64::from(u8::from(a(base * 2 + 1) >= min && a(base * 2 + 1) > 0.0));
                (q, q)
            }
            Final::AddressesAreaBelow { rows, area, value } => {
                let n = a(rows * 2 + 1);
                let q = f64::from(u8::from(n > 0.0 && a(area * 2) / n < value));
                (q, q)
            }
        }
    }

    /// Rolls the address aggregates up to every unit of every level.
    #[must_use]
    pub fn finish(self) -> UnitAggregates {
        let mut units: Vec<UnitKey> = Vec::new();
        let mut unit_of: AHashMap<UnitKey, u32> = AHashMap::new();
        let mut intern = |k: UnitKey| -> u32 {
            *unit_of.entry(k).or_insert_with(|| {
                units.push(k);
                u32::try_from(units.len() - 1).unwrap_or(NOWHERE)
            })
        };
        let memberships: Vec<Vec<u32>> = self
            .locations
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
        let structure = Structure::new(
            units.iter().map(|u| u.level).collect(),
            parent,
            &memberships,
        );

        let nf = self.finals.len();
        let mut row_of: AHashMap<(u32, u16), u32> = AHashMap::new();
        let mut rows: Vec<(u32, u16)> = Vec::new();
        let mut vals: Vec<f64> = Vec::new();
        // First per location and quarter (the dwellings of a building together), then per unit.
        let mut lp_of: AHashMap<(u32, u16), usize> = AHashMap::new();
        let mut lp: Vec<(u32, u16)> = Vec::new();
        let mut lp_vals: Vec<f64> = Vec::new();
        for (slot, &(loc, period)) in self.slots.iter().enumerate() {
            let r = *lp_of.entry((loc, period)).or_insert_with(|| {
                lp.push((loc, period));
                lp_vals.resize(lp_vals.len() + nf * 2, 0.0);
                lp.len() - 1
            });
            for (j, f) in self.finals.iter().enumerate() {
                let (v, n) = self.final_value(slot, f);
                lp_vals[(r * nf + j) * 2] += v;
                lp_vals[(r * nf + j) * 2 + 1] += n;
            }
        }
        for (r, &(loc, period)) in lp.iter().enumerate() {
            let src = &lp_vals[r * nf * 2..(r + 1) * nf * 2];
            for &u in &memberships[loc as usize] {
                let row = *row_of.entry((u, period)).or_insert_with(|| {
                    rows.push((u, period));
                    vals.resize(vals.len() + nf * 2, 0.0);
                    u32::try_from(rows.len() - 1).unwrap_or(NOWHERE)
                }) as usize;
                for (d, v) in vals[row * nf * 2..(row + 1) * nf * 2].iter_mut().zip(src) {
                    *d += v;
                }
            }
        }
        let mut cells_of_pc6: AHashMap<u32, Vec<CellIndex>> = AHashMap::new();
        for (loc, m) in self.locations.iter().zip(&memberships) {
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
            measure_specs: self.measure_specs,
            addresses: self.locations.len(),
            cells_of_pc6,
            unit_gemeente,
            unit_wijk,
        }
    }
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
    pub addresses: usize,
    /// The res-10 cells of each PC6's addresses: its published geometry.
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
