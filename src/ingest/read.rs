//! Step 1: read a partner extract (Dutch-Excel CSV or Parquet) and validate every row into a
//! [`Parsed`] row. Personal values live only in the borrowed input buffer and are never
//! copied into an error message.

use super::{IngestError, RowError};
use crate::catalogue::{identifier_term, protected_term, ColumnType, Source, COMMON_COLUMNS};
use std::io::Read;
use std::path::Path;

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

/// Days since 1970-01-01 for a valid civil date.
#[must_use]
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(if m <= 2 { y - 1 } else { y });
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number.
#[must_use]
pub fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    #[expect(clippy::cast_possible_truncation, reason = "years fit in i32")]
    ((if m <= 2 { y + 1 } else { y }) as i32, m, d)
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Parses `jjjj-mm-dd` or `dd-mm-jjjj` (also with `/`) to (year, month, day).
#[must_use]
pub fn parse_date(raw: &[u8]) -> Option<(i32, u32, u32)> {
    let raw = trim(raw);
    let num = |s: &[u8]| -> Option<u32> {
        if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        s.iter().try_fold(0u32, |a, &b| {
            a.checked_mul(10)?.checked_add(u32::from(b - b'0'))
        })
    };
    let mut parts = raw.split(|&b| b == b'-' || b == b'/');
    let (a, b, c) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let (y, m, d) = if a.len() == 4 {
        (num(a)?, num(b)?, num(c)?)
    } else if c.len() == 4 {
        (num(c)?, num(b)?, num(a)?)
    } else {
        return None;
    };
    let y = i32::try_from(y).ok()?;
    ((2000..=2100).contains(&y) && (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m))
        .then_some((y, m, d))
}

/// Quarter index of a date.
#[must_use]
pub fn quarter_index(y: i32, m: u32) -> u16 {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "years 2000–2100"
    )]
    let q = (y * 4 + ((m - 1) / 3) as i32) as u16;
    q
}

/// `2025-Q3` for a quarter index.
#[must_use]
pub fn period_label(q: u16) -> String {
    format!("{}-Q{}", q / 4, q % 4 + 1)
}

/// Parses `2025-Q3` (also `2025Q3`).
#[must_use]
pub fn parse_period(s: &str) -> Option<u16> {
    let (y, q) = s.split_once('Q').or_else(|| s.split_once('q'))?;
    let y: u16 = y.trim_end_matches('-').parse().ok()?;
    let q: u16 = q.parse().ok()?;
    ((2000..=2100).contains(&y) && (1..=4).contains(&q)).then(|| y * 4 + q - 1)
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
fn check_postcode(line: u64, pc: Option<[u8; 6]>) -> Result<[u8; 6], RowError> {
    pc.ok_or_else(|| rule(line, "postcode", "not a Dutch postcode of the form 1234AB"))
}

/// The house-number rule: a whole number from 1 to 99999.
fn check_huisnummer(line: u64, h: Option<f64>) -> Result<u32, RowError> {
    match h {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "checked range"
        )]
        Some(h) if (1.0..=99_999.0).contains(&h) && h.fract() == 0.0 => Ok(h as u32),
        _ => Err(rule(
            line,
            "huisnummer",
            "not a house number (a whole number from 1 to 99999)",
        )),
    }
}

/// The coordinate rule: numbers in RD New within the Netherlands' bounding box.
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

/// Validates one row given as raw field bytes.
pub(crate) fn parse_fields(
    line: u64,
    fields: &[&[u8]],
    lay: &Layout,
    source: &Source,
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
    let postcode = check_postcode(line, parse_postcode(fields[lay.postcode]))?;
    let huisnummer = check_huisnummer(line, parse_number(fields[lay.huisnummer]))?;
    let address = address_hash(
        &postcode,
        huisnummer,
        lay.toevoeging.map_or(&b""[..], |t| fields[t]),
    );
    let (x, y) = check_xy(
        line,
        parse_number(fields[lay.x]),
        parse_number(fields[lay.y]),
    )?;
    let (yy, mm, dd) = parse_date(fields[lay.date]).ok_or_else(|| {
        rule(
            line,
            &source.date,
            "not a date (jjjj-mm-dd or dd-mm-jjjj, 2000–2100)",
        )
    })?;
    let mut values = [0.0; MAX_COLUMNS];
    for (i, (spec, &pos)) in source.columns.iter().zip(&lay.columns).enumerate() {
        values[i] = parse_value(line, spec, fields[pos])?;
    }
    let day = days_from_civil(yy, mm, dd);
    Ok(Parsed {
        line,
        key_hash: key_hash(id, lay.date_in_key.then_some(day)),
        address,
        postcode,
        x,
        y,
        period: quarter_index(yy, mm),
        values,
    })
}

fn parse_value(
    line: u64,
    spec: &crate::catalogue::ColumnSpec,
    raw: &[u8],
) -> Result<f64, RowError> {
    let v = match spec.ty {
        ColumnType::Flag => {
            let t = text(raw);
            match crate::catalogue::parse_flag(&t) {
                Some(b) => f64::from(u8::from(b)),
                None => return Err(rule(line, &spec.name, "not J or N")),
            }
        }
        ColumnType::Category => {
            let t = text(raw);
            match spec.values.iter().position(|v| v.eq_ignore_ascii_case(&t)) {
                #[expect(clippy::cast_precision_loss, reason = "small index")]
                Some(i) => i as f64,
                None => {
                    return Err(rule(
                        line,
                        &spec.name,
                        format!("'{t}' is not one of: {}", spec.values.join(", ")),
                    ));
                }
            }
        }
        ColumnType::Int | ColumnType::Number => {
            let v = parse_number(raw).ok_or_else(|| rule(line, &spec.name, "not a number"))?;
            if spec.ty == ColumnType::Int && v.fract() != 0.0 {
                return Err(rule(line, &spec.name, "not a whole number"));
            }
            v
        }
    };
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

/// Reads part `part` of `parts` of a CSV extract (split at line boundaries, so that several
/// threads can parse one file), calling `row` for every data line.
///
/// `row` receives the validated row or the row's error, and returns `Err` to stop.
pub(crate) fn read_csv(
    path: &Path,
    source: &Source,
    progress: &indicatif::ProgressBar,
    (part, parts): (usize, usize),
    row: &mut dyn FnMut(Result<Parsed, RowError>) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    use std::io::{Seek, SeekFrom};
    let file = path.display().to_string();
    let io = |e: std::io::Error| IngestError::Io {
        file: file.clone(),
        message: e.to_string(),
    };
    let empty = || IngestError::Row {
        file: file.clone(),
        error: RowError {
            line: 1,
            column: "(header)".into(),
            rule: "the file is empty: no header line".into(),
        },
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let len = f.metadata().map_err(io)?.len();
    let parts = parts.max(1) as u64;
    let part = part as u64;
    let start = next_line_start(&mut f, len * part / parts, len).map_err(io)?;
    let end = if part + 1 == parts {
        len
    } else {
        next_line_start(&mut f, len * (part + 1) / parts, len).map_err(io)?
    };
    const BLOCK: usize = 8 << 20;
    let mut buf: Vec<u8> = Vec::with_capacity(BLOCK + 4096);
    let mut line_no: u64 = 0;
    let mut lay: Option<(Layout, u8)> = None;
    if start > 0 {
        // A later part: the header comes from the file's first line, and line numbers from
        // the newlines before this part.
        f.seek(SeekFrom::Start(0)).map_err(io)?;
        let mut first = true;
        let mut remaining = start;
        while remaining > 0 {
            buf.resize(BLOCK.min(usize::try_from(remaining).unwrap_or(BLOCK)), 0);
            let n = f.read(&mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            if first {
                let nl = memchr::memchr(b'\n', &buf[..n]).ok_or_else(empty)?;
                lay = Some(header_layout(&file, &buf[..nl], source)?);
                first = false;
            }
            line_no += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
            remaining -= n as u64;
        }
        buf.clear();
    }
    f.seek(SeekFrom::Start(start)).map_err(io)?;
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
            if let [rest @ .., b'\r'] = line {
                line = rest;
            }
            match &lay {
                None => lay = Some(header_layout(&file, line, source)?),
                Some((l, sep)) => {
                    if line.iter().all(|b| b.is_ascii_whitespace() || *b == *sep) {
                        continue; // Excel writes empty trailing lines as ";;;;"
                    }
                    split_line(line, *sep, &mut fields);
                    row(parse_fields(line_no, &fields, l, source))?;
                }
            }
        }
        buf.drain(..consumed);
    }
    if lay.is_none() {
        return Err(empty());
    }
    Ok(())
}

/// Reads a Parquet extract through an in-memory DuckDB, streaming Arrow batches.
/// Reads part `part` of `parts` of the file (split by row number, which DuckDB prunes to
/// row groups), so that several threads can read one file.
pub(crate) fn read_parquet(
    path: &Path,
    source: &Source,
    progress: &indicatif::ProgressBar,
    (part, parts): (usize, usize),
    row: &mut dyn FnMut(Result<Parsed, RowError>) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    use duckdb::arrow::array::AsArray;
    use duckdb::arrow::datatypes::{DataType, Date32Type, Float64Type, Int64Type};

    let file = path.display().to_string();
    let db = |e: duckdb::Error| IngestError::Io {
        file: file.clone(),
        message: e.to_string(),
    };
    let conn = duckdb::Connection::open_in_memory().map_err(db)?;
    conn.execute_batch("SET threads = 1").map_err(db)?;
    let lit = path.display().to_string().replace('\'', "''");
    let described: Vec<(String, String)> = {
        let mut st = conn
            .prepare(&format!("DESCRIBE SELECT * FROM read_parquet('{lit}')"))
            .map_err(db)?;
        let rows = st
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)?
    };
    let header: Vec<String> = described.iter().map(|d| d.0.clone()).collect();
    let q = |i: usize| format!("\"{}\"", header[i].replace('"', "\"\""));
    let numeric = |i: usize| {
        matches!(
            described[i].1.as_str(),
            "DOUBLE"
                | "FLOAT"
                | "BIGINT"
                | "INTEGER"
                | "SMALLINT"
                | "TINYINT"
                | "HUGEINT"
                | "UBIGINT"
                | "UINTEGER"
                | "USMALLINT"
                | "UTINYINT"
        ) || described[i].1.starts_with("DECIMAL")
    };
    // Text coordinates may carry a decimal comma; numeric ones are cast directly.
    let coord = |i: usize| {
        if numeric(i) {
            format!("CAST({} AS DOUBLE)", q(i))
        } else {
            format!(
                "TRY_CAST(replace(CAST({} AS VARCHAR), ',', '.') AS DOUBLE)",
                q(i)
            )
        }
    };
    let lay = layout(&file, &header, source)?;
    // Types are normalised in SQL; what fails to cast arrives as NULL and is reported per row.
    let mut select = vec![
        format!("CAST({} AS VARCHAR)", q(lay.id)),
        format!("CAST({} AS VARCHAR)", q(lay.postcode)),
        format!("TRY_CAST({} AS BIGINT)", q(lay.huisnummer)),
        lay.toevoeging.map_or_else(
            || "''".to_string(),
            |t| format!("coalesce(CAST({} AS VARCHAR), '')", q(t)),
        ),
        coord(lay.x),
        coord(lay.y),
        format!("TRY_CAST({} AS DATE)", q(lay.date)),
    ];
    for (spec, &pos) in source.columns.iter().zip(&lay.columns) {
        select.push(match spec.ty {
            ColumnType::Int | ColumnType::Number => format!("TRY_CAST({} AS DOUBLE)", q(pos)),
            ColumnType::Flag | ColumnType::Category => format!("CAST({} AS VARCHAR)", q(pos)),
        });
    }
    let total: i64 = conn
        .query_row(
            &format!("SELECT count(*) FROM read_parquet('{lit}')"),
            [],
            |r| r.get(0),
        )
        .map_err(db)?;
    let (parts_i, part_i) = (
        i64::try_from(parts.max(1)).unwrap_or(1),
        i64::try_from(part).unwrap_or(0),
    );
    let (from, to) = (total * part_i / parts_i, total * (part_i + 1) / parts_i);
    select.push("file_row_number".into());
    let sql = format!(
        "SELECT {} FROM read_parquet('{lit}', file_row_number = true) WHERE file_row_number >= {from} AND file_row_number < {to}",
        select.join(", ")
    );
    let mut st = conn.prepare(&sql).map_err(db)?;
    let frn_col = select.len() - 1;
    let cats: Vec<Vec<String>> = source.columns.iter().map(|c| c.values.clone()).collect();
    let mut t_duck = std::time::Duration::ZERO;
    let mut t_rows = std::time::Duration::ZERO;
    let mut t0 = std::time::Instant::now();
    for batch in st.stream_arrow([]).map_err(db)? {
        let batch = batch.map_err(db)?;
        t_duck += t0.elapsed();
        let t1 = std::time::Instant::now();
        let n = batch.num_rows();
        progress.inc(n as u64);
        let cast = |i: usize, t: &DataType| {
            duckdb::arrow::compute::cast(batch.column(i), t)
                .map_err(|e| IngestError::Other(e.to_string()))
        };
        let ids = cast(0, &DataType::Utf8)?;
        let pcs = cast(1, &DataType::Utf8)?;
        let ids = ids.as_string::<i32>();
        let pcs = pcs.as_string::<i32>();
        let hn = batch.column(2).as_primitive::<Int64Type>();
        let toev = cast(3, &DataType::Utf8)?;
        let toev = toev.as_string::<i32>();
        let xs = batch.column(4).as_primitive::<Float64Type>();
        let ys = batch.column(5).as_primitive::<Float64Type>();
        let ds = batch.column(6).as_primitive::<Date32Type>();
        let mut cols = Vec::with_capacity(source.columns.len());
        for (j, spec) in source.columns.iter().enumerate() {
            cols.push((
                spec,
                cast(
                    7 + j,
                    if matches!(spec.ty, ColumnType::Int | ColumnType::Number) {
                        &DataType::Float64
                    } else {
                        &DataType::Utf8
                    },
                )?,
            ));
        }
        let frn = batch.column(frn_col).as_primitive::<Int64Type>();
        for r in 0..n {
            // Row numbers as lines: the first data row is line 2, as in a CSV with a header.
            let line = u64::try_from(frn.value(r)).unwrap_or(0) + 2;
            row(parquet_row(
                line, r, source, &lay, &cats, ids, pcs, hn, toev, xs, ys, ds, &cols,
            ))?;
        }
        t_rows += t1.elapsed();
        t0 = std::time::Instant::now();
    }
    tracing::debug!(
        duckdb_s = t_duck.as_secs_f64(),
        rows_s = t_rows.as_secs_f64(),
        "parquet read"
    );
    Ok(())
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call site, columns of one batch"
)]
fn parquet_row(
    line: u64,
    r: usize,
    source: &Source,
    lay: &Layout,
    cats: &[Vec<String>],
    ids: &duckdb::arrow::array::StringArray,
    pcs: &duckdb::arrow::array::StringArray,
    hn: &duckdb::arrow::array::Int64Array,
    toev: &duckdb::arrow::array::StringArray,
    xs: &duckdb::arrow::array::Float64Array,
    ys: &duckdb::arrow::array::Float64Array,
    ds: &duckdb::arrow::array::Date32Array,
    cols: &[(
        &crate::catalogue::ColumnSpec,
        duckdb::arrow::array::ArrayRef,
    )],
) -> Result<Parsed, RowError> {
    use duckdb::arrow::array::{Array, AsArray};
    use duckdb::arrow::datatypes::Float64Type;
    if ids.is_null(r) || ids.value(r).trim().is_empty() {
        return Err(rule(line, "id", "pseudonymous id is empty"));
    }
    let postcode = if pcs.is_null(r) {
        None
    } else {
        parse_postcode(pcs.value(r).as_bytes())
    };
    let postcode = check_postcode(line, postcode)?;
    #[expect(clippy::cast_precision_loss, reason = "house numbers are small")]
    let huisnummer = check_huisnummer(line, (!hn.is_null(r)).then(|| hn.value(r) as f64))?;
    let address = address_hash(&postcode, huisnummer, toev.value(r).as_bytes());
    let (x, y) = check_xy(
        line,
        (!xs.is_null(r)).then(|| xs.value(r)),
        (!ys.is_null(r)).then(|| ys.value(r)),
    )?;
    if ds.is_null(r) {
        return Err(rule(line, &source.date, "not a date"));
    }
    let day = i64::from(ds.value(r));
    let (yy, mm, _) = civil_from_days(day);
    if !(2000..=2100).contains(&yy) {
        return Err(rule(line, &source.date, "not a date (2000–2100)"));
    }
    let mut values = [0.0; MAX_COLUMNS];
    for (i, (spec, arr)) in cols.iter().enumerate() {
        if arr.is_null(r) {
            return Err(rule(line, &spec.name, "empty or of the wrong type"));
        }
        values[i] = match spec.ty {
            ColumnType::Int | ColumnType::Number => {
                let v = arr.as_primitive::<Float64Type>().value(r);
                if spec.ty == ColumnType::Int && v.fract() != 0.0 {
                    return Err(rule(line, &spec.name, "not a whole number"));
                }
                if spec.min.is_some_and(|m| v < m) || spec.max.is_some_and(|m| v > m) {
                    return Err(rule(line, &spec.name, "outside the allowed range"));
                }
                v
            }
            ColumnType::Flag => {
                let t = arr.as_string::<i32>().value(r);
                f64::from(u8::from(
                    crate::catalogue::parse_flag(t)
                        .ok_or_else(|| rule(line, &spec.name, "not J or N"))?,
                ))
            }
            ColumnType::Category => {
                let t = arr.as_string::<i32>().value(r).trim();
                #[expect(clippy::cast_precision_loss, reason = "small index")]
                let idx = cats[i]
                    .iter()
                    .position(|v| v.eq_ignore_ascii_case(t))
                    .map(|i| i as f64);
                idx.ok_or_else(|| {
                    rule(
                        line,
                        &spec.name,
                        format!("'{t}' is not one of: {}", spec.values.join(", ")),
                    )
                })?
            }
        };
    }
    Ok(Parsed {
        line,
        key_hash: key_hash(
            ids.value(r).trim().as_bytes(),
            lay.date_in_key.then_some(day),
        ),
        address,
        postcode,
        x,
        y,
        period: quarter_index(yy, mm),
        values,
    })
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
    fn dates_iso_and_dutch() {
        assert_eq!(parse_date(b"2025-03-31"), Some((2025, 3, 31)));
        assert_eq!(parse_date(b"31-03-2025"), Some((2025, 3, 31)));
        assert_eq!(parse_date(b"29-02-2024"), Some((2024, 2, 29)));
        assert_eq!(parse_date(b"29-02-2025"), None);
        assert_eq!(parse_date(b"2025-13-01"), None);
        assert_eq!(parse_date(b"1999-01-01"), None);
        let d = days_from_civil(2025, 3, 31);
        assert_eq!(civil_from_days(d), (2025, 3, 31));
        assert_eq!(days_from_civil(1970, 1, 1), 0);
    }

    #[test]
    fn periods() {
        let q = quarter_index(2025, 8);
        assert_eq!(period_label(q), "2025-Q3");
        assert_eq!(parse_period("2025-Q3"), Some(q));
        assert_eq!(parse_period("2025-Q5"), None);
    }

    #[test]
    fn quoted_fields_split() {
        let mut out = Vec::new();
        split_line(b"a;\"b;c\";d", b';', &mut out);
        assert_eq!(out, vec![&b"a"[..], b"b;c", b"d"]);
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
        let collect = |parts: usize| {
            let mut out = Vec::new();
            for part in 0..parts {
                read_csv(&p, src, &bar, (part, parts), &mut |r| {
                    out.push(match r {
                        Ok(x) => (x.line, x.key_hash, true),
                        Err(e) => (e.line, 0, false),
                    });
                    Ok(())
                })
                .unwrap();
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
