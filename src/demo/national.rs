//! The whole country at once (`demo --national`): the gemeenten with shipped wijken keep
//! their wijken and planted patterns; everywhere else each PC4 area is a placement area with
//! as many dwellings as its inhabitants (CBS 2021) imply, about 8 million at scale 1.

use crate::spatial::{self, Boundaries};
use geo::InteriorPoint as _;

/// Dwellings per inhabitant in the Netherlands (CBS 2024: 8.1 M dwellings, 17.9 M inhabitants).
const DWELLINGS_PER_INHABITANT: f64 = 8.1 / 17.9;

/// The gemeenten with shipped (or imported) wijken, in code order.
pub(super) fn gemeenten_with_wijken(bounds: &Boundaries) -> Vec<String> {
    let mut all: Vec<String> = bounds
        .wijken
        .areas
        .iter()
        .filter_map(|w| w.gemeente.clone())
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// Every inhabited PC4 area whose interior point lies in a gemeente other than the `covered`
/// ones, as a placement area of that gemeente: its dwellings from its inhabitants.
pub(super) fn pc4_areas(bounds: &Boundaries, covered: &[String]) -> Vec<spatial::Area> {
    bounds
        .pc4
        .areas
        .iter()
        .filter_map(|a| {
            let inwoners = a.inwoners.filter(|n| *n > 0.0)?;
            let p = a.geometry.interior_point()?;
            let gemeente = &bounds.gemeenten.areas[bounds.gemeenten.locate(p.x(), p.y())?].code;
            if covered.contains(gemeente) {
                return None;
            }
            Some(spatial::Area {
                woningen: Some(inwoners * DWELLINGS_PER_INHABITANT),
                inwoners: Some(inwoners),
                // Addresses inside the PC4 outline and inside this gemeente (the generalised
                // outlines of PC4 areas and gemeenten do not match exactly).
                gemeente: Some(gemeente.clone()),
                wijk: None,
                geometry_rd: None,
                ..a.clone()
            })
        })
        .collect()
}
