// Tells every gateway instance that purchases were decided, so a request waiting with
// `Prefer: wait=N` on any instance wakes up at once. The instance that announces wakes its own waiters
// directly (no round trip through Redis behind a flood of admissions); the others hear it over Redis
// pub/sub, where a lost message only means a waiter falls back to reading the purchase when its wait ends.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { DecisionFeed, OutcomeWaiter } from '../../domain/ports.js';

export interface OutcomeBus extends OutcomeWaiter, DecisionFeed {
  /** Announces decided purchase ids (one message per call). */
  announce(purchaseIds: readonly string[]): Promise<void>;
  /**
   * Tells the other instances that units of the item may be back on sale (they forget a remembered
   * SOLD_OUT). Items named in the same tick go out in one message.
   */
  announceReopened(itemId: string): void;
  /** Items another instance announced as reopened. */
  onReopened(listener: (itemIds: readonly string[]) => void): void;
  start(): Promise<void>;
  /**
   * Shutting down: every wait ends now, and any later one at once, so a request waiting with `Prefer:
   * wait` is answered with the status as it is (202 pending) instead of holding the shutdown.
   */
  release(): void;
  stop(): Promise<void>;
  waiting(): number;
}

export function createOutcomeBus(options: {
  publisher: Redis;
  subscriber: Redis;
  channel: string;
}): OutcomeBus {
  const { publisher, subscriber, channel } = options;
  // Messages name their sender, so an instance does not wake its waiters a second time.
  const busId = randomUUID();
  const waiters = new Map<string, Set<(decided: boolean) => void>>();
  const listeners = new Set<(purchaseIds: readonly string[]) => void>();
  const reopenedListeners = new Set<(itemIds: readonly string[]) => void>();
  let reopenedPending = new Set<string>();
  const flushReopened = () => {
    const itemIds = [...reopenedPending];
    reopenedPending = new Set();
    if (itemIds.length === 0 || released) return;
    // Lost only if Redis is unreachable: the others then forget the item when their memo expires.
    publisher.publish(channel, JSON.stringify({ from: busId, reopened: itemIds })).catch(() => undefined);
  };
  let released = false;
  const wakeAll = () => {
    for (const set of waiters.values()) for (const wake of set) wake(false);
    waiters.clear();
  };

  const decided = (ids: readonly string[]) => {
    for (const id of ids) {
      const set = waiters.get(id);
      if (!set) continue;
      waiters.delete(id);
      for (const wake of set) wake(true);
    }
    if (ids.length > 0) for (const listener of listeners) listener(ids);
  };

  const onMessage = (from: string, message: string) => {
    if (from !== channel) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      return;
    }
    // { from, ids } since senders name themselves; a bare array from an instance that does not yet.
    let ids: unknown = parsed;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      const named = parsed as { from?: unknown; ids?: unknown; reopened?: unknown };
      if (named.from === busId) return;
      if (Array.isArray(named.reopened)) {
        const itemIds = named.reopened.filter((id): id is string => typeof id === 'string');
        for (const listener of reopenedListeners) listener(itemIds);
        return;
      }
      ids = named.ids;
    }
    if (!Array.isArray(ids)) return;
    decided(ids.filter((id): id is string => typeof id === 'string'));
  };

  return {
    async start() {
      subscriber.on('message', onMessage);
      await subscriber.subscribe(channel);
    },
    release() {
      released = true;
      wakeAll();
    },
    async stop() {
      subscriber.off('message', onMessage);
      released = true;
      wakeAll();
      listeners.clear();
      reopenedListeners.clear();
      await subscriber.unsubscribe(channel).catch(() => undefined);
    },
    async announce(purchaseIds) {
      if (purchaseIds.length === 0) return;
      decided(purchaseIds);
      await publisher.publish(channel, JSON.stringify({ from: busId, ids: purchaseIds }));
    },
    watch(purchaseId, timeoutMs) {
      if (released) return { decided: Promise.resolve(false), cancel: () => undefined };
      const set = waiters.get(purchaseId) ?? new Set();
      waiters.set(purchaseId, set);
      let finish: (decided: boolean) => void = () => undefined;
      const decided = new Promise<boolean>((resolve) => {
        finish = resolve;
      });
      const forget = () => {
        clearTimeout(timer);
        set.delete(wake);
        if (set.size === 0 && waiters.get(purchaseId) === set) waiters.delete(purchaseId);
      };
      const wake = (value: boolean) => {
        forget();
        finish(value);
      };
      const timer = setTimeout(() => wake(false), timeoutMs);
      set.add(wake);
      return { decided, cancel: () => wake(false) };
    },
    announceReopened(itemId) {
      if (reopenedPending.size === 0) setImmediate(flushReopened);
      reopenedPending.add(itemId);
    },
    onReopened(listener) {
      reopenedListeners.add(listener);
    },
    onDecided(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    waiting: () => waiters.size,
  };
}
