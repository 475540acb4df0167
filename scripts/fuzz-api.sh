#!/usr/bin/env bash
# schemathesis against a live server with fresh random seeds (the test command uses a fixed
# one): every operation, N rounds, as the RIEC analyst's export token and as the beheerder's.
# Needs the test command's demo database (test-output/data) and its venv.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/wijkradar-target}"
rounds="${1:-3}"
bin="$CARGO_TARGET_DIR/release/wijkradar"
db="$PWD/test-output/data/wijkradar.duckdb"
venv="${WIJKRADAR_VENV:-$HOME/.cache/wijkradar-venv}"
[ -f "$db" ] || { echo "run the test command first (it prepares $db)" >&2; exit 1; }
port=$((20000 + RANDOM % 2000))
WIJKRADAR_RATE_PER_SECOND=1000000 "$bin" serve --db "$db" --addr "127.0.0.1:$port" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/v1" >/dev/null && break; sleep 0.2; done
for user in riec-analist beheerder; do
  token="$("$bin" token create --db "$db" --user "$user" --scope export --name fuzz-api --days 1 | sed -n 2p)"
  sleep 2
  for r in $(seq 1 "$rounds"); do
    echo "== $user, round $r"
    "$venv/bin/st" run "http://127.0.0.1:$port/v1/openapi.json" \
      -H "Authorization: Bearer $token" --max-examples 100 --request-timeout 20 \
      --generation-database none \
      --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
  done
done
