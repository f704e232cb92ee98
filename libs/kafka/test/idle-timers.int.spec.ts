// An idle connection must not wake its process: kafkajs 2.2.4 re-armed a 1 ms timer on every broker
// connection that had had one answer (see src/request-queue-fix.ts). Counted here on a real connection:
// timers of 5 ms or less armed while the producer sits idle.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDurableProducer,
  ensureTopics,
  requestQueueFixed,
  type DurableProducer,
} from '../src/index.js';
import { sleep, testClient, uniqueName } from './support.js';

const client = testClient('idle-timers-test');
const topic = uniqueName('idle');
let producer: DurableProducer;

beforeAll(async () => {
  await ensureTopics(client, [{ name: topic, partitions: 1 }]);
  producer = createDurableProducer(client, { logger: client.logger });
  await producer.connect();
  // One answer on the connection is what started the loop.
  await producer.send({ topic, key: 'k', value: Buffer.from('v') });
});

afterAll(async () => {
  await producer?.stop();
});

describe('an idle broker connection', () => {
  it('arms no short timers while nothing is in flight', async () => {
    expect(requestQueueFixed).toBe(true);
    await sleep(50);
    const original = globalThis.setTimeout;
    let short = 0;
    globalThis.setTimeout = ((handler: () => void, ms?: number) => {
      if ((ms ?? 0) <= 5) short++;
      return original(handler, ms);
    }) as typeof setTimeout;
    try {
      await sleep(500);
    } finally {
      globalThis.setTimeout = original;
    }
    // Before the fix: about one per millisecond (≈ 500); a few may come from elsewhere.
    expect(short).toBeLessThan(20);
  });
});
