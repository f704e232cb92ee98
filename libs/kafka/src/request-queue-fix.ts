// A fix of kafkajs 2.2.4 at the only place this project touches kafkajs, applied once on import.
//
// Its per-connection request queue re-arms a timer after every check of its pending queue, whether a
// request is pending or not (`scheduleCheckPendingRequests` in src/network/requestQueue/index.js). With
// no client-side throttle, `throttledUntil` is -1, so the delay is negative (1 ms in practice) and the
// check re-arms itself from then on: once a connection has had one answer, it wakes its process every
// millisecond for as long as it lives. That is CPU spent while the system is idle, in every service and
// on every broker connection; on Node 22 and later each arming also prints a TimeoutNegativeWarning.
//
// The timer is only needed while a request waits in the queue (a throttle, or too many in flight): a
// request that is pushed, answered or timed out checks the queue itself. So it is armed only then, for
// the throttle's end or kafkajs' own 10 ms re-check. Applied to kafkajs 2.2.4 only, the version this
// repository pins: another version is left as it is, and libs/kafka/test/idle-timers.int.spec.ts says
// whether it still needs the fix.
import { createRequire } from 'node:module';

interface RequestQueueInternals {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

/** kafkajs' own interval for re-checking a queue that is full but not throttled. */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;
const FIXED_VERSION = '2.2.4';

const require = createRequire(import.meta.url);

function scheduleCheckPendingRequests(this: RequestQueueInternals): void {
  if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
  const throttledFor = this.throttledUntil - Date.now();
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    throttledFor > 0 ? throttledFor : CHECK_PENDING_REQUESTS_INTERVAL_MS,
  );
}

/** True when the fix was applied (kafkajs 2.2.4), false when this kafkajs is left as it is. */
export const requestQueueFixed: boolean = (() => {
  const { version } = require('kafkajs/package.json') as { version: string };
  if (version !== FIXED_VERSION) return false;
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as {
    prototype: RequestQueueInternals;
  };
  if (typeof RequestQueue.prototype.scheduleCheckPendingRequests !== 'function') return false;
  RequestQueue.prototype.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
  return true;
})();
