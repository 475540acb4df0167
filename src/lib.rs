//! Wijkradar: partner extracts → validate → locate → aggregate → disclosure control → DuckDB
//! → API (OGC API Features, charts, briefing) → browser.
//!
//! Only aggregates that passed disclosure control are ever stored or served.
#![forbid(unsafe_code)]
#![recursion_limit = "512"]

pub mod api;
pub mod auth;
pub mod cache;
pub mod catalogue;
pub mod charts;
pub mod dataset;
pub mod decimals;
pub mod demo;
pub mod disclosure;
pub mod fuzzing;
pub mod ingest;
pub mod intervention;
pub mod period;
pub mod profile;
pub mod regions;
pub mod score;
pub mod spatial;
pub mod store;
pub mod trend;
