// Tells every gateway instance that purchases were decided, so a request waiting with
// `Prefer: wait=N` on any instance wakes up at once. Redis pub/sub: a lost message only means a
// waiter falls back to reading the purchase when its wait ends.
import type { Redis } from 'ioredis';
import type { DecisionFeed, OutcomeWaiter } from '../../domain/ports.js';

export interface OutcomeBus extends OutcomeWaiter, DecisionFeed {
  /** Announces decided purchase ids (one message per call). */
  announce(purchaseIds: readonly string[]): Promise<void>;
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
  const waiters = new Map<string, Set<(decided: boolean) => void>>();
  const listeners = new Set<(purchaseIds: readonly string[]) => void>();
  let released = false;
  const wakeAll = () => {
    for (const set of waiters.values()) for (const wake of set) wake(false);
    waiters.clear();
  };

  const onMessage = (from: string, message: string) => {
    if (from !== channel) return;
    let ids: unknown;
    try {
      ids = JSON.parse(message);
    } catch {
      return;
    }
    if (!Array.isArray(ids)) return;
    const decided = ids.filter((id): id is string => typeof id === 'string');
    for (const id of decided) {
      const set = waiters.get(id);
      if (!set) continue;
      waiters.delete(id);
      for (const wake of set) wake(true);
    }
    if (decided.length > 0) for (const listener of listeners) listener(decided);
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
      await subscriber.unsubscribe(channel).catch(() => undefined);
    },
    async announce(purchaseIds) {
      if (purchaseIds.length === 0) return;
      await publisher.publish(channel, JSON.stringify(purchaseIds));
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
    onDecided(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    waiting: () => waiters.size,
  };
}
