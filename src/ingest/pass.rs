//! One reading pass over all extracts, on every core: the files are cut into pieces (CSV at
//! line boundaries, Parquet at row-group boundaries), each thread takes pieces, validates their
//! rows and aggregates them into its own [`Partial`]; the partials are merged at the end.
//!
//! Errors are reported as if the files were read one after another: without `tolerant`, the
//! first bad row in file order stops the ingest.

use super::aggregate::{Partial, Plan};
use super::error::{IngestError, RowError};
use super::locate::Locator;
use super::read::{self, ParquetPlan, Parsed};
use super::summary::{FileSummary, Summary};
use crate::catalogue::Catalogue;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// An extract to read: path, source index, Parquet or not.
pub(crate) type Input = (PathBuf, usize, bool);

/// How a pass is spread over threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    /// Reading threads.
    pub threads: usize,
    /// CSV files are cut into pieces of about this size.
    pub csv_piece_bytes: u64,
    /// Parquet files are cut into pieces of about this many rows (whole row groups).
    pub parquet_piece_rows: u64,
}

impl Default for Split {
    /// One thread per core (or `WIJKRADAR_THREADS`), 64 MiB CSV pieces, 1 M-row Parquet pieces.
    fn default() -> Self {
        let threads = std::env::var("WIJKRADAR_THREADS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from))
            .min(64);
        Self {
            threads,
            csv_piece_bytes: 64 << 20,
            parquet_piece_rows: 1 << 20,
        }
    }
}

enum FilePlan {
    Csv(read::CsvPlan),
    Parquet(ParquetPlan),
}

#[derive(Debug, Clone)]
struct Work {
    file: usize,
    /// CSV: index of the byte range.
    piece: usize,
    /// Parquet: row groups `from..to`.
    groups: (usize, usize),
    /// Bytes (CSV) or estimated bytes (Parquet): larger pieces are taken first.
    weight: u64,
}

fn plan_pieces(
    files: &[Input],
    cat: &Catalogue,
    split: Split,
) -> Result<(Vec<Work>, Vec<FilePlan>), IngestError> {
    let mut works = Vec::new();
    let mut plans = Vec::new();
    for (fi, (path, source, parquet)) in files.iter().enumerate() {
        let file = path.display().to_string();
        let src = &cat.sources[*source];
        if *parquet {
            let plan = read::plan_parquet(path, src)?;
            let (mut from, mut rows) = (0, 0);
            for (i, &g) in plan.groups.iter().enumerate() {
                rows += g;
                if rows >= split.parquet_piece_rows || i + 1 == plan.groups.len() {
                    works.push(Work {
                        file: fi,
                        piece: 0,
                        groups: (from, i + 1),
                        weight: plan.bytes * rows / plan.rows.max(1),
                    });
                    from = i + 1;
                    rows = 0;
                }
            }
            if plan.groups.is_empty() {
                works.push(Work {
                    file: fi,
                    piece: 0,
                    groups: (0, 0),
                    weight: 0,
                });
            }
            plans.push(FilePlan::Parquet(plan));
        } else {
            let len = std::fs::metadata(path)
                .map_err(|e| IngestError::Io {
                    file: file.clone(),
                    message: e.to_string(),
                })?
                .len();
            let plan = read::plan_csv(
                path,
                src,
                len.div_ceil(split.csv_piece_bytes.max(1)).clamp(1, 1024),
            )?;
            for (piece, &(a, b)) in plan.pieces.iter().enumerate() {
                works.push(Work {
                    file: fi,
                    piece,
                    groups: (0, 0),
                    weight: b - a,
                });
            }
            plans.push(FilePlan::Csv(plan));
        }
    }
    Ok((works, plans))
}

/// Where rows were read: turns the positions recorded during a pass (piece rank and line
/// within the piece) into files and lines.
pub(crate) struct Positions {
    /// Per piece rank: file index and the lines before the piece in its file.
    pieces: Vec<(usize, u64)>,
}

/// Packs a piece rank and a line within the piece.
#[must_use]
pub(crate) fn pack(rank: usize, line: u64) -> u64 {
    (rank as u64) << 40 | line
}

impl Positions {
    /// File index and line of a packed position.
    #[must_use]
    pub(crate) fn resolve(&self, packed: u64) -> (usize, u64) {
        let (file, offset) = self.pieces[(packed >> 40) as usize];
        (file, offset + (packed & ((1 << 40) - 1)))
    }
}

/// How a pass went.
pub(crate) struct PassResult<'p, 'a> {
    /// One accumulation per thread.
    pub partials: Vec<Partial<'p, 'a>>,
    pub rejects: Vec<(String, RowError)>,
    pub summary: Summary,
    pub positions: Positions,
}

/// The error that stopped a piece, with the piece's rank in file order.
struct Stop {
    rank: usize,
    error: IngestError,
}

/// What one thread did: its accumulation, its rejects (piece rank, error with the line in
/// the piece) and per piece (rank, lines, rows, rejected).
type ThreadOut<'p, 'a> = (
    Partial<'p, 'a>,
    Vec<(usize, RowError)>,
    Vec<(usize, u64, u64, u64)>,
);

/// Reads every file once. Rows whose packed position is in `skip` are rejected as duplicates
/// (positions from an earlier pass with the same files and split).
#[expect(clippy::too_many_arguments, reason = "one pass, three call sites")]
pub(crate) fn read_pass<'p, 'a>(
    files: &[Input],
    cat: &Catalogue,
    plan: &'p Plan,
    locator: &'p Locator<'a>,
    tolerant: bool,
    split: Split,
    progress: &indicatif::ProgressBar,
    skip: &HashSet<u64>,
    find: Option<&'p HashSet<u64>>,
) -> Result<PassResult<'p, 'a>, IngestError> {
    let (works, plans) = plan_pieces(files, cat, split)?;
    // Rows to expect per source: Parquet footers tell; CSV lines are about 70 bytes.
    let mut per_source = vec![0u64; cat.sources.len()];
    for (p, (path, source, _)) in plans.iter().zip(files) {
        per_source[*source] += match p {
            FilePlan::Parquet(pp) => pp.rows,
            FilePlan::Csv(_) => std::fs::metadata(path).map_or(0, |m| m.len() / 70),
        };
    }
    let expected: u64 = per_source.iter().sum();
    // Ranks are file order; threads take the largest pieces first.
    let mut order: Vec<usize> = (0..works.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(works[i].weight), i));
    progress.set_length(works.iter().map(|w| w.weight).sum());
    let next = AtomicUsize::new(0);
    let stopped_at = AtomicUsize::new(usize::MAX);
    let stop: Mutex<Option<Stop>> = Mutex::new(None);
    let n_threads = split.threads.clamp(1, works.len().max(1));
    let outs: Vec<ThreadOut<'p, 'a>> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..n_threads)
            .map(|_| {
                let (works, plans, order, per_source) = (&works, &plans, &order, &per_source);
                let (next, stopped_at, stop) = (&next, &stopped_at, &stop);
                sc.spawn(move || -> ThreadOut<'p, 'a> {
                    let mut partial = Partial::new(plan, locator, find);
                    partial.reserve_keys(
                        usize::try_from(expected / n_threads as u64).unwrap_or(0),
                    );
                    // A thread reads about its share of each source's rows (a little more
                    // where the pieces fall unevenly); each row adds at most one accumulator
                    // row.
                    let share: Vec<usize> = per_source
                        .iter()
                        .map(|&r| usize::try_from(r / n_threads as u64 * 5 / 4).unwrap_or(0))
                        .collect();
                    partial.reserve_rows(&share);
                    let mut rejects = Vec::new();
                    let mut counts = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&rank) = order.get(i) else { break };
                        if rank > stopped_at.load(Ordering::Relaxed) {
                            continue;
                        }
                        let w = &works[rank];
                        let (path, source, _) = &files[w.file];
                        let src = &cat.sources[*source];
                        let (mut rows, mut rejected) = (0u64, 0u64);
                        let mut cb = |r: Result<Parsed, RowError>| -> Result<(), IngestError> {
                            rows += 1;
                            if rows % 65_536 == 0 && rank > stopped_at.load(Ordering::Relaxed) {
                                return Err(IngestError::Stopped);
                            }
                            let r = r.and_then(|p| {
                                if !skip.is_empty() && skip.contains(&pack(rank, p.line)) {
                                    return Err(RowError {
                                        line: p.line,
                                        column: src.key.join("+"),
                                        rule: "duplicate: an earlier row of this source has the same key".into(),
                                    });
                                }
                                partial.add(*source, pack(rank, p.line), &p)
                            });
                            if let Err(error) = r {
                                if !tolerant {
                                    return Err(IngestError::Row {
                                        file: path.display().to_string(),
                                        error,
                                    });
                                }
                                rejected += 1;
                                rejects.push((rank, error));
                            }
                            Ok(())
                        };
                        let res = match &plans[w.file] {
                            FilePlan::Csv(cp) => {
                                read::read_csv(path, cp, w.piece, src, progress, &mut cb)
                            }
                            FilePlan::Parquet(pp) => {
                                read::read_parquet(path, pp, src, progress, w.groups, &mut cb)
                                    .map(|()| 0)
                            }
                        };
                        partial.end_piece();
                        match res {
                            Ok(lines) => counts.push((rank, lines, rows, rejected)),
                            Err(IngestError::Stopped) => {}
                            Err(error) => {
                                stopped_at.fetch_min(rank, Ordering::Relaxed);
                                let mut s =
                                    stop.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                                if s.as_ref().is_none_or(|s| rank < s.rank) {
                                    *s = Some(Stop { rank, error });
                                }
                            }
                        }
                    }
                    (partial, rejects, counts)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    tracing::debug!(pieces = works.len(), threads = n_threads, "pieces read");
    // Lines per piece → the line offset of every piece in its file.
    let mut lines = vec![0u64; works.len()];
    let mut per_file = vec![(0u64, 0u64); files.len()];
    let mut rejects: Vec<(usize, RowError)> = Vec::new();
    let mut partials = Vec::with_capacity(outs.len());
    for (p, r, counts) in outs {
        for (rank, l, rows, rej) in counts {
            lines[rank] = l;
            per_file[works[rank].file].0 += rows;
            per_file[works[rank].file].1 += rej;
        }
        rejects.extend(r);
        partials.push(p);
    }
    let mut pieces = Vec::with_capacity(works.len());
    let mut offset = 0;
    for (rank, w) in works.iter().enumerate() {
        if rank > 0 && works[rank - 1].file != w.file {
            offset = 0;
        }
        pieces.push((w.file, offset));
        offset += lines[rank];
    }
    let positions = Positions { pieces };
    if let Some(s) = stop
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
    {
        return Err(match s.error {
            IngestError::Row { file, mut error } => {
                error.line = positions.resolve(pack(s.rank, error.line)).1;
                IngestError::Row { file, error }
            }
            e => e,
        });
    }
    let mut rejects: Vec<(usize, RowError)> = rejects
        .into_iter()
        .map(|(rank, mut e)| {
            let (f, line) = positions.resolve(pack(rank, e.line));
            e.line = line;
            (f, e)
        })
        .collect();
    rejects.sort_by_key(|(f, e)| (*f, e.line));
    let mut summary = Summary::default();
    for ((path, source, _), (rows, rejected)) in files.iter().zip(per_file) {
        tracing::debug!(file = %path.display(), rows, "read");
        summary.rows_read += rows;
        summary.rows_rejected += rejected;
        summary.files.push(FileSummary {
            file: path.display().to_string(),
            source: cat.sources[*source].id.clone(),
            rows,
            rejected,
        });
    }
    Ok(PassResult {
        partials,
        rejects: rejects
            .into_iter()
            .map(|(f, e)| (files[f].0.display().to_string(), e))
            .collect(),
        summary,
        positions,
    })
}
