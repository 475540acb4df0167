//! Step 2: locate each distinct coordinate once: H3 res 7–10 from its RD coordinates (by
//! index from res 10), PC4/PC6 from its postcode, buurt/wijk/gemeente by point-in-polygon.
//! Shared by the reading threads.

use crate::spatial::{h3_cells, rd_to_wgs84, Boundaries};
use ahash::AHashMap;
use h3o::CellIndex;
use std::sync::Mutex;

/// Where a coordinate lies.
#[derive(Debug, Clone, Copy)]
pub struct Location {
    pub cells: [CellIndex; 4],
    pub postcode: [u8; 6],
    pub buurt: Option<u32>,
    pub wijk: Option<u32>,
    pub gemeente: u32,
}

/// A distinct location: postcode and the bits of the RD coordinates.
pub type LocKey = ([u8; 6], u64, u64);

/// Locations shared by the reading threads: each distinct coordinate is located once.
pub struct Locator<'a> {
    bounds: &'a Boundaries,
    inner: Mutex<Located>,
}

#[derive(Default)]
pub(super) struct Located {
    id_of: AHashMap<LocKey, u32>,
    pub(super) keys: Vec<LocKey>,
    /// `None`: in no Dutch gemeente.
    pub(super) locations: Vec<Option<Location>>,
}

impl<'a> Locator<'a> {
    #[must_use]
    pub fn new(bounds: &'a Boundaries) -> Self {
        Self {
            bounds,
            inner: Mutex::new(Located::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Located> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The id of a location, and whether it lies in a Dutch gemeente.
    pub(super) fn locate(&self, key: LocKey) -> (u32, bool) {
        {
            let l = self.lock();
            if let Some(&id) = l.id_of.get(&key) {
                return (id, l.locations[id as usize].is_some());
            }
        }
        // Located outside the lock; a racing thread computes the same value.
        let (x, y) = (f64::from_bits(key.1), f64::from_bits(key.2));
        let (lon, lat) = rd_to_wgs84(x, y);
        let loc = match (h3_cells(lon, lat), self.bounds.locate(lon, lat)) {
            (Some(cells), Some(place)) => Some(Location {
                cells,
                postcode: key.0,
                buurt: place.buurt.and_then(|b| u32::try_from(b).ok()),
                wijk: place.wijk.and_then(|w| u32::try_from(w).ok()),
                gemeente: u32::try_from(place.gemeente).unwrap_or(u32::MAX),
            }),
            _ => None,
        };
        let mut l = self.lock();
        if let Some(&id) = l.id_of.get(&key) {
            return (id, l.locations[id as usize].is_some());
        }
        let id = u32::try_from(l.keys.len()).unwrap_or(u32::MAX);
        l.id_of.insert(key, id);
        l.keys.push(key);
        l.locations.push(loc);
        (id, loc.is_some())
    }

    pub(super) fn key(&self, id: u32) -> LocKey {
        self.lock().keys[id as usize]
    }

    /// Everything located so far, leaving the locator empty.
    pub(super) fn take(&self) -> Located {
        std::mem::take(&mut *self.lock())
    }
}
