//! The RIEC regions: named sets of gemeenten (`data/riec_regions.toml`), for region rankings,
//! the region briefing, the index standardised against the region, and granting a RIEC
//! analyst the gemeenten of their region.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::OnceLock;

/// The shipped regions (the ten RIEC regions, derived from the police units).
pub const DEFAULT_REGIONS: &str = include_str!("../data/riec_regions.toml");

/// One region.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Region {
    /// Short id used in URLs (`limburg`).
    pub id: String,
    /// Name for people (`RIEC Limburg`).
    pub naam: String,
    /// Gemeente codes (GM0983 …).
    pub gemeenten: Vec<String>,
}

/// Errors in a regions file.
#[derive(Debug, thiserror::Error)]
pub enum RegionError {
    #[error("regions {file}: {message}")]
    Invalid { file: String, message: String },
}

/// All regions, with a look-up from gemeente to region.
#[derive(Debug, Clone)]
pub struct Regions {
    pub regions: Vec<Region>,
    of: HashMap<String, usize>,
}

#[derive(Deserialize)]
struct File {
    region: Vec<Region>,
}

impl Regions {
    /// Parses and checks a regions file: ids of lower-case letters and dashes, gemeente codes
    /// `GM` and four digits, every gemeente in at most one region.
    ///
    /// # Errors
    /// A message naming the file, the region and the rule.
    pub fn parse(text: &str, file: &str) -> Result<Self, RegionError> {
        let err = |message: String| RegionError::Invalid {
            file: file.to_string(),
            message,
        };
        let f: File = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let mut of = HashMap::new();
        for (i, r) in f.region.iter().enumerate() {
            if r.id.is_empty() || !r.id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') {
                return Err(err(format!(
                    "region '{}': an id is lower-case letters and dashes",
                    r.id
                )));
            }
            if f.region[..i].iter().any(|o| o.id == r.id) {
                return Err(err(format!("region '{}' occurs twice", r.id)));
            }
            for g in &r.gemeenten {
                let ok = g.len() == 6
                    && g.starts_with("GM")
                    && g[2..].bytes().all(|b| b.is_ascii_digit());
                if !ok {
                    return Err(err(format!(
                        "region '{}': '{g}' is not a gemeente code (GM and four digits)",
                        r.id
                    )));
                }
                if let Some(&j) = of.get(g) {
                    let other: &Region = &f.region[j];
                    return Err(err(format!(
                        "{g} is in region '{}' and in '{}'; a gemeente belongs to one region",
                        other.id, r.id
                    )));
                }
                of.insert(g.clone(), i);
            }
        }
        Ok(Self {
            regions: f.region,
            of,
        })
    }

    /// The shipped regions, parsed once.
    ///
    /// # Panics
    /// Only if the shipped file is damaged (a test parses it).
    #[must_use]
    pub fn builtin() -> &'static Self {
        static R: OnceLock<Regions> = OnceLock::new();
        R.get_or_init(|| {
            Self::parse(DEFAULT_REGIONS, "data/riec_regions.toml").unwrap_or_else(|e| panic!("{e}"))
        })
    }

    /// The region with this id.
    #[must_use]
    pub fn get(&self, id: &str) -> Option<&Region> {
        self.regions.iter().find(|r| r.id == id)
    }

    /// The region a gemeente belongs to.
    #[must_use]
    pub fn of(&self, gemeente: &str) -> Option<&Region> {
        self.of.get(gemeente).map(|&i| &self.regions[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_regions_cover_every_gemeente_once() {
        let r = Regions::builtin();
        assert_eq!(r.regions.len(), 10);
        let b = crate::spatial::Boundaries::embedded().unwrap();
        for g in &b.gemeenten.areas {
            assert!(r.of(&g.code).is_some(), "{} in no region", g.code);
        }
        assert_eq!(r.of("GM0983").unwrap().id, "limburg");
        assert_eq!(r.of("GM0392").unwrap().id, "noord-holland");
        assert_eq!(r.of("GM0363").unwrap().id, "amsterdam-amstelland");
        assert_eq!(r.of("GM0855").unwrap().id, "zeeland-west-brabant");
        assert_eq!(r.of("GM0772").unwrap().id, "oost-brabant");
        assert_eq!(r.of("GM0599").unwrap().id, "rotterdam");
        assert_eq!(r.of("GM0518").unwrap().id, "den-haag");
        assert_eq!(r.of("GM0344").unwrap().id, "midden-nederland");
        assert_eq!(r.of("GM0193").unwrap().id, "oost-nederland");
        assert_eq!(r.of("GM0014").unwrap().id, "noord-nederland");
    }

    #[test]
    fn a_gemeente_in_two_regions_or_a_bad_code_is_refused() {
        let two = "[[region]]\nid = \"a\"\nnaam = \"A\"\ngemeenten = [\"GM0001\"]\n\
                   [[region]]\nid = \"b\"\nnaam = \"B\"\ngemeenten = [\"GM0001\"]\n";
        let e = Regions::parse(two, "r.toml").unwrap_err().to_string();
        assert!(e.contains("GM0001 is in region 'a' and in 'b'"), "{e}");
        let bad = "[[region]]\nid = \"a\"\nnaam = \"A\"\ngemeenten = [\"0983\"]\n";
        let e = Regions::parse(bad, "r.toml").unwrap_err().to_string();
        assert!(e.contains("'0983' is not a gemeente code"), "{e}");
    }
}
