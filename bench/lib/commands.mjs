// Writes item commands straight to a system's item-commands topic (as the gateway would have), so a
// scenario can put a whole sale in the log and time only the deciding. Also: how fast SQL decides them.
import { randomUUID } from 'node:crypto';
import { encode } from '@buy-now/contracts';
import { createDurableProducer } from '@buy-now/kafka';

const CHUNK = 10_000;

export function listItemCommand(itemId, stock) {
  return {
    name: 'ListItem',
    value: {
      commandId: randomUUID(),
      itemId,
      title: 'Benchmark item',
      priceMinor: 1_000,
      currency: 'EUR',
      stock,
      perBuyerLimit: 1,
      startsAt: null,
      requestedAt: Date.now(),
    },
  };
}

/** The n-th purchase (1-based) of one item; buyers distinct, admission order = n. */
export function buyCommand(itemId, n, tag) {
  return {
    name: 'BuyRequested',
    value: {
      purchaseId: randomUUID(),
      itemId,
      buyerId: `${tag}b${n}`,
      quantity: 1,
      idempotencyKey: `${tag}k${n}`,
      admittedAt: Date.now(),
      admissionSeq: n,
      gatewayId: 'bench',
    },
  };
}

/** Produces the commands in order (per item order is what matters), acks=all, in chunks. */
export async function produceCommands(system, commands, onProgress) {
  const producer = createDurableProducer(system.kafka, {
    maxQueuedRecords: CHUNK * 2,
    maxQueueWaitMs: 60_000,
    requestTimeoutMs: 30_000,
  });
  const topic = system.topic('item-commands');
  try {
    for (let at = 0; at < commands.length; at += CHUNK) {
      await Promise.all(
        commands.slice(at, at + CHUNK).map(({ name, value }) => {
          const record = encode(name, value);
          return producer.send({ topic, key: record.key, value: record.value, headers: record.headers });
        }),
      );
      onProgress?.(Math.min(commands.length, at + CHUNK));
    }
  } finally {
    await producer.stop();
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `SELECT sum(sold)` (one cheap query) until `expected` units are sold or the bound passes. The rate
 * runs from the first poll that saw progress to the one that saw the end, so start-up and group joins
 * are left out; the SQL decision times (decided_at) give a second opinion.
 */
export async function measureDecisionRate(
  system,
  { expected, itemIds, boundMs, intervalMs = 20, onProgress },
) {
  const soldQuery = itemIds
    ? {
        text: 'SELECT coalesce(sum(sold), 0)::bigint AS sold FROM items WHERE item_id = ANY($1)',
        values: [itemIds],
      }
    : { text: 'SELECT coalesce(sum(sold), 0)::bigint AS sold FROM items', values: [] };
  const started = performance.now();
  let first = null;
  let last = { at: started, sold: 0 };
  let lastReport = started;
  while (performance.now() - started < boundMs) {
    const { rows } = await system.pool.query(soldQuery);
    const sold = Number(rows[0].sold);
    const at = performance.now();
    if (first === null && sold > 0) first = { at, sold };
    last = { at, sold };
    if (sold >= expected) break;
    if (at - lastReport >= 1_000) {
      lastReport = at;
      onProgress?.(sold, (at - started) / 1000);
    }
    await sleep(intervalMs);
  }
  const { rows } = await system.pool.query(
    `SELECT count(*)::bigint AS n,
            (extract(epoch FROM max(decided_at) - min(decided_at)) * 1000)::float8 AS span_ms
       FROM purchases WHERE status = 'confirmed'`,
  );
  const decided = Number(rows[0].n);
  const spanMs = Number(rows[0].span_ms);
  const pollRate =
    first && last.at > first.at && last.sold > first.sold
      ? ((last.sold - first.sold) * 1000) / (last.at - first.at)
      : null;
  return {
    complete: last.sold >= expected,
    sold: last.sold,
    decided,
    firstProgressAfterMs: first ? Math.round(first.at - started) : null,
    allDecidedAfterMs: last.sold >= expected ? Math.round(last.at - started) : null,
    decidedPerSecond: pollRate,
    sqlSpanPerSecond: spanMs > 0 ? ((decided - 1) * 1000) / spanMs : null,
  };
}
