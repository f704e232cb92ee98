// The load generator, run in a worker thread so it never shares an event loop with anything it measures.
// Three shapes of load, each bounded in requests and in time and stopping by itself:
//   closed — C connections, each sends its next request as soon as the previous one is answered;
//   flash  — N buyers of one item as fast as C connections allow; each accepted buyer then waits for
//            its outcome (same Idempotency-Key, `Prefer: wait=N`) on a connection of its own;
//   rate   — open loop at R requests/s over C connections; latency counts from the scheduled send,
//            so a server that falls behind is not flattered (no coordinated omission);
//   fresh  — open loop at R requests/s as the public sends them: every request a distinct buyer, on a
//            fresh TCP connection of its own, from its own loopback address (127.x.y.z), closed after
//            the answer. The generator's own lag (actual send − schedule) is measured too.
import { connect } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { presign, tokenOf } from './buyer-tokens.mjs';
import { HttpConnection, getHead, jsonPostHead } from './raw-http.mjs';

const now = () => performance.now();
/** Wall-clock milliseconds with sub-millisecond precision, comparable across threads and processes. */
const wallClock = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class Samples {
  constructor(capacity = 1 << 16) {
    this.values = new Float64Array(capacity);
    this.length = 0;
  }
  push(value) {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }
  buffer() {
    return this.values.slice(0, this.length).buffer;
  }
}

/** `count`: how many buy requests the phase may send at most; their tokens are signed now, untimed. */
function requestBuilder(port, recipe, count = 0) {
  switch (recipe.kind) {
    case 'buy':
      // Enough for a full phase at several thousand requests/s; beyond it, tokens are signed as sent.
      presign(recipe.tag, Math.min(count, 50_000));
      return (i, prefer) =>
        buyRequest(port, recipe.itemId, `${recipe.tag}b${i}`, `${recipe.tag}k${i}`, prefer);
    case 'post': {
      const body = JSON.stringify(recipe.body);
      const head = jsonPostHead(port, recipe.path, Buffer.byteLength(body));
      return () => ({ head, body });
    }
    case 'get': {
      const head = getHead(port, recipe.path);
      return () => ({ head, body: undefined });
    }
    default:
      throw new TypeError(`unknown request recipe ${recipe.kind}`);
  }
}

function buyRequest(port, itemId, buyerId, key, prefer) {
  const body = `{"buyerId":"${buyerId}"}`;
  const extra = `Authorization: Bearer ${tokenOf(buyerId)}\r\nIdempotency-Key: ${key}\r\n${prefer ? `Prefer: ${prefer}\r\n` : ''}`;
  return { head: jsonPostHead(port, `/items/${itemId}/buy-now`, body.length, extra), body };
}

function progressTicker(report) {
  const timer = setInterval(() => parentPort.postMessage({ type: 'progress', ...report() }), 1_000);
  return () => clearInterval(timer);
}

/** Keeps a few unexpected answers, so a failing run says why. */
function sampler(limit = 5) {
  const kept = [];
  return {
    keep(what) {
      if (kept.length < limit) kept.push(String(what).slice(0, 300));
    },
    kept,
  };
}

async function closedLoop({ port, connections, durationMs, maxRequests, recipe, okStatuses }) {
  const build = requestBuilder(port, recipe, maxRequests);
  const ok = new Set(okStatuses);
  const latencies = new Samples();
  const counts = {};
  const unexpected = sampler();
  let issued = 0;
  let answered = 0;
  const started = now();
  const deadline = started + durationMs;
  const stopTicker = progressTicker(() => ({
    done: answered,
    ok: latencies.length,
    elapsedMs: now() - started,
  }));
  const lane = async () => {
    const connection = new HttpConnection(port);
    try {
      while (issued < maxRequests && now() < deadline) {
        const { head, body } = build(issued++);
        const sentAt = now();
        try {
          const answer = await connection.request(head, body);
          answered++;
          counts[answer.status] = (counts[answer.status] ?? 0) + 1;
          if (ok.has(answer.status)) latencies.push(now() - sentAt);
          else unexpected.keep(`${answer.status} ${answer.body}`);
        } catch (error) {
          counts.error = (counts.error ?? 0) + 1;
          unexpected.keep(error.message);
          await sleep(20);
        }
      }
    } finally {
      connection.close();
    }
  };
  await Promise.all(Array.from({ length: connections }, lane));
  stopTicker();
  const elapsedMs = now() - started;
  return {
    result: { elapsedMs, issued, answered, counts, okCount: latencies.length, unexpected: unexpected.kept },
    buffers: { latencies: latencies.buffer() },
  };
}

const OUTCOME = { none: 0, confirmed: 1, rejectedLater: 2, refusedAtGate: 3 };

async function flashSale({
  port,
  buyers,
  connections,
  waiterConnections,
  itemId,
  tag,
  waitSeconds,
  timeoutMs,
}) {
  presign(tag, buyers);
  const firstSentAt = new Float64Array(buyers).fill(-1);
  const finalAt = new Float64Array(buyers).fill(-1);
  const outcome = new Uint8Array(buyers);
  const counts = { buy: {}, wait: {} };
  const unexpected = sampler();
  const accepted = []; // [buyer index, purchaseId]
  let answered = 0;
  let next = 0;
  let lastAcceptedAt = -1;
  let lastConfirmedAt = -1;
  const started = now();
  const startedWall = wallClock();
  const deadline = started + timeoutMs;
  const at = () => now() - started;
  const count = (bucket, key) => (bucket[key] = (bucket[key] ?? 0) + 1);

  // Accepted buyers waiting for their outcome, and idle waiter lanes parked until there is one.
  const waiting = [];
  const parked = [];
  let buyersDone = false;
  const enqueueWaiter = (i) => {
    waiting.push(i);
    parked.pop()?.();
  };
  const park = () => new Promise((resolve) => parked.push(resolve));
  const stopTicker = progressTicker(() => ({
    done: next,
    answered,
    waiting: waiting.length,
    elapsedMs: at(),
  }));

  const buyerLane = async () => {
    const connection = new HttpConnection(port);
    try {
      while (next < buyers && now() < deadline) {
        const i = next++;
        for (let attempt = 0; now() < deadline; attempt++) {
          const { head, body } = buyRequest(port, itemId, `${tag}b${i}`, `${tag}k${i}`);
          if (firstSentAt[i] < 0) firstSentAt[i] = at();
          let answer;
          try {
            answer = await connection.request(head, body);
          } catch (error) {
            count(counts.buy, 'error');
            unexpected.keep(error.message);
            await sleep(Math.min(200, 10 * 2 ** attempt));
            continue;
          }
          count(counts.buy, answer.status);
          if (answer.status === 409) {
            finalAt[i] = at();
            outcome[i] = OUTCOME.refusedAtGate;
            answered++;
          } else if (answer.status === 202) {
            lastAcceptedAt = at();
            const purchaseId = JSON.parse(answer.body).purchaseId;
            accepted.push([i, purchaseId]);
            enqueueWaiter(i);
          } else {
            // 429 or 503: not an answer a buyer keeps; retry with the same key, as a client would.
            unexpected.keep(`${answer.status} ${answer.body}`);
            await sleep(Math.min(200, 10 * 2 ** attempt));
            continue;
          }
          break;
        }
      }
    } finally {
      connection.close();
    }
  };

  const waiterLane = async () => {
    const connection = new HttpConnection(port);
    try {
      while (now() < deadline) {
        const i = waiting.shift();
        if (i === undefined) {
          if (buyersDone) return;
          await park();
          continue;
        }
        const { head, body } = buyRequest(port, itemId, `${tag}b${i}`, `${tag}k${i}`, `wait=${waitSeconds}`);
        let answer;
        try {
          answer = await connection.request(head, body);
        } catch (error) {
          count(counts.wait, 'error');
          unexpected.keep(error.message);
          waiting.push(i);
          await sleep(20);
          continue;
        }
        count(counts.wait, answer.status);
        if (answer.status === 201) {
          finalAt[i] = at();
          lastConfirmedAt = finalAt[i];
          outcome[i] = OUTCOME.confirmed;
          answered++;
        } else if (answer.status === 409) {
          finalAt[i] = at();
          outcome[i] = OUTCOME.rejectedLater;
          answered++;
        } else {
          if (answer.status !== 202) unexpected.keep(`${answer.status} ${answer.body}`);
          waiting.push(i); // still pending after the wait: wait again
        }
      }
    } finally {
      connection.close();
    }
  };

  const waiters = Array.from({ length: waiterConnections }, waiterLane);
  await Promise.all(Array.from({ length: connections }, buyerLane));
  buyersDone = true;
  for (const wake of parked.splice(0)) wake();
  await Promise.all(waiters);
  stopTicker();
  return {
    result: {
      elapsedMs: at(),
      startedWall,
      dispatched: next,
      answered,
      counts,
      lastAcceptedAtMs: lastAcceptedAt,
      lastConfirmedAtMs: lastConfirmedAt,
      accepted,
      unexpected: unexpected.kept,
    },
    buffers: { firstSentAt: firstSentAt.buffer, finalAt: finalAt.buffer, outcome: outcome.buffer },
  };
}

/**
 * Issues requests 0 … total−1 on an open-loop schedule of `rate` per second from `started`: every tick
 * (≈ 1 ms) calls `issue(i)` for each request due by now, late ones included. Resolves once all are issued.
 */
function onSchedule({ rate, total, started, issue, afterTick }) {
  let issued = 0;
  return new Promise((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((now() - started) * rate) / 1000));
      while (issued < due) issue(issued++);
      afterTick?.(issued);
      if (issued >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
}

async function openLoop({ port, rate, durationMs, connections, recipe, drainMs }) {
  const total = Math.floor((rate * durationMs) / 1000);
  const build = requestBuilder(port, recipe, total);
  const scheduledAt = new Float64Array(total).fill(-1); // wall clock
  const answeredAt = new Float64Array(total).fill(-1); // wall clock
  const status = new Uint16Array(total);
  const purchaseIds = new Array(total);
  const counts = {};
  const unexpected = sampler();
  const idle = Array.from({ length: connections }, () => new HttpConnection(port));
  const all = [...idle];
  const backlog = [];
  let issued = 0;
  let answered = 0;
  let maxBacklog = 0;
  const started = now();
  const startedWall = wallClock();
  const stopTicker = progressTicker(() => ({
    done: issued,
    answered,
    backlog: backlog.length,
    elapsedMs: now() - started,
  }));

  const send = (connection, i) => {
    const { head, body } = build(i);
    connection.request(head, body).then(
      (answer) => {
        answeredAt[i] = wallClock();
        status[i] = answer.status;
        counts[answer.status] = (counts[answer.status] ?? 0) + 1;
        if (answer.status === 202) purchaseIds[i] = JSON.parse(answer.body).purchaseId;
        else unexpected.keep(`${answer.status} ${answer.body}`);
        done(connection);
      },
      (error) => {
        counts.error = (counts.error ?? 0) + 1;
        unexpected.keep(error.message);
        done(connection);
      },
    );
  };
  const done = (connection) => {
    answered++;
    const queued = backlog.shift();
    if (queued === undefined) idle.push(connection);
    else send(connection, queued);
  };

  // Every tick issues whatever the schedule says is due by now.
  await onSchedule({
    rate,
    total,
    started,
    issue: (i) => {
      issued = i + 1;
      scheduledAt[i] = startedWall + (i * 1000) / rate;
      const connection = idle.pop();
      if (connection === undefined) backlog.push(i);
      else send(connection, i);
    },
    afterTick: () => {
      maxBacklog = Math.max(maxBacklog, backlog.length);
    },
  });
  const drainDeadline = now() + drainMs;
  while (answered < total && now() < drainDeadline) await sleep(10);
  stopTicker();
  for (const connection of all) connection.close();
  return {
    result: {
      elapsedMs: now() - started,
      total,
      answered,
      counts,
      maxBacklog,
      purchaseIds,
      unexpected: unexpected.kept,
    },
    buffers: { scheduledAt: scheduledAt.buffer, answeredAt: answeredAt.buffer, status: status.buffer },
  };
}

/** The i-th distinct loopback source address: 127.1.0.1, 127.1.0.2, … (never .0 or .255 last). */
export function loopbackAddress(i) {
  const host = (i % 254) + 1;
  const middle = Math.floor(i / 254);
  return `127.${1 + Math.floor(middle / 256)}.${middle % 256}.${host}`;
}

/** One request on a connection of its own from `localAddress`; resolves with the status (0: failed). */
function requestOnFreshConnection(port, localAddress, head, body, timeoutMs) {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    socket.setNoDelay(true);
    let first = null;
    let settled = false;
    const finish = (status, error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ status, error });
    };
    const timer = setTimeout(() => finish(0, 'timed out'), timeoutMs);
    socket.once('connect', () => socket.write(head + body));
    socket.on('data', (chunk) => {
      first ??= chunk;
      // The status line is all that is needed; the server closes the connection after the answer.
      if (first.length >= 12) finish(Number(first.toString('latin1', 9, 12)));
    });
    socket.once('error', (error) => finish(0, error.code ?? error.message));
    socket.once('close', () => finish(0, 'closed before an answer'));
  });
}

async function freshConnections({ port, rate, durationMs, itemId, tag, timeoutMs, drainMs }) {
  const total = Math.floor((rate * durationMs) / 1000);
  // Tokens and requests made before the clock starts: the generator must keep up with the schedule.
  presign(tag, total);
  const requests = Array.from({ length: total }, (_, i) => {
    const buyerId = `${tag}b${i}`;
    const body = `{"buyerId":"${buyerId}"}`;
    const extra = `Authorization: Bearer ${tokenOf(buyerId)}\r\nIdempotency-Key: ${tag}k${i}\r\nConnection: close\r\n`;
    return { head: jsonPostHead(port, `/items/${itemId}/buy-now`, body.length, extra), body };
  });
  const latency = new Float64Array(total).fill(-1); // from the scheduled send, ms
  const lag = new Float64Array(total).fill(-1); // actual send − scheduled send, ms
  const status = new Uint16Array(total);
  const counts = {};
  const unexpected = sampler();
  let issued = 0;
  let answered = 0;
  const started = now();
  const stopTicker = progressTicker(() => ({ done: issued, answered, elapsedMs: now() - started }));
  await onSchedule({
    rate,
    total,
    started,
    issue: (i) => {
      issued = i + 1;
      const scheduled = started + (i * 1000) / rate;
      lag[i] = now() - scheduled;
      const { head, body } = requests[i];
      void requestOnFreshConnection(port, loopbackAddress(i), head, body, timeoutMs).then(
        ({ status: code, error }) => {
          answered++;
          status[i] = code;
          latency[i] = now() - scheduled;
          const key = code === 0 ? 'error' : String(code);
          counts[key] = (counts[key] ?? 0) + 1;
          if (code !== 202) unexpected.keep(code === 0 ? error : `${code}`);
        },
      );
    },
  });
  const drainDeadline = now() + drainMs;
  while (answered < total && now() < drainDeadline) await sleep(10);
  stopTicker();
  return {
    result: { elapsedMs: now() - started, total, answered, counts, unexpected: unexpected.kept },
    buffers: { latency: latency.buffer, lag: lag.buffer, status: status.buffer },
  };
}

const modes = { closed: closedLoop, flash: flashSale, rate: openLoop, fresh: freshConnections };

try {
  const run = modes[workerData.mode];
  if (!run) throw new TypeError(`unknown load mode ${workerData.mode}`);
  const { result, buffers } = await run(workerData);
  parentPort.postMessage({ type: 'result', result, buffers }, Object.values(buffers));
} catch (error) {
  parentPort.postMessage({
    type: 'error',
    message: error instanceof Error ? (error.stack ?? error.message) : String(error),
  });
}
