#!/usr/bin/env bash
# Says what runs: the Kafka broker (process, port, version), Redis and PostgreSQL. Exit 0 only if all three answer.
source "$(dirname "$0")/lib.sh"
set +e
ok=0
if pid="$(kafka_pid)"; then
  if port_open "$KAFKA_PORT"; then
    say "Kafka $KAFKA_VERSION: running (pid $pid) on $KAFKA_BROKERS, data $KAFKA_RUN_DIR/data, log $KAFKA_LOG"
  else
    say "Kafka $KAFKA_VERSION: process $pid is up but port $KAFKA_PORT is closed (starting, or failing: see $KAFKA_LOG)"; ok=1
  fi
elif port_open "$KAFKA_PORT"; then
  say "Kafka: something else listens on port $KAFKA_PORT (not started by infra/)"; ok=1
else
  say "Kafka: stopped (start it with npm run infra:up)"; ok=1
fi
if redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1; then
  say "Redis: up ($REDIS_URL, $(redis-cli -u "$REDIS_URL" info server | sed -n 's/^redis_version:\(.*\)\r$/v\1/p'))"
else
  say "Redis: down ($REDIS_URL)"; ok=1
fi
if pg_isready -q -h 127.0.0.1 -p 5432; then
  say "PostgreSQL: up (127.0.0.1:5432, $(psql -h 127.0.0.1 -U postgres -Atc 'show server_version' postgres 2>/dev/null))"
else
  say "PostgreSQL: down (127.0.0.1:5432)"; ok=1
fi
exit $ok
