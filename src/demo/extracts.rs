//! The extracts of the synthetic city: one file per partner source, quarter by quarter, in
//! the columns the catalogue names.

use super::city::{role, Dwelling, WijkProfile, BIG_OWNER};
use super::sink::{Dialect, Sink, Ty, V};
use super::{DemoError, Format, Plants, Rng, PROJECT_START, QUARTERS};
use crate::catalogue::Catalogue;
use std::path::{Path, PathBuf};

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

/// One open file per source.
pub(super) struct Sinks {
    brp: Sink,
    kadaster: Sink,
    corporatie: Sink,
    politie: Sink,
    meldingen: Sink,
    handhaving: Sink,
    toeslagen: Sink,
    uwv: Sink,
    svb: Sink,
    ai: Sink,
    enquete: Sink,
}

impl Sinks {
    /// Opens the eleven extracts in `out`, each in the format its partner prefers (or the one
    /// asked for), after checking its columns against the catalogue.
    #[expect(
        clippy::too_many_lines,
        reason = "eleven sources, one declaration each"
    )]
    pub(super) fn open(out: &Path, format: Format, cat: &Catalogue) -> Result<Self, DemoError> {
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
            let parquet = match format {
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
        let common =
            |extra: &[(&'static str, Ty)], date: &'static str| -> Vec<(&'static str, Ty)> {
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
        let brp = mk(
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
        let kadaster = mk(
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
        let corporatie = mk(
            "corporatie",
            &common(
                &[("onderhuur_signaal", Ty::F), ("huurachterstand", Ty::F)],
                "peildatum",
            ),
            (false, Dialect::Cp1252, true, true),
        )?;
        let politie = mk(
            "politie",
            &common(&[("categorie", Ty::S)], "datum"),
            (false, Dialect::Utf8, false, false),
        )?;
        let meldingen = mk(
            "meldingen",
            &common(&[("categorie", Ty::S)], "datum"),
            (false, Dialect::Cp1252, true, false),
        )?;
        let handhaving = mk(
            "handhaving",
            &common(&[("zaak", Ty::S)], "datum"),
            (false, Dialect::Utf8Bom, true, false),
        )?;
        let toeslagen = mk(
            "toeslagen",
            &common(&[("regeling", Ty::S)], "datum"),
            (true, Dialect::Utf8, false, false),
        )?;
        let uwv = mk(
            "uwv",
            &common(&[("uitkering", Ty::S)], "peildatum"),
            (true, Dialect::Utf8, false, false),
        )?;
        let svb = mk(
            "svb",
            &common(&[("regeling", Ty::S)], "datum"),
            (false, Dialect::Cp1252, true, false),
        )?;
        let ai = mk(
            "arbeidsinspectie",
            &common(
                &[("overtreding", Ty::F), ("werknemers_op_adres", Ty::I)],
                "datum",
            ),
            (false, Dialect::Utf8Bom, true, false),
        )?;
        let enquete = mk(
            "enquete",
            &common(&[("veiligheid", Ty::I), ("tevredenheid", Ty::I)], "datum"),
            (false, Dialect::Utf8Bom, false, false),
        )?;
        Ok(Self {
            brp,
            kadaster,
            corporatie,
            politie,
            meldingen,
            handhaving,
            toeslagen,
            uwv,
            svb,
            ai,
            enquete,
        })
    }

    /// Closes every file; returns each with its row count.
    pub(super) fn finish(self) -> Result<Vec<(PathBuf, u64)>, DemoError> {
        let mut written = Vec::new();
        for s in [
            self.brp,
            self.kadaster,
            self.corporatie,
            self.politie,
            self.meldingen,
            self.handhaving,
            self.toeslagen,
            self.uwv,
            self.svb,
            self.ai,
            self.enquete,
        ] {
            written.push(s.finish()?);
        }
        Ok(written)
    }
}

/// Writes every quarter's rows: registrations with turnover, incidents, reports, cases and
/// survey answers, each drawn from the dwelling's wijk profile and the plants.
#[expect(
    clippy::too_many_lines,
    reason = "one source after another, in the order the random stream draws them"
)]
pub(super) fn write_quarters(
    sinks: &mut Sinks,
    dwellings: &mut [Dwelling],
    profiles: &[WijkProfile],
    plants: &[Plants],
    seed: u64,
    mut next_id: u64,
    rng: &mut Rng,
) -> Result<(), DemoError> {
    let role = |code: &str| role(plants, code);
    let Sinks {
        brp,
        kadaster,
        corporatie,
        politie,
        meldingen,
        handhaving,
        toeslagen,
        uwv,
        svb,
        ai,
        enquete,
    } = sinks;
    // Owner portfolios as Kadaster counts them.
    let mut portfolio: std::collections::HashMap<(usize, u32), i64> =
        std::collections::HashMap::new();
    for d in dwellings.iter() {
        *portfolio.entry((d.owner_type, d.owner)).or_insert(0) += 1;
    }
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
                let mut row = addr(d, pseudo('P', seed, r.id), peil);
                row.extend([
                    V::F(r.adult),
                    V::I(i64::from(r.months)),
                    V::N((d.area_m2 * 10.0).round() / 10.0),
                ]);
                brp.row(row)?;
            }
            let mut row = addr(d, pseudo('W', seed, d.id), peil);
            row.extend([
                V::S(owner_types[d.owner_type].into()),
                V::I(portfolio[&(d.owner_type, d.owner)]),
                V::N((d.woz * (1.0 + 0.01 * t) / 1000.0).round() * 1000.0),
            ]);
            kadaster.row(row)?;
            if d.owner_type == 2 {
                let mut row = addr(d, pseudo('H', seed, d.id), peil);
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
                    let mut row = addr(d, format!("PL{year}-{incident:07}"), rand_day(&mut *rng));
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
                    let mut row = addr(d, format!("MOR{incident:08}"), rand_day(&mut *rng));
                    row.push(V::S(cat_name.into()));
                    meldingen.row(row)?;
                }
            }
            let hh = if d.overcrowded {
                0.06
            } else if d.owner == BIG_OWNER {
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
                let mut row = addr(d, format!("HH{incident:08}"), rand_day(&mut *rng));
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
                let mut row = addr(d, format!("TS{incident:08}"), rand_day(&mut *rng));
                row.push(V::S(regs[rng.below(4)].into()));
                toeslagen.row(row)?;
            }
            if rng.chance(0.006 * prof.signalen) {
                incident += 1;
                let regs = ["AOW", "ANW", "kinderbijslag"];
                let mut row = addr(d, format!("SVB{incident:08}"), rand_day(&mut *rng));
                row.push(V::S(regs[rng.below(3)].into()));
                svb.row(row)?;
            }
            for r in d.residents.iter().filter(|r| r.adult) {
                if rng.chance(0.045 * prof.uitkering * if d.overcrowded { 0.5 } else { 1.0 }) {
                    let kinds = ["WW", "WIA", "Wajong", "ZW"];
                    let mut row = addr(d, pseudo('P', seed, r.id), peil);
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
                let mut row = addr(d, format!("AI{incident:08}"), rand_day(&mut *rng));
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
                let mut row = addr(d, format!("E{incident:08}"), rand_day(&mut *rng));
                row.extend([V::I(v), V::I(s)]);
                enquete.row(row)?;
            }
        }
    }
    Ok(())
}
