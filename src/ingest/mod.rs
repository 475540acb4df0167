//! The ingest: partner extracts → validate ([`read`]) → locate and aggregate ([`aggregate`])
//! → disclosure control ([`crate::disclosure`]) → one new dataset version in DuckDB
//! ([`crate::store`]). Only disclosure-controlled aggregates are written.
//!
//! This module orchestrates: it names the steps and runs them in order (reading on every
//! core, disclosure control beside the unit geometry); the steps live in their own files.

pub mod aggregate;
mod error;
mod geometry;
mod locate;
mod pass;
pub mod read;
mod summary;

pub use error::{IngestError, RowError};
pub use geometry::{unit_code, unit_codes, UnitRow};
pub use locate::Locator;
pub use summary::{dotted, FileSummary, Summary};

pub use pass::Split;

use crate::catalogue::Catalogue;
use crate::disclosure::{self, Params};
use crate::spatial::{Boundaries, Level};
use crate::store::{self, StoreError};
use aggregate::{Plan, UnitAggregates};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

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
    // The same extracts located in newly imported boundaries make a new version.
    if !bounds.imports.is_empty() {
        fp.push(format!("boundaries={:?}", bounds.imports));
    }
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
        rss_mb = resident_mb(),
        cpu = ?cpu_seconds(),
        units = ua.units.len(),
        pairs = ua.structure.pairs.len(),
        differences = ua.structure.differences.len(),
        "rolled up"
    );
    let codes = unit_codes(&ua, bounds);
    let levels: Vec<Level> = ua.units.iter().map(|u| u.level).collect();
    let extracts: Vec<store::Extract> = summary
        .files
        .iter()
        .zip(&files)
        .map(|(f, (_, _, _, sha))| store::Extract {
            source: f.source.clone(),
            file_name: Path::new(&f.file)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            content_hash: sha.clone(),
            rows: f.rows,
            rejected: f.rejected,
        })
        .collect();
    // Disclosure control runs on another thread while this one writes the new version's
    // metadata; the units' geometry waits for it (only served units get an outline).
    let Some((version, published, n_units)) = std::thread::scope(|sc| {
        let disclosure = sc.spawn(|| disclosure::publish(&ua, &computed, params));
        let head = store::VersionHead {
            params,
            catalogue: cat,
            catalogue_sha: &catalogue_sha,
            fingerprint: &fingerprint,
            rows_read: summary.rows_read,
            rows_rejected: summary.rows_rejected,
            boundary_year: bounds.year,
            boundary_imports: &bounds.imports,
            extracts: &extracts,
            computed: &summary.indicators,
        };
        let index = store::UnitIndex {
            levels: &levels,
            codes: &codes,
        };
        let writer = writer.take()?;
        // Under the lock: an identical ingest that finished meanwhile wrote this version.
        if writer
            .latest_version()?
            .is_some_and(|(_, f)| f == fingerprint)
        {
            return Ok::<_, IngestError>(None);
        }
        let (version, body) = writer.commit(|tx| {
            store::write_version(tx, &head, index, || {
                let publication = disclosure
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e));
                tracing::debug!(
                    seconds = started.elapsed().as_secs_f64(),
                    rss_mb = resident_mb(),
                    cpu = ?cpu_seconds(),
                    "disclosure control"
                );
                let mut published = vec![false; ua.units.len()];
                for f in &publication.figures {
                    published[f.unit as usize] = true;
                }
                let units = geometry::unit_rows(&ua, bounds, &codes, &published);
                tracing::debug!(
                    seconds = started.elapsed().as_secs_f64(),
                    units = units.len(),
                    "unit geometry"
                );
                store::VersionBody { units, publication }
            })
            .map_err(|source| StoreError::Db {
                file: db.display().to_string(),
                source,
            })
        })?;
        Ok::<_, IngestError>(Some((version, body.publication, body.units.len())))
    })?
    else {
        return Ok(Summary {
            seconds: started.elapsed().as_secs_f64(),
            ..Summary::default()
        });
    };
    tracing::debug!(
        seconds = started.elapsed().as_secs_f64(),
        rss_mb = resident_mb(),
        cpu = ?cpu_seconds(),
        "written"
    );
    summary.units = n_units;
    #[expect(clippy::cast_possible_truncation, reason = "figures fit in memory")]
    {
        summary.figures = published.present() as usize;
        summary.published = published.present().saturating_sub(published.suppressed()) as usize;
    }
    summary.version = Some(version);
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// CPU seconds this process has spent (user, system) so far, for the debug log: on hosts
/// where fresh memory is expensive to map, the system time shows it. (0, 0) where `/proc`
/// is not there.
pub(crate) fn cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces; utime
    // and stime are fields 14 and 15 (11 and 12 after the name), in ticks of 1/100 s.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let seconds = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(0.0, |t| t / 100.0)
    };
    (seconds(11), seconds(12))
}

/// The process's resident memory in MB (0 where `/proc` is not there), for the debug log
/// that BENCHMARKS.md's memory figures by phase come from.
pub(crate) fn resident_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
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
    tracing::debug!(
        rss_mb = resident_mb(),
        cpu = ?cpu_seconds(),
        "read and aggregated"
    );
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
            aggregate::finish(first.partials),
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
        aggregate::finish(second.partials),
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
