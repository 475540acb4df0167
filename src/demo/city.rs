//! The synthetic city: wijk profiles (with the planted patterns) and dwellings with their
//! residents on synthetic streets, inside the real wijken (and, where shipped, buurten).

use super::{Plants, Rng};
use crate::spatial::{self, Boundaries};
use geo::{Area as _, BoundingRect, Contains, Point};

/// The one big private landlord of the hotspot.
pub(super) const BIG_OWNER: u32 = 999_999;

/// A synthetic dwelling.
#[derive(Debug, Clone)]
pub(super) struct Dwelling {
    pub(super) id: u64,
    pub(super) x: f64,
    pub(super) y: f64,
    pub(super) postcode: String,
    pub(super) huisnummer: u32,
    pub(super) toevoeging: String,
    pub(super) wijk: usize,
    pub(super) area_m2: f64,
    pub(super) owner_type: usize,
    pub(super) owner: u32,
    pub(super) woz: f64,
    pub(super) overcrowded: bool,
    pub(super) residents: Vec<Resident>,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Resident {
    pub(super) id: u64,
    pub(super) adult: bool,
    pub(super) months: u32,
}

/// Wijk-level multipliers that make each wijk a little different.
#[derive(Debug, Clone)]
pub(super) struct WijkProfile {
    pub(super) code: String,
    pub(super) overlast: f64,
    pub(super) horeca: f64,
    pub(super) geweld: f64,
    pub(super) verloedering: f64,
    pub(super) uitkering: f64,
    pub(super) achterstand: f64,
    pub(super) inbraak: f64,
    pub(super) veiligheid: f64,
    pub(super) woz: f64,
    pub(super) signalen: f64,
}

/// The part a wijk plays among the plants: 0 hotspot, 1 decoy, 2 benefits.
pub(super) fn role(plants: &[Plants], code: &str) -> Option<u8> {
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
}

/// Each wijk's multipliers, the planted ones set to their pattern.
pub(super) fn profiles(
    wijken: &[&spatial::Area],
    plants: &[Plants],
    rng: &mut Rng,
) -> Vec<WijkProfile> {
    let role = |code: &str| role(plants, code);
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
    profiles
}

/// Streets of buildings in every wijk, as many dwellings as CBS counts (times `scale`), with
/// their residents. Returns the dwellings and the last identifier handed out.
#[expect(
    clippy::too_many_lines,
    reason = "one street after another; splitting would pass a dozen locals around"
)]
pub(super) fn dwellings(
    wijken: &[&spatial::Area],
    profiles: &[WijkProfile],
    bounds: &Boundaries,
    plants: &[Plants],
    scale: f64,
    rng: &mut Rng,
) -> (Vec<Dwelling>, u64) {
    let role = |code: &str| role(plants, code);
    let scale_units = scale.max(0.01);
    let mut dwellings: Vec<Dwelling> = Vec::new();
    let mut pc_letters: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    let mut next_id: u64 = 0;
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
                            BIG_OWNER
                        } else {
                            rng.below(if owner_type == 1 { 900 } else { 40 }) as u32
                        };
                        let overcrowded = if owner == BIG_OWNER {
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
    (dwellings, next_id)
}
