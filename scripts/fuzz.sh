#!/usr/bin/env bash
# Coverage-guided fuzzing with cargo-fuzz (nightly): each target for SECONDS (default 60).
# The first run compiles the bundled DuckDB once more (nightly, its own target directory
# beside the build cache: 30–60 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
export CARGO_TARGET_DIR="${WIJKRADAR_FUZZ_TARGET_DIR:-$HOME/.cache/wijkradar-fuzz-target}"
# The fuzz crate resolves the same versions as the product.
[ -f fuzz/Cargo.lock ] || cp Cargo.lock fuzz/Cargo.lock
for t in extract_csv extract_parquet api_request; do
  echo "== fuzz $t for ${seconds}s"
  # -rss_limit_mb: the readers must stay bounded; -timeout: no input may take 10 s.
  cargo +nightly fuzz run "$t" -- -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=10 -max_len=65536
done
