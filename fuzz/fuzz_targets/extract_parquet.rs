//! A partner extract as Parquet: the first byte picks the source, the rest is the file.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use wijkradar::fuzzing::Extracts;

fuzz_target!(|data: &[u8]| {
    static E: OnceLock<Extracts> = OnceLock::new();
    let _ = E.get_or_init(Extracts::new).parquet(data);
});
