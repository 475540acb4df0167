//! The `wijkradar` command: parse the CLI, call the library, map errors to exit codes.

use anyhow::Context;
use clap::{Parser, Subcommand};
use cli::accounts::{
    audit_command, demo_accounts, token_command, user_command, AuditCommand, TokenCommand,
    UserCommand,
};
use cli::boundaries::{boundaries_command, boundaries_for, print_levels, BoundariesCommand};
use std::path::PathBuf;
use wijkradar::{catalogue::Catalogue, demo, disclosure::Params, ingest, spatial::Boundaries};

mod cli;

/// mimalloc keeps freed memory for reuse: the ingest allocates and frees large buffers (decoded
/// Parquet batches, accumulators), which the system allocator returns to the kernel each time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "wijkradar",
    version,
    about = "Aggregated, disclosure-controlled liveability indicators for Dutch neighbourhoods"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Generate synthetic partner extracts (deterministic for a seed).
    Demo {
        #[arg(long)]
        out: PathBuf,
        /// One or more gemeenten with shipped wijken, comma-separated (GM0983,GM0392).
        #[arg(long, default_value = "GM0983")]
        gemeente: String,
        /// The whole country: all gemeenten, addresses spread by PC4 inhabitants (about 8 M
        /// dwellings and 250 M rows at scale 1; `--scale 0.4` gives about 100 M rows).
        #[arg(long, conflicts_with = "gemeente")]
        national: bool,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Multiplies the volume (dwellings per building) for benchmarks.
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        #[arg(long, value_enum, default_value_t = demo::Format::Mixed)]
        format: demo::Format,
        /// Place the addresses in the boundaries imported into this database (`boundaries
        /// import`) as well as the shipped ones.
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// Validate, locate, aggregate and disclosure-control extracts into a new dataset version.
    Ingest {
        #[arg(long)]
        db: PathBuf,
        /// Extract files (CSV or Parquet), named after their source: brp_2025.csv, politie_q3.parquet …
        #[arg(required = true)]
        extracts: Vec<PathBuf>,
        /// Report rejected rows (line and reason, never their values) here and go on.
        #[arg(long)]
        reject_file: Option<PathBuf>,
        /// Largest share of rejected rows, in percent, that still completes the ingest.
        #[arg(long, default_value_t = 1.0)]
        max_reject_percent: f64,
        /// Minimum number of units behind a published count (at least 5).
        #[arg(long, default_value_t = 10)]
        k: u32,
        /// Minimum at H3 res 10 and PC6.
        #[arg(long, default_value_t = 20)]
        k_fine: u32,
        #[arg(long, default_value_t = 5)]
        round_to: u32,
        /// An indicator catalogue other than the shipped one.
        #[arg(long)]
        catalogue: Option<PathBuf>,
    },
    /// Serve the map, the OGC API and the briefing.
    Serve {
        #[arg(long)]
        db: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        /// Folder with the frontend (default: the web/ folder of this checkout).
        #[arg(long)]
        web: Option<PathBuf>,
    },
    /// Export a layer's published figures (CSV for Dutch Excel with a metadata file beside it,
    /// or GeoJSON with its metadata inside), the same as `GET /v1/exports`.
    Export {
        #[arg(long)]
        db: PathBuf,
        /// Level: wijken, buurten, pc4, pc6, h3-7 … h3-10, gemeenten.
        #[arg(long)]
        collection: String,
        /// csv, geojson or gpkg (GeoPackage, RD New unless --crs CRS84).
        #[arg(long, default_value = "csv")]
        format: String,
        /// EPSG:28992 (RD New) or CRS84, for gpkg.
        #[arg(long)]
        crs: Option<String>,
        /// Quarter (2025-Q3); the latest by default.
        #[arg(long)]
        datetime: Option<String>,
        /// Indicators, comma-separated; all by default.
        #[arg(long)]
        indicators: Option<String>,
        #[arg(long)]
        gemeente: Option<String>,
        /// The file to write (its metadata beside it as FILE.metadata.json for CSV).
        #[arg(long)]
        out: PathBuf,
    },
    /// Record an LSI project (intervention) for one or more areas.
    Intervention {
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        naam: String,
        /// Level of the areas: wijken, buurten, pc4 …
        #[arg(long, default_value = "wijken")]
        level: String,
        /// Area codes, comma-separated (WK098325).
        #[arg(long, value_delimiter = ',', required = true)]
        codes: Vec<String>,
        /// Start date (jjjj-mm-dd).
        #[arg(long)]
        start: String,
        /// End date (jjjj-mm-dd).
        #[arg(long)]
        end: String,
        /// The indicators the project aims at, comma-separated (overlast,veiligheidsbeleving);
        /// its effect is measured on these besides the index.
        #[arg(long, value_delimiter = ',')]
        targets: Vec<String>,
    },
    /// Boundaries: import the CBS Wijk- en Buurtkaart (GeoPackage or GeoJSON) or PC4 areas,
    /// list what was imported. The next ingest locates addresses in them.
    Boundaries {
        #[command(subcommand)]
        action: BoundariesCommand,
    },
    /// Accounts: add, grant a role in gemeenten, revoke, disable, enable, set a password, list.
    User {
        #[command(subcommand)]
        action: UserCommand,
    },
    /// Personal access tokens for QGIS and GDAL.
    Token {
        #[command(subcommand)]
        action: TokenCommand,
    },
    /// The audit log: verify its chain and signed checkpoints, show its newest entries.
    Audit {
        #[command(subcommand)]
        action: AuditCommand,
    },
    /// The embedded default: generate and ingest the demo on first start, then serve it.
    Run {
        #[arg(long, default_value = "wijkradar-data")]
        data_dir: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        #[arg(long)]
        web: Option<PathBuf>,
        /// Generate and ingest the demo if needed, then exit without serving.
        #[arg(long)]
        prepare_only: bool,
        /// The demo's gemeenten on first start (Venlo and Haarlem by default).
        #[arg(long, default_value = "GM0983,GM0392")]
        gemeente: String,
    },
}

/// Transparent huge pages off for this process, before anything large is allocated.
///
/// The ingest streams: it writes gigabytes once (accumulators, key hashes, address runs) and
/// frees decoded batches as it goes. mimalloc advises huge pages on its regions, and each huge
/// page is two MiB for the kernel to zero (and, on a virtual machine, for the host to back) at
/// its first touch. On the national demo that was 3,400–3,700 huge-page faults and a third of
/// all CPU samples in the kernel's `clear_page`; with 4 KiB pages the ingest took 37.5–49.1 s
/// instead of 51.3–63.0 s (BENCHMARKS.md, "Huge pages off"). The server's layer throughput
/// under load stayed within its spread.
fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::thread::disable_transparent_huge_pages(true) {
        tracing::debug!(error = %e, "transparent huge pages stay as the system sets them");
    }
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    no_transparent_huge_pages();
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fout: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Run {
        data_dir: "wijkradar-data".into(),
        addr: "127.0.0.1:8080".into(),
        web: None,
        prepare_only: false,
        gemeente: "GM0983,GM0392".into(),
    }) {
        Command::Demo {
            out,
            gemeente,
            national,
            seed,
            scale,
            format,
            db,
        } => {
            let gemeente_list = gemeente.clone();
            let cat = Catalogue::builtin()?;
            let b = match &db {
                Some(db) => boundaries_for(db)?,
                None => Boundaries::embedded().context("loading the shipped boundaries")?,
            };
            let files = demo::generate(
                &out,
                &demo::Options {
                    gemeente,
                    national,
                    seed,
                    scale,
                    format,
                },
                &b,
                &cat,
            )?;
            let total: u64 = files.iter().map(|f| f.1).sum();
            let width = files
                .iter()
                .map(|f| f.0.display().to_string().chars().count());
            let width = width.max().unwrap_or(0);
            for (p, n) in &files {
                println!("{:<width$}  {:>11} rijen", p.display(), ingest::dotted(*n));
            }
            println!(
                "{} rijen in {} bestanden",
                ingest::dotted(total),
                files.len()
            );
            if national {
                println!(
                    "Heel Nederland: {} gemeenten; wijk, buurt, PC4, PC6 en H3 waar de grenzen ze hebben.",
                    b.gemeenten.areas.len()
                );
            } else {
                print_levels(&b, &demo::gemeenten(&gemeente_list));
            }
            Ok(())
        }
        Command::Ingest {
            db,
            extracts,
            reject_file,
            max_reject_percent,
            k,
            k_fine,
            round_to,
            catalogue,
        } => {
            let cat = match catalogue {
                Some(p) => Catalogue::load(&p)?,
                None => Catalogue::builtin()?,
            };
            let opts = ingest::Options {
                params: Params {
                    k,
                    k_fine,
                    round_to,
                },
                reject_file,
                max_reject_share: max_reject_percent / 100.0,
                progress: true,
                ..ingest::Options::default()
            };
            let s = ingest::ingest(&db, &extracts, &cat, &boundaries_for(&db)?, &opts)?;
            print!("{s}");
            Ok(())
        }
        Command::Intervention {
            db,
            naam,
            level,
            codes,
            start,
            end,
            targets,
        } => {
            let lvl = wijkradar::spatial::Level::from_id(&level)
                .with_context(|| format!("onbekend niveau '{level}'"))?;
            let ds = wijkradar::dataset::Dataset::open(&db, 1)?;
            for c in &codes {
                anyhow::ensure!(
                    ds.unit(lvl, c).is_some(),
                    "gebied '{c}' bestaat niet op niveau {level}"
                );
            }
            let known: Vec<&str> = ds.indicators.iter().map(|m| m.id.as_str()).collect();
            let iv = wijkradar::intervention::NewIntervention::new(
                &naam,
                lvl,
                &codes,
                (&start, &end),
                &targets,
                &known,
            )?;
            drop(ds);
            let id = wijkradar::intervention::add_intervention(&db, &iv)?;
            println!("Interventie {id} vastgelegd.");
            Ok(())
        }
        Command::Serve { db, addr, web } => wijkradar::api::serve_blocking(&db, &addr, web),
        Command::Boundaries { action } => boundaries_command(action),
        Command::User { action } => user_command(action),
        Command::Token { action } => token_command(action),
        Command::Audit { action } => audit_command(action),
        Command::Export {
            db,
            collection,
            format,
            datetime,
            indicators,
            gemeente,
            crs,
            out,
        } => {
            use wijkradar::api::exports;
            let ds = wijkradar::dataset::Dataset::open(&db, 1)?;
            let mut qs = format!("collection={collection}&format={format}");
            for (k, v) in [
                ("datetime", &datetime),
                ("indicators", &indicators),
                ("gemeente", &gemeente),
                ("crs", &crs),
            ] {
                if let Some(v) = v {
                    qs.push_str(&format!("&{k}={v}"));
                }
            }
            let q = wijkradar::api::query::Query::parse(Some(&qs), &exports::PARAMS)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let all = wijkradar::auth::Scope(
                ds.level_units(wijkradar::spatial::Level::Gemeente)
                    .iter()
                    .map(|&g| ds.units[g].code.clone())
                    .collect(),
            );
            let audit = wijkradar::auth::audit::Files::beside(&db);
            let mut r =
                exports::Request::parse(&ds, &q, all).map_err(|e| anyhow::anyhow!("{e}"))?;
            r.checkpoint = audit.latest_checkpoint();
            let when = exports::now();
            // Written as it is made (memory does not grow with the layer), with the bytes
            // written so far on the terminal.
            let bar = indicatif::ProgressBar::new_spinner();
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} {msg} {bytes} ({binary_bytes_per_sec})",
            ) {
                bar.set_style(style);
            }
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            bar.set_message(out.display().to_string());
            let rows = match r.format {
                exports::Format::Gpkg => exports::gpkg(&ds, &r, &when, &out),
                format => {
                    let file = std::fs::File::create(&out)
                        .with_context(|| format!("writing {}", out.display()))?;
                    let mut w = std::io::BufWriter::new(bar.wrap_write(file));
                    let n = if format == exports::Format::Csv {
                        exports::write_csv(&ds, &r, &mut w)
                    } else {
                        exports::write_geojson(&ds, &r, &when, &mut w)
                    };
                    n.and_then(|n| {
                        std::io::Write::flush(&mut w)
                            .map(|()| n)
                            .map_err(|e| wijkradar::api::problem::ApiError::Internal(e.to_string()))
                    })
                }
            }
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            bar.finish_and_clear();
            if r.format == exports::Format::Csv {
                let mut meta = out.as_os_str().to_owned();
                meta.push(".metadata.json");
                let meta = PathBuf::from(meta);
                let v = exports::metadata_of(&ds, &r, rows, &when);
                std::fs::write(&meta, serde_json::to_string_pretty(&v)?)
                    .with_context(|| format!("writing {}", meta.display()))?;
                println!(
                    "{rows} gebieden naar {} (metadata: {})",
                    out.display(),
                    meta.display()
                );
            } else {
                println!("{rows} gebieden naar {}", out.display());
            }
            audit.append(&[exports::audit_event(&r, rows, "cli")])?;
            Ok(())
        }
        Command::Run {
            data_dir,
            addr,
            web,
            prepare_only,
            gemeente,
        } => {
            let db = data_dir.join("wijkradar.duckdb");
            let b = boundaries_for(&db)?;
            // First start: no dataset yet (boundaries may have been imported already).
            let empty = !db.exists()
                || wijkradar::store::open_read_only(&db)
                    .ok()
                    .and_then(|c| wijkradar::store::latest_version(&c).ok().flatten())
                    .is_none();
            if empty {
                let extracts = data_dir.join("demo-extracts");
                println!(
                    "Eerste start: demo-extracten maken in {} …",
                    extracts.display()
                );
                let cat = Catalogue::builtin()?;
                let files = demo::generate(
                    &extracts,
                    &demo::Options {
                        gemeente: gemeente.clone(),
                        ..demo::Options::default()
                    },
                    &b,
                    &cat,
                )?;
                let paths: Vec<PathBuf> = files.into_iter().map(|f| f.0).collect();
                let s = ingest::ingest(
                    &db,
                    &paths,
                    &cat,
                    &b,
                    &ingest::Options {
                        progress: true,
                        ..ingest::Options::default()
                    },
                )?;
                print!("{s}");
                print_levels(&b, &demo::gemeenten(&gemeente));
                if demo::gemeenten(&gemeente).iter().any(|g| g == "GM0983") {
                    wijkradar::demo::record_intervention(&db)?;
                }
            }
            demo_accounts(&db, &b, &gemeente)?;
            if prepare_only {
                return Ok(());
            }
            wijkradar::api::serve_blocking(&db, &addr, web)
        }
    }
}
