#!/usr/bin/env bash
# The server's memory with every layer of every quarter asked for (BENCHMARKS.md, "Published
# figures in the bounded cache"): starts `wijkradar serve` on DB, reports resident memory
# after start, after items (a figure each) of every level in every quarter, and the time of a few requests
# that read whole layers or one area over every quarter; then, on a fresh server, 8 clients
# at once each walking every layer of every quarter twice with the index (peak memory, time).
#   bash scripts/server-memory.sh DB TOKEN [H3-10 CELL] [PC6]
# DB: a database with a dataset (e.g. the national demo from scripts/national.sh);
# TOKEN: a token of a user who may see it (`wijkradar token create`).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/wijkradar-target}"
db="$1"; token="$2"; cell="${3:-8a194d8102e7fff}"; pc6="${4:-2317BD}"
bin="${WIJKRADAR_BIN:-$CARGO_TARGET_DIR/release/wijkradar}"
port="${PORT:-18081}"; url="http://127.0.0.1:$port"
serve() {
  # A high rate limit: the clients below share one token.
  WIJKRADAR_RATE_PER_SECOND=100000 "$bin" serve --db "$db" --addr "127.0.0.1:$port" --web web >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 60); do curl -sf "$url/v1/index/method" >/dev/null && break; sleep 0.5; done
}
serve
trap 'kill $pid 2>/dev/null' EXIT
rss() { echo "$(( $(ps -o rss= -p "$pid") / 1024 )) MB"; }
req() { curl -s -o /dev/null -w "%{http_code} %{time_total} s" -H "Authorization: Bearer $token" "$url$1"; }
echo "after start: $(rss)"
levels=$(curl -s -H "Authorization: Bearer $token" "$url/v1/collections" | python3 -c 'import json,sys; print(" ".join(c["id"] for c in json.load(sys.stdin)["collections"]))')
periods=$(curl -s -H "Authorization: Bearer $token" "$url/v1/periods" | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["periods"]))')
start=$(date +%s.%N)
for l in $levels; do for q in $periods; do req "/v1/collections/$l/items?limit=1&properties=code,overlast_rate&datetime=$q" >/dev/null; done; done
echo "every layer of every quarter: $(rss), $(echo "$(date +%s.%N) - $start" | bc) s"
for round in first again; do
  echo "$round: trend h3-10 $(req "/v1/charts/trend/h3-10/$cell?indicator=overlast&f=svg"); detail pc6 $(req "/v1/areas/pc6/$pc6"); profile pc6 $(req "/v1/areas/pc6/$pc6/profile"); classes h3-10 $(req /v1/classes/h3-10); changes pc6 $(req "/v1/changes/pc6?indicator=overlast")"
done
echo "at the end: $(rss)"
kill "$pid"; wait "$pid" 2>/dev/null || true
serve
walk() {
  for _ in 1 2; do for l in $levels; do for q in $periods; do
    req "/v1/collections/$l/items?limit=1&offset=$1&properties=code,index&datetime=$q"; echo
  done; done; done
}
start=$(date +%s.%N); peak=0; out=$(mktemp -d)
clients=()
for c in 1 2 3 4 5 6 7 8; do walk "$((c * 100))" >"$out/$c" & clients+=($!); done
running() { for c in "${clients[@]}"; do kill -0 "$c" 2>/dev/null && return 0; done; return 1; }
while running; do r=$(ps -o rss= -p "$pid"); [ "$r" -gt "$peak" ] && peak=$r; sleep 0.5; done
echo "8 clients, every layer of every quarter twice with the index: $(echo "$(date +%s.%N) - $start" | bc) s, peak $((peak / 1024)) MB, after $(rss); answers: $(cat "$out"/* | cut -d' ' -f1 | sort | uniq -c | tr '\n' ' ')"
rm -rf "$out"
