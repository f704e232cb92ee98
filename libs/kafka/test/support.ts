// Shared set-up for the integration tests: a client on the real broker and unique names per run.
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { expect } from 'vitest';
import {
  createKafkaClient,
  fetchCommittedOffsets,
  fetchTopicOffsets,
  type KafkaClient,
} from '../src/index.js';

export const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

export function testClient(clientId = 'kafka-lib-test'): KafkaClient {
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
  return createKafkaClient({ brokers, clientId, logger });
}

export function uniqueName(prefix: string): string {
  return `test-${prefix}-${randomUUID().slice(0, 8)}`;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until the condition holds; fails the test with `what` if it never does. */
export async function eventually(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) expect.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The group has committed, on every partition, exactly the offset the next record will get. */
export async function expectCommittedAtEnd(
  client: KafkaClient,
  groupId: string,
  topic: string,
): Promise<void> {
  const end = await fetchTopicOffsets(client, topic);
  const committed = await fetchCommittedOffsets(client, groupId, topic);
  expect(committed).toEqual(end.map(({ partition, high }) => ({ partition, offset: high })));
}
