# Shared by scripts/bench-rank-serve.sh and scripts/bench-rank-ab.sh (sourced, not run): the
# environment, the feed (simulator + ingestor), the static server and the CPU accounting.
# The caller sets sim_port and out, and calls bench_cleanup from its EXIT trap.

command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk"; exit 2; }
export WAITLESS_REDIS_URL=${WAITLESS_REDIS_URL:-redis://127.0.0.1:6379/0}
export WAITLESS_REDIS_PREFIX="bench-$(basename "$0" .sh)-$$"
export WAITLESS_FEED_URLS="simulator=http://127.0.0.1:$sim_port/v1/feed"
export WAITLESS_RATE_LIMIT=off WAITLESS_BENCH_ENDPOINTS=1 WAITLESS_LOG_LEVEL=WARNING
pids=()

bench_cleanup() {  # stop every process started, drop the Redis keys
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

start_feed() {  # the simulator, and `waitless ingest` polling it into Redis
  .venv/bin/waitless feeds simulate --port "$sim_port" >"$out/sim.log" 2>&1 & pids+=($!)
  .venv/bin/waitless ingest >"$out/ingest.log" 2>&1 & pids+=($!)
}

wait_ready() {  # URL...: until each answers /readyz, then the ingestor's first poll lands
  for _ in $(seq 1 90); do
    local all=1 url
    for url in "$@"; do curl -sf "$url/readyz" >/dev/null || all=0; done
    [ "$all" = 1 ] && break
    sleep 1
  done
  sleep 3  # let the ingestor's first poll reach every worker
}

wait_ready_plain() {  # URL: until it answers 200 (a server without /readyz)
  for _ in $(seq 1 60); do
    curl -sf "$1" >/dev/null && return 0
    sleep 0.5
  done
  echo "no answer from $1"; return 1
}

start_static() {  # BODY-FILE PORT: the plain aiohttp + uvloop server; sets static_pid
  .venv/bin/python -m load_tests.static_server --body "$1" --port "$2" --processes 2 \
    >"$out/static.log" 2>&1 & pids+=($!)
  static_pid=$!
  wait_ready_plain "http://127.0.0.1:$2/x"
}

machine_line() {
  echo "machine: nproc $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs);" \
       "$(date -u '+%Y-%m-%d %H:%M UTC'); uptime:$(uptime | sed 's/.*load average/ load average/')"
}

# Server CPU per request (user + system of PID's process tree / requests): far less sensitive
# to other load on the machine than requests per second.
wrk_with_cpu() {  # PID URL NAME SECONDS [PATHS-FILE]: wrk's output in $out/wrk-NAME.txt, and
  local before after n   # the µs per request in $out/cpu-us-NAME.txt
  before=$(.venv/bin/python -m load_tests.cpu_seconds "$1")
  if [ -n "${5:-}" ]; then
    wrk -t2 -c64 -d"$4s" -s load_tests/rank.lua "$2" -- "$5" >"$out/wrk-$3.txt"
  else
    wrk -t2 -c64 -d"$4s" "$2" >"$out/wrk-$3.txt"
  fi
  after=$(.venv/bin/python -m load_tests.cpu_seconds "$1")
  n=$(awk '/requests in/ {print $1}' "$out/wrk-$3.txt")
  python3 -c "print(round(($after - $before) / $n * 1e6))" >"$out/cpu-us-$3.txt"
}
