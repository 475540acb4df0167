#!/usr/bin/env bash
# The whole country at once (BENCHMARKS.md, "National"): generate the national demo as
# Parquet, ingest it with peak memory, report the database size, then start the server on it
# and time the first map (the landing page and the first wijken page of a gemeente) and the
# items of a national layer page by page.
#   bash scripts/national.sh [SCALE]     (default 0.45: about 108 million rows)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/wijkradar-target}"
scale="${1:-0.45}"
cargo build --release
bin="$CARGO_TARGET_DIR/release/wijkradar"
work="${WIJKRADAR_NATIONAL_DIR:-${TMPDIR:-/tmp}/wijkradar-national-$scale}"
mkdir -p "$work"
if [ ! -f "$work/extracts/.done" ]; then
  echo "== generate: demo --national --scale $scale --format parquet"
  rm -rf "$work/extracts"
  /usr/bin/time -f "generate: %e s, peak RSS %M KB" \
    "$bin" demo --national --scale "$scale" --format parquet --out "$work/extracts"
  touch "$work/extracts/.done"
fi
du -sh "$work/extracts"
# WIJKRADAR_NATIONAL_SERVE_ONLY=1: measure the server on the database of the last run.
if [ -z "${WIJKRADAR_NATIONAL_SERVE_ONLY:-}" ]; then
  rm -f "$work/n.duckdb" "$work/n.duckdb.wal"
  echo "== ingest"
  RUST_LOG=wijkradar=debug /usr/bin/time -f "ingest: %e s, peak RSS %M KB" \
    "$bin" ingest --db "$work/n.duckdb" "$work"/extracts/*.parquet 2>&1 \
    | grep -v "read file\| rijen, " | sed 's/\x1b\[[0-9;]*m//g'
fi
ls -l "$work/n.duckdb" | awk '{printf "database: %.2f GB\n", $5 / 1e9}'

# A national RIEC analyst's token for the requests below.
gemeenten="$(python3 -c "import json; print(','.join(sorted(f['properties']['gemeentecode'] for f in json.load(open('data/nl_gemeenten_2023.geojson'))['features'])))")"
rm -f "$work/n.accounts.duckdb"
WIJKRADAR_PASSWORD="national-$RANDOM$RANDOM" "$bin" user add landelijk --db "$work/n.duckdb" --role riec-analist --gemeente "$gemeenten" >/dev/null
token="$("$bin" token create --db "$work/n.duckdb" --user landelijk --scope export --name national --days 1 | sed -n 2p)"
auth=(-H "Authorization: Bearer $token")

echo "== serve: time to first map"
port=$((19000 + RANDOM % 500))
start=$(date +%s.%N)
"$bin" serve --db "$work/n.duckdb" --addr "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
until curl -fs "${auth[@]}" "http://127.0.0.1:$port/v1/indicators" >/dev/null; do sleep 0.1; done
up=$(date +%s.%N)
# The map's first request: the wijken of one gemeente.
curl -fs "${auth[@]}" -o /dev/null "http://127.0.0.1:$port/v1/collections/wijken/items?gemeente=GM0983&limit=10000"
first=$(date +%s.%N)
python3 -c "print(f'server answers (dataset loaded) after {$up-$start:.2f} s; first wijken page after {$first-$start:.2f} s')"
for q in "collections/gemeenten/items?limit=1000" \
         "collections/pc4/items?limit=1000" \
         "collections/pc4/items?limit=1000&offset=3000" \
         "collections/h3-9/items?gemeente=GM0363&limit=10000" \
         "collections/h3-9/items?limit=10000&offset=100000" \
         "collections/h3-10/items?bbox=4.85,52.35,4.95,52.40&limit=10000"; do
  for round in cold warm; do
    curl -s "${auth[@]}" -o /dev/null -w "%{http_code} %{size_download} B %{time_total} s  $round  /v1/$q\n" \
      "http://127.0.0.1:$port/v1/$q"
  done
done
grep -E "VmHWM|VmRSS" "/proc/$server/status"
