// The reservation store on PostgreSQL. A hot item is one row everybody wants: its transaction takes
// the row lock first, reads and writes with a handful of set-based statements, and commits, so the
// lock is held for a few round trips whatever the size of the batch.
import pg from 'pg';
import { closePostgresPool, createPostgresPool } from '@buy-now/sql-schema';
import {
  holdsPurchaseKey,
  purchaseKeyOf,
  ReservationStoreError,
  type DecisionKeys,
  type DecisionToPersist,
  type ItemState,
  type OutboxRow,
  type PersistedDecision,
  type ReservationStore,
  type StoredContext,
  type StoredItemEvent,
} from '../../domain/index.js';
import { checkDecision, outboxIdsInOrder } from './decision-checks.js';
import {
  conflict,
  itemColumns,
  itemStateOf,
  messageOf,
  purchaseColumns,
  purchaseRowOf,
  type ItemRecord,
  type PurchaseRecord,
} from './sql-rows.js';

export type PostgresStoreOptions =
  | {
      connectionString: string;
      /** Connections in the pool; default 10. */
      poolSize?: number;
      /** An idle connection broke; the pool has already dropped it. Report it: it is not retried. */
      onPoolError: (error: Error) => void;
    }
  | {
      /** A pool owned by the caller: close() leaves it open. */
      pool: pg.Pool;
    };

// Epoch milliseconds in and out of timestamptz, the same way everywhere.
const fromMs = (sql: string): string => `to_timestamp((${sql})::bigint / 1000.0)`;
const toMs = (sql: string): string => `(extract(epoch FROM ${sql}) * 1000)::bigint`;

const ITEM_COLUMNS = itemColumns(toMs);

const PURCHASE_COLUMNS = purchaseColumns(toMs);

type Query = <R extends pg.QueryResultRow = pg.QueryResultRow>(
  text: string,
  values?: unknown[],
) => Promise<pg.QueryResult<R>>;

const OUTBOX_COLUMNS = `id, topic, record_key, record_value, headers, ${toMs('created_at')} AS created_at_ms`;

interface OutboxRecordRow {
  id: string;
  topic: string;
  record_key: string;
  record_value: Buffer;
  headers: Record<string, string>;
  created_at_ms: string;
}

export function createPostgresStore(options: PostgresStoreOptions): ReservationStore {
  const ownsPool = !('pool' in options);
  const pool =
    'pool' in options
      ? options.pool
      : createPostgresPool({
          connectionString: options.connectionString,
          max: options.poolSize ?? 10,
          onIdleError: options.onPoolError,
        });

  async function query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    try {
      return (await pool.query<R>(text, values)).rows;
    } catch (error) {
      throw storeErrorOf(error);
    }
  }

  async function decideForItem<D extends DecisionToPersist>(
    itemId: string,
    keys: DecisionKeys,
    decide: (context: StoredContext) => D,
  ): Promise<PersistedDecision<D>> {
    const client = await pool.connect().catch((error: unknown) => {
      throw storeErrorOf(error);
    });
    // A connection that breaks between two queries reports it as an 'error' event, which would crash
    // the process without a listener; the next query fails on it anyway, so noting it is enough.
    let broken = false;
    const onBroken = (): void => {
      broken = true;
    };
    client.on('error', onBroken);
    const release = (destroy: boolean): void => {
      client.off('error', onBroken);
      client.release(destroy || broken);
    };
    // Every SQL failure becomes a ReservationStoreError here; whatever else is thrown is decide's own.
    const sql: Query = async (text, values) => {
      try {
        return await client.query(text, values);
      } catch (error) {
        throw storeErrorOf(error);
      }
    };
    try {
      await sql('BEGIN');
    } catch (error) {
      release(true);
      throw error;
    }
    try {
      const state = await lockItem(sql, itemId);
      const context = await loadContext(sql, itemId, state, keys);
      const decision = decide(context);
      checkDecision(itemId, state, decision);
      const leftOver = await unpublishedOutboxOf(sql, itemId);
      const outbox = [...leftOver, ...(await persist(sql, itemId, state, decision))];
      await sql('COMMIT');
      release(false);
      return { decision, outbox, outboxIds: outbox.map((row) => row.id) };
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        // Closing the connection ends the transaction on the server side.
        release(true);
        throw new ReservationStoreError(
          'RESERVATION_STORE_UNAVAILABLE',
          `rolling back item ${itemId} failed after: ${messageOf(error)}`,
          { cause: error, rollbackError },
        );
      }
      release(false);
      throw error;
    }
  }

  return {
    decideForItem,

    async unpublishedOutbox(limit) {
      const rows = await query<OutboxRecordRow>(
        `SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1`,
        [limit],
      );
      return rows.map(outboxRowOf);
    },

    async markPublished(ids) {
      if (ids.length === 0) return;
      await query(
        'UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[]) AND published_at IS NULL',
        [ids],
      );
    },

    async getItem(itemId) {
      const rows = await query<ItemRecord>(`SELECT ${ITEM_COLUMNS} FROM items WHERE item_id = $1`, [itemId]);
      return rows[0] === undefined ? null : itemStateOf(rows[0]);
    },

    async listItems() {
      const rows = await query<ItemRecord>(`SELECT ${ITEM_COLUMNS} FROM items ORDER BY item_id`);
      return rows.map(itemStateOf);
    },

    async getPurchase(purchaseId) {
      const rows = await query<PurchaseRecord>(
        `SELECT ${PURCHASE_COLUMNS} FROM purchases WHERE purchase_id = $1`,
        [purchaseId],
      );
      return rows[0] === undefined ? null : purchaseRowOf(rows[0]);
    },

    async itemEvents(itemId, fromVersion = 1) {
      const rows = await query<{
        version: string;
        event_type: string;
        payload: unknown;
        occurred_at_ms: string;
      }>(
        `SELECT version, event_type, payload, ${toMs('occurred_at')} AS occurred_at_ms
         FROM item_events WHERE item_id = $1 AND version >= $2 ORDER BY version`,
        [itemId, fromVersion],
      );
      return rows.map((row): StoredItemEvent => ({
        version: Number(row.version),
        name: row.event_type,
        payload: row.payload,
        occurredAt: Number(row.occurred_at_ms),
      }));
    },

    async ping() {
      await query('SELECT 1');
    },

    async close() {
      if (ownsPool) await closePostgresPool(pool);
    },
  };
}

/**
 * Locks the item row. An item without a row has nothing to lock, so its id is locked instead
 * (transaction-scoped advisory lock) and the row is read again: whoever created it meanwhile has
 * committed by then, and its row is locked like any other.
 */
async function lockItem(sql: Query, itemId: string): Promise<ItemState | null> {
  const lockRow = `SELECT ${ITEM_COLUMNS} FROM items WHERE item_id = $1 FOR UPDATE`;
  const first = await sql<ItemRecord>(lockRow, [itemId]);
  if (first.rows[0] !== undefined) return itemStateOf(first.rows[0]);
  await sql("SELECT pg_advisory_xact_lock(hashtextextended('buy-now:item:' || $1, 0))", [itemId]);
  const second = await sql<ItemRecord>(lockRow, [itemId]);
  return second.rows[0] === undefined ? null : itemStateOf(second.rows[0]);
}

async function loadContext(
  sql: Query,
  itemId: string,
  state: ItemState | null,
  keys: DecisionKeys,
): Promise<StoredContext> {
  const decided =
    keys.purchaseIds.length === 0
      ? []
      : (
          await sql<{ purchase_id: string }>(
            'SELECT purchase_id FROM purchases WHERE purchase_id = ANY($1::text[])',
            [keys.purchaseIds],
          )
        ).rows;
  const units =
    keys.buyerIds.length === 0 || state === null
      ? []
      : (
          await sql<{ buyer_id: string; units: string }>(
            `SELECT buyer_id, sum(quantity) AS units FROM purchases
             WHERE item_id = $1 AND status = 'confirmed' AND buyer_id = ANY($2::text[])
             GROUP BY buyer_id`,
            [itemId, keys.buyerIds],
          )
        ).rows;
  // One lookup for the whole batch, by the primary key of purchase_keys; under the item's row lock, so
  // no other transaction can give one of these keys to a purchase before this one commits.
  const held =
    keys.purchaseKeys.length === 0
      ? []
      : (
          await sql<{ buyer_id: string; idempotency_key: string; purchase_id: string }>(
            `SELECT k.buyer_id, k.idempotency_key, k.purchase_id
             FROM unnest($2::text[], $3::text[]) AS q(buyer_id, idempotency_key)
             JOIN purchase_keys AS k
               ON k.item_id = $1 AND k.buyer_id = q.buyer_id AND k.idempotency_key = q.idempotency_key`,
            [
              itemId,
              keys.purchaseKeys.map((key) => key.buyerId),
              keys.purchaseKeys.map((key) => key.idempotencyKey),
            ],
          )
        ).rows;
  const processed =
    keys.commandIds.length === 0
      ? []
      : (
          await sql<{ command_id: string }>(
            'SELECT command_id FROM processed_commands WHERE command_id = ANY($1::text[])',
            [keys.commandIds],
          )
        ).rows;
  return {
    state,
    decidedPurchaseIds: new Set(decided.map((row) => row.purchase_id)),
    purchaseIdsByKey: new Map(
      held.map((row) => [purchaseKeyOf(row.buyer_id, row.idempotency_key), row.purchase_id]),
    ),
    confirmedUnitsByBuyer: new Map(units.map((row) => [row.buyer_id, Number(row.units)])),
    processedCommandIds: new Set(processed.map((row) => row.command_id)),
  };
}

/**
 * Rows of this item that an earlier transaction committed but nobody published (the process died
 * between commit and publish). They go out before this decision's rows, so the item's events reach
 * the topic in version order; redelivery re-emits a stored outcome this way.
 */
async function unpublishedOutboxOf(sql: Query, itemId: string): Promise<OutboxRow[]> {
  const result = await sql<OutboxRecordRow>(
    `SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE published_at IS NULL AND record_key = $1 ORDER BY id`,
    [itemId],
  );
  return result.rows.map(outboxRowOf);
}

async function persist(
  sql: Query,
  itemId: string,
  previous: ItemState | null,
  decision: DecisionToPersist,
): Promise<OutboxRow[]> {
  const next = decision.state;
  if (next !== null) {
    const values = [
      itemId,
      next.title,
      next.priceMinor,
      next.currency,
      next.perBuyerLimit,
      next.startsAt,
      next.listed,
      next.sold,
      next.remaining,
      next.version,
    ];
    if (previous === null) {
      const inserted = await sql(
        `INSERT INTO items (item_id, title, price_minor, currency, per_buyer_limit, starts_at, listed, sold,
           remaining, version)
         VALUES ($1, $2, $3, $4, $5, ${fromMs('$6')}, $7, $8, $9, $10)
         ON CONFLICT (item_id) DO NOTHING`,
        values,
      );
      if (inserted.rowCount !== 1) throw conflict(`item ${itemId} was created by another transaction`);
    } else {
      const updated = await sql(
        `UPDATE items SET title = $2, price_minor = $3, currency = $4, per_buyer_limit = $5,
           starts_at = ${fromMs('$6')}, listed = $7, sold = $8, remaining = $9, version = $10, updated_at = now()
         WHERE item_id = $1 AND version = $11`,
        [...values, previous.version],
      );
      if (updated.rowCount !== 1) throw conflict(`item ${itemId} changed under its row lock`);
    }
  }

  if (decision.purchases.length > 0) {
    const rows = decision.purchases;
    await sql(
      `INSERT INTO purchases (purchase_id, item_id, buyer_id, quantity, status, reason, idempotency_key,
         admission_seq, admitted_at, decided_at, item_version)
       SELECT p.purchase_id, p.item_id, p.buyer_id, p.quantity, p.status, p.reason, p.idempotency_key,
         p.admission_seq, ${fromMs('p.admitted_at')}, ${fromMs('p.decided_at')}, p.item_version
       FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[],
         $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[])
         AS p(purchase_id, item_id, buyer_id, quantity, status, reason, idempotency_key, admission_seq,
           admitted_at, decided_at, item_version)`,
      [
        rows.map((r) => r.purchaseId),
        rows.map((r) => r.itemId),
        rows.map((r) => r.buyerId),
        rows.map((r) => r.quantity),
        rows.map((r) => r.status),
        rows.map((r) => r.reason),
        rows.map((r) => r.idempotencyKey),
        rows.map((r) => r.admissionSeq),
        rows.map((r) => r.admittedAt),
        rows.map((r) => r.decidedAt),
        rows.map((r) => r.itemVersion),
      ],
    );
    // The backstop: a second holder of one key violates purchase_keys_pk and the whole decision rolls back.
    const holders = rows.filter(holdsPurchaseKey);
    if (holders.length > 0) {
      await sql(
        `INSERT INTO purchase_keys (item_id, buyer_id, idempotency_key, purchase_id)
         SELECT $1, k.buyer_id, k.idempotency_key, k.purchase_id
         FROM unnest($2::text[], $3::text[], $4::text[]) AS k(buyer_id, idempotency_key, purchase_id)`,
        [
          itemId,
          holders.map((r) => r.buyerId),
          holders.map((r) => r.idempotencyKey),
          holders.map((r) => r.purchaseId),
        ],
      );
    }
  }

  if (decision.events.length > 0) {
    const events = decision.events;
    await sql(
      `INSERT INTO item_events (item_id, version, event_type, payload, occurred_at)
       SELECT $1, e.version, e.event_type, e.payload, ${fromMs('e.occurred_at')}
       FROM unnest($2::bigint[], $3::text[], $4::jsonb[], $5::bigint[]) AS e(version, event_type, payload, occurred_at)`,
      [
        itemId,
        events.map((e) => e.version),
        events.map((e) => e.name),
        events.map((e) => JSON.stringify(e.payload)),
        events.map((e) => e.occurredAt),
      ],
    );
  }

  if (decision.processedCommandIds.length > 0) {
    await sql(
      'INSERT INTO processed_commands (command_id, item_id) SELECT c, $1 FROM unnest($2::text[]) AS c',
      [itemId, decision.processedCommandIds],
    );
  }

  if (decision.outbox.length === 0) return [];
  const records = decision.outbox;
  // Ids are drawn in the ORDER BY order, so sorting them back gives each record its own id.
  const inserted = await sql<{ id: string; created_at_ms: string }>(
    `INSERT INTO outbox (topic, record_key, record_value, headers)
     SELECT o.topic, o.record_key, o.record_value, o.headers
     FROM unnest($1::text[], $2::text[], $3::bytea[], $4::jsonb[]) WITH ORDINALITY
       AS o(topic, record_key, record_value, headers, ord)
     ORDER BY o.ord
     RETURNING id, ${toMs('created_at')} AS created_at_ms`,
    [
      records.map((r) => r.topic),
      records.map((r) => r.key),
      records.map((r) => r.value),
      records.map((r) => JSON.stringify(r.headers)),
    ],
  );
  const createdAt = new Map(inserted.rows.map((row) => [row.id, Number(row.created_at_ms)]));
  return outboxIdsInOrder(
    inserted.rows.map((row) => row.id),
    records.length,
  ).map((id, index) => ({ ...records[index]!, id, createdAt: createdAt.get(id) ?? 0 }));
}

function outboxRowOf(row: OutboxRecordRow): OutboxRow {
  return {
    id: row.id,
    topic: row.topic,
    key: row.record_key,
    value: row.record_value,
    headers: row.headers,
    createdAt: Number(row.created_at_ms),
  };
}

/** Classifies a failure by SQLSTATE (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
function storeErrorOf(error: unknown): ReservationStoreError {
  if (error instanceof ReservationStoreError) return error;
  if (!(error instanceof pg.DatabaseError)) {
    // No SQLSTATE: the connection failed or broke (refused, reset, terminated, timed out).
    return new ReservationStoreError('RESERVATION_STORE_UNAVAILABLE', `PostgreSQL: ${messageOf(error)}`, {
      cause: error,
    });
  }
  const code = error.code ?? '';
  const detail = `PostgreSQL ${code}: ${error.message}`;
  // Unique violation (two writers, one key), serialization failure, deadlock, lock not available.
  if (code === '23505' || code === '40001' || code === '40P01' || code === '55P03') {
    return new ReservationStoreError('RESERVATION_STORE_CONFLICT', detail, { cause: error });
  }
  // Connection exceptions, operator intervention (shutdown, restart), too many connections.
  if (code.startsWith('08') || code.startsWith('57P') || code === '53300') {
    return new ReservationStoreError('RESERVATION_STORE_UNAVAILABLE', detail, { cause: error });
  }
  // Integrity constraints other than uniqueness (CHECK, NOT NULL), and data exceptions.
  if (code.startsWith('23') || code.startsWith('22')) {
    return new ReservationStoreError('RESERVATION_STORE_CONSTRAINT_VIOLATED', detail, { cause: error });
  }
  return new ReservationStoreError('RESERVATION_STORE_FAILED', detail, { cause: error });
}
