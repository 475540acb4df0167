#!/usr/bin/env bash
# The whole country at once (BENCHMARKS.md, "National"): generate the national demo as
# Parquet, ingest it with peak memory, report the database size, then start the server on it
# and time the first map (the landing page and the first wijken page of a gemeente) and the
# items of a national layer page by page.
#   bash scripts/national.sh [SCALE]     (default 0.4: about 100 million rows)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/wijkradar-target}"
scale="${1:-0.4}"
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
rm -f "$work/n.duckdb" "$work/n.duckdb.wal"
echo "== ingest"
/usr/bin/time -f "ingest: %e s, peak RSS %M KB" \
  "$bin" ingest --db "$work/n.duckdb" "$work"/extracts/*.parquet | tail -n 25
ls -l "$work/n.duckdb" | awk '{printf "database: %.2f GB\n", $5 / 1e9}'

echo "== serve: time to first map"
port=$((19000 + RANDOM % 500))
start=$(date +%s.%N)
"$bin" serve --db "$work/n.duckdb" --addr "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
until curl -fs "http://127.0.0.1:$port/v1" >/dev/null; do sleep 0.1; done
up=$(date +%s.%N)
# The map's first requests for the adviser of Venlo (public layers need no login in the demo).
curl -fs -o /dev/null "http://127.0.0.1:$port/v1/collections/wijken/items?gemeente=GM0983&limit=10000"
first=$(date +%s.%N)
python3 -c "print(f'server answers after {$up-$start:.2f} s; first wijken page after {$first-$start:.2f} s')"
for q in "collections/gemeenten/items?limit=1000" \
         "collections/pc4/items?limit=1000" \
         "collections/pc4/items?limit=1000&offset=3000" \
         "collections/h3-9/items?gemeente=GM0363&limit=10000" \
         "collections/h3-9/items?limit=10000&offset=100000" \
         "collections/h3-10/items?bbox=4.85,52.35,4.95,52.40&limit=10000"; do
  for round in cold warm; do
    curl -s -o /dev/null -w "%{http_code} %{size_download} B %{time_total} s  $round  /v1/$q\n" \
      "http://127.0.0.1:$port/v1/$q"
  done
done
grep -E "VmHWM|VmRSS" "/proc/$server/status"
