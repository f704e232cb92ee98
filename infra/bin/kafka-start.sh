#!/usr/bin/env bash
# Starts a single-node Apache Kafka broker (KRaft) from jars resolved by Maven, in the background.
# Safe to run while it is already up. Topics are created by up.sh afterwards.
source "$(dirname "$0")/lib.sh"

command -v java >/dev/null || die "java not found: install a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless)"
java_major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
[ "${java_major%%.*}" -ge 17 ] 2>/dev/null || die "Kafka $KAFKA_VERSION needs Java 17+, found '$java_major'"

if pid="$(kafka_pid)"; then
  say "Kafka $KAFKA_VERSION already running (pid $pid) on $KAFKA_BROKERS"
  exit 0
fi

# 1. Resolve the broker's jars once; Maven keeps its own cache in ~/.m2 as well.
if [ ! -f "$KAFKA_CACHE_DIR/.complete" ]; then
  command -v mvn >/dev/null || die "mvn not found: install Apache Maven (Debian: apt-get install maven)"
  say "resolving Kafka $KAFKA_VERSION jars from Maven Central into $KAFKA_CACHE_DIR (first run only)…"
  rm -rf "$KAFKA_CACHE_DIR"
  mvn -B -q -f "$INFRA_DIR/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$KAFKA_CACHE_DIR/libs" \
    || die "Maven could not resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION; check that Maven Central is reachable and see the output above"
  touch "$KAFKA_CACHE_DIR/.complete"
  say "resolved $(ls "$KAFKA_CACHE_DIR/libs" | wc -l) jars"
fi

if port_open "$KAFKA_PORT"; then
  # A broker started elsewhere (another checkout, docker compose) is used as it is; up.sh then checks
  # that it answers Kafka metadata requests, and fails clearly if the port belongs to something else.
  warn "port $KAFKA_PORT is already open but not by a broker of this checkout: using it as the Kafka broker"
  exit 0
fi

# 2. Configuration for this checkout.
mkdir -p "$KAFKA_RUN_DIR/data"
# KAFKA_ADVERTISED_PORT: a proxy in front of the broker (fault-injection tests); clients are sent there.
sed -e "s#@DATA_DIR@#$KAFKA_RUN_DIR/data#" -e "s#@PORT@#$KAFKA_PORT#g" -e "s#@CONTROLLER_PORT@#$KAFKA_CONTROLLER_PORT#g" \
  -e "s#@ADVERTISED_PORT@#${KAFKA_ADVERTISED_PORT:-$KAFKA_PORT}#g" \
  "$INFRA_DIR/kafka/server.properties" > "$KAFKA_RUN_DIR/server.properties"

JAVA_OPTS=(
  "-Xms$KAFKA_HEAP" "-Xmx$KAFKA_HEAP"
  -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
  -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true
  "-Dkafka.logs.dir=$KAFKA_RUN_DIR"
  "-Dlog4j2.configurationFile=$INFRA_DIR/kafka/log4j2.xml"
  -cp "$KAFKA_CACHE_DIR/libs/*"
)

# 3. Format the storage once (a fresh cluster id per data folder).
if [ ! -f "$KAFKA_RUN_DIR/data/meta.properties" ]; then
  # 16 random bytes in URL-safe base64, as Kafka's own ids; drawn again when it starts with '-', which
  # the storage tool would read as an option (one id in 64 would fail to format, as Kafka's Uuid avoids).
  cluster_id=-
  while [ "${cluster_id#-}" != "$cluster_id" ]; do
    cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
  done
  say "formatting KRaft storage (cluster id $cluster_id)"
  java "${JAVA_OPTS[@]}" kafka.tools.StorageTool format --ignore-formatted \
    -t "$cluster_id" -c "$KAFKA_RUN_DIR/server.properties" >>"$KAFKA_RUN_DIR/format.log" 2>&1 \
    || { tail -n 20 "$KAFKA_RUN_DIR/format.log" >&2; die "formatting Kafka storage failed (log: $KAFKA_RUN_DIR/format.log)"; }
fi

# 4. Start in the background, detached from this shell's session so CI's job control cannot stop it.
say "starting Kafka $KAFKA_VERSION on $KAFKA_BROKERS (log: $KAFKA_LOG)"
: >"$KAFKA_LOG"
setsid nohup java "${JAVA_OPTS[@]}" kafka.Kafka "$KAFKA_RUN_DIR/server.properties" >>"$KAFKA_LOG" 2>&1 </dev/null &
echo $! >"$KAFKA_PID_FILE"

# 5. Wait until the listener is open; up.sh then waits for a real metadata answer.
deadline=$((SECONDS + ${KAFKA_START_TIMEOUT:-90}))
started_pid="$(cat "$KAFKA_PID_FILE")"
until port_open "$KAFKA_PORT"; do
  # Only a process that is gone has exited: right after the fork the child may not have exec'd java yet,
  # and its command line is still this script's (kafka_pid's cmdline check would call that an exit).
  if ! kill -0 "$started_pid" 2>/dev/null; then
    tail -n 40 "$KAFKA_LOG" >&2
    die "Kafka exited during start-up; the lines above are the end of $KAFKA_LOG"
  fi
  if [ $SECONDS -ge $deadline ]; then
    tail -n 40 "$KAFKA_LOG" >&2
    die "Kafka did not open port $KAFKA_PORT within ${KAFKA_START_TIMEOUT:-90}s; the lines above are the end of $KAFKA_LOG"
  fi
  sleep 0.5
done
say "Kafka listening (pid $(cat "$KAFKA_PID_FILE"))"
