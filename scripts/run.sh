#!/usr/bin/env bash
# Runs Wijkradar on the embedded default: on first start it generates the Venlo demo
# extracts, ingests them into wijkradar-data/wijkradar.duckdb, and serves http://127.0.0.1:8080
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/wijkradar-target}"
if [ ! -f web/node_modules/.package-lock.json ] || ! cmp -s web/package-lock.json web/node_modules/.package-lock.json; then
  npm ci --prefix web --no-audit --no-fund --loglevel=error
fi
exec cargo run --release -- run "$@"
