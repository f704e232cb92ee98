// Readiness of the Kafka side of a service, in the shape every /readyz answers with.
import type { BatchConsumer } from './batch-consumer.js';
import type { DurableProducer } from './durable-producer.js';

export interface KafkaReadiness {
  name: string;
  ok: boolean;
  detail?: string;
}

/** Resolves once the producer is connected; rejects when it was stopped or the broker does not answer. */
export async function producerReady(producer: DurableProducer): Promise<void> {
  if (producer.isStopped()) throw new Error('producer stopped');
  await producer.connect();
}

/** A consumer is ready while it runs; the detail says how far it got and how far behind it is. */
export function consumerReadiness(name: string, consumer: BatchConsumer): KafkaReadiness {
  const health = consumer.health();
  return {
    name,
    ok: health.state === 'running',
    detail: `${health.state}, ${health.recordsHandled} records, lag ${JSON.stringify(health.lag)}`,
  };
}
