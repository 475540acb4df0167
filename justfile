# Everyday recipes. The README's two commands do not need `just`.
export CARGO_TARGET_DIR := env_var_or_default("CARGO_TARGET_DIR", env_var("HOME") + "/.cache/wijkradar-target")

# Run on the embedded demo (generated and ingested on first start), http://127.0.0.1:8080
run:
    bash scripts/run.sh

# All tests: Rust, API, GDAL, browser
test:
    bash scripts/test.sh

# Criterion benches and whole-command figures (see BENCHMARKS.md)
bench:
    bash scripts/bench.sh

# Formatting and clippy with warnings as errors
lint:
    cargo fmt --all -- --check
    cargo clippy --release --all-targets -- -D warnings

# Generate demo extracts into demo-extracts/ (scale 1)
demo scale="1" format="mixed":
    cargo run --release -- demo --out demo-extracts --scale {{scale}} --format {{format}}

# Load with wrk while new dataset versions are ingested beside it (needs the test command's demo).
soak seconds="120":
    bash scripts/soak.sh {{seconds}}

# schemathesis with fresh random seeds, N rounds per token (needs the test command's demo)
fuzz-api rounds="3":
    bash scripts/fuzz-api.sh {{rounds}}

# Coverage-guided fuzzing (cargo-fuzz, nightly) of the extract readers and every route's
# parsing, SECONDS per target (WIJKRADAR_FUZZ_STABLE=1: on stable, without coverage feedback);
# new inputs go into fuzz/corpus/ (commit them), crashes into fuzz/artifacts/ (copy into the
# corpus: tests/fuzz_corpus.rs then replays them).
fuzz seconds="60":
    bash scripts/fuzz.sh {{seconds}}

# The whole country: national demo (SCALE 0.45 ≈ 108 M rows), ingest, first map (BENCHMARKS.md)
national scale="0.45":
    bash scripts/national.sh {{scale}}

# The res-9 layer against the same bytes as a static file, wrk -t2 -c64 (BENCHMARKS.md)
load seconds="20":
    bash scripts/load-vs-static.sh {{seconds}}
