//! The planted wijken of a gemeente: Klingerberg and its companions in Venlo, chosen by a
//! fixed rule elsewhere.

use super::KLINGERBERG;
use crate::spatial;

/// The planted wijken of one gemeente.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plants {
    /// Overcrowding, short registrations, one big landlord, labour-inspection findings,
    /// rising overlast, low perceived safety; the LSI project (Klingerberg in Venlo).
    pub hotspot: String,
    /// Nightlife nuisance, violence and litter: pressure of another kind.
    pub decoy: String,
    /// More benefits and rent arrears.
    pub benefits: String,
}

impl Plants {
    /// Venlo's are Klingerberg, Venlo-Centrum and Venlo-Oost-Noord. Elsewhere, by a rule
    /// that needs no local knowledge: the hotspot is the wijk whose dwellings are closest to
    /// Klingerberg's 1,661, the decoy the wijk with the most dwellings, the benefits wijk the
    /// one closest to 2,500 dwellings (each different).
    #[must_use]
    pub fn of(gemeente: &str, wijken: &[&spatial::Area]) -> Option<Self> {
        if gemeente == "GM0983" {
            return Some(Self {
                hotspot: KLINGERBERG.into(),
                decoy: "WK098311".into(),
                benefits: "WK098313".into(),
            });
        }
        let mut ws: Vec<(&str, f64)> = wijken
            .iter()
            .filter(|w| w.gemeente.as_deref() == Some(gemeente))
            .map(|w| (w.code.as_str(), w.woningen.unwrap_or(0.0)))
            .collect();
        ws.sort_by(|a, b| a.0.cmp(b.0));
        let closest = |target: f64, not: &[&str]| {
            ws.iter()
                .filter(|w| !not.contains(&w.0))
                .min_by(|a, b| (a.1 - target).abs().total_cmp(&(b.1 - target).abs()))
                .map(|w| w.0.to_string())
        };
        let hotspot = closest(1661.0, &[])?;
        let decoy = ws
            .iter()
            .filter(|w| w.0 != hotspot)
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|w| w.0.to_string())?;
        let benefits = closest(2500.0, &[&hotspot, &decoy])?;
        Some(Self {
            hotspot,
            decoy,
            benefits,
        })
    }
}
