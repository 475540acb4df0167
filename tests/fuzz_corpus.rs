//! Replays the committed fuzz corpus (`fuzz/corpus/`: the seeds and every input the fuzzers
//! kept, crashes included) through the fuzz targets' functions, on stable, in the test
//! command. `just fuzz` runs the fuzzers themselves (nightly).

use std::path::{Path, PathBuf};
use wijkradar::fuzzing::{Api, Extracts};

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{}: the seeds are missing", dir.display());
    files
        .into_iter()
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect()
}

#[test]
fn every_csv_in_the_corpus_is_read_or_refused_without_a_panic() {
    let e = Extracts::new();
    let mut accepted = 0;
    for (p, data) in corpus("extract_csv") {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let r = e.csv(&data);
        if name.starts_with("seed-") {
            assert!(
                r.is_ok(),
                "{name}: a seed taken from the demo is refused: {r:?}"
            );
        }
        accepted += usize::from(r.is_ok());
    }
    assert!(accepted >= 11, "the seeds of every source are read");
    // A seed with a row of garbage after it: refused, naming the file.
    let seed = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/extract_csv/seed-politie"),
    )
    .unwrap();
    let err = e
        .csv(&[&seed[..], b"\nx;y;z;\xff\xfe\n"].concat())
        .unwrap_err();
    assert!(
        err.contains("politie_fuzz.csv"),
        "the error names the file: {err}"
    );
}

#[test]
fn every_parquet_file_in_the_corpus_is_read_or_refused_without_a_panic() {
    let e = Extracts::new();
    for (p, data) in corpus("extract_parquet") {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let r = e.parquet(&data);
        if name.starts_with("seed-") {
            assert!(
                r.is_ok(),
                "{name}: a seed taken from the demo is refused: {r:?}"
            );
        }
        // Truncated and bit-flipped copies are refused with an error, never a panic.
        let mut flipped = data.clone();
        for i in (9..flipped.len()).step_by(97) {
            flipped[i] ^= 0x5a;
        }
        let _ = e.parquet(&flipped);
        assert!(
            e.parquet(&data[..data.len() / 2]).is_err(),
            "{name}: half a file is refused"
        );
    }
}

#[test]
fn every_request_in_the_corpus_gets_no_500_and_problem_json_for_errors() {
    let api = Api::new();
    let mut ok = 0;
    for (p, data) in corpus("api_request") {
        // `request` itself fails on a 500 or an error that is not problem+json; `None` is an
        // input that hyper would refuse as a URI before the application (the fuzzer keeps
        // such inputs in the corpus too).
        let status = api.request(&data);
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        assert!(status.is_none_or(|s| s < 500), "{name}: {status:?}");
        ok += usize::from(status == Some(200));
    }
    assert!(
        ok >= 25,
        "only {ok} seeds answered 200: the seeds no longer reach the routes"
    );
}

/// A bounded mutational run on stable (the coverage-guided one is `just fuzz`): each corpus
/// input with bytes flipped, inserted, deleted and spliced, from a fixed seed.
fn mutants(corpus: &[(PathBuf, Vec<u8>)], n: usize, mut seed: u64) -> Vec<Vec<u8>> {
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let interesting: &[&[u8]] = &[
        b";", b",", b"\"", b"\n", b"\r\n", b"%", b"&", b"=", b"-1", b"1e309", b"NaN", b"\xff",
        b"0000", b"9999AA", b"2099-Q9", b"h3-10", b"../",
    ];
    (0..n)
        .map(|_| {
            let mut d = corpus[(next() as usize) % corpus.len()].1.clone();
            for _ in 0..1 + next() % 4 {
                let at = if d.len() > 1 {
                    1 + (next() as usize) % (d.len() - 1)
                } else {
                    d.len()
                };
                match next() % 4 {
                    0 if at < d.len() => d[at] ^= 1 << (next() % 8),
                    1 => {
                        let ins = interesting[(next() as usize) % interesting.len()];
                        d.splice(at..at, ins.iter().copied());
                    }
                    2 if at < d.len() => {
                        let end = (at + 1 + (next() as usize) % 16).min(d.len());
                        d.drain(at..end);
                    }
                    _ => d.truncate(at),
                }
            }
            d
        })
        .collect()
}

#[test]
fn mutated_extracts_and_requests_are_refused_cleanly() {
    let e = Extracts::new();
    let csv = corpus("extract_csv");
    for m in mutants(&csv, 300, 0x5eed_0001) {
        let _ = e.csv(&m); // must return: a panic fails the test
    }
    let pq = corpus("extract_parquet");
    for m in mutants(&pq, 150, 0x5eed_0002) {
        let _ = e.parquet(&m);
    }
    let api = Api::new();
    let req = corpus("api_request");
    for m in mutants(&req, 1500, 0x5eed_0003) {
        let _ = api.request(&m);
    }
}
