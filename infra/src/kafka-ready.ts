// Waits until the broker answers a metadata request, then creates the topics of the catalogue in
// libs/contracts (partitions and configs as declared there). Safe to run any number of times.
import { topicCatalogue } from '@buy-now/contracts';
import { createKafkaClient, ensureTopics, waitForBroker } from '@buy-now/kafka';
import { createLogger } from '@buy-now/observability';
import { infraConfig } from './config.js';

const logger = createLogger({ service: 'infra', level: 'info' });
const client = createKafkaClient({
  brokers: [...infraConfig.KAFKA_BROKERS],
  clientId: 'buy-now-infra',
  logger: logger.child({}, { level: infraConfig.LOG_LEVEL }),
});

try {
  const started = Date.now();
  const broker = await waitForBroker(client, { timeoutMs: infraConfig.KAFKA_READY_TIMEOUT_MS });
  logger.info(
    { clusterId: broker.clusterId, waitedMs: Date.now() - started },
    'Kafka answers metadata requests',
  );
  const result = await ensureTopics(
    client,
    topicCatalogue.map((spec) => ({
      name: spec.name,
      partitions: spec.partitions,
      configs: { ...spec.configs },
    })),
    { timeoutMs: 30_000 },
  );
  logger.info({ created: result.created, existing: result.existing }, 'topics ready');
} catch (error) {
  logger.error({ err: error }, 'Kafka is not ready');
  process.exitCode = 1;
}
