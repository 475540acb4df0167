#!/usr/bin/env bash
# Runs every test: Rust unit, property, integration and API tests (with GDAL's ogrinfo
# against a real server), then the browser test of the map and the briefing in headless
# Chromium. Installs what it needs on a fresh machine (Debian: chromium, gdal-bin; npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/wijkradar-target}"

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v ogrinfo >/dev/null 2>&1 || need+=(gdal-bin)
# GDAL's validate_gpkg.py checks the GeoPackage export.
[ -f /usr/lib/python3/dist-packages/osgeo_utils/samples/validate_gpkg.py ] || need+=(python3-gdal)
if ((${#need[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "== installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "missing: ${need[*]}; run: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
fi
if [ ! -f web/node_modules/.package-lock.json ] || ! cmp -s web/package-lock.json web/node_modules/.package-lock.json; then
  echo "== npm ci (web)"
  npm ci --prefix web --no-audit --no-fund --loglevel=error
fi

echo "== cargo test --release"
cargo test --release

echo "== browser test (headless Chromium)"
out="$PWD/test-output"
rm -rf "$out/data"
mkdir -p "$out"
bin="$CARGO_TARGET_DIR/release/wijkradar"
"$bin" run --data-dir "$out/data" --prepare-only
WIJKRADAR_BIN="$bin" WIJKRADAR_DB="$out/data/wijkradar.duckdb" WIJKRADAR_TEST_OUTPUT="$out" \
  node --test web/tests/
