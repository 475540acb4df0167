#!/usr/bin/env bash
# Soak: the server under steady load (wrk with a token, 16 connections, three endpoints) while
# new dataset versions are ingested next to it. Reports requests, non-2xx answers, the dataset
# versions served, and the server's memory at the start and at the end. Not part of the test
# command (it takes minutes); `just soak` or `bash scripts/soak.sh [SECONDS]`.
# Needs: a release build, wrk, and the demo in test-output/data (scripts/test.sh makes it).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/wijkradar-target}"
secs="${1:-120}"
bin="$CARGO_TARGET_DIR/release/wijkradar"
src="test-output/data"
work="$(mktemp -d)"
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
cp "$src/wijkradar.duckdb" "$src/wijkradar.accounts.duckdb" "$work/"
db="$work/wijkradar.duckdb"
token="$("$bin" token create --db "$db" --user riec-analist --scope export --name soak --days 1 | sed -n 2p)"
port=$((18000 + RANDOM % 2000))
WIJKRADAR_RATE_PER_SECOND=1000000 "$bin" serve --db "$db" --addr "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/v1" >/dev/null && break; sleep 0.2; done
rss() { awk '/VmRSS/ {print $2 " kB"}' "/proc/$server/status"; }
echo "server RSS at start: $(rss)"
cat >"$work/paths.lua" <<'LUA'
local paths = {
  "/v1/collections/h3-9/items?limit=10000&gemeente=GM0983",
  "/v1/areas/wijken/WK098325",
  "/v1/ranking/GM0983",
}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
LUA
wrk -t2 -c16 -d"${secs}s" -s "$work/paths.lua" -H "Authorization: Bearer $token" \
  "http://127.0.0.1:$port" >"$work/wrk.txt" 2>&1 &
load=$!
k=10
end=$((SECONDS + secs - 5))
while [ $SECONDS -lt $end ]; do
  k=$((k == 10 ? 11 : 10))
  "$bin" ingest --db "$db" --k "$k" "$src"/demo-extracts/* >/dev/null
  v=$(curl -s -H "Authorization: Bearer $token" "http://127.0.0.1:$port/v1/indicators" | python3 -c 'import json,sys; print(json.load(sys.stdin)["dataset_version"])')
  echo "ingested with k=$k; serving version $v"
done
wait $load
cat "$work/wrk.txt"
echo "server RSS at end: $(rss)"
echo "versions loaded by the server: $(grep -c 'dataset loaded' "$work/server.log")"
grep -E "WARN|ERROR" "$work/server.log" | sed 's/\x1b\[[0-9;]*m//g' | head -5 || true
if grep -qi "panicked" "$work/server.log"; then echo "the server panicked"; exit 1; fi
if grep -q "Non-2xx" "$work/wrk.txt"; then echo "errors under load"; exit 1; fi
echo "soak: no errors"
