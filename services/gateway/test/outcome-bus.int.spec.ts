// The outcome bus on the real Redis: the announcing instance wakes its own waiters at once and tells
// its listeners once (its own pub/sub message is not applied again); another instance hears it over
// pub/sub; a bare array, as instances that do not name themselves send it, is still understood.
import { getTestServers, uniqueName, waitFor } from '@buy-now/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutcomeBus, type OutcomeBus } from '../src/adapters/redis/outcome-bus.js';

const clients: Redis[] = [];
let channel: string;
let a: OutcomeBus;
let b: OutcomeBus;
const heardByA: string[][] = [];
const heardByB: string[][] = [];

async function busOn(heard: string[][]): Promise<OutcomeBus> {
  const { redisUrl } = await getTestServers();
  const publisher = new Redis(redisUrl);
  const subscriber = new Redis(redisUrl);
  clients.push(publisher, subscriber);
  const bus = createOutcomeBus({ publisher, subscriber, channel });
  bus.onDecided((ids) => heard.push([...ids]));
  await bus.start();
  return bus;
}

beforeAll(async () => {
  channel = `${uniqueName('bus')}:purchase-outcomes`;
  a = await busOn(heardByA);
  b = await busOn(heardByB);
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  for (const client of clients) client.disconnect();
});

describe('the outcome bus', () => {
  it('wakes the announcing instance before the round trip, and every other one through Redis', async () => {
    const onA = a.watch('p-1', 10_000);
    const onB = b.watch('p-1', 10_000);
    const announcing = a.announce(['p-1']);
    // Woken within the call, before the publish was answered.
    expect(a.waiting()).toBe(0);
    expect(heardByA).toEqual([['p-1']]);
    await announcing;
    expect(await onA.decided).toBe(true);
    expect(await onB.decided).toBe(true);
    expect(heardByB).toEqual([['p-1']]);

    // A later announcement round-trips through Redis too; A's listener still heard p-1 only once.
    await b.announce(['p-2']);
    await waitFor('A to hear p-2', () => (heardByA.length === 2 ? true : undefined), { timeoutMs: 5_000 });
    expect(heardByA).toEqual([['p-1'], ['p-2']]);
    expect(heardByB).toEqual([['p-1'], ['p-2']]);
  });

  it('tells the other instances, not itself, which items may have units back, one message per tick', async () => {
    const reopenedOnA: string[][] = [];
    const reopenedOnB: string[][] = [];
    a.onReopened((ids) => reopenedOnA.push([...ids]));
    b.onReopened((ids) => reopenedOnB.push([...ids]));
    a.announceReopened('item-1');
    a.announceReopened('item-2');
    a.announceReopened('item-1');
    await waitFor('B to hear the reopening', () => (reopenedOnB.length > 0 ? true : undefined), {
      timeoutMs: 5_000,
    });
    expect(reopenedOnB).toEqual([['item-1', 'item-2']]);
    // A message of B's own arrives at A after A's own would have: A never heard itself.
    b.announceReopened('item-3');
    await waitFor('A to hear item-3', () => (reopenedOnA.length > 0 ? true : undefined), {
      timeoutMs: 5_000,
    });
    expect(reopenedOnA).toEqual([['item-3']]);
  });

  it('understands a bare array of purchase ids', async () => {
    const onB = b.watch('p-3', 10_000);
    await (clients[0] as Redis).publish(channel, JSON.stringify(['p-3']));
    expect(await onB.decided).toBe(true);
  });
});
