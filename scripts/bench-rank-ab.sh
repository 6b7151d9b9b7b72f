#!/usr/bin/env bash
# /v1/rank of an earlier revision (A) against this working tree (B), served side by side, in
# interleaved rounds against one plain aiohttp + uvloop server (issue 12). This machine's load
# changes from minute to minute; rounds of static -> A -> B make the comparison fair.
#   scripts/bench-rank-ab.sh REV [seconds-per-wrk] [rounds]      e.g. d9cd58c 8 3
# A is built from REV into a temporary folder (a wheel, with its compiled modules) and imported
# from there; both serve `--workers 2` with the same Redis, ingestor and simulator, rate limit
# off. Prints req/s and server CPU per request of each, and each one's rate over the static's.
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:?usage: scripts/bench-rank-ab.sh REV [seconds] [rounds]}
seconds=${2:-8}; rounds=${3:-3}
port_a=18380; port_b=18383; static_port=18390; sim_port=18381
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk"; exit 2; }
work=$(mktemp -d); out=$work/out; mkdir -p "$out"
export WAITLESS_REDIS_URL=${WAITLESS_REDIS_URL:-redis://127.0.0.1:6379/0}
export WAITLESS_REDIS_PREFIX="bench-ab-$$"
export WAITLESS_FEED_URLS="simulator=http://127.0.0.1:$sim_port/v1/feed"
export WAITLESS_RATE_LIMIT=off WAITLESS_BENCH_ENDPOINTS=1 WAITLESS_LOG_LEVEL=WARNING
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  git worktree remove --force "$work/src" 2>/dev/null || true
  .venv/bin/python - <<PY || true
import redis
r = redis.Redis.from_url("$WAITLESS_REDIS_URL")
keys = list(r.scan_iter(match="$WAITLESS_REDIS_PREFIX*"))
if keys:
    r.delete(*keys)
PY
  rm -rf "$work"
}
trap cleanup EXIT
git worktree add --quiet --detach "$work/src" "$rev"
.venv/bin/pip wheel --quiet --no-deps -w "$work/wheel" "$work/src" 2>"$out/build.log"
.venv/bin/python -m zipfile -e "$work"/wheel/*.whl "$work/site"
venv_python=$PWD/.venv/bin/python
# A's packages must win over this tree's editable install.
imported=$(cd "$work" && PYTHONPATH="$work/site" "$venv_python" -c \
  "import waitless, routing; print(waitless.__file__, routing.__file__)")
case $imported in "$work/site/"*" $work/site/"*) ;; *) echo "A would import $imported"; exit 2;; esac
.venv/bin/waitless feeds simulate --port "$sim_port" >"$out/sim.log" 2>&1 & pids+=($!)
.venv/bin/waitless ingest >"$out/ingest.log" 2>&1 & pids+=($!)
(cd "$work" && WAITLESS_SPOOL_DIR="$out/spool-a" PYTHONPATH="$work/site" \
  exec "$venv_python" -m waitless serve --workers 2 --port "$port_a" >"$out/serve-a.log" 2>&1) &
pids+=($!); pid_a=$!
WAITLESS_SPOOL_DIR="$out/spool-b" .venv/bin/waitless serve --workers 2 --port "$port_b" \
  >"$out/serve-b.log" 2>&1 & pids+=($!); pid_b=$!
for _ in $(seq 1 90); do
  curl -sf "http://127.0.0.1:$port_a/readyz" >/dev/null \
    && curl -sf "http://127.0.0.1:$port_b/readyz" >/dev/null && break
  sleep 1
done
sleep 3  # let the ingestor's first poll reach every worker
.venv/bin/python -m load_tests.paths --count 5000 >"$out/rank-paths.txt"
curl -s "http://127.0.0.1:$port_b/v1/rank?lat=51.2802&lon=1.0789" >"$out/rank-body.json"
.venv/bin/python -m load_tests.static_server --body "$out/rank-body.json" --port "$static_port" \
  --processes 2 >"$out/static.log" 2>&1 & pids+=($!); pid_static=$!
for _ in $(seq 1 30); do
  curl -sf "http://127.0.0.1:$static_port/x" >/dev/null && break; sleep 0.5
done
echo "machine: nproc $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs);" \
     "$(date -u '+%Y-%m-%d %H:%M UTC'); A = $rev ($(git rev-parse --short "$rev")), B = this tree"
run() {  # pid url [paths]  ->  "req/s cpu-µs-per-request"
  local before after
  before=$(.venv/bin/python -m load_tests.cpu_seconds "$1")
  if [ -n "${3:-}" ]; then
    wrk -t2 -c64 -d"${seconds}s" -s load_tests/rank.lua "$2" -- "$3" >"$out/wrk.txt"
  else
    wrk -t2 -c64 -d"${seconds}s" "$2" >"$out/wrk.txt"
  fi
  after=$(.venv/bin/python -m load_tests.cpu_seconds "$1")
  python3 -c "import sys; n = float(sys.argv[3]); print(sys.argv[1], round((float(sys.argv[2]) - $before) / n * 1e6))" \
    "$(awk '/Requests\/sec/ {print $2}' "$out/wrk.txt")" "$after" \
    "$(awk '/requests in/ {print $1}' "$out/wrk.txt")"
}
for round in $(seq 1 "$rounds"); do
  s=$(run "$pid_static" "http://127.0.0.1:$static_port/x")
  a=$(run "$pid_a" "http://127.0.0.1:$port_a" "$out/rank-paths.txt")
  b=$(run "$pid_b" "http://127.0.0.1:$port_b" "$out/rank-paths.txt")
  python3 - "$round" "$s" "$a" "$b" <<'PY'
import sys
r = sys.argv[1]
s, a, b = ([float(x) for x in v.split()] for v in sys.argv[2:])
print(f"round {r}: static {s[0]:,.0f}/s {s[1]:.0f} µs | A {a[0]:,.0f}/s {a[1]:.0f} µs, "
      f"ratio {a[0] / s[0]:.3f} | B {b[0]:,.0f}/s {b[1]:.0f} µs, ratio {b[0] / s[0]:.3f}")
PY
done
