//! Synthetic partner extracts for the demo and the benchmarks, in the shapes partners deliver:
//! Dutch-Excel CSV (`;`, decimal comma, some Windows-1252, some with a BOM, some with
//! `dd-mm-jjjj` dates) and Parquet. Deterministic for a seed.
//!
//! Dwellings lie in the real wijken (and, where shipped, buurten) of one or more gemeenten, as
//! many per wijk as CBS counts (2024), on synthetic streets. Any gemeente with shipped wijken
//! works (`--gemeente GM0392`, or `GM0983,GM0392` for several); for gemeenten other than Venlo
//! the planted wijken are chosen by a fixed rule ([`Plants::of`]). Planted patterns, which a
//! correct pipeline must find (see `docs/demo.md`):
//! - Klingerberg (WK098325): overcrowded dwellings with 5–9 adults and short registrations,
//!   mostly owned by one private landlord with ~150 dwellings; labour-inspection findings of
//!   many workers of one employer per address; overlast rising through 2024; lower perceived
//!   safety. From 2025-Q1 (the LSI project) overlast falls back part of the way and perceived
//!   safety recovers.
//! - Venlo-Centrum (WK098311): high horeca nuisance, violence and litter (a decoy: pressure
//!   of another kind).
//! - Venlo-Oost-Noord (WK098313): more benefits and rent arrears.
//! - Everywhere: random wijk- and buurt-level variation, so that finding the plants is not trivial.

use crate::catalogue::Catalogue;
use crate::spatial::{self, Boundaries};
use std::path::{Path, PathBuf};

mod city;
mod extracts;
mod national;
mod plants;
mod rng;
mod sink;

pub use plants::Plants;
pub use rng::Rng;
use sink::ioerr;

/// Klingerberg's wijk code.
pub const KLINGERBERG: &str = "WK098325";
/// First quarter of the demo's LSI project in Klingerberg.
pub const PROJECT_START: (i32, u32) = (2025, 1);
/// Quarters in the demo: 2024-Q1 … 2025-Q4.
pub const QUARTERS: [(i32, u32); 8] = [
    (2024, 1),
    (2024, 2),
    (2024, 3),
    (2024, 4),
    (2025, 1),
    (2025, 2),
    (2025, 3),
    (2025, 4),
];

/// File formats for the extracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// As partners deliver: most CSV in several dialects, the large registers as Parquet.
    Mixed,
    Csv,
    Parquet,
}

/// Demo options.
#[derive(Debug, Clone)]
pub struct Options {
    pub gemeente: String,
    /// Every gemeente: those with shipped wijken in their wijken, all others by PC4 area.
    pub national: bool,
    pub seed: u64,
    pub scale: f64,
    pub format: Format,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            gemeente: "GM0983".into(),
            national: false,
            seed: 1,
            scale: 1.0,
            format: Format::Mixed,
        }
    }
}

/// Errors from the generator.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{file}: {message}")]
    Io { file: String, message: String },
    #[error("no wijken for gemeente {0} in the shipped boundaries; the demo knows {1}")]
    UnknownGemeente(String, String),
    #[error("the demo writes columns {written:?} for source '{source_id}', the catalogue expects {expected:?}")]
    Catalogue {
        source_id: String,
        written: Vec<String>,
        expected: Vec<String>,
    },
    #[error("scale must be positive")]
    Scale,
}

/// The gemeenten of a `--gemeente` value (`GM0983` or `GM0983,GM0392`).
#[must_use]
pub fn gemeenten(list: &str) -> Vec<String> {
    list.split(',')
        .map(|s| s.trim().to_uppercase())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Generates the extracts into `out`. Returns the files written with their row counts.
///
/// # Errors
/// When the gemeente has no shipped buurten or a file cannot be written.
pub fn generate(
    out: &Path,
    opts: &Options,
    bounds: &Boundaries,
    cat: &Catalogue,
) -> Result<Vec<(PathBuf, u64)>, DemoError> {
    if opts.scale.is_nan() || opts.scale <= 0.0 {
        return Err(DemoError::Scale);
    }
    std::fs::create_dir_all(out).map_err(ioerr(out))?;
    let mut rng = Rng::new(opts.seed);
    let chosen = if opts.national {
        national::gemeenten_with_wijken(bounds)
    } else {
        gemeenten(&opts.gemeente)
    };
    let all_wijken: Vec<&spatial::Area> = bounds.wijken.areas.iter().collect();
    let mut plants = Vec::new();
    for gm in &chosen {
        plants.push(Plants::of(gm, &all_wijken).ok_or_else(|| {
            let mut known: Vec<&str> = bounds
                .wijken
                .areas
                .iter()
                .filter_map(|w| w.gemeente.as_deref())
                .collect();
            known.sort_unstable();
            known.dedup();
            DemoError::UnknownGemeente(gm.clone(), known.join(", "))
        })?);
    }
    let elsewhere = if opts.national {
        national::pc4_areas(bounds, &chosen)
    } else {
        Vec::new()
    };
    let wijken: Vec<&spatial::Area> = bounds
        .wijken
        .areas
        .iter()
        .filter(|w| w.gemeente.as_ref().is_some_and(|g| chosen.contains(g)))
        .chain(&elsewhere)
        .collect();
    let profiles = city::profiles(&wijken, &plants, &mut rng);
    let (mut dwellings, next_id) =
        city::dwellings(&wijken, &profiles, bounds, &plants, opts.scale, &mut rng);
    let mut sinks = extracts::Sinks::open(out, opts.format, cat)?;
    extracts::write_quarters(
        &mut sinks,
        &mut dwellings,
        &profiles,
        &plants,
        opts.seed,
        next_id,
        &mut rng,
    )?;
    sinks.finish()
}

/// The demo's LSI project in Klingerberg (2025), aimed at overlast, recorded on first start.
///
/// # Errors
/// Database errors.
pub fn record_intervention(db: &Path) -> Result<i32, crate::intervention::InterventionError> {
    let iv = crate::intervention::NewIntervention::new(
        "LSI-project Klingerberg",
        crate::spatial::Level::Wijk,
        &[KLINGERBERG.to_string()],
        ("2025-01-01", "2025-12-31"),
        &["overlast".to_string()],
        &["overlast"],
    )?;
    crate::intervention::add_intervention(db, &iv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_refuses_a_catalogue_it_does_not_match() {
        let text = crate::catalogue::DEFAULT_CATALOGUE.replace(
            r#"{ name = "regeling", type = "category", values = ["AOW", "ANW", "kinderbijslag"] },"#,
            r#"{ name = "regeling", type = "category", values = ["AOW", "ANW", "kinderbijslag"] },
  { name = "extra", type = "int" },"#,
        );
        let cat = Catalogue::parse(&text, "t.toml").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let err = generate(
            dir.path(),
            &Options::default(),
            &Boundaries::embedded().unwrap(),
            &cat,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("source 'svb'") && err.contains("extra"),
            "{err}"
        );
    }

    #[test]
    fn rng_is_deterministic() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        assert_eq!((a.next_u64(), a.f()), (b.next_u64(), b.f()));
        assert!((0..1000).map(|_| a.poisson(3.0)).sum::<u32>() > 2000);
    }
}
