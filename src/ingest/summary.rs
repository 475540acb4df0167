//! What an ingest did: rows read and rejected per file, units and figures written.

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
