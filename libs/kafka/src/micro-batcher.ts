// Coalesces many concurrent calls into few batch calls. Pure logic: the batch call is injected, so
// the durable producer and the unit tests share one implementation.

export interface MicroBatcherOptions<Item, Result> {
  /** Sends one batch; resolves with one result per item, in order, or rejects for the whole batch. */
  sendBatch: (items: Item[]) => Promise<Result[]>;
  maxBatchItems: number;
  /** Upper bound on the summed `sizeOf` of a batch; a single larger item still goes alone. */
  maxBatchBytes?: number;
  sizeOf?: (item: Item) => number;
  /**
   * How long the first item of an idle batcher waits for company. 0 = until the current turn of the
   * event loop has run (setImmediate): what arrived in the same turn goes together, and no timer wakes
   * the process again for it.
   */
  lingerMs: number;
  /** Batches sent at the same time; 1 keeps batches, and so items, in order. */
  maxInFlightBatches?: number;
  /** Items allowed to wait; beyond that add() rejects with `overloadedError()`, bounding memory. */
  maxQueuedItems?: number;
  /**
   * Longest an item may wait for its batch to be sent (behind a slow or failing one); after that it
   * is rejected with `expiredError()` and never sent, so the caller gets a prompt and certain answer.
   */
  maxQueueWaitMs?: number;
  closedError: () => Error;
  overloadedError: () => Error;
  expiredError: () => Error;
  /**
   * An item's ordering key (e.g. topic + record key). When an item fails or expires, the queued items
   * with its key are rejected with `skippedError()` and never sent: sent now, they would land before the
   * failed one once it is sent again. Only meaningful with one batch in flight.
   */
  keyOf?: (item: Item) => string | undefined;
  skippedError?: () => Error;
  /** Called after every batch, e.g. for metrics and logs. */
  onBatchSettled?: (outcome: BatchOutcome) => void;
}

export interface BatchOutcome {
  size: number;
  durationMs: number;
  error?: unknown;
}

export interface MicroBatcherStats {
  batchesSent: number;
  itemsSent: number;
  batchesFailed: number;
  itemsFailed: number;
  itemsExpired: number;
  /** Rejected unsent because an earlier item with the same key failed or expired. */
  itemsSkipped: number;
  lastBatchSize: number;
  largestBatchSize: number;
  queuedItems: number;
  inFlightBatches: number;
}

export interface MicroBatcher<Item, Result> {
  add(item: Item): Promise<Result>;
  /** Sends what is queued without waiting for the linger time; resolves when all of it settled. */
  flush(): Promise<void>;
  /** Refuses new items, then flushes. */
  close(): Promise<void>;
  readonly closed: boolean;
  stats(): MicroBatcherStats;
}

interface Entry<Item, Result> {
  seq: number;
  enqueuedAt: number;
  item: Item;
  size: number;
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}

interface FlushWaiter {
  upToSeq: number;
  resolve: () => void;
}

export function createMicroBatcher<Item, Result>(
  options: MicroBatcherOptions<Item, Result>,
): MicroBatcher<Item, Result> {
  const maxBatchItems = Math.max(1, options.maxBatchItems);
  const maxBatchBytes = options.maxBatchBytes ?? Number.POSITIVE_INFINITY;
  const sizeOf = options.sizeOf ?? (() => 0);
  const maxInFlight = Math.max(1, options.maxInFlightBatches ?? 1);
  const maxQueued = options.maxQueuedItems ?? Number.POSITIVE_INFINITY;
  const maxQueueWaitMs = options.maxQueueWaitMs ?? Number.POSITIVE_INFINITY;

  // FIFO with a moving head: shifting a 10k-element array per batch would be quadratic.
  let queue: Entry<Item, Result>[] = [];
  let head = 0;
  let queuedBytes = 0;
  let nextSeq = 1;
  /** Cancels the pending linger (a timer, or an immediate when lingerMs is 0). */
  let cancelLinger: (() => void) | undefined;
  let expiryTimer: NodeJS.Timeout | undefined;
  let flushUpToSeq = 0;
  let closed = false;
  const inFlightFirstSeqs = new Set<number>();
  const flushWaiters: FlushWaiter[] = [];
  const stats: MicroBatcherStats = {
    batchesSent: 0,
    itemsSent: 0,
    batchesFailed: 0,
    itemsFailed: 0,
    itemsExpired: 0,
    itemsSkipped: 0,
    lastBatchSize: 0,
    largestBatchSize: 0,
    queuedItems: 0,
    inFlightBatches: 0,
  };

  const queuedCount = () => queue.length - head;

  function takeBatch(): Entry<Item, Result>[] {
    const batch: Entry<Item, Result>[] = [];
    let bytes = 0;
    while (head < queue.length && batch.length < maxBatchItems) {
      const entry = queue[head]!;
      if (batch.length > 0 && bytes + entry.size > maxBatchBytes) break;
      batch.push(entry);
      bytes += entry.size;
      head++;
    }
    queuedBytes -= bytes;
    compact();
    return batch;
  }

  /** Drops taken entries (and the records they hold) once they are at least half of the array. */
  function compact(): void {
    if (head === queue.length) {
      queue = [];
      head = 0;
    } else if (head > 1024 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
  }

  /** Entries are queued in time order, so the expired ones are always at the head. */
  function expireOverdue(): void {
    const now = performance.now();
    const expired: Entry<Item, Result>[] = [];
    while (head < queue.length && now - queue[head]!.enqueuedAt >= maxQueueWaitMs) {
      const entry = queue[head++]!;
      queuedBytes -= entry.size;
      entry.reject(options.expiredError());
      expired.push(entry);
    }
    if (expired.length > 0) {
      compact();
      stats.itemsExpired += expired.length;
      skipQueuedWithKeysOf(expired);
      stats.queuedItems = queuedCount();
      releaseFlushWaiters();
    }
  }

  /** Rejects, unsent, the queued items that share an ordering key with these failed ones. */
  function skipQueuedWithKeysOf(failed: readonly Entry<Item, Result>[]): void {
    const { keyOf, skippedError } = options;
    if (keyOf === undefined || skippedError === undefined || queuedCount() === 0) return;
    const keys = new Set(failed.map((entry) => keyOf(entry.item)).filter((key) => key !== undefined));
    if (keys.size === 0) return;
    const kept: Entry<Item, Result>[] = [];
    for (let i = head; i < queue.length; i++) {
      const entry = queue[i]!;
      const key = keyOf(entry.item);
      if (key !== undefined && keys.has(key)) {
        queuedBytes -= entry.size;
        entry.reject(skippedError());
        stats.itemsSkipped++;
      } else kept.push(entry);
    }
    queue = kept;
    head = 0;
  }

  function armExpiry(): void {
    if (expiryTimer !== undefined || queuedCount() === 0 || maxQueueWaitMs === Number.POSITIVE_INFINITY)
      return;
    const waitMs = Math.max(0, queue[head]!.enqueuedAt + maxQueueWaitMs - performance.now());
    expiryTimer = setTimeout(() => {
      expiryTimer = undefined;
      expireOverdue();
      armExpiry();
    }, waitMs);
    // The queued items do not need to keep the process alive on their own; their batch does.
    expiryTimer.unref();
  }

  function lowestUnsettledSeq(): number {
    let lowest = head < queue.length ? queue[head]!.seq : nextSeq;
    for (const seq of inFlightFirstSeqs) lowest = Math.min(lowest, seq);
    return lowest;
  }

  function releaseFlushWaiters(): void {
    const lowest = lowestUnsettledSeq();
    for (let i = flushWaiters.length - 1; i >= 0; i--) {
      const waiter = flushWaiters[i]!;
      if (waiter.upToSeq < lowest) {
        flushWaiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  function schedule(): void {
    if (queuedCount() === 0 || inFlightFirstSeqs.size >= maxInFlight) return;
    const full = queuedCount() >= maxBatchItems || queuedBytes >= maxBatchBytes;
    const flushing = queue[head]!.seq <= flushUpToSeq;
    if (full || flushing) {
      dispatch();
      return;
    }
    if (cancelLinger !== undefined) return;
    const linger = () => {
      cancelLinger = undefined;
      dispatch();
    };
    if (options.lingerMs > 0) {
      const timer = setTimeout(linger, options.lingerMs);
      cancelLinger = () => clearTimeout(timer);
    } else {
      const immediate = setImmediate(linger);
      cancelLinger = () => clearImmediate(immediate);
    }
  }

  function dispatch(): void {
    if (cancelLinger !== undefined) {
      cancelLinger();
      cancelLinger = undefined;
    }
    expireOverdue();
    while (queuedCount() > 0 && inFlightFirstSeqs.size < maxInFlight) {
      void sendOne(takeBatch());
    }
    armExpiry();
    stats.queuedItems = queuedCount();
    stats.inFlightBatches = inFlightFirstSeqs.size;
  }

  async function sendOne(batch: Entry<Item, Result>[]): Promise<void> {
    const firstSeq = batch[0]!.seq;
    inFlightFirstSeqs.add(firstSeq);
    const startedAt = performance.now();
    let outcome: BatchOutcome;
    try {
      const results = await options.sendBatch(batch.map((entry) => entry.item));
      if (results.length !== batch.length) {
        throw new Error(`sendBatch returned ${results.length} results for ${batch.length} items`);
      }
      batch.forEach((entry, index) => entry.resolve(results[index]!));
      stats.batchesSent++;
      stats.itemsSent += batch.length;
      outcome = { size: batch.length, durationMs: performance.now() - startedAt };
    } catch (error) {
      for (const entry of batch) entry.reject(error);
      skipQueuedWithKeysOf(batch);
      stats.batchesFailed++;
      stats.itemsFailed += batch.length;
      outcome = { size: batch.length, durationMs: performance.now() - startedAt, error };
    }
    stats.lastBatchSize = batch.length;
    stats.largestBatchSize = Math.max(stats.largestBatchSize, batch.length);
    inFlightFirstSeqs.delete(firstSeq);
    // Whatever queued up meanwhile goes at once: it already waited a whole round trip, and
    // lingering longer would only add latency. This is where batches grow under load.
    if (queuedCount() > 0) dispatch();
    stats.queuedItems = queuedCount();
    stats.inFlightBatches = inFlightFirstSeqs.size;
    releaseFlushWaiters();
    options.onBatchSettled?.(outcome);
  }

  function flush(): Promise<void> {
    const upToSeq = nextSeq - 1;
    if (lowestUnsettledSeq() > upToSeq) return Promise.resolve();
    flushUpToSeq = Math.max(flushUpToSeq, upToSeq);
    const settled = new Promise<void>((resolve) => flushWaiters.push({ upToSeq, resolve }));
    dispatch();
    return settled;
  }

  return {
    add(item: Item): Promise<Result> {
      if (closed) return Promise.reject(options.closedError());
      if (queuedCount() >= maxQueued) return Promise.reject(options.overloadedError());
      return new Promise<Result>((resolve, reject) => {
        const size = sizeOf(item);
        queue.push({ seq: nextSeq++, enqueuedAt: performance.now(), item, size, resolve, reject });
        queuedBytes += size;
        stats.queuedItems = queuedCount();
        schedule();
        armExpiry();
      });
    },
    flush,
    async close(): Promise<void> {
      closed = true;
      await flush();
    },
    get closed() {
      return closed;
    },
    stats: () => ({ ...stats }),
  };
}
