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
use geo::{Area as _, BoundingRect, Contains, Point};
use std::path::{Path, PathBuf};

mod plants;
mod rng;
mod sink;

pub use plants::Plants;
pub use rng::Rng;
use sink::{ioerr, Dialect, Sink, Ty, V};

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
    pub seed: u64,
    pub scale: f64,
    pub format: Format,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            gemeente: "GM0983".into(),
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

/// A synthetic dwelling.
#[derive(Debug, Clone)]
struct Dwelling {
    id: u64,
    x: f64,
    y: f64,
    postcode: String,
    huisnummer: u32,
    toevoeging: String,
    wijk: usize,
    area_m2: f64,
    owner_type: usize,
    owner: u32,
    woz: f64,
    overcrowded: bool,
    residents: Vec<Resident>,
}

#[derive(Debug, Clone, Copy)]
struct Resident {
    id: u64,
    adult: bool,
    months: u32,
}

/// Wijk-level multipliers that make each wijk a little different.
#[derive(Debug, Clone)]
struct WijkProfile {
    code: String,
    overlast: f64,
    horeca: f64,
    geweld: f64,
    verloedering: f64,
    uitkering: f64,
    achterstand: f64,
    inbraak: f64,
    veiligheid: f64,
    woz: f64,
    signalen: f64,
}

fn pseudo(prefix: char, seed: u64, n: u64) -> String {
    let mut r = Rng::new(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ n);
    format!("{prefix}{:012x}", r.next_u64() & 0xffff_ffff_ffff)
}

fn last_day(y: i32, q: u32) -> (i32, u32, u32) {
    match q {
        1 => (y, 3, 31),
        2 => (y, 6, 30),
        3 => (y, 9, 30),
        _ => (y, 12, 31),
    }
}

/// Generates the extracts into `out`. Returns the files written with their row counts.
///
/// # Errors
/// When the gemeente has no shipped buurten or a file cannot be written.
#[expect(
    clippy::too_many_lines,
    reason = "one linear story of a synthetic city"
)]
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
    let chosen = gemeenten(&opts.gemeente);
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
    let role = |code: &str| -> Option<u8> {
        plants.iter().find_map(|p| {
            if p.hotspot == code {
                Some(0)
            } else if p.decoy == code {
                Some(1)
            } else if p.benefits == code {
                Some(2)
            } else {
                None
            }
        })
    };
    let wijken: Vec<&spatial::Area> = bounds
        .wijken
        .areas
        .iter()
        .filter(|w| w.gemeente.as_ref().is_some_and(|g| chosen.contains(g)))
        .collect();
    let profiles: Vec<WijkProfile> = wijken
        .iter()
        .map(|w| {
            let mut p = WijkProfile {
                code: w.code.clone(),
                overlast: rng.normal(1.0, 0.25).clamp(0.5, 1.6),
                horeca: rng.normal(1.0, 0.3).clamp(0.3, 1.8),
                geweld: rng.normal(1.0, 0.25).clamp(0.5, 1.6),
                verloedering: rng.normal(1.0, 0.25).clamp(0.5, 1.6),
                uitkering: rng.normal(1.0, 0.25).clamp(0.5, 1.6),
                achterstand: rng.normal(1.0, 0.3).clamp(0.4, 1.8),
                inbraak: rng.normal(1.0, 0.3).clamp(0.4, 1.8),
                veiligheid: rng.normal(0.0, 0.3),
                woz: rng.normal(1.0, 0.15).clamp(0.7, 1.4),
                signalen: rng.normal(1.0, 0.3).clamp(0.4, 1.8),
            };
            match role(&w.code) {
                Some(0) => {
                    p.verloedering = 1.7;
                    p.uitkering = 1.3;
                    p.veiligheid = -1.2;
                    p.woz = 0.72;
                    p.signalen = 1.5;
                }
                Some(1) => {
                    p.horeca = 4.0;
                    p.geweld = 2.2;
                    p.verloedering = 1.8;
                    p.overlast = 1.4;
                    p.veiligheid = -0.5;
                }
                Some(2) => {
                    p.uitkering = 1.9;
                    p.achterstand = 2.2;
                }
                _ => {}
            }
            p
        })
        .collect();

    // Streets and dwellings.
    let scale_units = opts.scale.max(0.01);
    let mut dwellings: Vec<Dwelling> = Vec::new();
    let mut pc_letters: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    let mut next_id: u64 = 0;
    let big_owner: u32 = 999_999;
    for (wi, w) in wijken.iter().enumerate() {
        let mut buurten: Vec<&spatial::Area> = bounds
            .buurten
            .areas
            .iter()
            .filter(|b| b.wijk.as_deref() == Some(&w.code))
            .collect();
        let own_gemeente = w.gemeente.as_deref().and_then(|g| bounds.gemeenten.get(g));
        if buurten.is_empty() {
            // No shipped buurten: the wijk is one area for placing dwellings (inside its
            // gemeente: generalised outlines of neighbours overlap).
            buurten.push(*w);
        }
        let total_area: f64 = buurten.iter().map(|b| b.geometry.unsigned_area()).sum();
        let woningen = w.woningen.unwrap_or(1000.0);
        let per_dwelling = w.inwoners.unwrap_or(2000.0) / woningen;
        let kb = role(&w.code) == Some(0);
        for b in &buurten {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "positive counts"
            )]
            let target =
                (woningen * b.geometry.unsigned_area() / total_area.max(1e-12)).round() as usize;
            let Some(bb) = b.geometry.bounding_rect() else {
                continue;
            };
            let mut made = 0.0f64;
            let mut attempts = 0;
            #[expect(clippy::cast_precision_loss, reason = "small")]
            let target = target as f64;
            while made < target && attempts < 10_000 {
                attempts += 1;
                let lon = bb.min().x + rng.f() * bb.width();
                let lat = bb.min().y + rng.f() * bb.height();
                let inside = |p: &Point<f64>| {
                    b.geometry.contains(p) && own_gemeente.is_none_or(|g| g.geometry.contains(p))
                };
                if !inside(&Point::new(lon, lat)) {
                    continue;
                }
                let (sx, sy) = spatial::wgs84_to_rd(lon, lat);
                // The PC4 area of the point; in a gap between generalised outlines the nearest
                // one around it.
                let pc4 = bounds
                    .pc4
                    .locate(lon, lat)
                    .or_else(|| {
                        bounds
                            .pc4
                            .in_envelope([lon - 0.01, lat - 0.01], [lon + 0.01, lat + 0.01])
                            .next()
                    })
                    .map_or_else(|| "9999".to_string(), |i| bounds.pc4.areas[i].code.clone());
                let angle = rng.f() * std::f64::consts::PI;
                let (dx, dy) = (angle.cos(), angle.sin());
                let street_len = 4 + rng.below(14);
                let flat = rng.chance(0.15);
                let mut hn = 1u32;
                let mut letters = 0u32;
                let mut in_pc6 = 99;
                for i in 0..street_len {
                    if made >= target {
                        break;
                    }
                    #[expect(clippy::cast_precision_loss, reason = "small")]
                    let along = i as f64 * 9.0;
                    let side = if i % 2 == 0 { 8.0 } else { -8.0 };
                    let (x, y) = (
                        sx + dx * along - dy * side + rng.normal(0.0, 1.0),
                        sy + dy * along + dx * side + rng.normal(0.0, 1.0),
                    );
                    let (plon, plat) = spatial::rd_to_wgs84(x, y);
                    if !inside(&Point::new(plon, plat)) {
                        continue;
                    }
                    if in_pc6 >= 20 {
                        let n = pc_letters.entry(pc4.clone()).or_insert(0);
                        letters = *n;
                        *n += 1;
                        in_pc6 = 0;
                    }
                    let pc = format!(
                        "{pc4}{}{}",
                        char::from(b'A' + ((letters / 26) % 26) as u8),
                        char::from(b'A' + (letters % 26) as u8)
                    );
                    // A building: one dwelling, or a flat with several; the scale multiplies both.
                    let base_units = if flat { 4 + rng.below(9) } else { 1 };
                    #[expect(
                        clippy::cast_possible_truncation,
                        clippy::cast_sign_loss,
                        reason = "positive"
                    )]
                    let units = ((base_units as f64) * scale_units).round().max(1.0) as usize;
                    for u in 0..units {
                        let toevoeging = if units > 1 {
                            format!("{}", u + 1)
                        } else {
                            String::new()
                        };
                        let area = if units > 1 {
                            rng.normal(62.0, 12.0)
                        } else {
                            rng.normal(105.0, 25.0)
                        }
                        .clamp(25.0, 250.0);
                        let owner_type = {
                            let r = rng.f();
                            if kb && r < 0.30 {
                                1
                            } else if r < 0.52 {
                                0
                            } else if r < 0.85 {
                                2
                            } else if r < 0.97 {
                                1
                            } else {
                                3
                            }
                        };
                        #[expect(clippy::cast_possible_truncation, reason = "small")]
                        let owner = if owner_type == 1 && kb && rng.chance(0.6) {
                            big_owner
                        } else {
                            rng.below(if owner_type == 1 { 900 } else { 40 }) as u32
                        };
                        let overcrowded = if owner == big_owner {
                            rng.chance(0.45)
                        } else {
                            rng.chance(0.004)
                        };
                        let mut residents = Vec::new();
                        let n_res = if overcrowded {
                            5 + rng.below(5)
                        } else {
                            rng.poisson(per_dwelling).min(8) as usize
                        };
                        for k in 0..n_res {
                            next_id += 1;
                            residents.push(Resident {
                                id: next_id,
                                adult: overcrowded || k < 2 || rng.chance(0.35),
                                months: if overcrowded {
                                    rng.below(9) as u32
                                } else {
                                    rng.below(240) as u32
                                },
                            });
                        }
                        next_id += 1;
                        dwellings.push(Dwelling {
                            id: next_id,
                            x: (x * 100.0).round() / 100.0,
                            y: (y * 100.0).round() / 100.0,
                            postcode: pc.clone(),
                            huisnummer: hn,
                            toevoeging,
                            wijk: wi,
                            area_m2: if overcrowded {
                                rng.normal(55.0, 10.0).clamp(30.0, 90.0)
                            } else {
                                area
                            },
                            owner_type,
                            owner,
                            woz: (profiles[wi].woz
                                * (120_000.0 + area * 1800.0)
                                * rng.normal(1.0, 0.08))
                            .max(50_000.0),
                            overcrowded,
                            residents,
                        });
                        made += 1.0 / scale_units;
                    }
                    hn += if rng.chance(0.1) { 2 } else { 1 };
                    in_pc6 += 1;
                }
            }
        }
    }
    // Owner portfolios as Kadaster counts them.
    let mut portfolio: std::collections::HashMap<(usize, u32), i64> =
        std::collections::HashMap::new();
    for d in &dwellings {
        *portfolio.entry((d.owner_type, d.owner)).or_insert(0) += 1;
    }

    // Sinks.
    let period_tag = "2024-2025";
    let mk = |source: &str,
              cols: &[(&str, Ty)],
              preferred: (bool, Dialect, bool, bool)|
     -> Result<Sink, DemoError> {
        // The generator writes what the catalogue says the source has, or refuses.
        let written: Vec<String> = cols.iter().skip(7).map(|c| c.0.to_string()).collect();
        let expected: Vec<String> = cat
            .source(source)
            .map(|x| x.columns.iter().map(|c| c.name.clone()).collect())
            .unwrap_or_default();
        if written != expected {
            return Err(DemoError::Catalogue {
                source_id: source.to_string(),
                written,
                expected,
            });
        }
        let (parquet, dialect, dutch, space) = preferred;
        let parquet = match opts.format {
            Format::Mixed => parquet,
            Format::Csv => false,
            Format::Parquet => true,
        };
        let ext = if parquet { "parquet" } else { "csv" };
        let path = out.join(format!("{source}_{period_tag}.{ext}"));
        if parquet {
            Sink::parquet(path, cols)
        } else {
            Sink::csv(path, cols, dialect, dutch, space)
        }
    };
    let common = |extra: &[(&'static str, Ty)], date: &'static str| -> Vec<(&'static str, Ty)> {
        let mut c = vec![
            ("id", Ty::S),
            ("postcode", Ty::S),
            ("huisnummer", Ty::I),
            ("toevoeging", Ty::S),
            ("x", Ty::N),
            ("y", Ty::N),
            (date, Ty::D),
        ];
        c.extend_from_slice(extra);
        c
    };
    let mut brp = mk(
        "brp",
        &common(
            &[
                ("volwassene", Ty::F),
                ("maanden_op_adres", Ty::I),
                ("woonoppervlak_m2", Ty::N),
            ],
            "peildatum",
        ),
        (true, Dialect::Utf8Bom, false, false),
    )?;
    let mut kadaster = mk(
        "kadaster",
        &common(
            &[
                ("eigenaar_type", Ty::S),
                ("eigenaar_woningen", Ty::I),
                ("woz_waarde", Ty::N),
            ],
            "peildatum",
        ),
        (true, Dialect::Utf8, false, false),
    )?;
    let mut corporatie = mk(
        "corporatie",
        &common(
            &[("onderhuur_signaal", Ty::F), ("huurachterstand", Ty::F)],
            "peildatum",
        ),
        (false, Dialect::Cp1252, true, true),
    )?;
    let mut politie = mk(
        "politie",
        &common(&[("categorie", Ty::S)], "datum"),
        (false, Dialect::Utf8, false, false),
    )?;
    let mut meldingen = mk(
        "meldingen",
        &common(&[("categorie", Ty::S)], "datum"),
        (false, Dialect::Cp1252, true, false),
    )?;
    let mut handhaving = mk(
        "handhaving",
        &common(&[("zaak", Ty::S)], "datum"),
        (false, Dialect::Utf8Bom, true, false),
    )?;
    let mut toeslagen = mk(
        "toeslagen",
        &common(&[("regeling", Ty::S)], "datum"),
        (true, Dialect::Utf8, false, false),
    )?;
    let mut uwv = mk(
        "uwv",
        &common(&[("uitkering", Ty::S)], "peildatum"),
        (true, Dialect::Utf8, false, false),
    )?;
    let mut svb = mk(
        "svb",
        &common(&[("regeling", Ty::S)], "datum"),
        (false, Dialect::Cp1252, true, false),
    )?;
    let mut ai = mk(
        "arbeidsinspectie",
        &common(
            &[("overtreding", Ty::F), ("werknemers_op_adres", Ty::I)],
            "datum",
        ),
        (false, Dialect::Utf8Bom, true, false),
    )?;
    let mut enquete = mk(
        "enquete",
        &common(&[("veiligheid", Ty::I), ("tevredenheid", Ty::I)], "datum"),
        (false, Dialect::Utf8Bom, false, false),
    )?;

    let addr = |d: &Dwelling, id: String, date: (i32, u32, u32)| -> Vec<V> {
        vec![
            V::S(id),
            V::S(d.postcode.clone()),
            V::I(i64::from(d.huisnummer)),
            V::S(d.toevoeging.clone()),
            V::N(d.x),
            V::N(d.y),
            V::D(date.0, date.1, date.2),
        ]
    };
    let owner_types = [
        "eigenaar-bewoner",
        "particuliere verhuurder",
        "woningcorporatie",
        "belegger",
    ];
    let mut incident: u64 = 0;
    let n = dwellings.len();
    for (qi, &(year, q)) in QUARTERS.iter().enumerate() {
        let peil = last_day(year, q);
        #[expect(clippy::cast_precision_loss, reason = "small")]
        let t = qi as f64;
        let after = (year, q) >= PROJECT_START;
        let rand_day = |rng: &mut Rng| -> (i32, u32, u32) {
            #[expect(clippy::cast_possible_truncation, reason = "small")]
            let m = (q - 1) * 3 + 1 + rng.below(3) as u32;
            #[expect(clippy::cast_possible_truncation, reason = "small")]
            let d = 1 + rng.below(28) as u32;
            (year, m, d)
        };
        #[expect(
            clippy::needless_range_loop,
            reason = "a dwelling is changed, then read with the profiles"
        )]
        for di in 0..n {
            // Turnover: residents leave and others register.
            {
                let d = &mut dwellings[di];
                let leave = if d.overcrowded { 0.35 } else { 0.03 };
                for r in &mut d.residents {
                    if qi > 0 && rng.chance(leave) {
                        next_id += 1;
                        r.id = next_id;
                        r.months = rng.below(3) as u32;
                    } else if qi > 0 {
                        r.months += 3;
                    }
                }
            }
            let d = &dwellings[di];
            let prof = &profiles[d.wijk];
            let kb = role(&prof.code) == Some(0);
            for r in &d.residents {
                let mut row = addr(d, pseudo('P', opts.seed, r.id), peil);
                row.extend([
                    V::F(r.adult),
                    V::I(i64::from(r.months)),
                    V::N((d.area_m2 * 10.0).round() / 10.0),
                ]);
                brp.row(row)?;
            }
            let mut row = addr(d, pseudo('W', opts.seed, d.id), peil);
            row.extend([
                V::S(owner_types[d.owner_type].into()),
                V::I(portfolio[&(d.owner_type, d.owner)]),
                V::N((d.woz * (1.0 + 0.01 * t) / 1000.0).round() * 1000.0),
            ]);
            kadaster.row(row)?;
            if d.owner_type == 2 {
                let mut row = addr(d, pseudo('H', opts.seed, d.id), peil);
                row.extend([
                    V::F(rng.chance(if kb { 0.04 } else { 0.008 })),
                    V::F(rng.chance(0.045 * prof.achterstand)),
                ]);
                corporatie.row(row)?;
            }
            let inh = d.residents.len() as f64;
            // Police incidents at this address (per quarter, rates per resident).
            let trend = if kb {
                if after {
                    2.3 - 0.35 * (t - 4.0)
                } else {
                    1.0 + 0.55 * t
                }
            } else {
                1.0 + rng.normal(0.0, 0.02)
            };
            let over = (if d.overcrowded { 3.0 } else { 1.0 }) * prof.overlast * trend;
            let cats: [(&str, f64); 6] = [
                ("woonoverlast", 0.0030 * inh * over),
                ("drugsoverlast", 0.0012 * inh * over),
                ("jeugdoverlast", 0.0018 * inh * prof.overlast * trend.sqrt()),
                ("woninginbraak", 0.008 * prof.inbraak),
                ("geweld", 0.004 * inh * prof.geweld),
                ("overig", 0.0040 * inh),
            ];
            for (cat_name, mean) in cats {
                for _ in 0..rng.poisson(mean) {
                    incident += 1;
                    let mut row = addr(d, format!("PL{year}-{incident:07}"), rand_day(&mut rng));
                    row.push(V::S(cat_name.into()));
                    politie.row(row)?;
                }
            }
            let mcats: [(&str, f64); 5] = [
                ("afval", 0.006 * inh * prof.verloedering),
                (
                    "verloedering",
                    0.004
                        * inh
                        * prof.verloedering
                        * if kb && !after { 1.0 + 0.2 * t } else { 1.0 },
                ),
                ("overlast café/horeca", 0.002 * inh * prof.horeca),
                ("verlichting", 0.002 * inh),
                ("groen", 0.003 * inh),
            ];
            for (cat_name, mean) in mcats {
                for _ in 0..rng.poisson(mean) {
                    incident += 1;
                    let mut row = addr(d, format!("MOR{incident:08}"), rand_day(&mut rng));
                    row.push(V::S(cat_name.into()));
                    meldingen.row(row)?;
                }
            }
            let hh = if d.overcrowded {
                0.06
            } else if d.owner == big_owner {
                0.03
            } else {
                0.002
            };
            if rng.chance(hh) {
                incident += 1;
                let zaken = [
                    "illegale splitsing",
                    "kamerverhuur",
                    "brandveiligheid",
                    "onrechtmatige bewoning",
                ];
                let mut row = addr(d, format!("HH{incident:08}"), rand_day(&mut rng));
                row.push(V::S(zaken[rng.below(4)].into()));
                handhaving.row(row)?;
            }
            if rng.chance(if d.overcrowded {
                0.06
            } else {
                0.008 * prof.signalen
            }) {
                incident += 1;
                let regs = [
                    "huurtoeslag",
                    "zorgtoeslag",
                    "kindgebonden budget",
                    "kinderopvangtoeslag",
                ];
                let mut row = addr(d, format!("TS{incident:08}"), rand_day(&mut rng));
                row.push(V::S(regs[rng.below(4)].into()));
                toeslagen.row(row)?;
            }
            if rng.chance(0.006 * prof.signalen) {
                incident += 1;
                let regs = ["AOW", "ANW", "kinderbijslag"];
                let mut row = addr(d, format!("SVB{incident:08}"), rand_day(&mut rng));
                row.push(V::S(regs[rng.below(3)].into()));
                svb.row(row)?;
            }
            for r in d.residents.iter().filter(|r| r.adult) {
                if rng.chance(0.045 * prof.uitkering * if d.overcrowded { 0.5 } else { 1.0 }) {
                    let kinds = ["WW", "WIA", "Wajong", "ZW"];
                    let mut row = addr(d, pseudo('P', opts.seed, r.id), peil);
                    row.push(V::S(kinds[rng.below(4)].into()));
                    uwv.row(row)?;
                }
            }
            if d.overcrowded && rng.chance(0.12) || rng.chance(0.0004) {
                incident += 1;
                let workers = if d.overcrowded {
                    6 + rng.below(9)
                } else {
                    1 + rng.below(4)
                };
                let mut row = addr(d, format!("AI{incident:08}"), rand_day(&mut rng));
                row.extend([
                    V::F(d.overcrowded || rng.chance(0.3)),
                    V::I(i64::try_from(workers).unwrap_or(0)),
                ]);
                ai.row(row)?;
            }
            if rng.chance(0.06) {
                incident += 1;
                let shift = prof.veiligheid
                    + if kb && after {
                        0.5 + 0.1 * (t - 4.0)
                    } else {
                        0.0
                    }
                    + if d.overcrowded { -0.3 } else { 0.0 };
                #[expect(clippy::cast_possible_truncation, reason = "1–10")]
                let v = rng.normal(7.1 + shift, 1.3).round().clamp(1.0, 10.0) as i64;
                #[expect(clippy::cast_possible_truncation, reason = "1–10")]
                let s = rng.normal(7.3 + shift * 0.8, 1.2).round().clamp(1.0, 10.0) as i64;
                let mut row = addr(d, format!("E{incident:08}"), rand_day(&mut rng));
                row.extend([V::I(v), V::I(s)]);
                enquete.row(row)?;
            }
        }
    }
    let mut written = Vec::new();
    for s in [
        brp, kadaster, corporatie, politie, meldingen, handhaving, toeslagen, uwv, svb, ai, enquete,
    ] {
        written.push(s.finish()?);
    }
    Ok(written)
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
