//! Writing one dataset version: its parameters and extracts, the catalogue as used, the units
//! with their geometry, the published figures and the coverage, then the carry-over of
//! indicators not recomputed and the retention of the three newest versions. The statements
//! are in `sql/version.sql`; nothing here is assembled from data.

use crate::catalogue::Catalogue;
use crate::disclosure::{Figure, Params, Publication, Status};
use crate::ingest::UnitRow;
use crate::period::period_label;
use crate::spatial::Level;
use duckdb::arrow::array::{ArrayRef, Float64Builder, Int32Builder, Int64Builder, StringBuilder};
use duckdb::arrow::record_batch::RecordBatch;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The statements of `sql/version.sql`.
const SQL: &str = include_str!("../../sql/version.sql");

/// The statement named `name` in `sql/version.sql`.
///
/// # Panics
/// When the file has no such statement (a programming error, caught by the unit test).
#[must_use]
pub fn statement(name: &str) -> &'static str {
    let head = format!("-- name: {name}\n");
    let Some(start) = SQL.find(&head).map(|i| i + head.len()) else {
        panic!("sql/version.sql has no statement {name}")
    };
    let end = SQL[start..].find("-- end").map_or(SQL.len(), |e| start + e);
    SQL[start..end].trim()
}

fn arrow_err(e: duckdb::arrow::error::ArrowError) -> duckdb::Error {
    duckdb::Error::ToSqlConversionFailure(Box::new(e))
}

/// One extract a version was built from: its name and content hash, never its content.
#[derive(Debug, Clone)]
pub struct Extract {
    pub source: String,
    pub file_name: String,
    pub content_hash: String,
    pub rows: u64,
    pub rejected: u64,
}

/// Everything about a new version but its figures.
#[derive(Debug, Clone, Copy)]
pub struct VersionHead<'a> {
    pub params: Params,
    pub catalogue: &'a Catalogue,
    pub catalogue_sha: &'a str,
    pub fingerprint: &'a str,
    pub rows_read: u64,
    pub rows_rejected: u64,
    pub boundary_year: i32,
    /// The boundary imports laid over the shipped boundaries (ids).
    pub boundary_imports: &'a [i32],
    pub extracts: &'a [Extract],
    /// The indicators computed in this version; the others are carried over.
    pub computed: &'a [String],
}

/// The units and figures of a version.
#[derive(Debug, Clone, Default)]
pub struct VersionBody {
    pub units: Vec<UnitRow>,
    /// The published figures and the coverage.
    pub publication: Publication,
}

/// Level and published code of every unit number a [`Figure`] refers to.
#[derive(Debug, Clone, Copy)]
pub struct UnitIndex<'a> {
    pub levels: &'a [Level],
    pub codes: &'a [String],
}

/// Writes a new version in `tx`: the head first, then the units and figures that `body`
/// returns (so that disclosure control may still be running while the head is written).
/// Returns the version number and the body.
///
/// # Errors
/// DuckDB errors; the transaction is then not committed by the caller.
pub fn write_version(
    tx: &duckdb::Transaction<'_>,
    head: &VersionHead<'_>,
    units: UnitIndex<'_>,
    body: impl FnOnce() -> VersionBody,
) -> Result<(i32, VersionBody), duckdb::Error> {
    let prev = super::latest_version(tx)?.map(|(v, _)| v);
    let version = prev.unwrap_or(0) + 1;
    let p = head.params;
    tx.execute(
        statement("insert_version"),
        duckdb::params![
            version,
            p.k,
            p.k_fine,
            p.round_to,
            head.catalogue_sha,
            head.fingerprint,
            head.rows_read,
            head.rows_rejected,
            head.boundary_year,
            head.boundary_imports
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ],
    )?;
    // Appenders rather than one INSERT per row: each statement costs a prepare.
    let mut app = tx.appender("dataset_extract")?;
    for e in head.extracts {
        app.append_row(duckdb::params![
            version,
            e.source,
            e.file_name,
            e.content_hash,
            e.rows,
            e.rejected
        ])?;
    }
    app.flush()?;
    drop(app);
    write_catalogue(tx, version, head.catalogue)?;
    tracing::debug!("metadata appended");
    let body = body();
    {
        let mut app = tx.appender("unit")?;
        for chunk in body.units.chunks(50_000) {
            app.append_record_batch(units_batch(version, chunk)?)?;
        }
        app.flush()?;
    }
    tracing::debug!("units appended");
    write_figures(tx, version, units, head.computed, &body.publication)?;
    tracing::debug!("figures appended");
    if let Some(prev) = prev {
        carry_over_and_retain(tx, version, prev, head.computed)?;
    }
    Ok((version, body))
}

fn write_catalogue(
    tx: &duckdb::Transaction<'_>,
    version: i32,
    cat: &Catalogue,
) -> Result<(), duckdb::Error> {
    let mut app = tx.appender("indicator")?;
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
            ind.polarity.id(),
            ind.min_denominator,
            ind.enforcement,
            ind.numerator.sum.is_some(),
            ind.short_name()
        ])?;
    }
    app.flush()?;
    drop(app);
    let mut app = tx.appender("theme")?;
    for t in &cat.themes {
        app.append_row(duckdb::params![version, t.id, t.naam, t.weight])?;
    }
    app.flush()
}

/// The published figures (sorted by level and period so that DuckDB's zone maps prune on
/// both) and the coverage: how many areas per level, quarter and indicator were published.
fn write_figures(
    tx: &duckdb::Transaction<'_>,
    version: i32,
    units: UnitIndex<'_>,
    ids: &[String],
    publication: &Publication,
) -> Result<(), duckdb::Error> {
    use rayon::prelude::*;
    let mut shown: Vec<&Figure> = publication
        .figures
        .iter()
        .filter(|f| f.status == Status::Published)
        .collect();
    shown.par_sort_unstable_by_key(|f| {
        (units.levels[f.unit as usize], f.period, f.unit, f.indicator)
    });
    let mut app = tx.appender("aggregate")?;
    let batches: Vec<RecordBatch> = shown
        .par_chunks(shown.len().div_ceil(rayon::current_num_threads()).max(1))
        .map(|chunk| figures_batch(version, chunk, &units, ids))
        .collect::<Result<_, _>>()?;
    for batch in batches {
        app.append_record_batch(batch)?;
    }
    app.flush()?;
    drop(app);
    // Rows in (level, quarter, indicator) order: the table's own order.
    let mut app = tx.appender("coverage")?;
    for (&(level, q, i), c) in &publication.coverage {
        if c.present == 0 {
            continue;
        }
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        app.append_row(duckdb::params![
            version,
            level.id(),
            period_label(q),
            ids[usize::from(i)],
            count(c.present),
            count(c.published),
            count(c.suppressed),
            count(c.rated)
        ])?;
    }
    app.flush()
}

/// The statements that keep only the three newest versions, one per table.
const RETAIN: [&str; 6] = [
    "retain_aggregate",
    "retain_coverage",
    "retain_unit",
    "retain_indicator",
    "retain_theme",
    "retain_dataset_extract",
];

/// Indicators not recomputed in this version are carried over from the previous one, with
/// the units they need; then only the three newest versions are kept.
fn carry_over_and_retain(
    tx: &duckdb::Transaction<'_>,
    version: i32,
    prev: i32,
    computed: &[String],
) -> Result<(), duckdb::Error> {
    tx.execute_batch(statement("create_computed"))?;
    tx.execute_batch(statement("clear_computed"))?;
    {
        let mut app = tx.appender("computed_indicator")?;
        for id in computed {
            app.append_row(duckdb::params![id])?;
        }
        app.flush()?;
    }
    for name in ["carry_aggregates", "carry_coverage"] {
        tx.execute(statement(name), duckdb::params![version, prev])?;
    }
    tx.execute(
        statement("carry_units"),
        duckdb::params![version, prev, version],
    )?;
    for name in RETAIN {
        tx.execute(statement(name), duckdb::params![version - 3])?;
    }
    Ok(())
}

fn units_batch(version: i32, units: &[UnitRow]) -> Result<RecordBatch, duckdb::Error> {
    let mut v = Int32Builder::new();
    let mut text: Vec<StringBuilder> = (0..6).map(|_| StringBuilder::new()).collect();
    let mut geometry = StringBuilder::new();
    let mut geometry_rd = StringBuilder::new();
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
        geometry_rd.append_option(u.geometry_rd.as_deref());
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
    cols.push(("geometry_rd", Arc::new(geometry_rd.finish())));
    RecordBatch::try_from_iter(cols).map_err(arrow_err)
}

fn figures_batch(
    version: i32,
    figs: &[&Figure],
    units: &UnitIndex<'_>,
    ids: &[String],
) -> Result<RecordBatch, duckdb::Error> {
    let mut v = Int32Builder::new();
    let mut level = StringBuilder::new();
    let mut code = StringBuilder::new();
    let mut period = StringBuilder::new();
    let mut ind = StringBuilder::new();
    let mut count = Int64Builder::new();
    let mut rate = Float64Builder::new();
    let mut denominator = Int64Builder::new();
    let mut labels: BTreeMap<u16, String> = BTreeMap::new();
    for f in figs {
        v.append_value(version);
        level.append_value(units.levels[f.unit as usize].id());
        code.append_value(&units.codes[f.unit as usize]);
        period.append_value(
            labels
                .entry(f.period)
                .or_insert_with(|| period_label(f.period)),
        );
        ind.append_value(&ids[f.indicator as usize]);
        count.append_value(f.count.map_or(0, |c| i64::try_from(c).unwrap_or(i64::MAX)));
        rate.append_option(f.rate);
        denominator.append_option(f.denominator.map(|d| i64::try_from(d).unwrap_or(i64::MAX)));
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(v.finish()),
        Arc::new(level.finish()),
        Arc::new(code.finish()),
        Arc::new(period.finish()),
        Arc::new(ind.finish()),
        Arc::new(count.finish()),
        Arc::new(rate.finish()),
        Arc::new(denominator.finish()),
    ];
    let names = [
        "version",
        "level",
        "code",
        "period",
        "indicator",
        "count",
        "rate",
        "denominator",
    ];
    RecordBatch::try_from_iter(names.into_iter().zip(cols)).map_err(arrow_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_statement_is_in_the_sql_file() {
        for name in [
            "insert_version",
            "create_computed",
            "clear_computed",
            "carry_aggregates",
            "carry_coverage",
            "carry_units",
            "insert_intervention",
        ]
        .into_iter()
        .chain(RETAIN)
        {
            let s = statement(name);
            assert!(!s.is_empty() && !s.contains("-- "), "{name}: {s}");
        }
        assert!(statement("retain_unit").starts_with("DELETE FROM unit"));
    }
}
