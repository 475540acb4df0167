//! The ingest: partner extracts → validate ([`read`]) → locate and aggregate ([`aggregate`])
//! → disclosure control ([`crate::disclosure`]) → one new dataset version in DuckDB
//! ([`crate::store`]). Only disclosure-controlled aggregates are written.

pub mod aggregate;
mod pass;
pub mod read;

pub use pass::Split;

use crate::catalogue::Catalogue;
use crate::disclosure::{self, Params, Status};
use crate::spatial::{self, Boundaries, Level};
use crate::store::{self, StoreError};
use aggregate::{unpack_pc6, Locator, Plan, UnitAggregates};
use duckdb::arrow::array::{ArrayRef, Float64Builder, Int32Builder, Int64Builder, StringBuilder};
use duckdb::arrow::record_batch::RecordBatch;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// One bad row: where, and which rule it broke. Never the row's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub column: String,
    pub rule: String,
}

/// Errors that stop an ingest. The database is unchanged after any of them.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{file}, line {line}, column '{column}': {rule}", line = error.line, column = error.column, rule = error.rule)]
    Row { file: String, error: RowError },
    #[error("{file}: {message}")]
    Io { file: String, message: String },
    #[error("{file}: cannot tell which partner source this is; name the file after its source ({known}), e.g. politie_2025.csv")]
    UnknownSource { file: String, known: String },
    #[error("{file}: unsupported file type; expected .csv or .parquet")]
    FileType { file: String },
    #[error("{rejected} of {read} rows rejected ({share:.2} %), above the limit of {limit:.2} %; nothing was written (see {reject_file})")]
    TooManyRejects {
        rejected: u64,
        read: u64,
        share: f64,
        limit: f64,
        reject_file: String,
    },
    #[error("no extract given")]
    NoInput,
    #[error(
        "these extracts ({present}) compute no indicator; each needs its sources together: {needs}"
    )]
    NothingComputed { present: String, needs: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Params(#[from] disclosure::ParamsError),
    #[error("{0}")]
    Other(String),
    /// A piece of an extract stopped because an earlier piece had a bad row.
    #[error("stopped: an earlier part of the extracts had an error")]
    Stopped,
}

/// How to ingest.
#[derive(Debug, Clone)]
pub struct Options {
    pub params: Params,
    /// Report rejected rows here and go on; without it the first bad row stops the ingest.
    pub reject_file: Option<PathBuf>,
    /// Largest share of rejected rows (0–1) that still lets the ingest complete.
    pub max_reject_share: f64,
    pub progress: bool,
    /// How reading is spread over threads.
    pub split: Split,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            params: Params::default(),
            reject_file: None,
            max_reject_share: 0.01,
            progress: false,
            split: Split::default(),
        }
    }
}

/// Per-file figures.
#[derive(Debug, Clone)]
pub struct FileSummary {
    pub file: String,
    pub source: String,
    pub rows: u64,
    pub rejected: u64,
}

/// What an ingest did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// `None` when the extracts were ingested before: nothing changed.
    pub version: Option<i32>,
    pub files: Vec<FileSummary>,
    pub rows_read: u64,
    pub rows_rejected: u64,
    pub units: usize,
    pub figures: usize,
    pub suppressed_share: f64,
    pub seconds: f64,
    pub indicators: Vec<String>,
}

impl Summary {
    /// Rows per second over the whole run.
    #[must_use]
    pub fn rows_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            #[expect(clippy::cast_precision_loss, reason = "display only")]
            let r = self.rows_read as f64 / self.seconds;
            r
        } else {
            0.0
        }
    }
}

/// Which source a file belongs to: its name starts with the source id (`politie_2025.csv`).
fn source_of(cat: &Catalogue, path: &Path) -> Result<usize, IngestError> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    cat.sources
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            stem == s.id
                || stem.starts_with(&format!("{}_", s.id))
                || stem.starts_with(&format!("{}-", s.id))
        })
        .max_by_key(|(_, s)| s.id.len())
        .map(|(i, _)| i)
        .ok_or_else(|| IngestError::UnknownSource {
            file: path.display().to_string(),
            known: cat
                .sources
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Ingests extracts into `db` as one new dataset version.
///
/// # Errors
/// See [`IngestError`]; on every error the database is left as it was.
pub fn ingest(
    db: &Path,
    extracts: &[PathBuf],
    cat: &Catalogue,
    bounds: &Boundaries,
    opts: &Options,
) -> Result<Summary, IngestError> {
    let started = Instant::now();
    tracing::debug!("ingest starts");
    let params = opts.params.validate()?;
    if extracts.is_empty() {
        return Err(IngestError::NoInput);
    }
    let mut files = Vec::new();
    for p in extracts {
        let source = source_of(cat, p)?;
        let ext = p
            .extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        if !matches!(ext.as_str(), "csv" | "txt" | "parquet") {
            return Err(IngestError::FileType {
                file: p.display().to_string(),
            });
        }
        files.push((p.clone(), source, ext == "parquet"));
    }
    // Content hashes (the idempotence fingerprint), on every core.
    let files: Vec<(PathBuf, usize, bool, String)> = {
        use rayon::prelude::*;
        files
            .into_par_iter()
            .map(|(p, source, parquet)| {
                let sha = store::content_hash_file(&p).map_err(|e| IngestError::Io {
                    file: p.display().to_string(),
                    message: e.to_string(),
                })?;
                Ok((p, source, parquet, sha))
            })
            .collect::<Result<_, IngestError>>()?
    };
    tracing::debug!("extracts hashed");
    let catalogue_sha = store::sha256_hex(toml::to_string(cat).unwrap_or_default().as_bytes());
    let mut fp: Vec<String> = files
        .iter()
        .map(|(_, s, _, sha)| format!("{}:{sha}", cat.sources[*s].id))
        .collect();
    fp.sort();
    fp.push(format!(
        "k={};k_fine={};round_to={};catalogue={catalogue_sha}",
        params.k, params.k_fine, params.round_to
    ));
    let fingerprint = store::sha256_hex(fp.join("\n").as_bytes());
    if db.exists() {
        let conn = store::open_read_only(db)?;
        let latest = store::latest_version(&conn).ok().flatten();
        if let Some((_, f)) = latest {
            if f == fingerprint {
                return Ok(Summary {
                    seconds: started.elapsed().as_secs_f64(),
                    ..Summary::default()
                });
            }
        }
    }

    // The new version's copy of the database is prepared while the extracts are read.
    let mut writer = PendingWriter::start(db);
    // Read, validate, locate, aggregate.
    let inputs: Vec<(PathBuf, usize, bool)> = files
        .iter()
        .map(|(p, s, pq, _)| (p.clone(), *s, *pq))
        .collect();
    let (ua, rejects, mut summary) = read_all(
        &inputs,
        cat,
        bounds,
        opts.reject_file.is_some(),
        opts.progress,
        opts.split,
    )?;
    if let Some(rf) = &opts.reject_file {
        write_rejects(rf, &rejects)?;
        #[expect(clippy::cast_precision_loss, reason = "share")]
        let share = summary.rows_rejected as f64 / summary.rows_read.max(1) as f64;
        if share > opts.max_reject_share {
            return Err(IngestError::TooManyRejects {
                rejected: summary.rows_rejected,
                read: summary.rows_read,
                share: share * 100.0,
                limit: opts.max_reject_share * 100.0,
                reject_file: rf.display().to_string(),
            });
        }
    }
    let present: HashSet<&str> = files
        .iter()
        .map(|(_, s, _, _)| cat.sources[*s].id.as_str())
        .collect();
    let computed: Vec<&crate::catalogue::Indicator> = cat
        .indicators
        .iter()
        .filter(|i| i.sources().iter().all(|s| present.contains(s)))
        .collect();
    summary.indicators = computed.iter().map(|i| i.id.clone()).collect();
    if computed.is_empty() {
        let needs: Vec<String> = cat
            .indicators
            .iter()
            .map(|i| format!("{} ({})", i.id, i.sources().join(" + ")))
            .collect();
        return Err(IngestError::NothingComputed {
            present: present
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            needs: needs.join("; "),
        });
    }

    tracing::debug!(
        seconds = started.elapsed().as_secs_f64(),
        units = ua.units.len(),
        pairs = ua.structure.pairs.len(),
        "rolled up"
    );
    let codes = unit_codes(&ua, bounds);
    // Disclosure control runs on another thread while this one computes the units' geometry
    // and writes the new version's metadata and units; only the figures wait for it.
    let (version, published, n_units) = std::thread::scope(|sc| {
        let disclosure = sc.spawn(|| publish(&ua, &computed, params));
        let units = unit_rows(&ua, bounds, &codes);
        tracing::debug!(seconds = started.elapsed().as_secs_f64(), "unit geometry");
        let mut published = Vec::new();
        let version = writer.take()?.commit(|tx| -> Result<i32, IngestError> {
            let dberr = |source: duckdb::Error| StoreError::Db {
                file: db.display().to_string(),
                source,
            };
            let prev = store::latest_version(tx).map_err(dberr)?.map(|(v, _)| v);
            let version = prev.unwrap_or(0) + 1;
            tx.execute(
                "INSERT INTO dataset_version VALUES (?, now()::TIMESTAMP, ?, ?, ?, ?, ?, ?, ?, 2024)",
                duckdb::params![
                    version,
                    params.k,
                    params.k_fine,
                    params.round_to,
                    catalogue_sha,
                    fingerprint,
                    summary.rows_read,
                    summary.rows_rejected
                ],
            )
            .map_err(dberr)?;
            // Appenders rather than one INSERT per row: each statement costs a prepare.
            let mut app = tx.appender("dataset_extract").map_err(dberr)?;
            for (f, (_, _, _, sha)) in summary.files.iter().zip(&files) {
                let name = Path::new(&f.file)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                app.append_row(duckdb::params![
                    version, f.source, name, sha, f.rows, f.rejected
                ])
                .map_err(dberr)?;
            }
            app.flush().map_err(dberr)?;
            drop(app);
            let mut app = tx.appender("indicator").map_err(dberr)?;
            for ind in &cat.indicators {
                let partners: Vec<&str> = ind
                    .sources()
                    .iter()
                    .filter_map(|s| cat.source(s))
                    .map(|s| s.partner.as_str())
                    .collect();
                app.append_row(duckdb::params![
                    version,
                    ind.id,
                    ind.naam,
                    ind.name_en,
                    ind.theme,
                    ind.sources().join(","),
                    partners.join(", "),
                    ind.legal_basis,
                    ind.unit,
                    ind.scale,
                    format!("{:?}", ind.polarity).to_lowercase(),
                    ind.min_denominator,
                    ind.enforcement,
                    ind.numerator.sum.is_some()
                ])
                .map_err(dberr)?;
            }
            app.flush().map_err(dberr)?;
            drop(app);
            let mut app = tx.appender("theme").map_err(dberr)?;
            for t in &cat.themes {
                app.append_row(duckdb::params![version, t.id, t.naam, t.weight])
                    .map_err(dberr)?;
            }
            app.flush().map_err(dberr)?;
            drop(app);
            tracing::debug!(
                seconds = started.elapsed().as_secs_f64(),
                "metadata appended"
            );
            {
                let mut app = tx.appender("unit").map_err(dberr)?;
                for chunk in units.chunks(50_000) {
                    app.append_record_batch(units_batch(version, chunk)?)
                        .map_err(dberr)?;
                }
                app.flush().map_err(dberr)?;
            }
            tracing::debug!(seconds = started.elapsed().as_secs_f64(), "units appended");
            published = disclosure
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e));
            tracing::debug!(
                seconds = started.elapsed().as_secs_f64(),
                figures = published.len(),
                "disclosure control"
            );
            {
                use rayon::slice::ParallelSliceMut;
                let mut shown: Vec<&Figure> = published
                    .iter()
                    .filter(|f| f.status == Status::Published)
                    .collect();
                // Sorted by level and period so that DuckDB's zone maps prune on both.
                shown.par_sort_unstable_by_key(|f| {
                    (
                        ua.units[f.unit as usize].level,
                        f.period,
                        f.unit,
                        f.indicator,
                    )
                });
                let mut app = tx.appender("aggregate").map_err(dberr)?;
                let batches: Vec<RecordBatch> = {
                    use rayon::prelude::*;
                    shown
                        .par_chunks(shown.len().div_ceil(rayon::current_num_threads()).max(1))
                        .map(|chunk| figures_batch(version, chunk, &ua, &codes, &summary.indicators))
                        .collect::<Result<_, _>>()?
                };
                tracing::debug!(seconds = started.elapsed().as_secs_f64(), "figures batches");
                for batch in batches {
                    app.append_record_batch(batch).map_err(dberr)?;
                }
                app.flush().map_err(dberr)?;
                tracing::debug!(
                    seconds = started.elapsed().as_secs_f64(),
                    "figures appended"
                );
                // Coverage: how many areas per level, quarter and indicator were published.
                let (q0, q1) = published.iter().fold((u16::MAX, 0), |(a, b), f| {
                    (a.min(f.period), b.max(f.period))
                });
                let (nq, ni) = (
                    usize::from(q1.saturating_sub(q0)) + 1,
                    summary.indicators.len(),
                );
                let idx = |level: Level, q: u16, i: usize| {
                    (level as usize * nq + usize::from(q - q0)) * ni + i
                };
                let mut dense: Vec<[i64; 4]> = vec![[0; 4]; Level::ALL.len() * nq * ni];
                for f in &published {
                    let level = ua.units[f.unit as usize].level;
                    let e = &mut dense[idx(level, f.period, usize::from(f.indicator))];
                    e[0] += 1;
                    if f.status == Status::Published {
                        e[1] += 1;
                        if f.rate.is_some() {
                            e[3] += 1;
                        }
                    } else {
                        e[2] += 1;
                    }
                }
                // Rows in (level, quarter, indicator) order: the table's own order.
                let mut app = tx.appender("coverage").map_err(dberr)?;
                for level in Level::ALL {
                    for q in q0..=q1 {
                        for (i, indicator) in summary.indicators.iter().enumerate() {
                            let c = dense[idx(level, q, i)];
                            if c[0] == 0 {
                                continue;
                            }
                            app.append_row(duckdb::params![
                                version,
                                level.id(),
                                read::period_label(q),
                                indicator,
                                c[0],
                                c[1],
                                c[2],
                                c[3]
                            ])
                            .map_err(dberr)?;
                        }
                    }
                }
                app.flush().map_err(dberr)?;
            }
            tracing::debug!(
                seconds = started.elapsed().as_secs_f64(),
                "aggregates appended"
            );
            if let Some(prev) = prev {
                // Indicators not recomputed in this ingest are carried over from the previous version.
                let list = summary
                    .indicators
                    .iter()
                    .map(|i| format!("'{}'", i.replace('\'', "''")))
                    .collect::<Vec<_>>()
                    .join(",");
                let not_in = if list.is_empty() {
                    String::new()
                } else {
                    format!("AND indicator NOT IN ({list})")
                };
                for t in ["aggregate SELECT ?, level, code, period, indicator, count, rate FROM aggregate", "coverage SELECT ?, level, period, indicator, areas, published, suppressed, rates FROM coverage"] {
                    tx.execute(&format!("INSERT INTO {t} WHERE version = ? {not_in}"), duckdb::params![version, prev]).map_err(dberr)?;
                }
                tx.execute(
                    "INSERT INTO unit SELECT ?, u.level, u.code, u.naam, u.parent, u.wijk, u.gemeente, u.geometry, u.lon, u.lat, u.min_lon, u.min_lat, u.max_lon, u.max_lat
                     FROM unit u WHERE u.version = ? AND NOT EXISTS (SELECT 1 FROM unit n WHERE n.version = ? AND n.level = u.level AND n.code = u.code)",
                    duckdb::params![version, prev, version],
                )
                .map_err(dberr)?;
                // Keep the three newest versions.
                for t in [
                    "aggregate",
                    "coverage",
                    "unit",
                    "indicator",
                    "theme",
                    "dataset_extract",
                ] {
                    tx.execute(
                        &format!("DELETE FROM {t} WHERE version <= ?"),
                        duckdb::params![version - 3],
                    )
                    .map_err(dberr)?;
                }
            }
            Ok(version)
        })?;
        Ok::<_, IngestError>((version, published, units.len()))
    })?;
    tracing::debug!(seconds = started.elapsed().as_secs_f64(), "written");
    summary.units = n_units;
    summary.figures = published.len();
    let suppressed = published
        .iter()
        .filter(|f| f.status != Status::Published)
        .count();
    #[expect(clippy::cast_precision_loss, reason = "share")]
    {
        summary.suppressed_share = suppressed as f64 / published.len().max(1) as f64;
    }
    summary.version = Some(version);
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// A [`store::Writer`] being prepared on another thread; joined when taken or dropped.
struct PendingWriter(Option<std::thread::JoinHandle<Result<store::Writer, StoreError>>>);

impl PendingWriter {
    fn start(db: &Path) -> Self {
        let db = db.to_path_buf();
        Self(Some(std::thread::spawn(move || store::Writer::begin(&db))))
    }

    fn take(&mut self) -> Result<store::Writer, IngestError> {
        self.0
            .take()
            .ok_or_else(|| IngestError::Other("the writer was taken".into()))?
            .join()
            .map_err(|_| IngestError::Other("preparing the database copy panicked".into()))?
            .map_err(IngestError::from)
    }
}

impl Drop for PendingWriter {
    fn drop(&mut self) {
        if let Some(h) = self.0.take() {
            // The copy is removed when the writer drops.
            let _ = h.join();
        }
    }
}

fn progress_bar(show: bool) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let b = indicatif::ProgressBar::new(0);
    b.set_style(
        indicatif::ProgressStyle::with_template(
            "extracten lezen [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, nog {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    b
}

fn write_rejects(path: &Path, rejects: &[(String, RowError)]) -> Result<(), IngestError> {
    use std::io::Write;
    let io = |e: std::io::Error| IngestError::Io {
        file: path.display().to_string(),
        message: e.to_string(),
    };
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    writeln!(w, "bestand;regel;kolom;regel_geschonden").map_err(io)?;
    for (file, e) in rejects {
        writeln!(
            w,
            "{};{};{};{}",
            file.replace(';', ","),
            e.line,
            e.column.replace(';', ","),
            e.rule.replace(';', ",")
        )
        .map_err(io)?;
    }
    w.flush().map_err(io)
}

/// Reads, validates, locates and aggregates every file. With `tolerant`, bad rows are
/// collected instead of stopping the run. Duplicate keys are found by sorting the keys after
/// the pass; when there are any, a tolerant run reads again without them.
/// The exact aggregates, the rejected rows (file, error) and the summary of a read.
type Read = (UnitAggregates, Vec<(String, RowError)>, Summary);

fn read_all(
    files: &[pass::Input],
    cat: &Catalogue,
    bounds: &Boundaries,
    tolerant: bool,
    progress: bool,
    split: Split,
) -> Result<Read, IngestError> {
    let plan = Plan::new(cat).map_err(IngestError::Other)?;
    let bar = progress_bar(progress);
    let locator = Locator::new(bounds);
    let none = HashSet::new();
    let mut first = pass::read_pass(
        files, cat, &plan, &locator, tolerant, split, &bar, &none, None,
    )?;
    tracing::debug!("read and aggregated");
    let keys: Vec<aggregate::KeyBuckets> = first
        .partials
        .iter_mut()
        .map(aggregate::Partial::take_keys)
        .collect();
    let repeated = aggregate::repeated_hashes(&keys);
    drop(keys);
    tracing::debug!(repeated = repeated.len(), "keys checked");
    if repeated.is_empty() {
        bar.finish_and_clear();
        return Ok((
            aggregate::finish(first.partials, split.dense_values),
            first.rejects,
            first.summary,
        ));
    }
    // Duplicate keys (rare): read again to find where they are.
    drop(first);
    let locator = Locator::new(bounds);
    bar.reset();
    let found = pass::read_pass(
        files,
        cat,
        &plan,
        &locator,
        tolerant,
        split,
        &bar,
        &none,
        Some(&repeated),
    )?;
    let dups = aggregate::later_occurrences(
        found
            .partials
            .iter()
            .flat_map(|p| p.found().iter().copied())
            .collect(),
    );
    let positions = found.positions;
    drop(found.partials);
    let (f, line) = positions.resolve(dups[0]);
    if !tolerant {
        return Err(IngestError::Row {
            file: files[f].0.display().to_string(),
            error: RowError {
                line,
                column: cat.sources[files[f].1].key.join("+"),
                rule: "duplicate: an earlier row of this source has the same key".into(),
            },
        });
    }
    // Read again without the later occurrences (same files and split, so the same pieces).
    let skip: HashSet<u64> = dups.into_iter().collect();
    let locator = Locator::new(bounds);
    bar.reset();
    let second = pass::read_pass(
        files, cat, &plan, &locator, tolerant, split, &bar, &skip, None,
    )?;
    bar.finish_and_clear();
    Ok((
        aggregate::finish(second.partials, split.dense_values),
        second.rejects,
        second.summary,
    ))
}

/// Reads and aggregates extracts without disclosure control or writing: the exact unit
/// aggregates, for differential tests and benchmarks. Stops at the first bad row.
///
/// # Errors
/// As [`ingest`] for reading.
pub fn aggregate_files(
    extracts: &[PathBuf],
    cat: &Catalogue,
    bounds: &Boundaries,
    split: Split,
) -> Result<UnitAggregates, IngestError> {
    let mut files = Vec::new();
    for p in extracts {
        let parquet = p
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
        files.push((p.clone(), source_of(cat, p)?, parquet));
    }
    let (ua, _, _) = read_all(&files, cat, bounds, false, false, split)?;
    Ok(ua)
}

/// One disclosure-controlled figure.
#[derive(Debug, Clone)]
pub struct Figure {
    pub unit: u32,
    pub period: u16,
    pub indicator: u16,
    pub count: Option<u64>,
    pub rate: Option<f64>,
    pub status: Status,
    pub rate_suppressed: bool,
}

/// Applies disclosure control to every computed indicator, unit and quarter (in parallel
/// over indicators and quarters; each is protected on its own).
#[must_use]
pub fn publish(
    ua: &UnitAggregates,
    indicators: &[&crate::catalogue::Indicator],
    params: Params,
) -> Vec<Figure> {
    use rayon::prelude::*;
    let mut by_period: BTreeMap<u16, Vec<usize>> = BTreeMap::new();
    for (r, &(_, q)) in ua.rows.iter().enumerate() {
        by_period.entry(q).or_default().push(r);
    }
    let jobs: Vec<(usize, usize, usize, u16)> = indicators
        .iter()
        .enumerate()
        .filter_map(|(ii, ind)| {
            Some((
                ii,
                ua.measure_index(&ind.numerator)?,
                ua.measure_index(&ind.denominator)?,
            ))
        })
        .flat_map(|(ii, num, den)| by_period.keys().map(move |&q| (ii, num, den, q)))
        .collect();
    jobs.par_iter()
        .flat_map_iter(|&(ii, num, den, q)| {
            let ind = indicators[ii];
            let rows = &by_period[&q];
            let mut n: Vec<Option<f64>> = vec![None; ua.units.len()];
            for &r in rows {
                let (_, nn) = ua.value(r, num);
                let (dv, _) = ua.value(r, den);
                if nn > 0.0 || dv > 0.0 {
                    n[ua.rows[r].0 as usize] = Some(nn);
                }
            }
            let status = disclosure::protect(&ua.structure, params, &n);
            let mut out = Vec::new();
            for &r in rows {
                let u = ua.rows[r].0;
                let st = status[u as usize];
                if st == Status::Absent {
                    continue;
                }
                let (nv, nn) = ua.value(r, num);
                let (dv, _) = ua.value(r, den);
                let published = st == Status::Published;
                let rate_ok = published && dv >= ind.min_denominator && dv > 0.0;
                out.push(Figure {
                    unit: u,
                    period: q,
                    indicator: u16::try_from(ii).unwrap_or(u16::MAX),
                    count: published.then(|| params.round(nn)),
                    rate: rate_ok.then(|| (nv / dv * ind.scale * 100.0).round() / 100.0),
                    status: st,
                    rate_suppressed: !rate_ok,
                });
            }
            out
        })
        .collect()
}

fn units_batch(version: i32, units: &[UnitRow]) -> Result<RecordBatch, IngestError> {
    let mut v = Int32Builder::new();
    let mut text: Vec<StringBuilder> = (0..6).map(|_| StringBuilder::new()).collect();
    let mut geometry = StringBuilder::new();
    let mut nums: Vec<Float64Builder> = (0..6).map(|_| Float64Builder::new()).collect();
    for u in units {
        v.append_value(version);
        text[0].append_value(u.level.id());
        text[1].append_value(&u.code);
        text[2].append_option(u.naam.as_deref());
        text[3].append_option(u.parent.as_deref());
        text[4].append_option(u.wijk.as_deref());
        text[5].append_value(&u.gemeente);
        geometry.append_value(&u.geometry);
        for (b, x) in nums
            .iter_mut()
            .zip([u.lon, u.lat, u.bbox[0], u.bbox[1], u.bbox[2], u.bbox[3]])
        {
            b.append_value(x);
        }
    }
    let mut cols: Vec<(&str, ArrayRef)> = vec![("version", Arc::new(v.finish()))];
    for (name, mut b) in ["level", "code", "naam", "parent", "wijk", "gemeente"]
        .into_iter()
        .zip(text)
    {
        cols.push((name, Arc::new(b.finish())));
    }
    cols.push(("geometry", Arc::new(geometry.finish())));
    for (name, mut b) in ["lon", "lat", "min_lon", "min_lat", "max_lon", "max_lat"]
        .into_iter()
        .zip(nums)
    {
        cols.push((name, Arc::new(b.finish())));
    }
    RecordBatch::try_from_iter(cols).map_err(|e| IngestError::Other(e.to_string()))
}

fn figures_batch(
    version: i32,
    figs: &[&Figure],
    ua: &UnitAggregates,
    codes: &[String],
    ids: &[String],
) -> Result<RecordBatch, IngestError> {
    let mut v = Int32Builder::new();
    let mut level = StringBuilder::new();
    let mut code = StringBuilder::new();
    let mut period = StringBuilder::new();
    let mut ind = StringBuilder::new();
    let mut count = Int64Builder::new();
    let mut rate = Float64Builder::new();
    let mut labels: BTreeMap<u16, String> = BTreeMap::new();
    for f in figs {
        v.append_value(version);
        level.append_value(ua.units[f.unit as usize].level.id());
        code.append_value(&codes[f.unit as usize]);
        period.append_value(
            labels
                .entry(f.period)
                .or_insert_with(|| read::period_label(f.period)),
        );
        ind.append_value(&ids[f.indicator as usize]);
        count.append_value(f.count.map_or(0, |c| i64::try_from(c).unwrap_or(i64::MAX)));
        rate.append_option(f.rate);
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(v.finish()),
        Arc::new(level.finish()),
        Arc::new(code.finish()),
        Arc::new(period.finish()),
        Arc::new(ind.finish()),
        Arc::new(count.finish()),
        Arc::new(rate.finish()),
    ];
    let names = [
        "version",
        "level",
        "code",
        "period",
        "indicator",
        "count",
        "rate",
    ];
    RecordBatch::try_from_iter(names.into_iter().zip(cols))
        .map_err(|e| IngestError::Other(e.to_string()))
}

/// The published code of every unit (CBS code, postcode or H3 index).
#[must_use]
pub fn unit_codes(ua: &UnitAggregates, b: &Boundaries) -> Vec<String> {
    ua.units
        .iter()
        .map(|u| match b.set(u.level).filter(|_| u.level != Level::Pc4) {
            Some(set) => usize::try_from(u.key)
                .ok()
                .and_then(|i| set.areas.get(i))
                .map(|a| a.code.clone())
                .unwrap_or_default(),
            None => unit_code(*u),
        })
        .collect()
}

/// The published code of a unit.
#[must_use]
pub fn unit_code(u: aggregate::UnitKey) -> String {
    match u.level {
        Level::Pc4 => format!("{:04}", u.key),
        Level::Pc6 => unpack_pc6(u.key),
        Level::H3_7 | Level::H3_8 | Level::H3_9 | Level::H3_10 => h3o::CellIndex::try_from(u.key)
            .map(|c| c.to_string())
            .unwrap_or_default(),
        Level::Gemeente | Level::Wijk | Level::Buurt => String::new(),
    }
}

/// A unit row as stored.
#[derive(Debug, Clone)]
pub struct UnitRow {
    pub level: Level,
    pub code: String,
    pub naam: Option<String>,
    pub parent: Option<String>,
    pub wijk: Option<String>,
    pub gemeente: String,
    pub geometry: String,
    pub lon: f64,
    pub lat: f64,
    pub bbox: [f64; 4],
}

fn geometry_json(g: &geo::MultiPolygon<f64>) -> String {
    use geo::MapCoords;
    let r = g.map_coords(|c| geo::Coord {
        x: (c.x * 1e6).round() / 1e6,
        y: (c.y * 1e6).round() / 1e6,
    });
    let geom = if r.0.len() == 1 {
        geojson::Geometry::from(&r.0[0])
    } else {
        geojson::Geometry::from(&r)
    };
    serde_json::to_string(&geom).unwrap_or_default()
}

fn unit_rows(ua: &UnitAggregates, b: &Boundaries, codes: &[String]) -> Vec<UnitRow> {
    use geo::BoundingRect;
    let area_code = |level: Level, key: u64| -> Option<&spatial::Area> {
        let set = b.set(level)?;
        set.areas.get(usize::try_from(key).ok()?)
    };
    // gemeente and wijk of each unit: those of its first address (H3 cells and postcodes may
    // straddle borders).
    let mut gemeente_of = vec![String::new(); ua.units.len()];
    let mut wijk_of: Vec<Option<String>> = vec![None; ua.units.len()];
    for (u, key) in ua.units.iter().enumerate() {
        match key.level {
            Level::Gemeente => {
                gemeente_of[u] = area_code(Level::Gemeente, key.key)
                    .map(|a| a.code.clone())
                    .unwrap_or_default()
            }
            Level::Wijk | Level::Buurt => {
                if let Some(a) = area_code(key.level, key.key) {
                    gemeente_of[u] = a.gemeente.clone().unwrap_or_default();
                    wijk_of[u] = if key.level == Level::Wijk {
                        Some(a.code.clone())
                    } else {
                        a.wijk.clone()
                    };
                }
            }
            _ => {}
        }
    }
    for (u, anc) in ua.unit_gemeente.iter().enumerate() {
        if gemeente_of[u].is_empty() {
            gemeente_of[u] = gemeente_of[*anc as usize].clone();
        }
    }
    for (u, w) in ua.unit_wijk.iter().enumerate() {
        if wijk_of[u].is_none() {
            wijk_of[u] = w.and_then(|w| wijk_of[w as usize].clone());
        }
    }
    let code_of = |u: u32| -> String { codes[u as usize].clone() };
    // Geometry (PC6 outlines dissolved from their cells) and its JSON, unit by unit on every
    // core.
    use rayon::prelude::*;
    let mut out: Vec<UnitRow> = ua
        .units
        .par_iter()
        .enumerate()
        .filter_map(|(u, key)| {
            let u32_ = u32::try_from(u).unwrap_or(u32::MAX);
            let (code, naam, geom) = match key.level {
                Level::Gemeente | Level::Wijk | Level::Buurt => {
                    let a = area_code(key.level, key.key)?;
                    (a.code.clone(), Some(a.naam.clone()), a.geometry.clone())
                }
                Level::Pc4 => {
                    let code = unit_code(*key);
                    match b.pc4.get(&code) {
                        Some(a) => (code, Some(a.naam.clone()), a.geometry.clone()),
                        None => {
                            // A PC4 outside the shipped PC4 file: the outline of its children's cells.
                            let cells: Vec<h3o::CellIndex> = ua
                                .cells_of_pc6
                                .iter()
                                .filter(|(c, _)| ua.structure.parent[**c as usize] == Some(u32_))
                                .flat_map(|(_, v)| v.iter().copied())
                                .collect();
                            (code, None, spatial::dissolve_cells(&cells))
                        }
                    }
                }
                Level::Pc6 => (
                    unit_code(*key),
                    None,
                    spatial::dissolve_cells(
                        ua.cells_of_pc6.get(&u32_).map_or(&[][..], Vec::as_slice),
                    ),
                ),
                _ => {
                    let cell = h3o::CellIndex::try_from(key.key).unwrap_or_else(|_| unreachable!());
                    (
                        cell.to_string(),
                        None,
                        geo::MultiPolygon::new(vec![spatial::cell_polygon(cell)]),
                    )
                }
            };
            let parent = ua.structure.parent[u].map(code_of);
            let (lon, lat) = spatial::centroid(&geom);
            let r = geom.bounding_rect().map_or([lon, lat, lon, lat], |r| {
                [r.min().x, r.min().y, r.max().x, r.max().y]
            });
            Some(UnitRow {
                level: key.level,
                code,
                naam,
                parent,
                wijk: if key.level == Level::Wijk {
                    None
                } else {
                    wijk_of[u].clone()
                },
                gemeente: gemeente_of[u].clone(),
                geometry: geometry_json(&geom),
                lon,
                lat,
                bbox: r,
            })
        })
        .collect();
    let seen_codes: HashSet<(Level, String)> =
        out.iter().map(|r| (r.level, r.code.clone())).collect();
    // Every buurt and wijk of the gemeenten in the data, also those without addresses.
    let gemeenten: HashSet<String> = out
        .iter()
        .filter(|u| u.level == Level::Gemeente)
        .map(|u| u.code.clone())
        .collect();
    for (level, set) in [(Level::Wijk, &b.wijken), (Level::Buurt, &b.buurten)] {
        for a in &set.areas {
            let gm = a.gemeente.clone().unwrap_or_default();
            if gemeenten.contains(&gm) && !seen_codes.contains(&(level, a.code.clone())) {
                let (lon, lat) = spatial::centroid(&a.geometry);
                let r = a
                    .geometry
                    .bounding_rect()
                    .map_or([lon, lat, lon, lat], |r| {
                        [r.min().x, r.min().y, r.max().x, r.max().y]
                    });
                out.push(UnitRow {
                    level,
                    code: a.code.clone(),
                    naam: Some(a.naam.clone()),
                    parent: if level == Level::Wijk {
                        Some(gm.clone())
                    } else {
                        a.wijk.clone()
                    },
                    wijk: if level == Level::Buurt {
                        a.wijk.clone()
                    } else {
                        None
                    },
                    gemeente: gm,
                    geometry: geometry_json(&a.geometry),
                    lon,
                    lat,
                    bbox: r,
                });
            }
        }
    }
    out
}
