#!/usr/bin/env bash
# Makes sure the machine's Redis and PostgreSQL answer, starting them when they are down.
source "$(dirname "$0")/lib.sh"

redis_host_port="${REDIS_URL#*://}"; redis_host_port="${redis_host_port##*@}"; redis_host_port="${redis_host_port%%/*}"
redis_port="${redis_host_port##*:}"
if redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
  say "Redis answers on port $redis_port"
else
  command -v redis-server >/dev/null || die "Redis is down and redis-server is not installed (Debian: apt-get install redis-server)"
  say "Redis is down; starting it on port $redis_port"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$redis_port" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log \
    || die "could not start Redis; see /var/log/redis/ci.log"
  for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 || die "Redis did not answer after start; see /var/log/redis/ci.log"
fi

if pg_isready -q -h 127.0.0.1 -p 5432; then
  say "PostgreSQL answers on port 5432"
else
  command -v pg_ctlcluster >/dev/null || die "PostgreSQL is down and pg_ctlcluster is not installed (Debian: apt-get install postgresql)"
  say "PostgreSQL is down; starting it"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start \
    || die "could not start PostgreSQL; see /var/log/postgresql/"
  for _ in $(seq 1 100); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
  pg_isready -q -h 127.0.0.1 -p 5432 || die "PostgreSQL did not answer after start; see /var/log/postgresql/"
fi
