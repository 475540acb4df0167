//! The aggregation plan: what each source's rows add up to (row-level bases, address-level
//! bases and their rule), derived once from the catalogue before any row is read.

#[allow(clippy::wildcard_imports)]
use super::*;

/// A row-level accumulator: a measure without its address rule, or the max of a column.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Base {
    pub(super) source: usize,
    pub(super) conditions: Vec<Condition>,
    pub(super) value: BaseValue,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum BaseValue {
    One,
    Sum(usize),
    Max(usize),
}

/// A measure as computed from the accumulators.
#[derive(Debug, Clone)]
pub(super) enum Final {
    /// Sum and row count of base `local` of `source`, per location and quarter.
    Rows { source: usize, local: usize },
    /// Addresses with at least `min` rows (and at least one) in address value `slot`.
    MinRows {
        source: usize,
        slot: usize,
        min: f32,
    },
    /// Addresses whose largest area (`area`) per row (`rows`) is below `value`.
    AreaBelow {
        source: usize,
        rows: usize,
        area: usize,
        value: f64,
    },
}

/// What to accumulate for a catalogue: built once, shared by the reading threads.
#[derive(Debug)]
pub struct Plan {
    pub(super) bases: Vec<Base>,
    /// Per source: its bases (global ids); position = local index in its accumulators.
    pub(super) src_bases: Vec<Vec<usize>>,
    /// Per source and local base: where its column's sum is kept in a row of the source's
    /// sums, for a base that sums a column. Every base counts its rows in the slot of its
    /// local index: counts are whole numbers (kept as `u32`), and only three of the
    /// catalogue's bases sum a column (kept as `f64`); national extracts have tens of
    /// millions of rows per source.
    pub(super) src_sum_slot: Vec<Vec<Option<usize>>>,
    /// Per source: the number of its bases (the width of a row of its counts).
    pub(super) src_width: Vec<usize>,
    /// Per source: the width of a row of its sums.
    pub(super) src_sum_width: Vec<usize>,
    /// Per source: the bases its address-level measures read, in address-slot order.
    pub(super) addr_bases: Vec<Vec<usize>>,
    pub(super) finals: Vec<Final>,
    /// Per source: its address-level finals (index among `finals`, final), counted when an
    /// address run closes.
    pub(super) addr_finals: Vec<Vec<(usize, Final)>>,
    /// One entry per distinct catalogue measure (numerators and denominators).
    pub measure_specs: Vec<MeasureSpec>,
}

impl Plan {
    /// Prepares the accumulators for every measure in the catalogue.
    ///
    /// # Errors
    /// When a source needs more than [`MAX_ADDR_BASES`] address-level accumulators.
    ///
    /// # Panics
    /// Never for a catalogue that passed [`Catalogue::parse`].
    pub fn new(cat: &Catalogue) -> Result<Self, String> {
        let mut bases: Vec<Base> = Vec::new();
        let mut base_id = |b: Base| -> usize {
            if let Some(i) = bases.iter().position(|x| *x == b) {
                i
            } else {
                bases.push(b);
                bases.len() - 1
            }
        };
        enum Pending {
            Rows(usize),
            MinRows(usize, f64),
            AreaBelow(usize, usize, f64),
        }
        let mut pending = Vec::new();
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
                pending.push(match m.per_address {
                    None => Pending::Rows(rows),
                    Some(AddressRule::MinRows(min)) => Pending::MinRows(rows, min),
                    Some(AddressRule::AreaPerRowBelow { column, value }) => {
                        let area = base_id(Base {
                            source: m.source,
                            conditions: m.conditions,
                            value: BaseValue::Max(column),
                        });
                        Pending::AreaBelow(rows, area, value)
                    }
                });
                measure_specs.push(spec.clone());
            }
        }
        let mut src_bases = vec![Vec::new(); cat.sources.len()];
        for (i, b) in bases.iter().enumerate() {
            if !matches!(b.value, BaseValue::Max(_)) {
                src_bases[b.source].push(i);
            }
        }
        let src_width: Vec<usize> = src_bases.iter().map(Vec::len).collect();
        let mut src_sum_slot: Vec<Vec<Option<usize>>> = vec![Vec::new(); cat.sources.len()];
        let mut src_sum_width = vec![0; cat.sources.len()];
        for (source, list) in src_bases.iter().enumerate() {
            for &b in list {
                let slot = matches!(bases[b].value, BaseValue::Sum(_)).then(|| {
                    src_sum_width[source] += 1;
                    src_sum_width[source] - 1
                });
                src_sum_slot[source].push(slot);
            }
        }
        let mut addr_bases: Vec<Vec<usize>> = vec![Vec::new(); cat.sources.len()];
        let mut addr_slot = |b: usize| -> usize {
            let list = &mut addr_bases[bases[b].source];
            if let Some(i) = list.iter().position(|&x| x == b) {
                i
            } else {
                list.push(b);
                list.len() - 1
            }
        };
        let local = |b: usize| -> usize {
            src_bases[bases[b].source]
                .iter()
                .position(|&x| x == b)
                .expect("row bases are listed")
        };
        #[expect(clippy::cast_possible_truncation, reason = "small row counts")]
        let finals: Vec<Final> = pending
            .into_iter()
            .map(|p| match p {
                Pending::Rows(b) => Final::Rows {
                    source: bases[b].source,
                    local: local(b),
                },
                Pending::MinRows(b, min) => Final::MinRows {
                    source: bases[b].source,
                    slot: addr_slot(b),
                    min: min as f32,
                },
                Pending::AreaBelow(rows, area, value) => Final::AreaBelow {
                    source: bases[rows].source,
                    rows: addr_slot(rows),
                    area: addr_slot(area),
                    value,
                },
            })
            .collect();
        if let Some((s, _)) = addr_bases
            .iter()
            .enumerate()
            .find(|(_, b)| b.len() > MAX_ADDR_BASES)
        {
            return Err(format!(
                "catalogue: source '{}' has more than {MAX_ADDR_BASES} distinct address-level counts (count = \"addresses\" with different conditions); merge or drop some",
                cat.sources[s].id
            ));
        }
        let mut addr_finals: Vec<Vec<(usize, Final)>> = vec![Vec::new(); cat.sources.len()];
        for (j, f) in finals.iter().enumerate() {
            if let Final::MinRows { source, .. } | Final::AreaBelow { source, .. } = *f {
                addr_finals[source].push((j, f.clone()));
            }
        }
        Ok(Self {
            bases,
            src_bases,
            src_sum_slot,
            src_width,
            src_sum_width,
            addr_bases,
            finals,
            addr_finals,
            measure_specs,
        })
    }

    /// The table's sum slot of each final that sums a column (`None`: the final's value is
    /// its count), and the number of such finals.
    pub(super) fn final_sum_slots(&self) -> (Vec<Option<usize>>, usize) {
        let mut n = 0;
        let slots = self
            .finals
            .iter()
            .map(|f| match *f {
                Final::Rows { source, local } if self.src_sum_slot[source][local].is_some() => {
                    n += 1;
                    Some(n - 1)
                }
                _ => None,
            })
            .collect();
        (slots, n)
    }

    /// Index of a catalogue measure among [`Self::measure_specs`].
    #[must_use]
    pub fn measure_index(&self, spec: &MeasureSpec) -> Option<usize> {
        self.measure_specs.iter().position(|m| m == spec)
    }
}
