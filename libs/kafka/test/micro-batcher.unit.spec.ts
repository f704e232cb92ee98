import { describe, expect, it } from 'vitest';
import { createMicroBatcher, type MicroBatcherOptions } from '../src/micro-batcher.js';

interface Deferred {
  items: number[];
  resolve: () => void;
  reject: (error: Error) => void;
}

/** A fake batch call that stays pending until the test settles it, recording every batch. */
function controlledSend() {
  const calls: Deferred[] = [];
  const sendBatch = (items: number[]) =>
    new Promise<string[]>((resolve, reject) => {
      calls.push({ items, resolve: () => resolve(items.map((item) => `ack-${item}`)), reject });
    });
  return { calls, sendBatch };
}

function batcherWith(
  overrides: Partial<MicroBatcherOptions<number, string>> &
    Pick<MicroBatcherOptions<number, string>, 'sendBatch'>,
) {
  return createMicroBatcher<number, string>({
    maxBatchItems: 1000,
    lingerMs: 2,
    closedError: () => new Error('closed'),
    overloadedError: () => new Error('overloaded'),
    expiredError: () => new Error('expired'),
    ...overrides,
  });
}

const tick = (ms = 0) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// Waits on the wall clock, not a number of ticks: on a loaded machine timers fire late.
async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await tick(1);
  expect(condition()).toBe(true);
}

describe('micro-batcher', () => {
  it('coalesces concurrent adds into batches capped at maxBatchItems, each caller getting its own result', async () => {
    const sent: number[][] = [];
    const batcher = batcherWith({
      maxBatchItems: 1000,
      sendBatch: (items) => {
        sent.push(items);
        return Promise.resolve(items.map((item) => `ack-${item}`));
      },
    });
    const results = await Promise.all(Array.from({ length: 5000 }, (_, i) => batcher.add(i)));
    expect(results).toEqual(Array.from({ length: 5000 }, (_, i) => `ack-${i}`));
    expect(sent.map((batch) => batch.length)).toEqual([1000, 1000, 1000, 1000, 1000]);
    expect(sent.flat()).toEqual(Array.from({ length: 5000 }, (_, i) => i));
    expect(batcher.stats()).toMatchObject({ batchesSent: 5, itemsSent: 5000, lastBatchSize: 1000 });
  });

  it('with lingerMs 0, sends what one turn of the event loop added as one batch, in that same turn', async () => {
    const { calls, sendBatch } = controlledSend();
    const batcher = batcherWith({ lingerMs: 0, sendBatch });
    const first = [batcher.add(1), batcher.add(2), batcher.add(3)];
    expect(calls).toHaveLength(0);
    // An immediate queued after the adds runs after the batcher's own, in the same turn: no timer waited.
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(calls.map((call) => call.items)).toEqual([[1, 2, 3]]);
    calls[0]!.resolve();
    expect(await Promise.all(first)).toEqual(['ack-1', 'ack-2', 'ack-3']);

    // The next turn's item is a batch of its own.
    const next = batcher.add(4);
    await until(() => calls.length === 2);
    expect(calls[1]!.items).toEqual([4]);
    calls[1]!.resolve();
    expect(await next).toBe('ack-4');
  });

  it('fills the next batch while one is in flight and sends it as soon as the first settles', async () => {
    const { calls, sendBatch } = controlledSend();
    const batcher = batcherWith({ sendBatch });
    const first = batcher.add(1);
    await until(() => calls.length === 1);
    const meanwhile = [2, 3, 4, 5].map((item) => batcher.add(item));
    await tick(10);
    expect(calls).toHaveLength(1);
    expect(batcher.stats()).toMatchObject({ queuedItems: 4, inFlightBatches: 1 });

    calls[0]!.resolve();
    await expect(first).resolves.toBe('ack-1');
    await until(() => calls.length === 2);
    expect(calls[1]!.items).toEqual([2, 3, 4, 5]);
    calls[1]!.resolve();
    await expect(Promise.all(meanwhile)).resolves.toEqual(['ack-2', 'ack-3', 'ack-4', 'ack-5']);
  });

  it('rejects every caller of a failed batch, and only those', async () => {
    const { calls, sendBatch } = controlledSend();
    const batcher = batcherWith({ sendBatch });
    const failing = [1, 2, 3].map((item) => batcher.add(item));
    await until(() => calls.length === 1);
    const next = batcher.add(4);
    calls[0]!.reject(new Error('broker gone'));
    const outcomes = await Promise.allSettled(failing);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected', 'rejected']);
    await until(() => calls.length === 2);
    calls[1]!.resolve();
    await expect(next).resolves.toBe('ack-4');
    expect(batcher.stats()).toMatchObject({ batchesFailed: 1, itemsFailed: 3, batchesSent: 1, itemsSent: 1 });
  });

  it('never sends an item after an earlier one with the same key failed or expired', async () => {
    const { calls, sendBatch } = controlledSend();
    // Key: the item's tens (11 and 12 share key 1); an ordered stream per key, as records per partition.
    const batcher = batcherWith({
      sendBatch,
      maxBatchItems: 2,
      keyOf: (item) => String(Math.floor(item / 10)),
      skippedError: () => new Error('skipped'),
    });
    const first = [batcher.add(11), batcher.add(21)];
    await until(() => calls.length === 1);
    const behind = [batcher.add(12), batcher.add(31), batcher.add(22)];
    calls[0]!.reject(new Error('timed out'));
    await expect(Promise.allSettled(first)).resolves.toMatchObject([
      { status: 'rejected' },
      { status: 'rejected' },
    ]);
    // 12 and 22 would land before 11 and 21 once those are sent again: refused unsent. 31 goes.
    await expect(behind[0]).rejects.toThrow('skipped');
    await expect(behind[2]).rejects.toThrow('skipped');
    await until(() => calls.length === 2);
    expect(calls[1]!.items).toEqual([31]);
    calls[1]!.resolve();
    await expect(behind[1]).resolves.toBe('ack-31');
    // The caller sends them again, in order, after it learned of the failure: they go.
    const again = [11, 12, 21, 22].map((item) => batcher.add(item));
    await until(() => calls.length === 3);
    calls[2]!.resolve();
    await until(() => calls.length === 4);
    calls[3]!.resolve();
    await expect(Promise.all(again)).resolves.toEqual(['ack-11', 'ack-12', 'ack-21', 'ack-22']);
    expect(batcher.stats()).toMatchObject({ itemsSkipped: 2, itemsFailed: 2 });
  });

  it('splits batches by size, a single oversized item still going alone', async () => {
    const sent: number[][] = [];
    const batcher = batcherWith({
      maxBatchBytes: 100,
      sizeOf: (item) => item,
      sendBatch: (items) => {
        sent.push(items);
        return Promise.resolve(items.map(String));
      },
    });
    await Promise.all([40, 40, 40, 150, 10].map((item) => batcher.add(item)));
    expect(sent).toEqual([[40, 40], [40], [150], [10]]);
  });

  it('flush() sends without waiting for the linger time and resolves once everything settled', async () => {
    const { calls, sendBatch } = controlledSend();
    const batcher = batcherWith({ sendBatch, lingerMs: 60_000 });
    const sends = [1, 2].map((item) => batcher.add(item));
    const flushed = batcher.flush();
    let flushDone = false;
    void flushed.then(() => (flushDone = true));
    await until(() => calls.length === 1);
    await tick(5);
    expect(flushDone).toBe(false);
    calls[0]!.resolve();
    await flushed;
    await expect(Promise.all(sends)).resolves.toEqual(['ack-1', 'ack-2']);
  });

  it('close() delivers what was queued, then refuses new items', async () => {
    const sent: number[][] = [];
    const batcher = batcherWith({
      lingerMs: 60_000,
      sendBatch: (items) => {
        sent.push(items);
        return Promise.resolve(items.map(String));
      },
    });
    const queued = batcher.add(7);
    await batcher.close();
    await expect(queued).resolves.toBe('7');
    expect(sent).toEqual([[7]]);
    await expect(batcher.add(8)).rejects.toThrow('closed');
  });

  it('fails items that waited longer than maxQueueWaitMs behind a stuck batch, without sending them', async () => {
    const { calls, sendBatch } = controlledSend();
    // Long enough that a late linger timer on a busy machine does not expire the first item itself.
    const batcher = batcherWith({ sendBatch, maxQueueWaitMs: 250 });
    const stuck = batcher.add(1);
    await until(() => calls.length === 1);
    const waiting = batcher.add(2);
    await expect(waiting).rejects.toThrow('expired');
    calls[0]!.resolve();
    await expect(stuck).resolves.toBe('ack-1');
    await tick(10);
    expect(calls).toHaveLength(1);
    expect(batcher.stats().itemsExpired).toBe(1);
  });

  it('refuses items beyond maxQueuedItems instead of growing without bound', async () => {
    const { calls, sendBatch } = controlledSend();
    const batcher = batcherWith({ sendBatch, maxQueuedItems: 2 });
    const first = batcher.add(1);
    await until(() => calls.length === 1);
    const queued = [batcher.add(2), batcher.add(3)];
    await expect(batcher.add(4)).rejects.toThrow('overloaded');
    calls[0]!.resolve();
    await until(() => calls.length === 2);
    calls[1]!.resolve();
    await expect(Promise.all([first, ...queued])).resolves.toEqual(['ack-1', 'ack-2', 'ack-3']);
  });

  it('keeps items in order across batches when one batch is in flight at a time', async () => {
    const sent: number[] = [];
    const batcher = batcherWith({
      maxBatchItems: 7,
      sendBatch: async (items) => {
        await tick(1);
        sent.push(...items);
        return items.map(String);
      },
    });
    await Promise.all(Array.from({ length: 100 }, (_, i) => batcher.add(i)));
    expect(sent).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('rejects the batch when the batch call returns the wrong number of results', async () => {
    const batcher = batcherWith({ sendBatch: () => Promise.resolve(['only-one']) });
    const outcomes = await Promise.allSettled([batcher.add(1), batcher.add(2)]);
    expect(outcomes.every((outcome) => outcome.status === 'rejected')).toBe(true);
  });
});
