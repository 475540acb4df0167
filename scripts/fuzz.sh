#!/usr/bin/env bash
# Fuzzing of the extract readers and every route's parsing (fuzz/), SECONDS per target
# (default 60). New inputs go into fuzz/corpus/<target>/ (commit them: the test command replays
# them); crashes into fuzz/artifacts/ (copy them into the corpus).
#
#   bash scripts/fuzz.sh [SECONDS]      coverage-guided, with cargo-fuzz on nightly and
#                                       AddressSanitizer; the first run compiles the bundled
#                                       DuckDB once more in its own target directory (30–75 min)
#   WIJKRADAR_FUZZ_STABLE=1 bash scripts/fuzz.sh [SECONDS]
#                                       the same targets built on stable in the product's build
#                                       cache (no DuckDB rebuild): libFuzzer mutates without
#                                       coverage feedback, so it finds less; minutes, not an hour
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
targets=(extract_csv extract_parquet api_request)
# The fuzz crate resolves the same versions as the product.
[ -f fuzz/Cargo.lock ] || cp Cargo.lock fuzz/Cargo.lock
if [ -n "${WIJKRADAR_FUZZ_STABLE:-}" ]; then
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/wijkradar-target}"
  cargo build --release --bins --manifest-path fuzz/Cargo.toml
  for t in "${targets[@]}"; do
    echo "== fuzz $t for ${seconds}s (stable, no coverage feedback)"
    mkdir -p fuzz/artifacts/"$t"
    "$CARGO_TARGET_DIR/release/$t" "fuzz/corpus/$t" -artifact_prefix="fuzz/artifacts/$t/" \
      -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=10 -max_len=65536 -print_final_stats=1
  done
  exit 0
fi
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
export CARGO_TARGET_DIR="${WIJKRADAR_FUZZ_TARGET_DIR:-$HOME/.cache/wijkradar-fuzz-target}"
for t in "${targets[@]}"; do
  echo "== fuzz $t for ${seconds}s"
  # -rss_limit_mb: the readers must stay bounded; -timeout: no input may take 10 s.
  cargo +nightly fuzz run "$t" -- -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=10 -max_len=65536
done
