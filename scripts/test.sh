#!/usr/bin/env bash
# The whole test suite on a fresh machine of ours: installs what it needs, starts PostgreSQL and
# Redis if they are not running, then lint and tests against the real servers.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*"; }

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  say "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  say "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
fi

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    say "installing Debian's chromium for the browser tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    say "chromium is missing and this is not root: browser tests will be skipped"
  fi
fi

say "installing the project and its test dependencies"
make --no-print-directory install-test

say "pip-audit (known vulnerabilities in installed dependencies, PyPI advisory data)"
mkdir -p test-artifacts
audit_rc=0
.venv/bin/pip-audit --skip-editable --vulnerability-service pypi --progress-spinner off \
  -f json -o test-artifacts/pip-audit.json >/dev/null 2>test-artifacts/pip-audit.err || audit_rc=$?
.venv/bin/python scripts/audit_summary.py "$audit_rc" test-artifacts/pip-audit.json

say "ruff"
.venv/bin/ruff check .

say "import-linter (architecture contracts in pyproject.toml)"
.venv/bin/lint-imports

say "pytest"
mkdir -p test-artifacts
.venv/bin/python -m pytest "$@"
