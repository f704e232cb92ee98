#!/usr/bin/env bash
# Runs one of Apache Kafka's own command-line tools against the local broker, from the same jars:
#   bash infra/bin/kafka-tool.sh topics --list
#   bash infra/bin/kafka-tool.sh topics --describe --topic stock-views
#   bash infra/bin/kafka-tool.sh console-consumer --topic item-events --from-beginning --property print.key=true
#   bash infra/bin/kafka-tool.sh consumer-groups --describe --all-groups
source "$(dirname "$0")/lib.sh"

tool="${1:-}"; shift || true
case "$tool" in
  topics) main=org.apache.kafka.tools.TopicCommand ;;
  console-consumer) main=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
  console-producer) main=org.apache.kafka.tools.ConsoleProducer ;;
  consumer-groups) main=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
  get-offsets) main=org.apache.kafka.tools.GetOffsetShell ;;
  *) die "usage: kafka-tool.sh topics|console-consumer|console-producer|consumer-groups|get-offsets [tool options]" ;;
esac
[ -f "$KAFKA_CACHE_DIR/.complete" ] || die "Kafka jars are not resolved yet: run 'npm run infra:up' first"
exec java -Xmx256m -Dlog4j2.configurationFile="$INFRA_DIR/kafka/tools-log4j2.xml" \
  -cp "$KAFKA_CACHE_DIR/libs/*" "$main" --bootstrap-server "$KAFKA_BROKERS" "$@"
