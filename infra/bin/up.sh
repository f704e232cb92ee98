#!/usr/bin/env bash
# Brings up everything the services and tests need: Redis and PostgreSQL (the machine's), a real
# Kafka broker, the topics of the catalogue and the database schema. Safe to run again.
source "$(dirname "$0")/lib.sh"
export TURBO_TELEMETRY_DISABLED=1

say "1/4 Redis and PostgreSQL"
bash "$INFRA_DIR/bin/services.sh"
say "2/4 Kafka broker"
bash "$INFRA_DIR/bin/kafka-start.sh"
say "3/4 building infra helpers"
ensure_infra_built
say "4/4 topics and database schema"
node "$INFRA_DIR/dist/kafka-ready.js" || {
  tail -n 30 "$KAFKA_LOG" >&2 || true
  die "Kafka did not become ready; the lines above are the end of $KAFKA_LOG"
}
node "$INFRA_DIR/dist/migrate.js"
say "ready: KAFKA_BROKERS=$KAFKA_BROKERS REDIS_URL=$REDIS_URL DATABASE_URL=$DATABASE_URL"
