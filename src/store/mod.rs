//! Step 5: DuckDB. Schema, dataset versions, and the copy-on-write transaction that makes a
//! failed or killed write leave the served database untouched.
//!
//! Writers (ingest, interventions) take an exclusive lock file, copy the database to a
//! temporary file, change the copy in one transaction, and rename it over the original. A
//! server that holds the old file open keeps serving it until it notices the new one.

pub mod boundaries;
mod version;

pub use version::{statement, write_version, Extract, UnitIndex, VersionBody, VersionHead};

use std::fs::File;
use std::path::{Path, PathBuf};

/// The schema DuckDB runs on every open.
pub const SCHEMA: &str = include_str!("../../sql/schema.sql");

/// Errors from the database layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {file}: {source}")]
    Db { file: String, source: duckdb::Error },
    #[error("database {file}: {message}")]
    Io { file: String, message: String },
    #[error("database {file} holds no dataset yet: run `wijkradar ingest` (or `wijkradar run` for the demo)")]
    Empty { file: String },
    #[error("database {file}: another write (an ingest or an intervention) is in progress; try again when it is done")]
    Busy { file: String },
}

fn tmp_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(".write-tmp");
    PathBuf::from(s)
}

fn lock_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

/// Runs `f` in one transaction on a copy of `db` and atomically replaces `db` with the copy
/// when `f` and the commit succeed. On any error, or if the process dies, `db` is unchanged.
///
/// # Errors
/// I/O and DuckDB errors, or the error `f` returns (converted by `E: From<StoreError>`).
pub fn write_transaction<T, E: From<StoreError>>(
    db: &Path,
    f: impl FnOnce(&duckdb::Transaction<'_>) -> Result<T, E>,
) -> Result<T, E> {
    Writer::begin(db)?.commit(f)
}

/// A write in two steps: [`Writer::begin`] takes the lock and prepares the copy (so that an
/// ingest can do it while it still computes), [`Writer::commit`] changes the copy in one
/// transaction and puts it in place. Dropping a writer without committing removes the copy.
pub struct Writer {
    db: PathBuf,
    tmp: PathBuf,
    conn: Option<duckdb::Connection>,
    _lock: File,
}

impl Writer {
    /// Locks `db`, copies it (if it exists) and opens the copy with the schema applied.
    ///
    /// # Errors
    /// I/O and DuckDB errors.
    pub fn begin(db: &Path) -> Result<Self, StoreError> {
        Self::begin_with(db, true)
    }

    /// As [`Writer::begin`], but [`StoreError::Busy`] at once when another write holds the
    /// lock (for requests, which must not wait for an ingest).
    ///
    /// # Errors
    /// [`StoreError::Busy`], I/O and DuckDB errors.
    pub fn try_begin(db: &Path) -> Result<Self, StoreError> {
        Self::begin_with(db, false)
    }

    fn begin_with(db: &Path, wait: bool) -> Result<Self, StoreError> {
        let file = db.display().to_string();
        let io = |e: std::io::Error| StoreError::Io {
            file: file.clone(),
            message: e.to_string(),
        };
        if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(lock_path(db))
            .map_err(io)?;
        if wait {
            lock.lock().map_err(io)?;
        } else {
            match lock.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(StoreError::Busy { file: file.clone() })
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        let tmp = tmp_path(db);
        let _ = std::fs::remove_file(&tmp);
        let mut wal = tmp.as_os_str().to_owned();
        wal.push(".wal");
        let _ = std::fs::remove_file(&wal);
        if db.exists() {
            if let Err(e) = std::fs::copy(db, &tmp) {
                // A partial copy (disk full) does not stay behind.
                let _ = std::fs::remove_file(&tmp);
                return Err(io(e));
            }
        }
        let mut w = Self {
            db: db.to_path_buf(),
            tmp,
            conn: None,
            _lock: lock,
        };
        let dberr = |source: duckdb::Error| StoreError::Db {
            file: file.clone(),
            source,
        };
        let conn = duckdb::Connection::open(&w.tmp).map_err(dberr)?;
        conn.execute_batch(SCHEMA).map_err(dberr)?;
        w.conn = Some(conn);
        Ok(w)
    }

    /// The newest version in the copy, read under the lock (so that two identical ingests
    /// started together write one version).
    ///
    /// # Errors
    /// DuckDB errors.
    pub fn latest_version(&self) -> Result<Option<(i32, String)>, StoreError> {
        let file = self.db.display().to_string();
        match &self.conn {
            Some(c) => latest_version(c).map_err(|source| StoreError::Db { file, source }),
            None => Ok(None),
        }
    }

    /// Runs `f` in one transaction on the copy and, when `f` and the commit succeed,
    /// atomically replaces the database with it.
    ///
    /// # Errors
    /// I/O and DuckDB errors, or the error `f` returns.
    pub fn commit<T, E: From<StoreError>>(
        mut self,
        f: impl FnOnce(&duckdb::Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let file = self.db.display().to_string();
        let io = |e: std::io::Error| StoreError::Io {
            file: file.clone(),
            message: e.to_string(),
        };
        let dberr = |source: duckdb::Error| StoreError::Db {
            file: file.clone(),
            source,
        };
        let Some(mut conn) = self.conn.take() else {
            unreachable!("a writer holds its connection until it commits")
        };
        let tx = conn.transaction().map_err(dberr)?;
        let out = f(&tx)?;
        tracing::debug!("transaction body done");
        tx.commit().map_err(dberr)?;
        tracing::debug!("committed");
        conn.execute_batch("CHECKPOINT").map_err(dberr)?;
        tracing::debug!("checkpointed");
        conn.close().map_err(|(_, e)| dberr(e))?;
        File::open(&self.tmp)
            .and_then(|f| f.sync_all())
            .map_err(io)?;
        std::fs::rename(&self.tmp, &self.db).map_err(io)?;
        if let Some(dir) = self.db.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(out)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Not committed (or the rename failed): the copy goes, the database stays as it was.
        drop(self.conn.take());
        let _ = std::fs::remove_file(&self.tmp);
        let mut wal = self.tmp.as_os_str().to_owned();
        wal.push(".wal");
        let _ = std::fs::remove_file(PathBuf::from(wal));
    }
}

/// One intervention as stored: name, level id, unit codes, dates as `jjjj-mm-dd`.
#[derive(Debug, Clone, Copy)]
pub struct InterventionRow<'a> {
    pub naam: &'a str,
    pub level: &'a str,
    pub codes: &'a [String],
    pub start_date: &'a str,
    pub end_date: &'a str,
    /// Indicator ids the project aims at.
    pub targets: &'a [String],
}

/// Records an intervention in one copy-on-write transaction; returns its id. Validation is
/// the caller's ([`crate::intervention`]). Does not wait for another write:
/// [`StoreError::Busy`] then.
///
/// # Errors
/// I/O and DuckDB errors.
pub fn insert_intervention(db: &Path, iv: InterventionRow<'_>) -> Result<i32, StoreError> {
    let file = db.display().to_string();
    Writer::try_begin(db)?.commit(|tx| {
        tx.query_row(
            statement("insert_intervention"),
            duckdb::params![
                iv.naam,
                iv.level,
                iv.codes.join(","),
                iv.start_date,
                iv.end_date,
                iv.targets.join(",")
            ],
            |r| r.get(0),
        )
        .map_err(|source| StoreError::Db { file, source })
    })
}

/// Opens the database read-only (for queries and tests).
///
/// # Errors
/// When the file is missing or not a DuckDB database.
pub fn open_read_only(db: &Path) -> Result<duckdb::Connection, StoreError> {
    let file = db.display().to_string();
    if !db.exists() {
        return Err(StoreError::Empty { file });
    }
    let cfg = duckdb::Config::default()
        .access_mode(duckdb::AccessMode::ReadOnly)
        .map_err(|source| StoreError::Db {
            file: file.clone(),
            source,
        })?;
    duckdb::Connection::open_with_flags(db, cfg).map_err(|source| StoreError::Db { file, source })
}

/// The column `column` of `table`, or `NULL` where a database written by an older release
/// lacks it (read-only connections do not migrate).
///
/// # Errors
/// DuckDB errors.
pub fn column_or_null(
    conn: &duckdb::Connection,
    table: &str,
    column: &'static str,
) -> Result<&'static str, duckdb::Error> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = ? AND column_name = ?",
        [table, column],
        |r| r.get(0),
    )?;
    Ok(if n > 0 { column } else { "NULL" })
}

/// The newest dataset version, if any.
///
/// # Errors
/// DuckDB errors.
pub fn latest_version(conn: &duckdb::Connection) -> Result<Option<(i32, String)>, duckdb::Error> {
    let mut st = conn.prepare(
        "SELECT version, fingerprint FROM dataset_version ORDER BY version DESC LIMIT 1",
    )?;
    let mut rows = st.query([])?;
    match rows.next()? {
        Some(r) => Ok(Some((r.get(0)?, r.get(1)?))),
        None => Ok(None),
    }
}

/// Hex sha256 of bytes.
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// A 128-bit content hash of a file (XXH3, hex, prefixed `xxh3:`), streamed at memory speed.
/// Used to recognise an extract that was ingested before; not a security measure.
///
/// # Errors
/// When the file cannot be read.
pub fn content_hash_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut f = File::open(path)?;
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 4 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("xxh3:{:032x}", h.digest128()))
}

/// Hex sha256 of a file, streamed.
///
/// # Errors
/// When the file cannot be read.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    use sha2::Digest;
    use std::io::Read;
    let mut f = File::open(path)?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}
