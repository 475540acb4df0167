//! The errors of an ingest. A row error names file, line, column and rule, never a value.

use crate::disclosure;
use crate::store::StoreError;

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
