#!/usr/bin/env bash
# `npm run bench [-- --quick] [-- --only gateway,flashSale] [-- --profile]`: builds the workspaces, brings
# the infrastructure up (Kafka, Redis, PostgreSQL on 127.0.0.1), then runs the benchmark suite.
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1 TURBO_NO_UPDATE_NOTIFIER=1

echo "== build"
npx turbo run build --output-logs=errors-only
echo "== infrastructure"
bash infra/bin/up.sh
export KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:9092}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/buy_now}"
echo "== benchmarks"
exec node bench/index.mjs "$@"
