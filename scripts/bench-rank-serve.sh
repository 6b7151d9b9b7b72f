#!/usr/bin/env bash
# /v1/rank under `waitless serve --workers 2` against a plain aiohttp + uvloop server returning
# the same bytes (2 processes, reuse_port), in one run, on this machine (issue 12).
#   scripts/bench-rank-serve.sh [seconds]        results in var/bench-serve/
# Redis live store (a fresh key prefix), the simulator feeding it through `waitless ingest`,
# rate limit off. wrk -t2 -c64 with random origins over the region (load_tests/rank.lua) for
# both servers; then `waitless loadtest` open loop at half the measured rank saturation (and at
# the same rate against the static server, and at OPEN_LOOP_RATES if set); then
# the feed-change propagation check across both workers.
# MINIMAL=1 also measures load_tests/minimal_rank_server.py (the issue's "minimal pipeline":
# parse, travel estimate, sort, pre-rendered pieces; nothing else) in the same run.
# Events go to the spool (var/bench-serve/spool) unless WAITLESS_DATABASE_URL names a
# PostgreSQL database, as in production (tables are made on start; rows are left there).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
port=18180; static_port=18190; sim_port=18181; minimal_port=18195
out=var/bench-serve
mkdir -p "$out"
. scripts/bench-common.sh
export WAITLESS_SPOOL_DIR="$out/spool"
# Runs of 40 s or more fill the default 256 MiB spool, and a worker that drops events does less
# work than one that keeps them: room for every event, and the spool is emptied first.
export WAITLESS_SPOOL_MAX_BYTES=${WAITLESS_SPOOL_MAX_BYTES:-8589934592}
rm -rf "$out/spool"
trap bench_cleanup EXIT
start_feed
.venv/bin/waitless serve --workers 2 --port "$port" >"$out/serve.log" 2>&1 & pids+=($!)
serve_pid=$!
wait_ready "http://127.0.0.1:$port"
.venv/bin/python -m load_tests.paths --count 5000 >"$out/rank-paths.txt"
curl -s "http://127.0.0.1:$port/v1/rank?lat=51.2802&lon=1.0789" >"$out/rank-body.json"
start_static "$out/rank-body.json" "$static_port"
machine_line
echo "body: $(wc -c <"$out/rank-body.json") bytes (static server), same bytes as /v1/rank returned"
wrk_with_cpu "$static_pid" "http://127.0.0.1:$static_port" static "$seconds" "$out/rank-paths.txt"
cat "$out/wrk-static.txt"
wrk_with_cpu "$serve_pid" "http://127.0.0.1:$port" rank "$seconds" "$out/rank-paths.txt"
cat "$out/wrk-rank.txt"
static_rps=$(awk '/Requests\/sec/ {print $2}' "$out/wrk-static.txt")
rank_rps=$(awk '/Requests\/sec/ {print $2}' "$out/wrk-rank.txt")
static_cpu=$(cat "$out/cpu-us-static.txt"); rank_cpu=$(cat "$out/cpu-us-rank.txt")
if [ "${MINIMAL:-0}" = 1 ]; then
  .venv/bin/python -m load_tests.minimal_rank_server --body "$out/rank-body.json" \
    --port "$minimal_port" >"$out/minimal.log" 2>&1 & pids+=($!)
  minimal_pid=$!
  wait_ready_plain "http://127.0.0.1:$minimal_port/v1/rank?lat=51.28&lon=1.08"
  wrk_with_cpu "$minimal_pid" "http://127.0.0.1:$minimal_port" minimal "$seconds" \
    "$out/rank-paths.txt"
  cat "$out/wrk-minimal.txt"
  minimal_rps=$(awk '/Requests\/sec/ {print $2}' "$out/wrk-minimal.txt")
  echo "minimal pipeline: $minimal_rps/s, $(cat "$out/cpu-us-minimal.txt") µs per request," \
       "ratio to static $(python3 -c "print(round($minimal_rps / $static_rps, 3))")," \
       "rank ÷ minimal $(python3 -c "print(round($rank_rps / $minimal_rps, 3))")" \
    | tee "$out/minimal.txt"
fi
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
