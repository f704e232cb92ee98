# Shared settings and helpers for the infra scripts (sourced, not run).
set -euo pipefail

INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT_DIR="$(cd "$INFRA_DIR/.." && pwd)"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$INFRA_DIR/kafka/pom.xml")"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_HEAP="${KAFKA_HEAP:-768m}"
KAFKA_CACHE_DIR="${KAFKA_CACHE_DIR:-$INFRA_DIR/.cache/kafka-$KAFKA_VERSION}"
# A second broker (e.g. the fault-injection run) keeps its config, data, log and pid apart.
KAFKA_RUN_DIR="${KAFKA_RUN_DIR:-$INFRA_DIR/.run/kafka}"
KAFKA_LOG="$KAFKA_RUN_DIR/server.log"
KAFKA_PID_FILE="$KAFKA_RUN_DIR/kafka.pid"
KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:$KAFKA_PORT}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/buy_now}"
export KAFKA_BROKERS REDIS_URL DATABASE_URL

say() { printf '\033[1m[infra]\033[0m %s\n' "$*"; }
warn() { printf '\033[33m[infra]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31m[infra] error:\033[0m %s\n' "$*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

kafka_pid() {
  [ -f "$KAFKA_PID_FILE" ] || return 1
  local pid; pid="$(cat "$KAFKA_PID_FILE")"
  kill -0 "$pid" 2>/dev/null && grep -q kafka.Kafka "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}

# Builds the node helpers in infra/ (and the libs they import) when their output is missing or stale.
ensure_infra_built() {
  [ -d "$ROOT_DIR/node_modules" ] || die "dependencies are not installed: run 'npm ci' (or 'npm install') at $ROOT_DIR first"
  (cd "$ROOT_DIR" && npx turbo run build --filter=@buy-now/infra... --output-logs=errors-only >/dev/null) \
    || die "building infra helpers failed: run 'npx turbo run build --filter=@buy-now/infra...' to see why"
}
