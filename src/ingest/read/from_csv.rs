//! CSV extracts: Dutch Excel (`;`, decimal comma, BOM, Windows-1252), cut into pieces at
//! line starts so that every core reads one, each line split and validated by the
//! [`RowParser`].

use super::*;

/// Splits a CSV line on `sep`, honouring double quotes (no quoted line breaks).
pub(super) fn split_line<'a>(line: &'a [u8], sep: u8, out: &mut Vec<&'a [u8]>) {
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

pub(super) fn unquote(f: &[u8]) -> &[u8] {
    let t = trim(f);
    if t.len() >= 2 && t[0] == b'"' && t[t.len() - 1] == b'"' {
        &t[1..t.len() - 1]
    } else {
        t
    }
}

/// Parses a header line into the layout and the separator (`;`, tab or `,`).
pub(super) fn header_layout(
    file: &str,
    line: &[u8],
    source: &Source,
) -> Result<(Layout, u8), IngestError> {
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
pub(super) fn next_line_start(f: &mut std::fs::File, pos: u64, len: u64) -> std::io::Result<u64> {
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
