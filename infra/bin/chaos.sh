#!/usr/bin/env bash
# `npm run test:chaos [-- --size ci|full] [--seed N]`: builds the services and the harness, then runs a sale
# under faults against PRIVATE servers (its own Kafka broker, Redis and PostgreSQL on free ports, in a
# temporary folder), never the shared ones. Exit 0: no invariant violated; 1: a violation; 2: could not run.
source "$(dirname "$0")/lib.sh"
export TURBO_TELEMETRY_DISABLED=1 TURBO_NO_UPDATE_NOTIFIER=1

command -v redis-server >/dev/null || die "redis-server not found (Debian: apt-get install redis-server)"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null \
  || die "PostgreSQL's initdb not found (Debian: apt-get install postgresql)"
[ -d "$ROOT_DIR/node_modules" ] || die "dependencies are not installed: run 'npm ci' at $ROOT_DIR first"
(cd "$ROOT_DIR" && npx turbo run build --filter=@buy-now/infra... --filter=@buy-now/gateway... \
  --filter=@buy-now/reservation... --filter=@buy-now/stream-processor... --output-logs=errors-only >/dev/null) \
  || die "building failed: run 'npx turbo run build' to see why"
cd "$ROOT_DIR"
exec node "$INFRA_DIR/dist/chaos/main.js" "$@"
