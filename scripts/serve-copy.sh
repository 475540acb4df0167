# Sourced by soak.sh and load-vs-static.sh: a private copy of the demo that the test command
# leaves in test-output/data (or $WIJKRADAR_SOAK_DATA), a token of the RIEC analyst, and a
# server on a free port without a rate limit. Sets bin, src, work, db, token, port, server;
# removes the copy and stops the server on exit. Extra arguments go to `wijkradar serve`.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/wijkradar-target}"
bin="$CARGO_TARGET_DIR/release/wijkradar"
src="${WIJKRADAR_SOAK_DATA:-test-output/data}"
work="$(mktemp -d)"
server=""
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
cp "$src/wijkradar.duckdb" "$src/wijkradar.accounts.duckdb" "$work/"
db="$work/wijkradar.duckdb"
token="$("$bin" token create --db "$db" --user riec-analist --scope export --name "$(basename "$0" .sh)" --days 1 | sed -n 2p)"
port=$((18000 + RANDOM % 2000))
serve_copy() {
  WIJKRADAR_RATE_PER_SECOND=1000000 "$bin" serve --db "$db" --addr "127.0.0.1:$port" "$@" >"$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/v1" >/dev/null && break; sleep 0.2; done
}
