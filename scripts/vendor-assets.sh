#!/usr/bin/env bash
# Refresh the vendored front-end assets from the npm registry (versions pinned here).
set -euo pipefail
NHSUK=10.6.1
CHARTJS=4.6.1
here=$(cd "$(dirname "$0")/.." && pwd)
dest="$here/waitless/static/vendor"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "nhsuk-frontend@$NHSUK" "chart.js@$CHARTJS" >/dev/null
mkdir nhsuk chartjs
tar xzf "nhsuk-frontend-$NHSUK.tgz" -C nhsuk
tar xzf "chart.js-$CHARTJS.tgz" -C chartjs
rm -rf "$dest/nhsuk-frontend" "$dest/chart.js"
mkdir -p "$dest/nhsuk-frontend" "$dest/chart.js"
cp nhsuk/package/dist/nhsuk/nhsuk-frontend.min.css nhsuk/package/dist/nhsuk/nhsuk-frontend.min.js \
   "$dest/nhsuk-frontend/"
cp -r nhsuk/package/dist/nhsuk/assets "$dest/nhsuk-frontend/"
# Drop the Frutiger @font-face rules (third-party fonts the CSP refuses; see vendor/README.md).
python3 -c "import re,sys;p=sys.argv[1];open(p,'w').write(re.sub(r'@font-face\{[^}]*\}','',open(p).read()))" \
  "$dest/nhsuk-frontend/nhsuk-frontend.min.css"
cp chartjs/package/dist/chart.umd.min.js "$dest/chart.js/"
# Pre-compressed copies: aiohttp's static files serve a .gz sibling to clients that accept gzip.
gzip -9 -n -k -f "$dest/nhsuk-frontend/nhsuk-frontend.min.css" "$dest/nhsuk-frontend/nhsuk-frontend.min.js"
echo "vendored nhsuk-frontend $NHSUK and chart.js $CHARTJS into $dest"
