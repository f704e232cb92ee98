#!/usr/bin/env bash
# `npm run demo`: installs dependencies if missing, brings the infrastructure up, builds and starts
# the services, lists a demo sale and runs a crowd of buyers against it. Ctrl-C stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1 TURBO_NO_UPDATE_NOTIFIER=1

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== installing dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi
echo "== infrastructure"
bash infra/bin/up.sh
echo "== building the services"
npx turbo run build --filter='./services/*' --output-logs=errors-only
exec node scripts/demo.mjs "$@"
