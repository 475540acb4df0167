//! Parquet extracts: columns decoded by arrow-rs into batches typed as the rules need,
//! dictionaries parsed once per row group, batches whose values all keep the rules not
//! checked row by row.

use super::*;

/// A Parquet extract prepared for reading in row-group ranges: its layout, footer and the
/// columns to decode.
#[derive(Clone)]
pub(crate) struct ParquetPlan {
    lay: Layout,
    pub(super) meta: parquet::arrow::arrow_reader::ArrowReaderMetadata,
    mask: parquet::arrow::ProjectionMask,
    /// Rows per row group, in file order.
    pub groups: Vec<u64>,
    pub rows: u64,
    pub bytes: u64,
}

/// Whether every value of a batch's number column keeps the rules [`check_number`] applies
/// (whole numbers when the column was stored as integers, the range by the batch's minimum
/// and maximum), so that its rows need no check of their own. `false` means: check each row.
pub(super) fn batch_keeps_rules(
    spec: &crate::catalogue::ColumnSpec,
    integers: bool,
    a: &Float64Array,
) -> bool {
    use duckdb::arrow::compute::{max, min};
    if spec.ty == ColumnType::Int && !integers {
        return false;
    }
    // Floating-point minimum and maximum order NaN above every number; NaN also passes
    // `check_number`'s range rules, so a NaN maximum only means checking row by row.
    let (Some(lo), Some(hi)) = (min(a), max(a)) else {
        return false;
    };
    spec.min.is_none_or(|m| lo >= m) && spec.max.is_none_or(|m| hi <= m)
}

/// A text column of a Parquet batch: plain strings, or (for columns with few distinct
/// values, which Parquet writers dictionary-encode) keys into the row group's dictionary,
/// so that the strings are not copied out for every row.
#[derive(Clone, Copy)]
pub(super) enum Text<'b> {
    Plain(&'b StringArray),
    /// Keys, the dictionary's strings and the dictionary itself.
    Dict(&'b Int32Array, &'b StringArray, &'b ArrayRef),
}

impl<'b> Text<'b> {
    /// A column as decoded: text or dictionary-encoded text (see [`as_text`]).
    pub(super) fn of(a: &'b ArrayRef) -> Self {
        use duckdb::arrow::array::AsArray;
        use duckdb::arrow::datatypes::Int32Type;
        match a.as_dictionary_opt::<Int32Type>() {
            Some(d) => Self::Dict(d.keys(), d.values().as_string::<i32>(), d.values()),
            None => Self::Plain(a.as_string::<i32>()),
        }
    }

    /// Row `r`'s bytes; `None` when empty (null).
    #[inline]
    pub(super) fn get(self, r: usize) -> Option<&'b [u8]> {
        match self {
            Self::Plain(a) => (!null_at(a, r)).then(|| a.value(r).as_bytes()),
            Self::Dict(k, v, _) => {
                let i = dict_key(k, r)?;
                (i < v.len() && !null_at(v, i)).then(|| v.value(i).as_bytes())
            }
        }
    }
}

/// Whether row `r` of a column is empty (null).
#[inline]
pub(super) fn null_at(a: &impl Array, r: usize) -> bool {
    a.nulls().is_some_and(|n| n.is_null(r))
}

/// Row `r`'s dictionary key, if not empty.
#[inline]
pub(super) fn dict_key(keys: &Int32Array, r: usize) -> Option<usize> {
    if null_at(keys, r) {
        return None;
    }
    usize::try_from(keys.value(r)).ok()
}

/// What each entry of a dictionary parses to, kept while batches share that dictionary (the
/// batches of one row group do): a row then costs a lookup by its key.
pub(super) struct DictCache<T> {
    /// The dictionary the values belong to; held, so that it cannot be freed and another
    /// take its place.
    pub(super) dict: Option<ArrayRef>,
    pub(super) vals: Vec<Option<T>>,
}

impl<T: Copy> Default for DictCache<T> {
    fn default() -> Self {
        Self {
            dict: None,
            vals: Vec::new(),
        }
    }
}

impl<T: Copy> DictCache<T> {
    pub(super) fn refresh(
        &mut self,
        dict: &ArrayRef,
        values: &StringArray,
        parse: impl Fn(&[u8]) -> Option<T>,
    ) {
        if self.dict.as_ref().is_some_and(|d| Arc::ptr_eq(d, dict)) {
            return;
        }
        self.vals.clear();
        self.vals.extend((0..values.len()).map(|i| {
            if null_at(values, i) {
                None
            } else {
                parse(values.value(i).as_bytes())
            }
        }));
        self.dict = Some(dict.clone());
    }

    /// The parsed value of row `r`; `None` when empty or not valid.
    #[inline]
    pub(super) fn get(&self, keys: &Int32Array, r: usize) -> Option<T> {
        self.vals.get(dict_key(keys, r)?).copied().flatten()
    }
}

/// One Parquet batch, its columns typed as the normalising SELECT produces them.
pub(crate) struct Batch<'b> {
    pub(super) ids: &'b StringArray,
    pub(super) pcs: Text<'b>,
    pub(super) hn: &'b Int64Array,
    pub(super) toev: Option<Text<'b>>,
    pub(super) xs: &'b Float64Array,
    pub(super) ys: &'b Float64Array,
    pub(super) ds: &'b Date32Array,
    pub(super) cols: Vec<Col<'b>>,
}

pub(super) enum Col<'b> {
    /// Numbers, and whether all of the batch's values keep the column's rules (then rows
    /// are not checked one by one).
    Num(&'b Float64Array, bool),
    Text(Text<'b>),
}

/// Reads a Parquet extract's footer, checks its header (column names) and chooses the
/// columns to decode.
pub(crate) fn plan_parquet(path: &Path, source: &Source) -> Result<ParquetPlan, IngestError> {
    use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
    let file = path.display().to_string();
    let io = |message: String| IngestError::Io {
        file: file.clone(),
        message,
    };
    let f = std::fs::File::open(path).map_err(|e| io(e.to_string()))?;
    let bytes = f.metadata().map_err(|e| io(e.to_string()))?.len();
    let meta = ArrowReaderMetadata::load(&f, ArrowReaderOptions::new())
        .map_err(|e| io(format!("not a readable Parquet file: {e}")))?;
    // arrow-rs panics on a column chunk whose offset or size is negative (found by fuzzing,
    // fuzz/corpus/extract_parquet/crash-a124…): such a file is refused before any page is
    // read, as is a chunk that ends beyond the file.
    for (g, rg) in meta.metadata().row_groups().iter().enumerate() {
        for c in rg.columns() {
            let start = c.dictionary_page_offset().unwrap_or(c.data_page_offset());
            let len = c.compressed_size();
            let inside = start >= 0
                && len >= 0
                && u64::try_from(start.saturating_add(len)).is_ok_and(|end| end <= bytes);
            if !inside {
                return Err(io(format!(
                    "not a readable Parquet file: row group {} of column '{}' lies outside the file",
                    g + 1,
                    c.column_path()
                )));
            }
        }
    }
    let header: Vec<String> = meta
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let lay = layout(&file, &header, source)?;
    let meta = keep_dictionaries(meta, &lay, source);
    let mut roots = vec![lay.id, lay.postcode, lay.huisnummer, lay.x, lay.y, lay.date];
    roots.extend(lay.toevoeging);
    roots.extend(&lay.columns);
    let mask = parquet::arrow::ProjectionMask::roots(meta.parquet_schema(), roots);
    let groups: Vec<u64> = meta
        .metadata()
        .row_groups()
        .iter()
        .map(|g| u64::try_from(g.num_rows()).unwrap_or(0))
        .collect();
    Ok(ParquetPlan {
        rows: groups.iter().sum(),
        groups,
        bytes,
        lay,
        meta,
        mask,
    })
}

/// Asks arrow-rs to keep the text columns with few distinct values (postcode, suffix, flags
/// and categories) dictionary-encoded, as Parquet writers store them: decoding then copies
/// the keys rather than every row's string. The file's metadata unchanged when that is not
/// possible.
pub(super) fn keep_dictionaries(
    meta: parquet::arrow::arrow_reader::ArrowReaderMetadata,
    lay: &Layout,
    source: &Source,
) -> parquet::arrow::arrow_reader::ArrowReaderMetadata {
    use duckdb::arrow::datatypes::{DataType, Schema};
    use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
    let mut few: Vec<usize> = vec![lay.postcode];
    few.extend(lay.toevoeging);
    few.extend(
        source
            .columns
            .iter()
            .zip(&lay.columns)
            .filter(|(c, _)| matches!(c.ty, ColumnType::Flag | ColumnType::Category))
            .map(|(_, &pos)| pos),
    );
    let schema = meta.schema();
    if !few
        .iter()
        .any(|&i| schema.field(i).data_type() == &DataType::Utf8)
    {
        return meta;
    }
    let fields: Vec<_> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            if few.contains(&i) && f.data_type() == &DataType::Utf8 {
                Arc::new(f.as_ref().clone().with_data_type(DataType::Dictionary(
                    Box::new(DataType::Int32),
                    Box::new(DataType::Utf8),
                )))
            } else {
                f.clone()
            }
        })
        .collect();
    let hinted = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    ArrowReaderMetadata::try_new(
        meta.metadata().clone(),
        ArrowReaderOptions::new().with_schema(hinted),
    )
    .unwrap_or(meta)
}

/// A column as plain text (Parquet strings of any width, or anything arrow can cast to text).
pub(super) fn as_plain_text(a: &ArrayRef) -> Result<ArrayRef, IngestError> {
    use duckdb::arrow::datatypes::DataType;
    if a.data_type() == &DataType::Utf8 {
        return Ok(a.clone());
    }
    duckdb::arrow::compute::cast(a, &DataType::Utf8).map_err(|e| IngestError::Other(e.to_string()))
}

/// A column as text, kept dictionary-encoded when it was decoded so (see [`Text`]).
pub(super) fn as_text(a: &ArrayRef) -> Result<ArrayRef, IngestError> {
    use duckdb::arrow::datatypes::DataType;
    match a.data_type() {
        DataType::Dictionary(k, v) if **k == DataType::Int32 && **v == DataType::Utf8 => {
            Ok(a.clone())
        }
        _ => as_plain_text(a),
    }
}

/// A column as numbers: numeric types are cast, text is parsed with a decimal comma or point;
/// what does not parse becomes empty (and is reported per row).
pub(super) fn as_f64(a: &ArrayRef) -> Result<ArrayRef, IngestError> {
    use duckdb::arrow::array::AsArray;
    use duckdb::arrow::datatypes::DataType;
    match a.data_type() {
        DataType::Float64 => Ok(a.clone()),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let t = as_plain_text(a)?;
            let t = t.as_string::<i32>();
            let v: Float64Array = t
                .iter()
                .map(|s| s.and_then(|s| parse_number(s.as_bytes())))
                .collect();
            Ok(Arc::new(v))
        }
        t => duckdb::arrow::compute::cast(a, &DataType::Float64)
            .map_err(|e| IngestError::Other(format!("{t}: {e}"))),
    }
}

/// A column as whole numbers (text is parsed; fractions and failures become empty).
pub(super) fn as_i64(a: &ArrayRef) -> Result<ArrayRef, IngestError> {
    use duckdb::arrow::array::AsArray;
    use duckdb::arrow::datatypes::{DataType, Float64Type};
    match a.data_type() {
        DataType::Int64 => Ok(a.clone()),
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => duckdb::arrow::compute::cast(a, &DataType::Int64)
            .map_err(|e| IngestError::Other(e.to_string())),
        _ => {
            let f = as_f64(a)?;
            #[expect(
                clippy::cast_possible_truncation,
                reason = "whole numbers only, checked"
            )]
            let v: Int64Array = f
                .as_primitive::<Float64Type>()
                .iter()
                .map(|x| {
                    x.filter(|x| x.fract() == 0.0 && x.abs() < 1e15)
                        .map(|x| x as i64)
                })
                .collect();
            Ok(Arc::new(v))
        }
    }
}

/// A column as dates: dates and timestamps are cast, text is parsed as `jjjj-mm-dd` or
/// `dd-mm-jjjj`.
pub(super) fn as_date(a: &ArrayRef) -> Result<ArrayRef, IngestError> {
    use duckdb::arrow::array::AsArray;
    use duckdb::arrow::datatypes::DataType;
    match a.data_type() {
        DataType::Date32 => Ok(a.clone()),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let t = as_plain_text(a)?;
            #[expect(clippy::cast_possible_truncation, reason = "years 2000–2100")]
            let v: Date32Array = t
                .as_string::<i32>()
                .iter()
                .map(|s| {
                    s.and_then(|s| parse_date(s.as_bytes()))
                        .map(|(y, m, d)| days_from_civil(y, m, d) as i32)
                })
                .collect();
            Ok(Arc::new(v))
        }
        t => duckdb::arrow::compute::cast(a, &DataType::Date32)
            .map_err(|e| IngestError::Other(format!("{t}: {e}"))),
    }
}

/// Reads row groups `from..to` of a planned Parquet extract, calling `row` for every row.
/// Rows are numbered as lines: the first data row is line 2, as in a CSV with a header.
pub(crate) fn read_parquet(
    path: &Path,
    plan: &ParquetPlan,
    source: &Source,
    progress: &indicatif::ProgressBar,
    (from, to): (usize, usize),
    row: &mut impl FnMut(Result<Parsed, RowError>) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    use duckdb::arrow::array::AsArray;
    use duckdb::arrow::datatypes::{Date32Type, Float64Type, Int64Type};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    let file = path.display().to_string();
    let io = |message: String| IngestError::Io {
        file: file.clone(),
        message,
    };
    if from >= to {
        return Ok(());
    }
    let f = std::fs::File::open(path).map_err(|e| io(e.to_string()))?;
    let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(f, plan.meta.clone())
        .with_projection(plan.mask.clone())
        .with_row_groups((from..to).collect())
        .with_batch_size(8192)
        .build()
        .map_err(|e| io(e.to_string()))?;
    let lay = &plan.lay;
    let names: Vec<String> = plan
        .meta
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let mut parser = RowParser::new(source, lay.date_in_key);
    #[expect(clippy::cast_precision_loss, reason = "progress only")]
    let bytes_per_row = plan.bytes as f64 / plan.rows.max(1) as f64;
    let mut line: u64 = plan.groups[..from].iter().sum::<u64>() + 2;
    for batch in reader {
        let batch = batch.map_err(|e| io(e.to_string()))?;
        let n = batch.num_rows();
        #[expect(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "progress only"
        )]
        progress.inc((n as f64 * bytes_per_row) as u64);
        let col = |i: usize| -> Result<&ArrayRef, IngestError> {
            batch
                .column_by_name(&names[i])
                .ok_or_else(|| io(format!("column '{}' missing from a row group", names[i])))
        };
        let ids = as_plain_text(col(lay.id)?)?;
        let pcs = as_text(col(lay.postcode)?)?;
        let toev = lay.toevoeging.map(|t| as_text(col(t)?)).transpose()?;
        let hn = as_i64(col(lay.huisnummer)?)?;
        let xs = as_f64(col(lay.x)?)?;
        let ys = as_f64(col(lay.y)?)?;
        let ds = as_date(col(lay.date)?)?;
        let mut values = Vec::with_capacity(source.columns.len());
        for (spec, &pos) in source.columns.iter().zip(&lay.columns) {
            let numeric = matches!(spec.ty, ColumnType::Int | ColumnType::Number);
            let a = col(pos)?;
            let integers = a.data_type().is_integer();
            values.push((
                numeric,
                integers,
                if numeric { as_f64(a)? } else { as_text(a)? },
            ));
        }
        let b = Batch {
            ids: ids.as_string::<i32>(),
            pcs: Text::of(&pcs),
            hn: hn.as_primitive::<Int64Type>(),
            toev: toev.as_ref().map(Text::of),
            xs: xs.as_primitive::<Float64Type>(),
            ys: ys.as_primitive::<Float64Type>(),
            ds: ds.as_primitive::<Date32Type>(),
            cols: values
                .iter()
                .zip(&source.columns)
                .map(|((numeric, integers, a), spec)| {
                    if *numeric {
                        let a = a.as_primitive::<Float64Type>();
                        Col::Num(a, batch_keeps_rules(spec, *integers, a))
                    } else {
                        Col::Text(Text::of(a))
                    }
                })
                .collect(),
        };
        parser.prepare(&b);
        for r in 0..n {
            row(parser.parquet(line, r, &b))?;
            line += 1;
        }
    }
    Ok(())
}
