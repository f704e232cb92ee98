// Reads what the system holds once it quiesced: SQL rows, item-events and item-commands from offset 0
// (decoded through the contracts), the Redis read model, the latest stock-views record per item, and the
// gateway's answer to GET /purchases/:id for every accepted purchase.
import { randomUUID } from 'node:crypto';
import { decode, Topics, type ItemEvent, type StockView } from '@buy-now/contracts';
import {
  deleteGroups,
  fetchCommittedOffsets,
  fetchTopicOffsets,
  runBatchConsumer,
  type ConsumedRecord,
  type KafkaClient,
} from '@buy-now/kafka';
import { createStockViewStore } from '@buy-now/read-model';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Gateway } from './buyers.js';
import type { LoggedEvent, SqlItem, SqlPurchase, StatusAnswer } from './invariants.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function readSqlItems(pool: pg.Pool): Promise<SqlItem[]> {
  const { rows } = await pool.query<{
    item_id: string;
    listed: number;
    sold: number;
    remaining: number;
    version: string;
    per_buyer_limit: number;
  }>('SELECT item_id, listed, sold, remaining, version, per_buyer_limit FROM items ORDER BY item_id');
  return rows.map((r) => ({
    itemId: r.item_id,
    listed: r.listed,
    sold: r.sold,
    remaining: r.remaining,
    version: Number(r.version),
    perBuyerLimit: r.per_buyer_limit,
  }));
}

export async function readSqlPurchases(pool: pg.Pool): Promise<SqlPurchase[]> {
  const { rows } = await pool.query<{
    purchase_id: string;
    item_id: string;
    buyer_id: string;
    quantity: number;
    status: 'confirmed' | 'rejected';
    reason: string | null;
    idempotency_key: string | null;
    admission_seq: string | null;
    admitted_at: Date | null;
  }>(
    `SELECT purchase_id, item_id, buyer_id, quantity, status, reason, idempotency_key, admission_seq, admitted_at
       FROM purchases`,
  );
  return rows.map((r) => ({
    purchaseId: r.purchase_id,
    itemId: r.item_id,
    buyerId: r.buyer_id,
    quantity: r.quantity,
    status: r.status,
    reason: r.reason,
    idempotencyKey: r.idempotency_key,
    admissionSeq: r.admission_seq === null ? null : Number(r.admission_seq),
    admittedAt: r.admitted_at === null ? null : r.admitted_at.getTime(),
  }));
}

export async function unpublishedOutboxRows(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    'SELECT count(*) AS n FROM outbox WHERE published_at IS NULL',
  );
  return Number(rows[0]?.n ?? 0);
}

/** Records the group has yet to commit on the topic (end offset minus committed, summed). */
export async function groupLag(kafka: KafkaClient, groupId: string, topic: string): Promise<number> {
  const [ends, committed] = await Promise.all([
    fetchTopicOffsets(kafka, topic),
    fetchCommittedOffsets(kafka, groupId, topic),
  ]);
  const at = new Map(committed.map((c) => [c.partition, BigInt(c.offset)]));
  let lag = 0n;
  for (const end of ends) {
    const high = BigInt(end.high);
    const done = at.get(end.partition) ?? -1n;
    lag += done < 0n ? high - BigInt(end.low) : high - done;
  }
  return Number(lag);
}

interface TopicRecord {
  partition: number;
  offset: bigint;
  record: ConsumedRecord;
}

/** Reads a topic from offset 0 to its current end with a fresh group, in (partition, offset) order. */
export async function readTopic(kafka: KafkaClient, topic: string): Promise<TopicRecord[]> {
  const ends = await fetchTopicOffsets(kafka, topic);
  const target = new Map(
    ends.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high)]),
  );
  const records: TopicRecord[] = [];
  if (target.size === 0) return records;
  const reached = new Map<number, bigint>();
  const groupId = `chaos-reader-${randomUUID().slice(0, 8)}`;
  const consumer = await runBatchConsumer(kafka, {
    groupId,
    topics: [topic],
    fromBeginning: true,
    logger: kafka.logger,
    handleBatch: (batch) => {
      for (const record of batch) {
        const offset = BigInt(record.offset);
        records.push({ partition: record.partition, offset, record });
        reached.set(record.partition, offset + 1n);
      }
      return Promise.resolve();
    },
  });
  try {
    const deadline = Date.now() + 120_000;
    while (![...target].every(([partition, high]) => (reached.get(partition) ?? 0n) >= high)) {
      if (Date.now() > deadline) throw new Error(`reading ${topic} to its end took over 120 s`);
      await sleep(100);
    }
  } finally {
    await consumer.stop();
    await deleteGroups(kafka, [groupId]).catch(() => undefined);
  }
  return records
    .filter((r) => r.offset < (target.get(r.partition) ?? 0n))
    .sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
}

export async function readItemEvents(kafka: KafkaClient): Promise<LoggedEvent[]> {
  return (await readTopic(kafka, Topics.itemEvents)).map(({ partition, offset, record }) => {
    const decoded = decode(record.headers, record.value);
    return { partition, offset, event: { name: decoded.name, value: decoded.value } as ItemEvent };
  });
}

/**
 * purchaseId → the gateway instance that admitted it, from the BuyRequested commands; and the purchases
 * whose first BuyRequested came after a later admission of the same instance and item (an instance
 * publishes its admissions in order, so only a reconciler's publish arrives late). An item's commands are
 * in one partition, in log order.
 */
export async function readAdmissions(
  kafka: KafkaClient,
): Promise<{ admittedBy: Map<string, string>; publishedLate: Set<string> }> {
  const admittedBy = new Map<string, string>();
  const publishedLate = new Set<string>();
  const highestSeq = new Map<string, number>();
  for (const { record } of await readTopic(kafka, Topics.itemCommands)) {
    const decoded = decode(record.headers, record.value);
    if (decoded.name !== 'BuyRequested' || admittedBy.has(decoded.value.purchaseId)) continue;
    const { purchaseId, gatewayId, itemId, admissionSeq } = decoded.value;
    admittedBy.set(purchaseId, gatewayId);
    const lane = `${gatewayId} ${itemId}`;
    if (admissionSeq < (highestSeq.get(lane) ?? -1)) publishedLate.add(purchaseId);
    else highestSeq.set(lane, admissionSeq);
  }
  return { admittedBy, publishedLate };
}

export async function readLatestStockViews(kafka: KafkaClient): Promise<Map<string, StockView>> {
  const latest = new Map<string, StockView>();
  for (const { record } of await readTopic(kafka, Topics.stockViews)) {
    const decoded = decode(record.headers, record.value);
    if (decoded.name === 'StockView') latest.set(decoded.value.itemId, decoded.value);
  }
  return latest;
}

export async function readReadModel(redis: Redis, prefix: string): Promise<Map<string, StockView>> {
  const views = await createStockViewStore({ redis, prefix }).list();
  return new Map(views.map((view) => [view.itemId, view]));
}

export async function askPurchaseStatuses(
  gateway: Gateway,
  purchaseIds: readonly string[],
): Promise<Map<string, StatusAnswer>> {
  const answers = new Map<string, StatusAnswer>();
  let next = 0;
  const lane = async () => {
    while (next < purchaseIds.length) {
      const purchaseId = purchaseIds[next++] as string;
      try {
        const response = await fetch(`${gateway.baseUrl}/purchases/${purchaseId}`, {
          signal: AbortSignal.timeout(15_000),
        });
        const body = (await response.json()) as { status?: string; reason?: string };
        answers.set(purchaseId, {
          status: response.status,
          ...(body.status === undefined ? {} : { purchaseStatus: body.status }),
          ...(body.reason === undefined ? {} : { reason: body.reason }),
        });
      } catch {
        answers.set(purchaseId, { status: 0 });
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, lane));
  return answers;
}
