#!/usr/bin/env bash
# /v1/rank under `waitless serve --workers 2` against a plain aiohttp + uvloop server returning
# the same bytes (2 processes, reuse_port), in one run, on this machine (issue 12).
#   scripts/bench-rank-serve.sh [seconds]        results in var/bench-serve/
# Redis live store (a fresh key prefix), the simulator feeding it through `waitless ingest`,
# rate limit off. wrk -t2 -c64 with random origins over the region (load_tests/rank.lua) for
# both servers; then `waitless loadtest` open loop at half the measured rank saturation (and at
# the same rate against the static server, and at OPEN_LOOP_RATES if set); then
# the feed-change propagation check across both workers.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
port=18180; static_port=18190; sim_port=18181
out=var/bench-serve
mkdir -p "$out"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk"; exit 2; }
export WAITLESS_REDIS_URL=${WAITLESS_REDIS_URL:-redis://127.0.0.1:6379/0}
export WAITLESS_REDIS_PREFIX="bench-serve-$$"
export WAITLESS_FEED_URLS="simulator=http://127.0.0.1:$sim_port/v1/feed"
export WAITLESS_RATE_LIMIT=off WAITLESS_BENCH_ENDPOINTS=1 WAITLESS_SPOOL_DIR="$out/spool"
export WAITLESS_LOG_LEVEL=WARNING
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  .venv/bin/python - <<PY || true
import redis
r = redis.Redis.from_url("$WAITLESS_REDIS_URL")
keys = list(r.scan_iter(match="$WAITLESS_REDIS_PREFIX*"))
if keys:
    r.delete(*keys)
PY
}
trap cleanup EXIT
.venv/bin/waitless feeds simulate --port "$sim_port" >"$out/sim.log" 2>&1 & pids+=($!)
.venv/bin/waitless ingest >"$out/ingest.log" 2>&1 & pids+=($!)
.venv/bin/waitless serve --workers 2 --port "$port" >"$out/serve.log" 2>&1 & pids+=($!)
serve_pid=$!
for _ in $(seq 1 90); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 1
done
sleep 3  # let the ingestor's first poll reach both workers
.venv/bin/python -m load_tests.paths --count 5000 >"$out/rank-paths.txt"
curl -s "http://127.0.0.1:$port/v1/rank?lat=51.2802&lon=1.0789" >"$out/rank-body.json"
.venv/bin/python -m load_tests.static_server --body "$out/rank-body.json" --port "$static_port" \
  --processes 2 >"$out/static.log" 2>&1 & pids+=($!)
static_pid=$!
for _ in $(seq 1 30); do
  curl -sf "http://127.0.0.1:$static_port/x" >/dev/null && break; sleep 0.5
done
echo "machine: nproc $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs);" \
     "$(date -u '+%Y-%m-%d %H:%M UTC'); uptime:$(uptime | sed 's/.*load average/ load average/')"
echo "body: $(wc -c <"$out/rank-body.json") bytes (static server), same bytes as /v1/rank returned"
cpu() { .venv/bin/python -m load_tests.cpu_seconds "$1"; }
# CPU per request (server processes only): less sensitive to other load than req/s.
run_wrk() {  # pid port name
  local before after n
  before=$(cpu "$1")
  wrk -t2 -c64 -d"${seconds}s" -s load_tests/rank.lua "http://127.0.0.1:$2" -- \
    "$out/rank-paths.txt" | tee "$out/wrk-$3.txt"
  after=$(cpu "$1")
  n=$(awk '/requests in/ {print $1}' "$out/wrk-$3.txt")
  python3 -c "print(round(($after - $before) / $n * 1e6))" >"$out/cpu-us-$3.txt"
}
run_wrk "$static_pid" "$static_port" static
run_wrk "$serve_pid" "$port" rank
static_rps=$(awk '/Requests\/sec/ {print $2}' "$out/wrk-static.txt")
rank_rps=$(awk '/Requests\/sec/ {print $2}' "$out/wrk-rank.txt")
static_cpu=$(cat "$out/cpu-us-static.txt"); rank_cpu=$(cat "$out/cpu-us-rank.txt")
{ echo "saturation: static $static_rps/s, rank $rank_rps/s," \
       "ratio $(python3 -c "print(round($rank_rps / $static_rps, 3))")"
  echo "server CPU per request: static $static_cpu µs, rank $rank_cpu µs," \
       "ratio $(python3 -c "print(round($static_cpu / $rank_cpu, 3))")"
  echo "uptime after:$(uptime | sed 's/.*load average/ load average/')"; } | tee "$out/ratio.txt"
half=$(python3 -c "print(round($rank_rps / 2))")
.venv/bin/waitless loadtest --url "http://127.0.0.1:$port" --rate "$half" \
  --duration "$seconds" --warmup 3 --out "$out/open-loop-half" | tee "$out/open-loop.txt"
# The same generator against the static server at the same rate: what the machine and the
# generator alone give (they share these cores with the server under test).
.venv/bin/waitless loadtest --url "http://127.0.0.1:$static_port" --rate "$half" \
  --duration "$seconds" --warmup 3 --out "$out/open-loop-half-static" \
  | tee "$out/open-loop-static.txt"
# Extra open-loop rates (requests/s, space-separated), e.g. OPEN_LOOP_RATES="2000 3000".
for rate in ${OPEN_LOOP_RATES:-}; do
  .venv/bin/waitless loadtest --url "http://127.0.0.1:$port" --rate "$rate" \
    --duration "$seconds" --warmup 3 --out "$out/open-loop-$rate" | tee "$out/open-loop-$rate.txt"
done
.venv/bin/python -m load_tests.propagation --url "http://127.0.0.1:$port" --workers 2 \
  --rounds 10 | tee "$out/propagation.txt"
