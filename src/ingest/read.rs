//! Step 1: read a partner extract (Dutch-Excel CSV or Parquet) and validate every row into a
//! [`Parsed`] row. Personal values live only in the borrowed input buffer and are never
//! copied into an error message.

use super::error::{IngestError, RowError};
use crate::catalogue::{identifier_term, protected_term, ColumnType, Source, COMMON_COLUMNS};
use crate::period::{civil_from_days, days_from_civil, parse_date, quarter_index};
use duckdb::arrow::array::{
    Array, ArrayRef, Date32Array, Float64Array, Int32Array, Int64Array, StringArray,
};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// Source columns a row may carry.
pub const MAX_COLUMNS: usize = 8;

/// A validated row: only what locating and aggregating need.
#[derive(Debug, Clone, Copy)]
pub struct Parsed {
    /// Line in the file (1 = header) or row number + 1 in a Parquet file.
    pub line: u64,
    /// Hash of the row's key (pseudonymous id, and the date when the key holds it).
    pub key_hash: u64,
    /// Hash of the address: postcode, house number and suffix.
    pub address: u64,
    /// PC6 as `1234AB`.
    pub postcode: [u8; 6],
    /// RD New metres.
    pub x: f64,
    pub y: f64,
    /// Quarter index `year * 4 + quarter − 1`.
    pub period: u16,
    /// Source columns in catalogue order: flags 1/0, categories by index, numbers as is.
    pub values: [f64; MAX_COLUMNS],
}

/// Where each needed column sits in the file.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub id: usize,
    pub postcode: usize,
    pub huisnummer: usize,
    pub toevoeging: Option<usize>,
    pub x: usize,
    pub y: usize,
    pub date: usize,
    pub columns: Vec<usize>,
    pub date_in_key: bool,
    pub n_fields: usize,
}

/// Checks a header and maps the columns. Refuses protected attributes and direct identifiers.
pub(crate) fn layout(
    file: &str,
    header: &[String],
    source: &Source,
) -> Result<Layout, IngestError> {
    let norm: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    for h in &norm {
        if let Some((term, what)) = protected_term(h) {
            return Err(IngestError::Row {
                file: file.to_string(),
                error: RowError {
                    line: 1,
                    column: h.clone(),
                    rule: format!(
                        "column names the protected or proxy attribute '{term}' ({what}); Wijkradar refuses to read it: remove the column from the extract"
                    ),
                },
            });
        }
        if let Some(term) = identifier_term(h) {
            return Err(IngestError::Row {
                file: file.to_string(),
                error: RowError {
                    line: 1,
                    column: h.clone(),
                    rule: format!(
                        "column is a direct identifier ('{term}'); partners deliver pseudonymised extracts only: remove the column"
                    ),
                },
            });
        }
    }
    let find = |name: &str| -> Result<usize, IngestError> {
        norm.iter()
            .position(|h| h == name)
            .ok_or_else(|| IngestError::Row {
                file: file.to_string(),
                error: RowError {
                    line: 1,
                    column: name.to_string(),
                    rule: format!(
                        "required column is missing (source '{}' needs {})",
                        source.id,
                        required(source).join(", ")
                    ),
                },
            })
    };
    if source.columns.len() > MAX_COLUMNS {
        return Err(IngestError::Other(format!(
            "source '{}' has more than {MAX_COLUMNS} columns",
            source.id
        )));
    }
    Ok(Layout {
        id: find("id")?,
        postcode: find("postcode")?,
        huisnummer: find("huisnummer")?,
        toevoeging: norm.iter().position(|h| h == "toevoeging"),
        x: find("x")?,
        y: find("y")?,
        date: find(&source.date)?,
        columns: source
            .columns
            .iter()
            .map(|c| find(&c.name))
            .collect::<Result<_, _>>()?,
        date_in_key: source.key.iter().any(|k| k == &source.date),
        n_fields: norm.len(),
    })
}

fn required(source: &Source) -> Vec<String> {
    let mut r: Vec<String> = COMMON_COLUMNS
        .iter()
        .filter(|c| **c != "toevoeging")
        .map(ToString::to_string)
        .collect();
    r.push(source.date.clone());
    r.extend(source.columns.iter().map(|c| c.name.clone()));
    r
}

fn rule(line: u64, column: &str, rule: impl Into<String>) -> RowError {
    RowError {
        line,
        column: column.to_string(),
        rule: rule.into(),
    }
}

/// Normalises and checks a Dutch postcode (`1234AB`, also `1234 ab`).
#[must_use]
pub fn parse_postcode(raw: &[u8]) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut n = 0;
    for &b in raw {
        if b == b' ' {
            continue;
        }
        if n == 6 {
            return None;
        }
        out[n] = b.to_ascii_uppercase();
        n += 1;
    }
    let ok = n == 6
        && out[0].is_ascii_digit()
        && out[0] != b'0'
        && out[1..4].iter().all(u8::is_ascii_digit)
        && out[4..6].iter().all(u8::is_ascii_uppercase);
    ok.then_some(out)
}

/// Parses a number with a decimal comma or point (no thousands separators).
#[must_use]
pub fn parse_number(raw: &[u8]) -> Option<f64> {
    let raw = trim(raw);
    if raw.is_empty() {
        return None;
    }
    // Fast path: optional sign, digits, optional decimal separator and digits.
    let (neg, digits) = match raw[0] {
        b'-' => (true, &raw[1..]),
        b'+' => (false, &raw[1..]),
        _ => (false, raw),
    };
    if digits.is_empty() {
        return None;
    }
    let mut int: u64 = 0;
    let mut i = 0;
    while i < digits.len() && digits[i].is_ascii_digit() {
        int = int
            .checked_mul(10)?
            .checked_add(u64::from(digits[i] - b'0'))?;
        i += 1;
    }
    #[expect(clippy::cast_precision_loss, reason = "values are far below 2^53")]
    let mut v = int as f64;
    if i < digits.len() {
        if digits[i] != b',' && digits[i] != b'.' {
            return None;
        }
        i += 1;
        let mut scale = 0.1;
        let start = i;
        while i < digits.len() && digits[i].is_ascii_digit() {
            v += f64::from(digits[i] - b'0') * scale;
            scale *= 0.1;
            i += 1;
        }
        if i == start || i != digits.len() {
            return None;
        }
    }
    Some(if neg { -v } else { v })
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Decodes a field: UTF-8 when valid, otherwise Windows-1252 (Dutch Excel's "CSV").
fn text(raw: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(raw) {
        Ok(s) => std::borrow::Cow::Borrowed(s.trim()),
        Err(_) => {
            let (s, _, _) = encoding_rs::WINDOWS_1252.decode(raw);
            std::borrow::Cow::Owned(s.trim().to_string())
        }
    }
}

/// Hashes a key deterministically (the same extract always gives the same hashes).
#[must_use]
#[inline]
pub fn key_hash(id: &[u8], day: Option<i64>) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = ahash::RandomState::with_seeds(0x5eed, 0x1234, 0xabcd, 0x9876).build_hasher();
    h.write(id);
    if let Some(d) = day {
        h.write_i64(d);
    }
    h.finish()
}

/// The postcode rule, shared by the CSV and Parquet readers.
#[inline]
fn check_postcode(line: u64, pc: Option<[u8; 6]>) -> Result<[u8; 6], RowError> {
    pc.ok_or_else(|| rule(line, "postcode", "not a Dutch postcode of the form 1234AB"))
}

/// The house-number rule: a whole number from 1 to 99999.
#[inline]
fn check_huisnummer(line: u64, h: Option<f64>) -> Result<u32, RowError> {
    match h {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "checked range"
        )]
        Some(h) if (1.0..=99_999.0).contains(&h) && is_whole(h) => Ok(h as u32),
        _ => Err(huisnummer_error(line)),
    }
}

/// The house number rule for a whole number (Parquet integers).
#[inline]
fn check_huisnummer_int(line: u64, h: Option<i64>) -> Result<u32, RowError> {
    h.filter(|h| (1..=99_999).contains(h))
        .and_then(|h| u32::try_from(h).ok())
        .ok_or_else(|| huisnummer_error(line))
}

fn huisnummer_error(line: u64) -> RowError {
    rule(
        line,
        "huisnummer",
        "not a house number (a whole number from 1 to 99999)",
    )
}

/// The coordinate rule: numbers in RD New within the Netherlands' bounding box.
#[inline]
fn check_xy(line: u64, x: Option<f64>, y: Option<f64>) -> Result<(f64, f64), RowError> {
    let x = x.ok_or_else(|| rule(line, "x", "not a number (RD New metres)"))?;
    let y = y.ok_or_else(|| rule(line, "y", "not a number (RD New metres)"))?;
    if crate::spatial::in_rd_bounds(x, y) {
        Ok((x, y))
    } else {
        Err(rule(
            line,
            "x,y",
            "coordinates lie outside the Netherlands (RD New, EPSG:28992, expected)",
        ))
    }
}

/// Hashes an address (postcode, house number, suffix without case or spaces).
#[must_use]
#[inline]
pub fn address_hash(postcode: &[u8; 6], huisnummer: u32, toevoeging: &[u8]) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = ahash::RandomState::with_seeds(0xadd7, 0x55, 0x77, 0x99).build_hasher();
    h.write(postcode);
    h.write_u32(huisnummer);
    for &b in trim(toevoeging) {
        if b != b' ' && b != b'-' {
            h.write_u8(b.to_ascii_uppercase());
        }
    }
    h.finish()
}

/// The last raw value of a field and what it parsed to: extracts list a building's dwellings
/// and a dwelling's people together, so fields repeat from row to row.
struct Last<T: Copy> {
    raw: Vec<u8>,
    val: Option<T>,
}

impl<T: Copy> Default for Last<T> {
    fn default() -> Self {
        Self {
            raw: Vec::new(),
            val: None,
        }
    }
}

impl<T: Copy> Last<T> {
    /// The parsed value of `raw`, parsed again only when it differs from the last one.
    #[inline]
    fn get(&mut self, raw: &[u8], parse: impl FnOnce(&[u8]) -> Option<T>) -> Option<T> {
        if let Some(v) = self.val {
            if self.raw == raw {
                return Some(v);
            }
        }
        let v = parse(raw);
        self.raw.clear();
        self.raw.extend_from_slice(raw);
        self.val = v;
        v
    }
}

/// The value a flag or category field carries, or why it is refused.
fn text_value(spec: &crate::catalogue::ColumnSpec, raw: &[u8]) -> Result<f64, String> {
    let t = text(raw);
    match spec.ty {
        ColumnType::Flag => crate::catalogue::parse_flag(&t)
            .map(|b| f64::from(u8::from(b)))
            .ok_or_else(|| "not J or N".to_string()),
        _ => spec
            .values
            .iter()
            .position(|v| v.eq_ignore_ascii_case(&t))
            .map(|i| {
                #[expect(clippy::cast_precision_loss, reason = "small index")]
                let i = i as f64;
                i
            })
            .ok_or_else(|| format!("the value is not one of: {}", spec.values.join(", "))),
    }
}

/// Whether a number is whole (a cast instead of `fract`, which is a libm call on baseline
/// x86-64 and showed in profiles).
#[inline]
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    reason = "compared back"
)]
fn is_whole(v: f64) -> bool {
    if v.abs() < 9.0e15 {
        (v as i64) as f64 == v
    } else {
        v.fract() == 0.0
    }
}

/// The range rules of a number column.
#[inline]
fn check_number(line: u64, spec: &crate::catalogue::ColumnSpec, v: f64) -> Result<f64, RowError> {
    if spec.ty == ColumnType::Int && !is_whole(v) {
        return Err(rule(line, &spec.name, "not a whole number"));
    }
    if let Some(min) = spec.min {
        if v < min {
            return Err(rule(line, &spec.name, format!("below the minimum {min}")));
        }
    }
    if let Some(max) = spec.max {
        if v > max {
            return Err(rule(line, &spec.name, format!("above the maximum {max}")));
        }
    }
    Ok(v)
}

/// Whether every value of a batch's number column keeps the rules [`check_number`] applies
/// (whole numbers when the column was stored as integers, the range by the batch's minimum
/// and maximum), so that its rows need no check of their own. `false` means: check each row.
fn batch_keeps_rules(
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
enum Text<'b> {
    Plain(&'b StringArray),
    /// Keys, the dictionary's strings and the dictionary itself.
    Dict(&'b Int32Array, &'b StringArray, &'b ArrayRef),
}

impl<'b> Text<'b> {
    /// A column as decoded: text or dictionary-encoded text (see [`as_text`]).
    fn of(a: &'b ArrayRef) -> Self {
        use duckdb::arrow::array::AsArray;
        use duckdb::arrow::datatypes::Int32Type;
        match a.as_dictionary_opt::<Int32Type>() {
            Some(d) => Self::Dict(d.keys(), d.values().as_string::<i32>(), d.values()),
            None => Self::Plain(a.as_string::<i32>()),
        }
    }

    /// Row `r`'s bytes; `None` when empty (null).
    #[inline]
    fn get(self, r: usize) -> Option<&'b [u8]> {
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
fn null_at(a: &impl Array, r: usize) -> bool {
    a.nulls().is_some_and(|n| n.is_null(r))
}

/// Row `r`'s dictionary key, if not empty.
#[inline]
fn dict_key(keys: &Int32Array, r: usize) -> Option<usize> {
    if null_at(keys, r) {
        return None;
    }
    usize::try_from(keys.value(r)).ok()
}

/// What each entry of a dictionary parses to, kept while batches share that dictionary (the
/// batches of one row group do): a row then costs a lookup by its key.
struct DictCache<T> {
    /// The dictionary the values belong to; held, so that it cannot be freed and another
    /// take its place.
    dict: Option<ArrayRef>,
    vals: Vec<Option<T>>,
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
    fn refresh(
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
    fn get(&self, keys: &Int32Array, r: usize) -> Option<T> {
        self.vals.get(dict_key(keys, r)?).copied().flatten()
    }
}

/// One Parquet batch, its columns typed as the normalising SELECT produces them.
pub(crate) struct Batch<'b> {
    ids: &'b StringArray,
    pcs: Text<'b>,
    hn: &'b Int64Array,
    toev: Option<Text<'b>>,
    xs: &'b Float64Array,
    ys: &'b Float64Array,
    ds: &'b Date32Array,
    cols: Vec<Col<'b>>,
}

enum Col<'b> {
    /// Numbers, and whether all of the batch's values keep the column's rules (then rows
    /// are not checked one by one).
    Num(&'b Float64Array, bool),
    Text(Text<'b>),
}

/// Validates rows into [`Parsed`] rows, field by field, reusing what the previous row's
/// fields parsed to when they repeat.
pub(crate) struct RowParser<'s> {
    source: &'s Source,
    date_in_key: bool,
    pc: Last<[u8; 6]>,
    x: Last<f64>,
    y: Last<f64>,
    /// CSV date text → (day, quarter).
    date: Last<(i64, u16)>,
    /// Parquet day → quarter.
    day: (i32, u16),
    /// (postcode, house number, suffix) → address hash.
    addr: ([u8; 6], u32, Vec<u8>, u64),
    texts: Vec<Last<f64>>,
    /// Parquet dictionaries of the postcode and the text columns, parsed.
    pc_dict: DictCache<[u8; 6]>,
    text_dicts: Vec<DictCache<f64>>,
}

impl<'s> RowParser<'s> {
    pub(crate) fn new(source: &'s Source, date_in_key: bool) -> Self {
        Self {
            source,
            date_in_key,
            pc: Last::default(),
            x: Last::default(),
            y: Last::default(),
            date: Last::default(),
            day: (i32::MIN, 0),
            addr: ([0; 6], 0, Vec::new(), 0),
            texts: source.columns.iter().map(|_| Last::default()).collect(),
            pc_dict: DictCache::default(),
            text_dicts: source
                .columns
                .iter()
                .map(|_| DictCache::default())
                .collect(),
        }
    }

    /// Parses the dictionaries of a Parquet batch (once per row group).
    pub(crate) fn prepare(&mut self, b: &Batch<'_>) {
        if let Text::Dict(_, values, dict) = b.pcs {
            self.pc_dict.refresh(dict, values, parse_postcode);
        }
        for (i, col) in b.cols.iter().enumerate() {
            if let Col::Text(Text::Dict(_, values, dict)) = col {
                let spec = &self.source.columns[i];
                self.text_dicts[i].refresh(dict, values, |raw| text_value(spec, raw).ok());
            }
        }
    }

    #[inline]
    fn address(&mut self, postcode: [u8; 6], huisnummer: u32, toev: &[u8]) -> u64 {
        let a = &mut self.addr;
        if a.0 != postcode || a.1 != huisnummer || a.2 != toev || a.3 == 0 {
            a.0 = postcode;
            a.1 = huisnummer;
            a.2.clear();
            a.2.extend_from_slice(toev);
            a.3 = address_hash(&postcode, huisnummer, toev).max(1);
        }
        a.3
    }

    #[inline]
    fn text(&mut self, i: usize, line: u64, raw: &[u8]) -> Result<f64, RowError> {
        let spec = &self.source.columns[i];
        if let Some(v) = self.texts[i].get(raw, |r| text_value(spec, r).ok()) {
            return Ok(v);
        }
        text_value(spec, raw).map_err(|m| rule(line, &spec.name, m))
    }

    /// Validates one CSV row given as raw field bytes.
    pub(crate) fn csv(
        &mut self,
        line: u64,
        fields: &[&[u8]],
        lay: &Layout,
    ) -> Result<Parsed, RowError> {
        if fields.len() != lay.n_fields {
            return Err(rule(
                line,
                "(regel)",
                format!(
                    "has {} fields, the header has {}",
                    fields.len(),
                    lay.n_fields
                ),
            ));
        }
        let id = trim(fields[lay.id]);
        if id.is_empty() {
            return Err(rule(line, "id", "pseudonymous id is empty"));
        }
        let postcode = check_postcode(line, self.pc.get(fields[lay.postcode], parse_postcode))?;
        let huisnummer = check_huisnummer(line, parse_number(fields[lay.huisnummer]))?;
        let address = self.address(
            postcode,
            huisnummer,
            lay.toevoeging.map_or(&b""[..], |t| fields[t]),
        );
        let (x, y) = check_xy(
            line,
            self.x.get(fields[lay.x], parse_number),
            self.y.get(fields[lay.y], parse_number),
        )?;
        let (day, period) = self
            .date
            .get(fields[lay.date], |r| {
                parse_date(r).map(|(y, m, d)| (days_from_civil(y, m, d), quarter_index(y, m)))
            })
            .ok_or_else(|| {
                rule(
                    line,
                    &self.source.date,
                    "not a date (jjjj-mm-dd or dd-mm-jjjj, 2000–2100)",
                )
            })?;
        let mut values = [0.0; MAX_COLUMNS];
        for (i, &pos) in lay.columns.iter().enumerate() {
            let spec = &self.source.columns[i];
            values[i] = match spec.ty {
                ColumnType::Int | ColumnType::Number => check_number(
                    line,
                    spec,
                    parse_number(fields[pos])
                        .ok_or_else(|| rule(line, &spec.name, "not a number"))?,
                )?,
                ColumnType::Flag | ColumnType::Category => self.text(i, line, fields[pos])?,
            };
        }
        Ok(Parsed {
            line,
            key_hash: key_hash(id, self.date_in_key.then_some(day)),
            address,
            postcode,
            x,
            y,
            period,
            values,
        })
    }

    /// Validates row `r` of a Parquet batch.
    pub(crate) fn parquet(
        &mut self,
        line: u64,
        r: usize,
        b: &Batch<'_>,
    ) -> Result<Parsed, RowError> {
        let id = if null_at(b.ids, r) {
            &b""[..]
        } else {
            trim(b.ids.value(r).as_bytes())
        };
        if id.is_empty() {
            return Err(rule(line, "id", "pseudonymous id is empty"));
        }
        let pc = match b.pcs {
            Text::Dict(keys, _, _) => self.pc_dict.get(keys, r),
            Text::Plain(_) => b
                .pcs
                .get(r)
                .and_then(|raw| self.pc.get(raw, parse_postcode)),
        };
        let postcode = check_postcode(line, pc)?;
        let huisnummer = check_huisnummer_int(line, (!null_at(b.hn, r)).then(|| b.hn.value(r)))?;
        let toev = b.toev.and_then(|t| t.get(r)).unwrap_or_default();
        let address = self.address(postcode, huisnummer, toev);
        let (x, y) = check_xy(
            line,
            (!null_at(b.xs, r)).then(|| b.xs.value(r)),
            (!null_at(b.ys, r)).then(|| b.ys.value(r)),
        )?;
        if null_at(b.ds, r) {
            return Err(rule(line, &self.source.date, "not a date"));
        }
        let d = b.ds.value(r);
        if self.day.0 != d {
            let (yy, mm, _) = civil_from_days(i64::from(d));
            if !(2000..=2100).contains(&yy) {
                return Err(rule(line, &self.source.date, "not a date (2000–2100)"));
            }
            self.day = (d, quarter_index(yy, mm));
        }
        let mut values = [0.0; MAX_COLUMNS];
        for (i, col) in b.cols.iter().enumerate() {
            let spec = &self.source.columns[i];
            values[i] = match col {
                Col::Num(a, checked) => {
                    if null_at(*a, r) {
                        return Err(rule(line, &spec.name, "empty or of the wrong type"));
                    }
                    if *checked {
                        a.value(r)
                    } else {
                        check_number(line, spec, a.value(r))?
                    }
                }
                Col::Text(a) => {
                    let parsed = match a {
                        Text::Dict(keys, _, _) => self.text_dicts[i].get(keys, r),
                        Text::Plain(_) => None,
                    };
                    match parsed {
                        Some(v) => v,
                        // Plain text, or a value the dictionary does not allow: its error.
                        None => match a.get(r) {
                            Some(raw) => self.text(i, line, raw)?,
                            None => {
                                return Err(rule(line, &spec.name, "empty or of the wrong type"))
                            }
                        },
                    }
                }
            };
        }
        Ok(Parsed {
            line,
            key_hash: key_hash(id, self.date_in_key.then_some(i64::from(d))),
            address,
            postcode,
            x,
            y,
            period: self.day.1,
            values,
        })
    }
}

/// Splits a CSV line on `sep`, honouring double quotes (no quoted line breaks).
fn split_line<'a>(line: &'a [u8], sep: u8, out: &mut Vec<&'a [u8]>) {
    out.clear();
    if memchr::memchr(b'"', line).is_none() {
        out.extend(line.split(|&b| b == sep));
        return;
    }
    let mut start = 0;
    let mut in_quotes = false;
    for (i, &b) in line.iter().enumerate() {
        if b == b'"' {
            in_quotes = !in_quotes;
        } else if b == sep && !in_quotes {
            out.push(unquote(&line[start..i]));
            start = i + 1;
        }
    }
    out.push(unquote(&line[start..]));
}

fn unquote(f: &[u8]) -> &[u8] {
    let t = trim(f);
    if t.len() >= 2 && t[0] == b'"' && t[t.len() - 1] == b'"' {
        &t[1..t.len() - 1]
    } else {
        t
    }
}

/// Parses a header line into the layout and the separator (`;`, tab or `,`).
fn header_layout(file: &str, line: &[u8], source: &Source) -> Result<(Layout, u8), IngestError> {
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let sep = if memchr::memchr(b';', line).is_some() {
        b';'
    } else if memchr::memchr(b'\t', line).is_some() {
        b'\t'
    } else {
        b','
    };
    let mut fields = Vec::new();
    split_line(line, sep, &mut fields);
    let header: Vec<String> = fields.iter().map(|f| text(f).into_owned()).collect();
    Ok((layout(file, &header, source)?, sep))
}

/// The offset just after the first newline at or after `pos` (or the file's end).
fn next_line_start(f: &mut std::fs::File, pos: u64, len: u64) -> std::io::Result<u64> {
    use std::io::{Seek, SeekFrom};
    if pos == 0 {
        return Ok(0);
    }
    f.seek(SeekFrom::Start(pos))?;
    let mut buf = vec![0u8; 64 << 10];
    let mut at = pos;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(len);
        }
        if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
            return Ok(at + i as u64 + 1);
        }
        at += n as u64;
    }
}

/// A CSV extract prepared for reading in pieces: its layout, separator and the byte ranges
/// of its pieces (each starts at a line).
#[derive(Debug, Clone)]
pub(crate) struct CsvPlan {
    lay: Layout,
    sep: u8,
    /// Byte ranges, in file order; the first starts with the header.
    pub pieces: Vec<(u64, u64)>,
}

/// Reads a CSV extract's header and cuts the file into about `pieces` line-aligned ranges.
pub(crate) fn plan_csv(path: &Path, source: &Source, pieces: u64) -> Result<CsvPlan, IngestError> {
    let file = path.display().to_string();
    let io = |e: std::io::Error| IngestError::Io {
        file: file.clone(),
        message: e.to_string(),
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let len = f.metadata().map_err(io)?.len();
    // The header: the first line.
    let mut head = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        head.extend_from_slice(&buf[..n]);
        if n == 0 || memchr::memchr(b'\n', &buf[..n]).is_some() {
            break;
        }
    }
    let nl = memchr::memchr(b'\n', &head).unwrap_or(head.len());
    if head[..nl].iter().all(u8::is_ascii_whitespace) {
        return Err(IngestError::Row {
            file,
            error: RowError {
                line: 1,
                column: "(header)".into(),
                rule: "the file is empty: no header line".into(),
            },
        });
    }
    let (lay, sep) = header_layout(&file, &head[..nl], source)?;
    let n = pieces.max(1);
    let mut cuts = vec![0u64];
    for i in 1..n {
        let c = next_line_start(&mut f, len * i / n, len).map_err(io)?;
        if c > *cuts.last().unwrap_or(&0) && c < len {
            cuts.push(c);
        }
    }
    cuts.push(len);
    Ok(CsvPlan {
        lay,
        sep,
        pieces: cuts.windows(2).map(|w| (w[0], w[1])).collect(),
    })
}

/// Reads piece `piece` of a planned CSV extract, calling `row` for every data line. Lines are
/// numbered from the piece's start (line 1 is its first line; in the first piece, the
/// header). Returns the number of lines in the piece.
///
/// `row` receives the validated row or the row's error, and returns `Err` to stop.
pub(crate) fn read_csv(
    path: &Path,
    plan: &CsvPlan,
    piece: usize,
    source: &Source,
    progress: &indicatif::ProgressBar,
    row: &mut impl FnMut(Result<Parsed, RowError>) -> Result<(), IngestError>,
) -> Result<u64, IngestError> {
    use std::io::{Seek, SeekFrom};
    let file = path.display().to_string();
    let io = |e: std::io::Error| IngestError::Io {
        file: file.clone(),
        message: e.to_string(),
    };
    let (start, end) = plan.pieces[piece];
    let mut f = std::fs::File::open(path).map_err(io)?;
    f.seek(SeekFrom::Start(start)).map_err(io)?;
    const BLOCK: usize = 8 << 20;
    let mut buf: Vec<u8> = Vec::with_capacity(BLOCK + 4096);
    let mut line_no: u64 = 0;
    let mut header = start == 0;
    let (lay, sep) = (&plan.lay, plan.sep);
    let mut parser = RowParser::new(source, lay.date_in_key);
    let mut remaining = end - start;
    let mut eof = false;
    while !eof {
        let at = buf.len();
        let want = BLOCK.min(usize::try_from(remaining).unwrap_or(BLOCK));
        buf.resize(at + want, 0);
        let n = if want == 0 {
            0
        } else {
            f.read(&mut buf[at..]).map_err(io)?
        };
        buf.truncate(at + n);
        remaining -= n as u64;
        progress.inc(n as u64);
        if n == 0 {
            eof = true;
            if buf.is_empty() {
                break;
            }
            if buf.last() != Some(&b'\n') {
                buf.push(b'\n');
            }
        }
        let mut consumed = 0;
        let mut fields: Vec<&[u8]> = Vec::with_capacity(16);
        for nl in memchr::memchr_iter(b'\n', &buf) {
            let mut line = &buf[consumed..nl];
            consumed = nl + 1;
            line_no += 1;
            if header {
                header = false;
                continue;
            }
            if let [rest @ .., b'\r'] = line {
                line = rest;
            }
            if line.iter().all(|b| b.is_ascii_whitespace() || *b == sep) {
                continue; // Excel writes empty trailing lines as ";;;;"
            }
            split_line(line, sep, &mut fields);
            row(parser.csv(line_no, &fields, lay))?;
        }
        drop(fields);
        buf.drain(..consumed);
    }
    Ok(line_no)
}

/// A Parquet extract prepared for reading in row-group ranges: its layout, footer and the
/// columns to decode.
#[derive(Clone)]
pub(crate) struct ParquetPlan {
    lay: Layout,
    meta: parquet::arrow::arrow_reader::ArrowReaderMetadata,
    mask: parquet::arrow::ProjectionMask,
    /// Rows per row group, in file order.
    pub groups: Vec<u64>,
    pub rows: u64,
    pub bytes: u64,
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
fn keep_dictionaries(
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
fn as_plain_text(a: &ArrayRef) -> Result<ArrayRef, IngestError> {
    use duckdb::arrow::datatypes::DataType;
    if a.data_type() == &DataType::Utf8 {
        return Ok(a.clone());
    }
    duckdb::arrow::compute::cast(a, &DataType::Utf8).map_err(|e| IngestError::Other(e.to_string()))
}

/// A column as text, kept dictionary-encoded when it was decoded so (see [`Text`]).
fn as_text(a: &ArrayRef) -> Result<ArrayRef, IngestError> {
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
fn as_f64(a: &ArrayRef) -> Result<ArrayRef, IngestError> {
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
fn as_i64(a: &ArrayRef) -> Result<ArrayRef, IngestError> {
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
fn as_date(a: &ArrayRef) -> Result<ArrayRef, IngestError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postcodes() {
        assert_eq!(parse_postcode(b"5925AB"), Some(*b"5925AB"));
        assert_eq!(parse_postcode(b"5925 ab"), Some(*b"5925AB"));
        for bad in [&b"0925AB"[..], b"5925A", b"59251B", b"5925ABC", b""] {
            assert_eq!(
                parse_postcode(bad),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn numbers_with_decimal_comma() {
        assert_eq!(parse_number(b"209123,5"), Some(209_123.5));
        assert_eq!(parse_number(b" 12.25 "), Some(12.25));
        assert_eq!(parse_number(b"-3"), Some(-3.0));
        assert_eq!(parse_number(b",5"), Some(0.5));
        for bad in [&b""[..], b"1.2.3", b"12a", b"1,", b"-"] {
            assert_eq!(parse_number(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn quoted_fields_split() {
        let mut out = Vec::new();
        split_line(b"a;\"b;c\";d", b';', &mut out);
        assert_eq!(out, vec![&b"a"[..], b"b;c", b"d"]);
    }

    /// Every row of a planned Parquet extract: the valid ones, and (line, column, rule) of
    /// the refused ones.
    fn parquet_rows(
        p: &Path,
        plan: &ParquetPlan,
        src: &Source,
    ) -> (Vec<Parsed>, Vec<(u64, String, String)>) {
        let (mut rows, mut errors) = (Vec::new(), Vec::new());
        let bar = indicatif::ProgressBar::hidden();
        read_parquet(p, plan, src, &bar, (0, plan.groups.len()), &mut |r| {
            match r {
                Ok(r) => rows.push(r),
                Err(e) => errors.push((e.line, e.column, e.rule)),
            }
            Ok(())
        })
        .unwrap();
        (rows, errors)
    }

    #[test]
    fn parquet_text_columns_with_few_values_are_decoded_as_dictionaries() {
        use duckdb::arrow::datatypes::DataType;
        let cat = crate::catalogue::Catalogue::builtin().unwrap();
        let src = cat.source("politie").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("politie_x.parquet");
        duckdb::Connection::open_in_memory()
            .unwrap()
            .execute_batch(&format!(
                "COPY (SELECT 'P' || i AS id, '5925AB' AS postcode, i + 1 AS huisnummer,
                              NULL::VARCHAR AS toevoeging, 209500.5 AS x, 376800.25 AS y,
                              DATE '2025-02-15' AS datum, 'geweld' AS categorie
                       FROM range(100) t(i)
                       UNION ALL
                       SELECT 'PX', '5925AB', 1, NULL, 209500.5, 376800.25, DATE '2025-02-15',
                              'onbekend') TO '{}' (FORMAT PARQUET)",
                p.display()
            ))
            .unwrap();
        let plan = plan_parquet(&p, src).unwrap();
        let ty = |name: &str| {
            let schema = plan.meta.schema();
            schema.field_with_name(name).unwrap().data_type().clone()
        };
        let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        for name in ["postcode", "toevoeging", "categorie"] {
            assert_eq!(ty(name), dict, "{name}");
        }
        // Identifiers are all distinct: plain text.
        assert_eq!(ty("id"), DataType::Utf8);
        let (rows, errors) = parquet_rows(&p, &plan, src);
        for r in &rows {
            assert_eq!(&r.postcode, b"5925AB");
            assert_eq!(r.values[0], 4.0, "geweld is the fifth category");
        }
        assert_eq!(rows.len(), 100);
        // A value outside the catalogue's categories, met through the dictionary.
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!((errors[0].0, errors[0].1.as_str()), (102, "categorie"));
        assert!(errors[0].2.contains("is not one of"), "{errors:?}");
        // The message lists the allowed values, never the value found (it may be personal).
        assert!(!errors[0].2.contains("onbekend"), "{errors:?}");
    }

    #[test]
    fn parquet_numbers_outside_their_rules_are_refused_row_by_row() {
        let cat = crate::catalogue::Catalogue::builtin().unwrap();
        let src = cat.source("brp").unwrap();
        let dir = tempfile::tempdir().unwrap();
        // `maanden` as integers or as doubles; batches whose values all keep the rules skip
        // the per-row check, the others must still name each bad row.
        for maanden_type in ["BIGINT", "DOUBLE"] {
            let p = dir.path().join(format!("brp_{maanden_type}.parquet"));
            duckdb::Connection::open_in_memory()
                .unwrap()
                .execute_batch(&format!(
                    "COPY (SELECT 'P' || i AS id, '5925AB' AS postcode, i + 1 AS huisnummer,
                                  NULL::VARCHAR AS toevoeging, 209500.5 AS x, 376800.25 AS y,
                                  DATE '2025-02-15' AS peildatum, 'J' AS volwassene,
                                  (CASE i WHEN 20000 THEN 2000 ELSE 12 END)::{maanden_type}
                                      AS maanden_op_adres,
                                  CASE i WHEN 30000 THEN 0.5 ELSE 70.25 END AS woonoppervlak_m2
                           FROM range(40000) t(i)
                           UNION ALL
                           SELECT 'PX', '5925AB', 1, NULL, 209500.5, 376800.25,
                                  DATE '2025-02-15', 'J', 3.5::{maanden_type}, 70.0)
                     TO '{}' (FORMAT PARQUET, ROW_GROUP_SIZE 10000)",
                    p.display()
                ))
                .unwrap();
            let plan = plan_parquet(&p, src).unwrap();
            let (rows, errors) = parquet_rows(&p, &plan, src);
            for r in &rows {
                let want = if r.line == 40_002 {
                    [4.0, 70.0]
                } else {
                    [12.0, 70.25]
                };
                assert_eq!(r.values[1..3], want, "line {}", r.line);
            }
            let mut expected = vec![
                (
                    20_002,
                    "maanden_op_adres".to_string(),
                    "above the maximum 1500".to_string(),
                ),
                (
                    30_002,
                    "woonoppervlak_m2".into(),
                    "below the minimum 1".into(),
                ),
            ];
            if maanden_type == "DOUBLE" {
                // 3.5 as a double is no whole number; as BIGINT it was rounded when written.
                expected.push((
                    40_002,
                    "maanden_op_adres".into(),
                    "not a whole number".into(),
                ));
            }
            assert_eq!(errors, expected, "{maanden_type}");
            assert_eq!(rows.len() + errors.len(), 40_001, "{maanden_type}");
        }
    }

    #[test]
    fn csv_split_in_parts_reads_every_line_once_with_its_number() {
        let cat = crate::catalogue::Catalogue::builtin().unwrap();
        let src = cat.source("politie").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("politie_x.csv");
        let mut body =
            String::from("\u{feff}id;postcode;huisnummer;toevoeging;x;y;datum;categorie\r\n");
        for i in 0..997 {
            body.push_str(&format!(
                "P{i};5925AB;{};;209500,5;376800,25;15-02-2025;geweld\r\n",
                i + 1
            ));
        }
        body.push_str("PX;5925A;1;;209500;376800;15-02-2025;geweld\r\n");
        std::fs::write(&p, body).unwrap();
        let bar = indicatif::ProgressBar::hidden();
        let collect = |parts: u64| {
            let plan = plan_csv(&p, src, parts).unwrap();
            assert_eq!(plan.pieces.len() as u64, parts);
            let mut out = Vec::new();
            // Lines are numbered per piece; the lines of earlier pieces give the offset.
            let mut offset = 0;
            for piece in 0..plan.pieces.len() {
                let lines = read_csv(&p, &plan, piece, src, &bar, &mut |r| {
                    out.push(match r {
                        Ok(x) => (x.line + offset, x.key_hash, true),
                        Err(e) => (e.line + offset, 0, false),
                    });
                    Ok(())
                })
                .unwrap();
                offset += lines;
            }
            out.sort_unstable();
            out
        };
        let one = collect(1);
        assert_eq!(one.len(), 998);
        assert_eq!(one.last().unwrap(), &(999, 0, false));
        assert_eq!(collect(2), one);
        assert_eq!(collect(3), one);
    }

    #[test]
    fn windows_1252_fields_decode() {
        assert_eq!(text(b"overlast caf\xe9/horeca"), "overlast café/horeca");
        assert_eq!(text("café".as_bytes()), "café");
    }
}
