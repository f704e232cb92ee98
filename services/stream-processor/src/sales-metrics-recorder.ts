// Keeps the sales series up to date: folds a batch's facts into a series' stored state (compare-and-set,
// so instances and partitions sharing the '*' series never lose an update), then publishes the windows
// that closed and marks them published. A writer that dies in between leaves them in the state's outbox;
// after a retry delay the next batch or the timer publishes them (a record may thus appear twice,
// identical).
import type { SalesMetrics } from '@buy-now/contracts';
import type { Logger } from '@buy-now/observability';
import type { SalesStateStore } from './adapters/redis/sales-state-store.js';
import { StreamProcessorError } from './domain/errors.js';
import {
  closeQuietWindow,
  foldSales,
  orphanedSalesMetrics,
  salesDueAt,
  sameSalesMetrics,
  withoutPublished,
  type SalesFact,
  type SalesSeries,
  type SalesState,
} from './domain/sales-metrics.js';

export interface SalesMetricsRecorder {
  /** Counts the facts (those not counted before) into the series and publishes what closed. */
  record(series: string, facts: readonly SalesFact[]): Promise<void>;
  /** Closes the windows whose time is up and publishes orphans; returns the series visited. */
  closeDueWindows(): Promise<number>;
}

export interface SalesMetricsRecorderOptions {
  store: SalesStateStore;
  publish: (records: readonly SalesMetrics[]) => Promise<void>;
  windowMs: number;
  graceMs: number;
  clock: () => number;
  logger: Logger;
  /** Compare-and-set attempts before giving up (the batch is then retried). Default 50. */
  maxAttempts?: number;
  /** How long a closed record is left to its writer before anyone publishes it. Default 5 s. */
  orphanAfterMs?: number;
}

interface Change {
  state: SalesState;
  counted: ReadonlyMap<string, number>;
  changed: boolean;
  closed: SalesMetrics[];
}

const DUE_PER_TICK = 500;

export function createSalesMetricsRecorder(options: SalesMetricsRecorderOptions): SalesMetricsRecorder {
  const { store, clock } = options;
  const maxAttempts = options.maxAttempts ?? 50;
  const orphanAfterMs = options.orphanAfterMs ?? 5_000;
  const seriesOf = (key: string): SalesSeries => ({ key, windowMs: options.windowMs });

  /** Reads, changes and writes one series until the write wins: the state then and what it closed. */
  async function update(
    key: string,
    itemIds: readonly string[],
    change: (state: SalesState, counted: ReadonlyMap<string, number>) => Change,
  ): Promise<{ state: SalesState; closed: SalesMetrics[] }> {
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const snapshot = await store.read(key, itemIds);
      const next = change(snapshot.state, snapshot.counted);
      if (!next.changed) return { state: snapshot.state, closed: [] };
      if (await store.commit(key, snapshot.revision, next.state, next.counted)) {
        return { state: next.state, closed: next.closed };
      }
      // Another writer came first (the '*' series is shared by every partition): read again.
      await sleep(Math.random() * Math.min(50, attempt * 2));
    }
    throw new StreamProcessorError(
      'SALES_STATE_CONTENDED',
      `sales series ${key}: ${maxAttempts} attempts lost to other writers`,
    );
  }

  /** Publishes what this writer closed and any orphans, marks them published, reschedules the series. */
  async function publish(key: string, state: SalesState, closed: SalesMetrics[]): Promise<void> {
    const records = [...closed];
    for (const orphan of orphanedSalesMetrics(state, clock(), orphanAfterMs)) {
      if (!records.some((record) => sameSalesMetrics(record, orphan))) records.push(orphan);
    }
    let latest = state;
    if (records.length > 0) {
      await options.publish(records);
      ({ state: latest } = await update(key, [], (current) => {
        const next = withoutPublished(current, records);
        return { state: next, counted: new Map(), changed: next !== current, closed: [] };
      }));
    }
    await reschedule(key, latest);
  }

  async function reschedule(key: string, state: SalesState): Promise<void> {
    const due = salesDueAt(seriesOf(key), state, options.graceMs, orphanAfterMs);
    await store.setDueAt(key, due);
    if (due !== null) return;
    // Another writer may have opened a window after our state was read and registered it before our
    // removal: look again, now that the removal is done.
    const { state: latest } = await store.read(key, []);
    const dueNow = salesDueAt(seriesOf(key), latest, options.graceMs, orphanAfterMs);
    if (dueNow !== null) await store.setDueAt(key, dueNow);
  }

  return {
    async record(key, facts) {
      if (facts.length === 0) return;
      const itemIds = [...new Set(facts.map((fact) => fact.itemId))];
      const now = clock();
      const { state, closed } = await update(key, itemIds, (current, counted) => ({
        ...foldSales(seriesOf(key), current, counted, facts, now),
      }));
      await publish(key, state, closed);
    },
    async closeDueWindows() {
      const due = await store.dueSeries(clock(), DUE_PER_TICK);
      for (const key of due) {
        const now = clock();
        const { state, closed } = await update(key, [], (current) => {
          const closing = closeQuietWindow(seriesOf(key), current, now, options.graceMs);
          return { ...closing, counted: new Map(), changed: closing.closed.length > 0 };
        });
        await publish(key, state, closed);
      }
      if (due.length > 0) options.logger.debug({ series: due.length }, 'sales windows checked');
      return due.length;
    },
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
