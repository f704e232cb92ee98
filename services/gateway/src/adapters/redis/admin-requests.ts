// Admin writes with an Idempotency-Key: the first request under a key is remembered (its body's hash, the
// commandId and itemId it was given) for a day, so a retry publishes the very same command again, which
// the reservation service applies once (it dedupes commandIds), and the same key with another body is
// refused. One SET NX per request: the first writer wins, concurrent retries read its record.
import type { Cluster, Redis } from 'ioredis';

export interface AdminRequestRecord {
  requestHash: string;
  commandId: string;
  itemId: string;
}

export interface AdminRequests {
  /** Remembers `record` under `scope` and `key` unless a request came first; returns the first one. */
  claim(scope: string, key: string, record: AdminRequestRecord): Promise<AdminRequestRecord>;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export function createAdminRequests(options: {
  redis: Redis | Cluster;
  keyPrefix: string;
  retentionMs?: number;
}): AdminRequests {
  const retentionMs = options.retentionMs ?? DAY_MS;
  return {
    async claim(scope, key, record) {
      const name = `${options.keyPrefix}admin-request:${scope}:${key}`;
      const set = await options.redis.set(name, JSON.stringify(record), 'PX', retentionMs, 'NX');
      if (set === 'OK') return record;
      const first = await options.redis.get(name);
      // Expired between the two commands: this request is the first again.
      if (first === null) return this.claim(scope, key, record);
      return JSON.parse(first) as AdminRequestRecord;
    },
  };
}
