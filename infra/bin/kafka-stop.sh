#!/usr/bin/env bash
# Stops the broker started by kafka-start.sh: SIGTERM for a clean shutdown, SIGKILL after a timeout.
source "$(dirname "$0")/lib.sh"

if ! pid="$(kafka_pid)"; then
  say "Kafka is not running"
  rm -f "$KAFKA_PID_FILE"
  exit 0
fi
say "stopping Kafka (pid $pid)…"
kill -TERM "$pid"
for _ in $(seq 1 60); do
  kill -0 "$pid" 2>/dev/null || { rm -f "$KAFKA_PID_FILE"; say "Kafka stopped"; exit 0; }
  sleep 0.5
done
warn "Kafka did not stop within 30s; killing it"
kill -KILL "$pid" 2>/dev/null || true
rm -f "$KAFKA_PID_FILE"
