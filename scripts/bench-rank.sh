#!/usr/bin/env bash
# Benchmark /v1/rank against a static body of the same size, in one run, on this machine.
#   scripts/bench-rank.sh [seconds]      results in var/bench/
# Uses wrk (closed loop, for saturation) and `waitless loadtest` (open loop, for latency at
# half the saturation rate). The service runs as `waitless dev` with one process.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-15}
port=18080
out=var/bench
mkdir -p "$out"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk"; exit 2; }

WAITLESS_RATE_LIMIT=off WAITLESS_BENCH_ENDPOINTS=1 WAITLESS_SPOOL_DIR="$out/spool" .venv/bin/waitless --log-level WARNING dev \
  --port "$port" --simulator-port 18081 >"$out/dev.log" 2>&1 &
dev=$!
trap 'kill $dev 2>/dev/null; wait $dev 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 1
done
.venv/bin/python -m load_tests.paths --count 5000 >"$out/rank-paths.txt"
base="http://127.0.0.1:$port"
echo "static body: $(curl -s "$base/v1/bench/static" | wc -c) bytes;" \
     "rank body: $(curl -s "$base/v1/rank?lat=51.2802&lon=1.0789" | wc -c) bytes"
wrk -t1 -c32 -d"${seconds}s" "$base/v1/bench/static" | tee "$out/wrk-static.txt"
wrk -t1 -c32 -d"${seconds}s" -s load_tests/rank.lua "$base" -- "$out/rank-paths.txt" \
  | tee "$out/wrk-rank.txt"
static_rps=$(awk '/Requests\/sec/ {print $2}' "$out/wrk-static.txt")
rank_rps=$(awk '/Requests\/sec/ {print $2}' "$out/wrk-rank.txt")
half=$(python3 -c "print(round($rank_rps / 2))")
echo "saturation: static $static_rps/s, rank $rank_rps/s," \
     "ratio $(python3 -c "print(round($rank_rps / $static_rps, 3))")"
.venv/bin/waitless loadtest --url "$base" --rate "$half" --duration "$seconds" --warmup 3 \
  --out "$out/open-loop-half"
