#!/usr/bin/env bash
# Runs every test: Rust unit, property, integration and API tests (with GDAL's ogrinfo
# against a real server; the fuzz corpus replayed), then the browser tests of the map, the
# briefing and single sign-on in headless Chromium, schemathesis, and a 30 s soak with faults.
# Installs what it needs on a fresh machine (Debian: chromium, gdal-bin, wrk …; npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/wijkradar-target}"

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v ogrinfo >/dev/null 2>&1 || need+=(gdal-bin)
# GDAL's validate_gpkg.py checks the GeoPackage export.
[ -f /usr/lib/python3/dist-packages/osgeo_utils/samples/validate_gpkg.py ] || need+=(python3-gdal)
# schemathesis goes into a venv (Debian's python3 refuses pip outside one).
python3 -m venv --help >/dev/null 2>&1 && python3 -c "import ensurepip" 2>/dev/null || need+=(python3-venv)
command -v curl >/dev/null 2>&1 || need+=(curl)
# openssl makes the certificate of the HTTPS test.
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# wrk loads the server in the soak.
command -v wrk >/dev/null 2>&1 || need+=(wrk)
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

# PDOK's GeoPackage validator checks the GeoPackage export (tests/api.rs). It needs GDAL's
# Python bindings, so its venv is made from Debian's python3 with its site packages
# (python3-gdal), beside the build cache.
pdok="${WIJKRADAR_PDOK_VENV:-$HOME/.cache/wijkradar-pdok-venv}"
if [ ! -x "$pdok/bin/geopackage-validator" ]; then
  echo "== installing pdok-geopackage-validator"
  /usr/bin/python3 -m venv --system-site-packages "$pdok"
  "$pdok/bin/pip" install -q --disable-pip-version-check pdok-geopackage-validator
fi
export WIJKRADAR_GPKG_VALIDATOR="$pdok/bin/geopackage-validator"

# A real OpenID Connect provider for the single-sign-on test (web/tests/sso.test.mjs).
oidc="${WIJKRADAR_OIDC_VENV:-$HOME/.cache/wijkradar-oidc-venv}"
if [ ! -x "$oidc/bin/oidc-provider-mock" ]; then
  echo "== installing oidc-provider-mock"
  python3 -m venv "$oidc"
  "$oidc/bin/pip" install -q --disable-pip-version-check 'oidc-provider-mock==0.3.4'
fi
export WIJKRADAR_OIDC_MOCK="$oidc/bin/oidc-provider-mock"

echo "== cargo test --release"
cargo test --release

# The README's run command after this one must compile nothing: the test and the run resolve
# one feature set (Cargo.toml aligns what the dev-dependencies enable).
echo "== the run command's build after the tests"
built="$(cargo build --release 2>&1)"
echo "$built"
if grep -q "Compiling" <<<"$built"; then
  echo "cargo build --release recompiled after cargo test --release: a dev-dependency enables a feature the normal build lacks (see Cargo.toml)" >&2
  exit 1
fi

echo "== browser test (headless Chromium)"
out="$PWD/test-output"
rm -rf "$out/data"
mkdir -p "$out"
bin="$CARGO_TARGET_DIR/release/wijkradar"
"$bin" run --data-dir "$out/data" --prepare-only
WIJKRADAR_BIN="$bin" WIJKRADAR_DB="$out/data/wijkradar.duckdb" WIJKRADAR_TEST_OUTPUT="$out" \
  node --test web/tests/

echo "== schema-driven API test (schemathesis against /v1/openapi.json on a live server)"
# Every operation with generated and mutated parameters, as an outsider with a token would send
# them: no 5xx, every status code and content type documented, every body matching its schema
# (so every 4xx is problem+json). Installed once into a venv beside the build cache. The seed
# is fixed so that CI is reproducible; `just fuzz-api` runs it with fresh seeds.
venv="${WIJKRADAR_VENV:-$HOME/.cache/wijkradar-venv}"
if [ ! -x "$venv/bin/st" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check schemathesis
fi
# serve DB LOG: a server on DB at a free port, its address in $base, its pid in $server.
serve() {
  local port=$((18000 + RANDOM % 4000))
  base="http://127.0.0.1:$port"
  WIJKRADAR_RATE_PER_SECOND=1000000 "$bin" serve --db "$1" --addr "127.0.0.1:$port" >"$2" 2>&1 &
  server=$!
  for _ in $(seq 1 50); do curl -fs "$base/v1" >/dev/null && break; sleep 0.2; done
}
# schemathesis HEADER…: every operation of the server at $base, sent with the headers given.
schemathesis() {
  local headers=()
  for h in "$@"; do headers+=(-H "$h"); done
  "$venv/bin/st" run "$base/v1/openapi.json" "${headers[@]}" \
    --max-examples 30 --request-timeout 20 \
    --seed "${WIJKRADAR_ST_SEED:-20261202}" --generation-database none \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
}
server=""
trap 'kill $server 2>/dev/null || true' EXIT
db="$out/data/wijkradar.duckdb"
token="$("$bin" token create --db "$db" --user riec-analist --scope export --name schemathesis --days 1 | sed -n 2p)"
serve "$db" "$out/schemathesis-server.log"
schemathesis "Authorization: Bearer $token"
kill $server 2>/dev/null || true

echo "== schemathesis as a signed-in beheerder (accounts, grants, audit log, projects, tokens)"
# These operations are for a session alone (a token never may use them), so the pass above
# sees only 401/403 there. It runs on a copy of the data: what the fuzzer creates, disables
# and revokes stays out of the soak below.
admin="$out/schemathesis-admin"
rm -rf "$admin"
cp -r "$out/data" "$admin"
rm -f "$admin"/*.lock
serve "$admin/wijkradar.duckdb" "$out/schemathesis-admin-server.log"
cookie="$(curl -fs -o /dev/null -D - -H "Origin: $base" \
  --data 'gebruiker=beheerder&wachtwoord=demo-beheerder&next=/' "$base/login" |
  tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \(wijkradar=[^;]*\).*/\1/p')"
csrf="$(curl -fs -H "Cookie: $cookie" "$base/v1/me" | python3 -c 'import json, sys; print(json.load(sys.stdin)["csrf"])')"
schemathesis "Cookie: $cookie" "X-CSRF-Token: $csrf" "Origin: $base"
kill $server 2>/dev/null || true

echo "== soak with faults (30 s: load while ingests succeed, are killed, and run out of disk)"
WIJKRADAR_SOAK_DATA="$out/data" bash scripts/soak.sh 30
