#!/usr/bin/env bash
# The layer endpoint against the limit of the machine: all Venlo res-9 cells from
# /v1/collections/h3-9/items, and the very same bytes as a static file from the same server
# (a copy of web/ whose config.json is those bytes), each under `wrk -t2 -c64` with a token,
# one after the other in one run. Fails unless the layer reaches 80 % of the static file's
# throughput with p99 under 50 ms. `bash scripts/load-vs-static.sh [SECONDS]` (`just load`).
# Needs: a release build, wrk, and the demo in test-output/data (scripts/test.sh makes it).
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-20}"
source scripts/serve-copy.sh
mkdir "$work/web"
cp -r web/*.html web/*.js web/*.css web/js "$work/web/"
layer="/v1/collections/h3-9/items?limit=10000&gemeente=GM0983"
serve_copy --web "$work/web"
curl -fs -H "Authorization: Bearer $token" "http://127.0.0.1:$port$layer" -o "$work/web/config.json"
bytes=$(stat -c %s "$work/web/config.json")
curl -fs -H "Authorization: Bearer $token" "http://127.0.0.1:$port/config.json" | cmp -s - "$work/web/config.json" \
  || { echo "the static copy differs from the layer" >&2; exit 1; }
run() {
  wrk -t2 -c64 -d"${secs}s" --latency -H "Authorization: Bearer $token" "http://127.0.0.1:$port$1" >"$work/$2.txt" 2>&1
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/$2.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/$2.txt")
  errs=$(grep -cE "Non-2xx|Socket errors" "$work/$2.txt" || true)
  echo "$2: $rps requests/s, p99 $p99, error lines $errs"
}
echo "== $bytes bytes, ${secs}s each, wrk -t2 -c64, identity encoding"
run "/config.json" static
s_rps=$rps
run "$layer" layer
l_rps=$rps; l_p99=$p99; l_err=$errs
python3 - "$s_rps" "$l_rps" "$l_p99" "$l_err" <<'PY'
import sys
s, l, p99, errs = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3], int(sys.argv[4])
ms = float(p99[:-2]) if p99.endswith("ms") else float(p99[:-2]) / 1000 if p99.endswith("us") else float(p99[:-1]) * 1000
print(f"layer/static throughput: {l / s:.0%}; layer p99 {ms:.1f} ms")
ok = l >= 0.8 * s and ms < 50 and errs == 0
print("met" if ok else "NOT met: needs >= 80 % of the static throughput, p99 < 50 ms, no errors")
sys.exit(0 if ok else 1)
PY
