#!/usr/bin/env bash
# `npm test`: the whole suite. Installs dependencies if missing, brings the infrastructure up
# (a real Kafka broker, the machine's Redis and PostgreSQL), then runs build, type checks, lint,
# format check, unit tests, integration tests against the real servers and a fault-injection run on
# private servers, and prints a summary.
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1 TURBO_NO_UPDATE_NOTIFIER=1

step() { printf '\n\033[1m== %s ==\033[0m\n' "$*"; }

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "installing dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

step "infrastructure"
bash infra/bin/up.sh
export KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:9092}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/buy_now}"

rm -rf libs/*/test-results services/*/test-results infra/test-results test-results
mkdir -p test-results
# Each stage's exit code, for the summary: a stage that failed without a failed test to show for it (an
# unhandled error, a crashed suite, a build error) is counted there too, so the last line and the exit
# code always agree.
stage() {
  local name=$1
  shift
  local code=0
  "$@" || code=$?
  printf '%s\t%s\n' "$name" "$code" >>test-results/stages.tsv
  [ "$code" -eq 0 ] || status=1
}
status=0
step "build, typecheck, lint, unit tests"
stage unit npx turbo run build typecheck lint test --continue --output-logs=new-only
step "format"
stage format npx prettier --check .
step "integration tests (real Kafka, Redis, PostgreSQL)"
stage int npx turbo run test:int --concurrency=1 --continue --output-logs=full
step "fault injection (private Kafka, Redis, PostgreSQL; kill -9, restarts, FLUSHALL)"
# Writes infra/test-results/chaos.json (one check per invariant) for the summary; CHAOS_SEED replays a run.
stage chaos bash infra/bin/chaos.sh --size ci ${CHAOS_SEED:+--seed "$CHAOS_SEED"}

step "browser end-to-end tests (headless Chromium)"
e2e() {
  bash scripts/ensure-chromium.sh &&
    npx turbo run test:e2e --filter=@buy-now/storefront --only --output-logs=full
}
stage e2e e2e

step "summary"
node scripts/test-summary.mjs || status=1
exit $status
