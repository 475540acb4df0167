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
    /// Figures with data (every level, quarter and indicator).
    pub figures: usize,
    /// Of those, the figures published.
    pub published: usize,
    pub seconds: f64,
    pub indicators: Vec<String>,
}

impl Summary {
    /// The share of the figures with data that was not published.
    #[must_use]
    pub fn suppressed_share(&self) -> f64 {
        #[expect(clippy::cast_precision_loss, reason = "a share")]
        let share = self.figures.saturating_sub(self.published) as f64 / self.figures.max(1) as f64;
        share
    }

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

/// A whole number as Dutch readers write it: `108.485.758`.
#[must_use]
pub fn dotted(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// What the `ingest` command prints: a line per file (names aligned), then the totals.
impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Some(v) = self.version else {
            return writeln!(
                f,
                "Niets veranderd: deze extracten zijn al ingelezen (dezelfde inhoud en parameters)."
            );
        };
        writeln!(f, "Datasetversie {v} geschreven.")?;
        let width = self
            .files
            .iter()
            .map(|x| x.file.chars().count())
            .max()
            .unwrap_or(0);
        let rows_width = self
            .files
            .iter()
            .map(|x| dotted(x.rows).len())
            .max()
            .unwrap_or(0);
        for x in &self.files {
            writeln!(
                f,
                "  {:<width$}  {:>rows_width$} rijen, {} afgewezen  ({})",
                x.file,
                dotted(x.rows),
                dotted(x.rejected),
                x.source
            )?;
        }
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "display only"
        )]
        let per_second = self.rows_per_second().round() as u64;
        writeln!(
            f,
            "  {} rijen gelezen, {} afgewezen; {} gebieden; van {} cijfers met gegevens {} gepubliceerd, {} % onderdrukt (te weinig adressen, of afleidbaar); {} s, {} rijen/s",
            dotted(self.rows_read),
            dotted(self.rows_rejected),
            dotted(self.units as u64),
            dotted(self.figures as u64),
            dotted(self.published as u64),
            format!("{:.1}", self.suppressed_share() * 100.0).replace('.', ","),
            format!("{:.2}", self.seconds).replace('.', ","),
            dotted(per_second)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_aligns_its_files_and_writes_numbers_as_dutch_readers_do() {
        assert_eq!(dotted(0), "0");
        assert_eq!(dotted(999), "999");
        assert_eq!(dotted(1000), "1.000");
        assert_eq!(dotted(108_485_758), "108.485.758");
        let file = |file: &str, source: &str, rows| FileSummary {
            file: file.into(),
            source: source.into(),
            rows,
            rejected: 0,
        };
        let s = Summary {
            version: Some(3),
            files: vec![
                file("x/brp_2024-2025.parquet", "brp", 63_628_184),
                file(
                    "x/arbeidsinspectie_2024-2025.parquet",
                    "arbeidsinspectie",
                    26_285,
                ),
            ],
            rows_read: 63_654_469,
            units: 135_772,
            figures: 106_737_953,
            published: 1_921_283,
            seconds: 21.5,
            ..Summary::default()
        };
        let text = s.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Datasetversie 3 geschreven.");
        assert_eq!(
            lines[1],
            "  x/brp_2024-2025.parquet               63.628.184 rijen, 0 afgewezen  (brp)"
        );
        assert_eq!(
            lines[2],
            "  x/arbeidsinspectie_2024-2025.parquet      26.285 rijen, 0 afgewezen  (arbeidsinspectie)"
        );
        assert_eq!(
            lines[3],
            "  63.654.469 rijen gelezen, 0 afgewezen; 135.772 gebieden; van 106.737.953 cijfers met \
             gegevens 1.921.283 gepubliceerd, 98,2 % onderdrukt (te weinig adressen, of afleidbaar); \
             21,50 s, 2.960.673 rijen/s"
        );
        let unchanged = Summary::default().to_string();
        assert!(unchanged.starts_with("Niets veranderd"), "{unchanged}");
    }
}
