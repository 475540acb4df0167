//! One GET on the whole application (every route's path and query parsing): no 500, and
//! every /v1 error as problem+json.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use wijkradar::fuzzing::Api;

fuzz_target!(|data: &[u8]| {
    static A: OnceLock<Api> = OnceLock::new();
    let _ = A.get_or_init(Api::new).request(data);
});
