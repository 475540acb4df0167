//! The `boundaries` command: import the CBS Wijk- en Buurtkaart, list the imports; and the
//! boundaries every other command locates in.

use anyhow::Context;
use clap::Subcommand;
use std::path::PathBuf;
use wijkradar::spatial::Boundaries;

#[derive(Subcommand)]
pub enum BoundariesCommand {
    /// Reads, checks (codes, nesting buurt ⊂ wijk ⊂ gemeente, geometry, CRS, year) and stores
    /// boundary files: CBS's GeoPackage (layers gemeenten, wijken, buurten; RD New) or GeoJSON.
    Import {
        #[arg(long)]
        db: PathBuf,
        /// The boundary year, when the files carry no jaarstatcode or jaar.
        #[arg(long)]
        year: Option<i32>,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Lists the imported boundary layers and which levels each gemeente has.
    List {
        #[arg(long)]
        db: PathBuf,
    },
}

/// Says plainly which levels a gemeente lacks (no buurten shipped, say).
pub fn print_levels(b: &Boundaries, gemeenten: &[String]) {
    for g in gemeenten {
        let naam = b
            .gemeenten
            .get(g)
            .map_or_else(|| g.clone(), |a| a.naam.clone());
        let (_, without) = b.levels_of(g);
        if without.is_empty() {
            println!("  {naam} ({g}): alle niveaus");
        } else {
            let names: Vec<&str> = without.iter().map(|l| l.id()).collect();
            println!(
                "  {naam} ({g}): geen grenzen voor {}; die niveaus blijven leeg, alle andere werken",
                names.join(", ")
            );
        }
    }
}

/// The shipped boundaries with those imported into `db` laid over them.
pub fn boundaries_for(db: &std::path::Path) -> anyhow::Result<Boundaries> {
    Ok(Boundaries::embedded()
        .context("loading the shipped boundaries")?
        .with_imports(wijkradar::store::boundaries::stored_layers(db)?))
}

pub fn boundaries_command(action: BoundariesCommand) -> anyhow::Result<()> {
    match action {
        BoundariesCommand::Import { db, year, files } => {
            let known = boundaries_for(&db)?;
            // Every file is checked before any is stored (a buurten file may nest in the
            // wijken of another); then each is stored with its own content hash.
            let mut layers = wijkradar::spatial::import::read(&files, &known, year)?;
            let mut touched = Vec::new();
            let mut stored = Vec::new();
            for f in &files {
                let name = f.display().to_string();
                let (mine, rest): (Vec<_>, Vec<_>) =
                    layers.into_iter().partition(|l| l.file == name);
                layers = rest;
                let hash = wijkradar::store::sha256_file(f)
                    .with_context(|| format!("reading {}", f.display()))?;
                let (ids, new) = wijkradar::store::boundaries::write_import(&db, &mine, &hash)?;
                if !new {
                    println!(
                        "{}: al geïmporteerd (import {ids:?}); niets veranderd",
                        f.display()
                    );
                    continue;
                }
                for (l, id) in mine.iter().zip(&ids) {
                    println!(
                        "import {id}: {} {} ({}) uit {}{}",
                        l.areas.len(),
                        l.level.id(),
                        l.year,
                        l.source,
                        if l.water > 0 {
                            format!("; {} watergebieden overgeslagen", l.water)
                        } else {
                            String::new()
                        }
                    );
                    if !l.repaired.is_empty() {
                        println!(
                            "  {} omtrek(ken) sneden zichzelf en zijn hersteld (vereniging met zichzelf): {}",
                            l.repaired.len(),
                            l.repaired.join(", ")
                        );
                    }
                    touched.extend(l.areas.iter().filter_map(|a| match l.level {
                        wijkradar::spatial::Level::Gemeente => Some(a.code.clone()),
                        _ => a.gemeente.clone(),
                    }));
                }
                stored.extend(mine.into_iter().zip(ids).map(|(l, id)| {
                    wijkradar::spatial::StoredLayer {
                        id,
                        level: l.level,
                        year: l.year,
                        areas: l.areas,
                    }
                }));
            }
            touched.sort();
            touched.dedup();
            if !touched.is_empty() {
                println!("De volgende ingest gebruikt deze grenzen; bestaande versies blijven zoals ze zijn.");
                // What the database now holds: the known boundaries with the new layers.
                print_level_summary(&known.with_imports(stored), &touched);
            }
            Ok(())
        }
        BoundariesCommand::List { db } => {
            let conn = wijkradar::store::open_read_only(&db)?;
            let rows = wijkradar::store::boundaries::list_imports(&conn)?;
            if rows.is_empty() {
                println!("Geen geïmporteerde grenzen: alleen de meegeleverde (CBS 2024).");
            }
            for r in rows {
                println!(
                    "import {:>3}  {}  {:<10} {}  {:>6} gebieden  {}",
                    r.id, r.imported_at, r.level, r.year, r.areas, r.source
                );
            }
            // Which levels each gemeente has with these boundaries.
            let b = boundaries_for(&db)?;
            let all: Vec<String> = b.gemeenten.areas.iter().map(|a| a.code.clone()).collect();
            println!("Niveaus per gemeente:");
            print_level_summary(&b, &all);
            Ok(())
        }
    }
}

/// Which levels the gemeenten have: a line each for a few, counts for many (a national file).
fn print_level_summary(b: &Boundaries, gemeenten: &[String]) {
    if gemeenten.len() <= 12 {
        print_levels(b, gemeenten);
        return;
    }
    let mut counts = std::collections::BTreeMap::new();
    for g in gemeenten {
        let (_, without) = b.levels_of(g);
        let key: Vec<&str> = without.iter().map(|l| l.id()).collect();
        *counts.entry(key.join(" en ")).or_insert(0) += 1;
    }
    for (lacking, n) in counts {
        if lacking.is_empty() {
            println!("  {n} gemeenten: alle niveaus");
        } else {
            println!(
                "  {n} gemeenten zonder {lacking} (die niveaus blijven leeg, alle andere werken)"
            );
        }
    }
}
