//! Step 1: read a partner extract (Dutch-Excel CSV or Parquet) and validate every row into a
//! [`Parsed`] row. Personal values live only in the borrowed input buffer and are never
//! copied into an error message. This file holds what both formats share (the columns a
//! source needs, field parsing and the rules, the [`RowParser`]); [`from_csv`] cuts and
//! splits text files, [`from_parquet`] decodes Arrow batches.

mod from_csv;
mod from_parquet;
#[cfg(test)]
mod tests;

pub(crate) use from_csv::{plan_csv, read_csv, CsvPlan};
use from_parquet::{null_at, Batch, Col, DictCache, Text};
pub(crate) use from_parquet::{plan_parquet, read_parquet, ParquetPlan};

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
