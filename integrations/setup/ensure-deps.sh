#!/usr/bin/env bash
# Installs what presenced needs on a fresh Debian 12 machine, idempotently:
#   - npm dependencies (npm ci, from package-lock.json) when node_modules is missing or stale
#   - Debian packages for the real Kamailio, sipp and Prometheus used by the
#     integration tests and the local run (skipped with PRESENCED_SKIP_APT=1)
# Then compiles the TypeScript sources.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== npm ci"
  # `npm ci` refuses a lockfile that lacks optional platform packages a
  # registry mirror does not carry (seen here: msgpackr-extract's darwin/win32
  # builds); `npm install` still installs the locked versions.
  if ! npm ci --no-audit --no-fund; then
    echo "npm ci refused the lockfile; falling back to npm install (same locked versions)" >&2
    npm install --no-audit --no-fund
  fi
fi

if [ "${PRESENCED_SKIP_APT:-0}" != "1" ]; then
  bash integrations/kamailio/setup/install-debian-packages.sh
  bash monitoring/setup/install-prometheus.sh
fi

echo "== build"
npx tsc -b
