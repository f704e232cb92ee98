// The reservation store's PostgreSQL dialect: statements over unnest() arrays, one statement a round trip,
// errors by SQLSTATE. The steps of a decision are sql-store.ts's.
import { closePostgresPool, createPostgresPool, postgresTime } from '@buy-now/sql-schema';
import pg from 'pg';
import { ReservationStoreError, type ItemState } from '../../domain/index.js';
import { createSqlReservationStore, type SqlReservationStore } from './sql-store.js';
import type { CallResult, StoreDialect, StoreStatements } from './store-dialect.js';
import { itemColumns, messageOf, purchaseColumns } from './sql-rows.js';

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

export interface PostgresCall {
  text: string;
  values: unknown[];
}

const { fromMs, toMs } = postgresTime;
const ITEM_COLUMNS = itemColumns(toMs);
const PURCHASE_COLUMNS = purchaseColumns(toMs);
const OUTBOX_COLUMNS = `id, topic, record_key, record_value, headers, ${toMs('created_at')} AS created_at_ms`;

/** Every statement the dialect sends, by name. */
export const POSTGRES_STORE_STATEMENTS = {
  lockItem: `SELECT ${ITEM_COLUMNS} FROM items WHERE item_id = $1 FOR UPDATE`,
  // Transaction-scoped advisory lock on the id of an item without a row.
  lockAbsentItem: "SELECT pg_advisory_xact_lock(hashtextextended('buy-now:item:' || $1, 0))",
  decidedPurchases: 'SELECT purchase_id FROM purchases WHERE purchase_id = ANY($1::text[])',
  confirmedUnits: `SELECT buyer_id, sum(quantity) AS units FROM purchases
    WHERE item_id = $1 AND status = 'confirmed' AND buyer_id = ANY($2::text[])
    GROUP BY buyer_id`,
  heldPurchaseKeys: `SELECT k.buyer_id, k.idempotency_key, k.purchase_id
    FROM unnest($2::text[], $3::text[]) AS q(buyer_id, idempotency_key)
    JOIN purchase_keys AS k
      ON k.item_id = $1 AND k.buyer_id = q.buyer_id AND k.idempotency_key = q.idempotency_key`,
  processedCommands: 'SELECT command_id FROM processed_commands WHERE command_id = ANY($1::text[])',
  unpublishedOutboxOf: `SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE published_at IS NULL AND record_key = $1 ORDER BY id`,
  insertItem: `INSERT INTO items (item_id, title, price_minor, currency, per_buyer_limit, starts_at, listed, sold,
      remaining, version)
    VALUES ($1, $2, $3, $4, $5, ${fromMs('$6')}, $7, $8, $9, $10)
    ON CONFLICT (item_id) DO NOTHING`,
  updateItem: `UPDATE items SET title = $2, price_minor = $3, currency = $4, per_buyer_limit = $5,
      starts_at = ${fromMs('$6')}, listed = $7, sold = $8, remaining = $9, version = $10, updated_at = now()
    WHERE item_id = $1 AND version = $11`,
  insertPurchases: `INSERT INTO purchases (purchase_id, item_id, buyer_id, quantity, status, reason, idempotency_key,
      admission_seq, admitted_at, decided_at, item_version)
    SELECT p.purchase_id, p.item_id, p.buyer_id, p.quantity, p.status, p.reason, p.idempotency_key,
      p.admission_seq, ${fromMs('p.admitted_at')}, ${fromMs('p.decided_at')}, p.item_version
    FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[],
      $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[])
      AS p(purchase_id, item_id, buyer_id, quantity, status, reason, idempotency_key, admission_seq,
        admitted_at, decided_at, item_version)`,
  insertPurchaseKeys: `INSERT INTO purchase_keys (item_id, buyer_id, idempotency_key, purchase_id)
    SELECT $1, k.buyer_id, k.idempotency_key, k.purchase_id
    FROM unnest($2::text[], $3::text[], $4::text[]) AS k(buyer_id, idempotency_key, purchase_id)`,
  insertEvents: `INSERT INTO item_events (item_id, version, event_type, payload, occurred_at)
    SELECT $1, e.version, e.event_type, e.payload, ${fromMs('e.occurred_at')}
    FROM unnest($2::bigint[], $3::text[], $4::jsonb[], $5::bigint[]) AS e(version, event_type, payload, occurred_at)`,
  insertProcessedCommands:
    'INSERT INTO processed_commands (command_id, item_id) SELECT c, $1 FROM unnest($2::text[]) AS c',
  // Ids are drawn in the ORDER BY order.
  insertOutbox: `INSERT INTO outbox (topic, record_key, record_value, headers)
    SELECT o.topic, o.record_key, o.record_value, o.headers
    FROM unnest($1::text[], $2::text[], $3::bytea[], $4::jsonb[]) WITH ORDINALITY
      AS o(topic, record_key, record_value, headers, ord)
    ORDER BY o.ord
    RETURNING id, ${toMs('created_at')} AS created_at_ms`,
  unpublishedOutbox: `SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1`,
  markPublished:
    'UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[]) AND published_at IS NULL',
  getItem: `SELECT ${ITEM_COLUMNS} FROM items WHERE item_id = $1`,
  listItems: `SELECT ${ITEM_COLUMNS} FROM items ORDER BY item_id`,
  getPurchase: `SELECT ${PURCHASE_COLUMNS} FROM purchases WHERE purchase_id = $1`,
  itemEvents: `SELECT version, event_type, payload, ${toMs('occurred_at')} AS occurred_at_ms
    FROM item_events WHERE item_id = $1 AND version >= $2 ORDER BY version`,
  ping: 'SELECT 1',
} as const;

const T = POSTGRES_STORE_STATEMENTS;
const call = (text: string, values: unknown[] = []): PostgresCall => ({ text, values });

const statements: StoreStatements<PostgresCall> = {
  lockItem: (itemId) => call(T.lockItem, [itemId]),
  lockAbsentItem: (itemId) => call(T.lockAbsentItem, [itemId]),
  decidedPurchases: (ids) => call(T.decidedPurchases, [ids]),
  confirmedUnits: (itemId, buyerIds) => call(T.confirmedUnits, [itemId, buyerIds]),
  heldPurchaseKeys: (itemId, keys) =>
    call(T.heldPurchaseKeys, [itemId, keys.map((key) => key.buyerId), keys.map((key) => key.idempotencyKey)]),
  processedCommands: (ids) => call(T.processedCommands, [ids]),
  unpublishedOutboxOf: (itemId) => call(T.unpublishedOutboxOf, [itemId]),
  insertItem: (item) => call(T.insertItem, itemValues(item)),
  updateItem: (item, previousVersion) => call(T.updateItem, [...itemValues(item), previousVersion]),
  insertPurchases: (rows) =>
    call(T.insertPurchases, [
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
    ]),
  insertPurchaseKeys: (itemId, holders) =>
    call(T.insertPurchaseKeys, [
      itemId,
      holders.map((r) => r.buyerId),
      holders.map((r) => r.idempotencyKey),
      holders.map((r) => r.purchaseId),
    ]),
  insertEvents: (itemId, events) =>
    call(T.insertEvents, [
      itemId,
      events.map((e) => e.version),
      events.map((e) => e.name),
      events.map((e) => JSON.stringify(e.payload)),
      events.map((e) => e.occurredAt),
    ]),
  insertProcessedCommands: (itemId, ids) => call(T.insertProcessedCommands, [itemId, ids]),
  insertOutbox: (records) =>
    call(T.insertOutbox, [
      records.map((r) => r.topic),
      records.map((r) => r.key),
      records.map((r) => r.value),
      records.map((r) => JSON.stringify(r.headers)),
    ]),
  unpublishedOutbox: (limit) => call(T.unpublishedOutbox, [limit]),
  markPublished: (ids) => call(T.markPublished, [ids]),
  getItem: (itemId) => call(T.getItem, [itemId]),
  listItems: () => call(T.listItems),
  getPurchase: (purchaseId) => call(T.getPurchase, [purchaseId]),
  itemEvents: (itemId, fromVersion) => call(T.itemEvents, [itemId, fromVersion]),
  ping: () => call(T.ping),
};

function itemValues(item: ItemState): unknown[] {
  return [
    item.itemId,
    item.title,
    item.priceMinor,
    item.currency,
    item.perBuyerLimit,
    item.startsAt,
    item.listed,
    item.sold,
    item.remaining,
    item.version,
  ];
}

/** A pooled connection in a transaction, and how to give it back. */
interface PostgresTx {
  client: pg.PoolClient;
  release(destroy: boolean): void;
}

export function postgresStoreDialect(options: PostgresStoreOptions): StoreDialect<PostgresTx, PostgresCall> {
  const ownsPool = !('pool' in options);
  const pool =
    'pool' in options
      ? options.pool
      : createPostgresPool({
          connectionString: options.connectionString,
          max: options.poolSize ?? 10,
          onIdleError: options.onPoolError,
        });

  const execute = async (
    on: pg.Pool | pg.PoolClient,
    { text, values }: PostgresCall,
  ): Promise<CallResult> => {
    const result = await on.query(text, values);
    return { rows: result.rows as Record<string, unknown>[], rowCount: result.rowCount ?? 0 };
  };

  return {
    name: 'postgres',
    statements,
    outboxRowsPerInsert: Number.POSITIVE_INFINITY,

    async begin() {
      const client = await pool.connect();
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
      try {
        await client.query('BEGIN');
      } catch (error) {
        release(true);
        throw error;
      }
      return { client, release };
    },

    async run(tx, calls) {
      const results: CallResult[] = [];
      for (const one of calls) results.push(await execute(tx?.client ?? pool, one));
      return results;
    },

    async commit(tx) {
      await tx.client.query('COMMIT');
      tx.release(false);
    },

    async rollback(tx) {
      try {
        await tx.client.query('ROLLBACK');
      } catch (error) {
        // Closing the connection ends the transaction on the server side.
        tx.release(true);
        throw error;
      }
      tx.release(false);
    },

    headersOf: (value) => value as Record<string, string>,
    payloadOf: (value) => value,
    storeErrorOf,

    async close() {
      if (ownsPool) await closePostgresPool(pool);
    },
  };
}

export function createPostgresStore(options: PostgresStoreOptions): SqlReservationStore {
  return createSqlReservationStore(postgresStoreDialect(options));
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
