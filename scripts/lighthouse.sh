#!/usr/bin/env bash
# Lighthouse (mobile profile) against a running WaitLess, with Debian's Chromium.
#
#   scripts/lighthouse.sh http://127.0.0.1:8080 [path ...]
#
# Installs the lighthouse npm package into var/lighthouse (git-ignored) on first use, runs each
# path with the mobile form factor and prints the category scores (0-100); JSON reports are kept
# in var/lighthouse/reports. Chromium needs the headless flags below on this kind of machine
# (no sandbox, no GPU, no background network: only the page's own server is reachable).
set -euo pipefail
base=${1:?usage: scripts/lighthouse.sh BASE_URL [path ...]}
shift
paths=("$@")
[ ${#paths[@]} -gt 0 ] || paths=("/" "/?place=CT1" "/?place=CT1&condition=chest_pain")
here=$(cd "$(dirname "$0")/.." && pwd)
tool="$here/var/lighthouse"
mkdir -p "$tool/reports"
if [ ! -x "$tool/node_modules/.bin/lighthouse" ]; then
  (cd "$tool" && npm init -y >/dev/null && npm install --silent lighthouse@12 >/dev/null)
fi
export CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}
flags="--headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
flags+=" --disable-background-networking --disable-component-update --disable-sync"
for path in "${paths[@]}"; do
  name=$(printf '%s' "$path" | tr -c 'A-Za-z0-9' '_')
  out="$tool/reports/lh$name.json"
  "$tool/node_modules/.bin/lighthouse" "$base$path" --form-factor=mobile --quiet \
    --only-categories=performance,accessibility,best-practices,seo \
    --output=json --output-path="$out" --chrome-flags="$flags" >/dev/null
  python3 - "$out" "$path" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
scores = {k: round(v["score"] * 100) for k, v in report["categories"].items()}
audits = report["audits"]
print(f"{sys.argv[2]:45s} " + " ".join(f"{k}={v}" for k, v in scores.items())
      + f" FCP={audits['first-contentful-paint']['displayValue']}"
      + f" LCP={audits['largest-contentful-paint']['displayValue']}"
      + f" lighthouse={report['lighthouseVersion']}")
PY
done
