#!/usr/bin/env bash
# Stops the Kafka broker started by up.sh. Redis and PostgreSQL belong to the machine and keep running.
source "$(dirname "$0")/lib.sh"
bash "$INFRA_DIR/bin/kafka-stop.sh"
if [ "${1:-}" = "--wipe" ]; then
  rm -rf "$KAFKA_RUN_DIR"
  say "wiped Kafka data ($KAFKA_RUN_DIR)"
fi
