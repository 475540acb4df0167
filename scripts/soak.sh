#!/usr/bin/env bash
# Soak with faults: the server under load (wrk with a token, 64 connections over layers, an
# area, the ranking, a chart and the briefing) while, beside it, in turn:
#   - a new dataset version is ingested,
#   - an ingest is killed with SIGKILL in the middle of its write,
#   - an ingest runs out of disk (a file-size limit, `ulimit -f`, makes its writes fail with
#     EFBIG as a full disk would): once while copying the database, once while writing.
# It fails on any non-2xx answer or socket error, a served version that a failed ingest
# changed, a failed ingest that reports success, a database that cannot be ingested into
# afterwards, a temporary copy left behind, or memory that grows (RSS at the end more than
# 20 % above RSS after warm-up, that is after the second round of the four steps; judged
# in runs of 60 s or more).
# Reports requests, latency and RSS.
# `bash scripts/soak.sh [SECONDS]` (the test command runs 30 s; `just soak` 120 s).
# Needs: a release build, wrk, and the demo in test-output/data (scripts/test.sh makes it).
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-120}"
source scripts/serve-copy.sh
serve_copy
rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }
served() {
  curl -fs -H "Authorization: Bearer $token" "http://127.0.0.1:$port/v1/indicators" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["dataset_version"])'
}
fail() { echo "soak: $*" >&2; exit 1; }
cat >"$work/paths.lua" <<'LUA'
local paths = {
  "/v1/collections/h3-9/items?limit=10000&gemeente=GM0983",
  "/v1/collections/wijken/items?gemeente=GM0983&datetime=2025-Q4",
  "/v1/areas/wijken/WK098325",
  "/v1/ranking/GM0983",
  "/v1/charts/trend/wijken/WK098325?indicator=overlast",
  "/briefing/GM0983",
}
local i = 0
-- The first wrong answers go to a file, so that a failure says what failed.
response = function(status, headers, body)
  if status ~= 200 then
    local f = io.open(os.getenv("SOAK_ERRORS"), "a")
    if f then f:write(status, " ", paths[(i % #paths) + 1], "\n"); f:close() end
  end
end
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
LUA
# As browsers and GDAL ask (gzip); a request counts as failed after 10 s, not wrk's 2 s: on
# two cores shared with wrk and the ingests, a page rebuilt right after a swap may take longer.
SOAK_ERRORS="$work/errors.txt" wrk -t2 -c64 -d"${secs}s" --latency --timeout 10s -s "$work/paths.lua" \
  -H "Authorization: Bearer $token" -H "Accept-Encoding: gzip" \
  "http://127.0.0.1:$port" >"$work/wrk.txt" 2>&1 &
load=$!
sleep 5
warm=$(rss)
echo "server RSS after 5 s: $warm kB"
size_kb=$(( $(stat -c %s "$db") / 1024 ))
# k of the version served; every try uses the other value, so that it is never a repeat
# (which would change nothing and succeed).
cur=10  # the demo is ingested with the default k = 10
other() { echo $((cur == 10 ? 11 : 10)); }
step=0
ingests=0; killed=0; full=0
end=$((SECONDS + secs - 8))
while [ $SECONDS -lt $end ]; do
  before=$(served)
  case $((step % 4)) in
    0)
      k=$(other)
      "$bin" ingest --db "$db" --k "$k" "$src"/demo-extracts/* >/dev/null
      ingests=$((ingests + 1)); cur=$k
      for _ in $(seq 1 100); do [ "$(served)" != "$before" ] && break; sleep 0.2; done
      [ "$(served)" != "$before" ] || fail "version $before still served after a successful ingest"
      echo "ingested (k=$k): serving version $(served)"
      ;;
    1)
      k=$(other)
      "$bin" ingest --db "$db" --k "$k" "$src"/demo-extracts/* >/dev/null 2>&1 &
      victim=$!
      sleep 0.$((3 + RANDOM % 5))
      kill -9 $victim 2>/dev/null || true
      wait $victim 2>/dev/null || true
      sleep 1.2
      if [ "$(served)" != "$before" ]; then
        cur=$k
        echo "ingest finished before the SIGKILL: serving version $(served)"
      else
        killed=$((killed + 1))
        echo "ingest killed with SIGKILL mid-write: still serving version $(served)"
      fi
      ;;
    2|3)
      # A full disk: while copying (half the database's size) or while writing (a little
      # more than its size). SIGXFSZ ignored, so that writes fail with EFBIG as on ENOSPC.
      if [ $((step % 4)) = 2 ]; then limit=$((size_kb / 2)); else limit=$((size_kb + 256)); fi
      k=$(other)
      if (trap '' XFSZ; ulimit -f "$limit"; exec "$bin" ingest --db "$db" --k "$k" "$src"/demo-extracts/*) >"$work/full.txt" 2>&1; then
        # Writing within the limit is possible (a version smaller than the last): not a fault.
        echo "ingest within ${limit} kB succeeded"
        cur=$k
        for _ in $(seq 1 100); do [ "$(served)" != "$before" ] && break; sleep 0.2; done
      else
        grep -qiE "error|fout" "$work/full.txt" || fail "a failed ingest said nothing: $(cat "$work/full.txt")"
        full=$((full + 1))
        echo "ingest with a full disk at ${limit} kB refused: $(grep -iE 'error|fout' "$work/full.txt" | head -1 | cut -c1-140)"
        sleep 1.2
        [ "$(served)" = "$before" ] || fail "a failed ingest changed the served version ($before → $(served))"
      fi
      ;;
  esac
  step=$((step + 1))
  # Warmed up: every page built and two whole rounds of faults (swaps included) behind (one
  # round when the run is too short for two): the allocator's high-water mark is reached.
  if [ $step = 4 ] || [ $step = 8 ]; then warm=$(rss); echo "server RSS after $((step / 4)) round(s) of faults: $warm kB"; fi
done
wait $load
# Afterwards the database takes a normal ingest and no temporary copy stays behind.
before=$(served)
"$bin" ingest --db "$db" --k "$(other)" "$src"/demo-extracts/* >/dev/null || fail "the database takes no ingest after the faults"
for _ in $(seq 1 100); do [ "$(served)" != "$before" ] && break; sleep 0.2; done
[ "$(served)" != "$before" ] || fail "the last ingest is not served"
ls "$work" | grep -q "write-tmp" && fail "a temporary copy stayed behind: $(ls "$work")"
cat "$work/wrk.txt"
last=$(rss)
echo "server RSS: $warm kB after warm-up, $last kB at the end"
echo "ingests: $ingests, killed: $killed, refused for a full disk: $full"
grep -E "WARN|ERROR" "$work/server.log" | sed 's/\x1b\[[0-9;]*m//g' | head -5 || true
grep -qi "panicked" "$work/server.log" && fail "the server panicked"
grep -q "Non-2xx" "$work/wrk.txt" && fail "errors under load: $(sort "$work/errors.txt" 2>/dev/null | uniq -c | sort -rn | head -5)"
grep -q "Socket errors" "$work/wrk.txt" && fail "socket errors under load"
[ "$killed" -gt 0 ] && [ "$full" -gt 0 ] || fail "too short to inject every fault (killed $killed, full $full)"
# Flat memory is judged over at least a minute: a shorter run (the test command's 30 s) ends
# within a round of its warm-up, while a new version's pages are still being built beside the
# old version's (measured: up to +20 % there, and 464 MB → 397 MB over 120 s).
if [ "$secs" -ge 60 ]; then
  [ "$last" -le $((warm * 12 / 10)) ] || fail "memory grew: $warm kB → $last kB"
else
  echo "memory: $warm kB → $last kB (judged only in runs of 60 s or more)"
fi
echo "soak: no errors"
