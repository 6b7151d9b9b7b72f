#!/usr/bin/env bash
# /v1/rank of an earlier revision (A) against this working tree (B), served side by side, in
# interleaved rounds against one plain aiohttp + uvloop server (issue 12). This machine's load
# changes from minute to minute; rounds of static -> A -> B make the comparison fair.
#   scripts/bench-rank-ab.sh REV [seconds-per-wrk] [rounds]      e.g. d9cd58c 8 3
# A is built from REV into a temporary folder (a wheel, with its compiled modules) and imported
# from there; both serve `--workers 2` with the same Redis, ingestor and simulator, rate limit
# off. Prints req/s and server CPU per request of each, and each one's rate over the static's;
# at the end each round's B/A and their median.
# Both spool their events unless WAITLESS_DATABASE_URL names a PostgreSQL database for both.
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:?usage: scripts/bench-rank-ab.sh REV [seconds] [rounds]}
seconds=${2:-8}; rounds=${3:-3}
port_a=18380; port_b=18383; static_port=18390; sim_port=18381
work=$(mktemp -d); out=$work/out; mkdir -p "$out"
. scripts/bench-common.sh
cleanup() {
  bench_cleanup
  git worktree remove --force "$work/src" 2>/dev/null || true
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
start_feed
(cd "$work" && WAITLESS_SPOOL_DIR="$out/spool-a" PYTHONPATH="$work/site" \
  exec "$venv_python" -m waitless serve --workers 2 --port "$port_a" >"$out/serve-a.log" 2>&1) &
pids+=($!); pid_a=$!
WAITLESS_SPOOL_DIR="$out/spool-b" .venv/bin/waitless serve --workers 2 --port "$port_b" \
  >"$out/serve-b.log" 2>&1 & pids+=($!); pid_b=$!
wait_ready "http://127.0.0.1:$port_a" "http://127.0.0.1:$port_b"
.venv/bin/python -m load_tests.paths --count 5000 >"$out/rank-paths.txt"
curl -s "http://127.0.0.1:$port_b/v1/rank?lat=51.2802&lon=1.0789" >"$out/rank-body.json"
start_static "$out/rank-body.json" "$static_port"
machine_line
echo "A = $rev ($(git rev-parse --short "$rev")), B = this tree"
result() {  # NAME -> "req/s µs-per-request"
  echo "$(awk '/Requests\/sec/ {print $2}' "$out/wrk-$1.txt") $(cat "$out/cpu-us-$1.txt")"
}
for round in $(seq 1 "$rounds"); do
  wrk_with_cpu "$static_pid" "http://127.0.0.1:$static_port" static "$seconds" "$out/rank-paths.txt"
  wrk_with_cpu "$pid_a" "http://127.0.0.1:$port_a" a "$seconds" "$out/rank-paths.txt"
  wrk_with_cpu "$pid_b" "http://127.0.0.1:$port_b" b "$seconds" "$out/rank-paths.txt"
  python3 - "$round" "$(result static)" "$(result a)" "$(result b)" "$out/b-over-a.txt" <<'PY'
import sys
r = sys.argv[1]
s, a, b = ([float(x) for x in v.split()] for v in sys.argv[2:5])
print(f"round {r}: static {s[0]:,.0f}/s {s[1]:.0f} µs | A {a[0]:,.0f}/s {a[1]:.0f} µs, "
      f"ratio {a[0] / s[0]:.3f} | B {b[0]:,.0f}/s {b[1]:.0f} µs, ratio {b[0] / s[0]:.3f}")
with open(sys.argv[5], "a") as rounds:
    rounds.write(f"{b[0] / a[0]} {b[1] / a[1]}\n")
PY
done
# Each round's B over A, then their median: what one noisy round cannot show.
python3 - "$out/b-over-a.txt" <<'PY'
import statistics
import sys
pairs = [[float(x) for x in line.split()] for line in open(sys.argv[1])]
rates, cpus = [p[0] for p in pairs], [p[1] for p in pairs]
print(f"B/A rank rate per round: {', '.join(f'{x:.3f}' for x in rates)}; "
      f"median {statistics.median(rates):.3f}, B ahead in {sum(x > 1 for x in rates)} of {len(rates)}")
print(f"B/A CPU per request per round: {', '.join(f'{x:.3f}' for x in cpus)}; "
      f"median {statistics.median(cpus):.3f}")
PY
