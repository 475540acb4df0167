//! Writing one extract as partners deliver it: CSV in a Dutch-Excel dialect, or Parquet.

use super::DemoError;
use std::io::Write;
use std::path::{Path, PathBuf};

/// One value in an extract row.
#[derive(Debug, Clone)]
pub(super) enum V {
    S(String),
    I(i64),
    N(f64),
    D(i32, u32, u32),
    F(bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ty {
    S,
    I,
    N,
    D,
    F,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Dialect {
    Utf8,
    Utf8Bom,
    Cp1252,
}

/// Writes one extract as CSV (in a dialect) or Parquet (arrow-rs, row group by row group).
pub(super) struct Sink {
    path: PathBuf,
    kind: SinkKind,
    rows: u64,
}

pub(super) enum SinkKind {
    Csv {
        w: std::io::BufWriter<std::fs::File>,
        dialect: Dialect,
        dutch_dates: bool,
        space_postcode: bool,
        line: String,
    },
    /// Rows are buffered 100,000 at a time and written as row groups as they come, so that a
    /// national demo never holds a file in memory.
    Parquet {
        w: Box<parquet::arrow::ArrowWriter<std::fs::File>>,
        names: Vec<String>,
        types: Vec<Ty>,
        buf: Vec<Vec<V>>,
    },
}

pub(super) fn ioerr(path: &Path) -> impl Fn(std::io::Error) -> DemoError + '_ {
    move |e| DemoError::Io {
        file: path.display().to_string(),
        message: e.to_string(),
    }
}

fn pqerr(path: &Path) -> impl Fn(parquet::errors::ParquetError) -> DemoError + '_ {
    move |e| DemoError::Io {
        file: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Rows per row group, as DuckDB writes them (the readers split work by row group).
const ROW_GROUP: usize = 122_880;

impl Sink {
    pub(super) fn csv(
        path: PathBuf,
        cols: &[(&str, Ty)],
        dialect: Dialect,
        dutch_dates: bool,
        space_postcode: bool,
    ) -> Result<Self, DemoError> {
        let f = std::fs::File::create(&path).map_err(ioerr(&path))?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        if matches!(dialect, Dialect::Utf8Bom) {
            w.write_all(b"\xEF\xBB\xBF").map_err(ioerr(&path))?;
        }
        let header: Vec<&str> = cols.iter().map(|c| c.0).collect();
        write!(w, "{}\r\n", header.join(";")).map_err(ioerr(&path))?;
        Ok(Self {
            path,
            kind: SinkKind::Csv {
                w,
                dialect,
                dutch_dates,
                space_postcode,
                line: String::new(),
            },
            rows: 0,
        })
    }

    pub(super) fn parquet(path: PathBuf, cols: &[(&str, Ty)]) -> Result<Self, DemoError> {
        use duckdb::arrow::datatypes::{DataType, Field, Schema};
        use parquet::basic::{Compression, ZstdLevel};
        use parquet::file::properties::WriterProperties;
        let fields: Vec<Field> = cols
            .iter()
            .map(|(n, t)| {
                let ty = match t {
                    Ty::S | Ty::F => DataType::Utf8,
                    Ty::I => DataType::Int64,
                    Ty::N => DataType::Float64,
                    Ty::D => DataType::Date32,
                };
                Field::new(*n, ty, true)
            })
            .collect();
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(ROW_GROUP))
            .build();
        let f = std::fs::File::create(&path).map_err(ioerr(&path))?;
        let w = Box::new(
            parquet::arrow::ArrowWriter::try_new(
                f,
                std::sync::Arc::new(Schema::new(fields)),
                Some(props),
            )
            .map_err(pqerr(&path))?,
        );
        Ok(Self {
            kind: SinkKind::Parquet {
                w,
                names: cols.iter().map(|c| c.0.to_string()).collect(),
                types: cols.iter().map(|c| c.1).collect(),
                buf: Vec::new(),
            },
            path,
            rows: 0,
        })
    }

    pub(super) fn row(&mut self, vals: Vec<V>) -> Result<(), DemoError> {
        self.rows += 1;
        match &mut self.kind {
            SinkKind::Csv {
                w,
                dialect,
                dutch_dates,
                space_postcode,
                line,
            } => {
                use std::fmt::Write as _;
                line.clear();
                for (i, v) in vals.iter().enumerate() {
                    if i > 0 {
                        line.push(';');
                    }
                    match v {
                        V::S(s)
                            if *space_postcode
                                && s.len() == 6
                                && s.as_bytes()[..4].iter().all(u8::is_ascii_digit)
                                && s.as_bytes()[4].is_ascii_uppercase() =>
                        {
                            let _ = write!(line, "{} {}", &s[..4], &s[4..]);
                        }
                        V::S(s) => line.push_str(s),
                        V::I(n) => {
                            let _ = write!(line, "{n}");
                        }
                        V::N(x) => {
                            let _ = write!(line, "{}", format!("{x:.2}").replace('.', ","));
                        }
                        V::D(y, m, d) if *dutch_dates => {
                            let _ = write!(line, "{d:02}-{m:02}-{y}");
                        }
                        V::D(y, m, d) => {
                            let _ = write!(line, "{y}-{m:02}-{d:02}");
                        }
                        V::F(b) => line.push(if *b { 'J' } else { 'N' }),
                    }
                }
                line.push_str("\r\n");
                let bytes: std::borrow::Cow<'_, [u8]> =
                    if matches!(dialect, Dialect::Cp1252) && !line.is_ascii() {
                        encoding_rs::WINDOWS_1252.encode(line).0
                    } else {
                        std::borrow::Cow::Borrowed(line.as_bytes())
                    };
                w.write_all(&bytes).map_err(ioerr(&self.path))
            }
            SinkKind::Parquet { buf, .. } => {
                buf.push(vals);
                if buf.len() >= 100_000 {
                    self.flush()?;
                }
                Ok(())
            }
        }
    }

    pub(super) fn flush(&mut self) -> Result<(), DemoError> {
        use duckdb::arrow::array::{
            ArrayRef, Date32Builder, Float64Builder, Int64Builder, StringBuilder,
        };
        let SinkKind::Parquet {
            w,
            names,
            types,
            buf,
        } = &mut self.kind
        else {
            return Ok(());
        };
        if buf.is_empty() {
            return Ok(());
        }
        let mut cols: Vec<ArrayRef> = Vec::new();
        for (j, t) in types.iter().enumerate() {
            let arr: ArrayRef = match t {
                Ty::S | Ty::F => {
                    let mut b = StringBuilder::new();
                    for r in buf.iter() {
                        match &r[j] {
                            V::S(s) => b.append_value(s),
                            V::F(f) => b.append_value(if *f { "J" } else { "N" }),
                            _ => b.append_null(),
                        }
                    }
                    std::sync::Arc::new(b.finish())
                }
                Ty::I => {
                    let mut b = Int64Builder::new();
                    for r in buf.iter() {
                        b.append_option(if let V::I(n) = r[j] { Some(n) } else { None });
                    }
                    std::sync::Arc::new(b.finish())
                }
                Ty::N => {
                    let mut b = Float64Builder::new();
                    for r in buf.iter() {
                        b.append_option(if let V::N(n) = r[j] { Some(n) } else { None });
                    }
                    std::sync::Arc::new(b.finish())
                }
                Ty::D => {
                    let mut b = Date32Builder::new();
                    for r in buf.iter() {
                        b.append_option(if let V::D(y, m, d) = r[j] {
                            i32::try_from(crate::period::days_from_civil(y, m, d)).ok()
                        } else {
                            None
                        });
                    }
                    std::sync::Arc::new(b.finish())
                }
            };
            cols.push(arr);
        }
        let batch = duckdb::arrow::record_batch::RecordBatch::try_from_iter(
            names.iter().cloned().zip(cols),
        )
        .map_err(|e| DemoError::Io {
            file: self.path.display().to_string(),
            message: e.to_string(),
        })?;
        w.write(&batch).map_err(pqerr(&self.path))?;
        buf.clear();
        Ok(())
    }

    pub(super) fn finish(mut self) -> Result<(PathBuf, u64), DemoError> {
        self.flush()?;
        match self.kind {
            SinkKind::Csv { mut w, .. } => w.flush().map_err(ioerr(&self.path))?,
            SinkKind::Parquet { w, .. } => {
                w.close().map_err(pqerr(&self.path))?;
            }
        }
        Ok((self.path, self.rows))
    }
}
