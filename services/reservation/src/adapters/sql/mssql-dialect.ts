// The reservation store's SQL Server dialect: what differs from PostgreSQL and nothing else. Lists go in
// as JSON (OPENJSON instead of unnest), the statements of one run go out as one batch (one round trip),
// errors are told by their number. The steps of a decision are sql-store.ts's, shared with PostgreSQL.
import { createMssqlPool, mssqlTime, type LazyMssqlPool } from '@buy-now/sql-schema';
import sql from 'mssql';
import { ReservationStoreError, type ItemState } from '../../domain/index.js';
import { createSqlReservationStore, type SqlReservationStore } from './sql-store.js';
import type { CallResult, StoreDialect, StoreStatements } from './store-dialect.js';
import { itemColumns, messageOf, purchaseColumns } from './sql-rows.js';

export type MssqlStoreOptions =
  | {
      /** An mssql:// or sqlserver:// URL, an ADO connection string, or a config already made. */
      connection: string | sql.config;
      /** Connections in the pool; default: the connection's own, else 10. */
      poolSize?: number;
      /** A pooled connection broke outside any call; the pool replaces it. Report it: it is not retried. */
      onPoolError: (error: Error) => void;
    }
  | {
      /** A connected pool owned by the caller: close() leaves it open. */
      pool: sql.ConnectionPool;
    };

interface MssqlParameter {
  name: string;
  type: sql.ISqlType | (() => sql.ISqlType);
  value: unknown;
}

export interface MssqlCall {
  text: string;
  parameters: MssqlParameter[];
  /** Whether the statement hands back a result set (its place among the batch's recordsets). */
  returnsRows: boolean;
}

const { fromMs, toMs } = mssqlTime;
const ITEM_COLUMNS = itemColumns(toMs);
const PURCHASE_COLUMNS = purchaseColumns(toMs);
const OUTBOX_COLUMNS = `id, topic, record_key, record_value, headers, ${toMs('created_at')} AS created_at_ms`;

// Ids are compared as nvarchar(400), wider than any id column, so an over-long id can never match a
// truncated one; inserting it fails instead.
const idsIn = (parameter: string): string =>
  `(SELECT j.id FROM OPENJSON(${parameter}) WITH (id nvarchar(400) '$') AS j)`;

/** Every statement the dialect sends, by name (the T-SQL parse test reads them all). */
export const MSSQL_STORE_STATEMENTS = {
  // HOLDLOCK makes the lock cover the key even when no row has it yet, so two first listings of one
  // item queue up too: no lock on the id is needed.
  lockItem: `SELECT ${ITEM_COLUMNS} FROM items WITH (UPDLOCK, ROWLOCK, HOLDLOCK) WHERE item_id = @itemId`,
  decidedPurchases: `SELECT purchase_id FROM purchases WHERE purchase_id IN ${idsIn('@purchaseIds')}`,
  confirmedUnits: `SELECT buyer_id, SUM(quantity) AS units FROM purchases
    WHERE item_id = @itemId AND status = 'confirmed' AND buyer_id IN ${idsIn('@buyerIds')}
    GROUP BY buyer_id`,
  heldPurchaseKeys: `SELECT k.buyer_id, k.idempotency_key, k.purchase_id
    FROM OPENJSON(@purchaseKeys) WITH (
      buyer_id nvarchar(400) '$.buyerId', idempotency_key nvarchar(400) '$.idempotencyKey') AS q
    JOIN purchase_keys AS k
      ON k.item_id = @itemId AND k.buyer_id = q.buyer_id COLLATE Latin1_General_100_BIN2
        AND k.idempotency_key = q.idempotency_key COLLATE Latin1_General_100_BIN2`,
  processedCommands: `SELECT command_id FROM processed_commands WHERE command_id IN ${idsIn('@commandIds')}`,
  unpublishedOutboxOf: `SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE published_at IS NULL AND record_key = @itemId ORDER BY id`,
  insertItem: `INSERT INTO items (item_id, title, price_minor, currency, per_buyer_limit, starts_at, listed, sold,
      remaining, version)
    SELECT @itemId, @title, @priceMinor, @currency, @perBuyerLimit, ${fromMs('@startsAt')}, @listed, @sold,
      @remaining, @version
    WHERE NOT EXISTS (SELECT 1 FROM items WITH (UPDLOCK, HOLDLOCK) WHERE item_id = @itemId)`,
  updateItem: `UPDATE items SET title = @title, price_minor = @priceMinor, currency = @currency,
      per_buyer_limit = @perBuyerLimit, starts_at = ${fromMs('@startsAt')}, listed = @listed, sold = @sold,
      remaining = @remaining, version = @version, updated_at = SYSUTCDATETIME()
    WHERE item_id = @itemId AND version = @previousVersion`,
  insertPurchases: `INSERT INTO purchases (purchase_id, item_id, buyer_id, quantity, status, reason, idempotency_key,
      admission_seq, admitted_at, decided_at, item_version)
    SELECT p.purchase_id, p.item_id, p.buyer_id, p.quantity, p.status, p.reason, p.idempotency_key,
      p.admission_seq, ${fromMs('p.admitted_at')}, ${fromMs('p.decided_at')}, p.item_version
    FROM OPENJSON(@purchaseRows) WITH (
      purchase_id nvarchar(max) '$.purchaseId', item_id nvarchar(max) '$.itemId',
      buyer_id nvarchar(max) '$.buyerId', quantity int '$.quantity', status nvarchar(max) '$.status',
      reason nvarchar(max) '$.reason', idempotency_key nvarchar(max) '$.idempotencyKey',
      admission_seq bigint '$.admissionSeq', admitted_at bigint '$.admittedAt',
      decided_at bigint '$.decidedAt', item_version bigint '$.itemVersion') AS p`,
  insertPurchaseKeys: `INSERT INTO purchase_keys (item_id, buyer_id, idempotency_key, purchase_id)
    SELECT @itemId, k.buyer_id, k.idempotency_key, k.purchase_id
    FROM OPENJSON(@keyHolders) WITH (
      buyer_id nvarchar(max) '$.buyerId', idempotency_key nvarchar(max) '$.idempotencyKey',
      purchase_id nvarchar(max) '$.purchaseId') AS k`,
  insertEvents: `INSERT INTO item_events (item_id, version, event_type, payload, occurred_at)
    SELECT @itemId, e.version, e.event_type, e.payload, ${fromMs('e.occurred_at')}
    FROM OPENJSON(@eventRows) WITH (
      version bigint '$.version', event_type nvarchar(max) '$.name', payload nvarchar(max) '$.payload',
      occurred_at bigint '$.occurredAt') AS e`,
  insertProcessedCommands: `INSERT INTO processed_commands (command_id, item_id)
    SELECT j.id, @itemId FROM OPENJSON(@processedIds) WITH (id nvarchar(max) '$') AS j`,
  unpublishedOutbox: `SELECT TOP (@limit) ${OUTBOX_COLUMNS} FROM outbox WHERE published_at IS NULL ORDER BY id`,
  markPublished: `UPDATE outbox SET published_at = SYSUTCDATETIME()
    WHERE published_at IS NULL AND id IN (SELECT j.id FROM OPENJSON(@ids) WITH (id bigint '$') AS j)`,
  getItem: `SELECT ${ITEM_COLUMNS} FROM items WHERE item_id = @itemId`,
  listItems: `SELECT ${ITEM_COLUMNS} FROM items ORDER BY item_id`,
  getPurchase: `SELECT ${PURCHASE_COLUMNS} FROM purchases WHERE purchase_id = @purchaseId`,
  itemEvents: `SELECT version, event_type, payload, ${toMs('occurred_at')} AS occurred_at_ms
    FROM item_events WHERE item_id = @itemId AND version >= @fromVersion ORDER BY version`,
  ping: 'SELECT 1',
} as const;

/**
 * The outbox insert for `rows` records, four parameters each (SQL Server takes 2,100 a request, hence
 * OUTBOX_ROWS_PER_INSERT). Identity values are drawn in the ORDER BY order.
 */
export function insertOutboxStatement(rows: number): string {
  const values = Array.from({ length: rows }, (_, i) => `(${i}, @t${i}, @k${i}, @v${i}, @h${i})`);
  return `INSERT INTO outbox (topic, record_key, record_value, headers)
    OUTPUT INSERTED.id, ${toMs('INSERTED.created_at')} AS created_at_ms
    SELECT v.topic, v.record_key, v.record_value, v.headers
    FROM (VALUES ${values.join(', ')}) AS v(ord, topic, record_key, record_value, headers)
    ORDER BY v.ord`;
}

const OUTBOX_ROWS_PER_INSERT = 500;

const T = MSSQL_STORE_STATEMENTS;
const id = (value: string): MssqlParameter => ({ name: 'itemId', type: sql.NVarChar(400), value });
const json = (name: string, value: unknown): MssqlParameter => ({
  name,
  type: sql.NVarChar(sql.MAX),
  value: JSON.stringify(value),
});
const rows = (text: string, ...parameters: MssqlParameter[]): MssqlCall => ({
  text,
  parameters,
  returnsRows: true,
});
const write = (text: string, ...parameters: MssqlParameter[]): MssqlCall => ({
  text,
  parameters,
  returnsRows: false,
});

function itemParameters(item: ItemState): MssqlParameter[] {
  return [
    id(item.itemId),
    { name: 'title', type: sql.NVarChar(sql.MAX), value: item.title },
    { name: 'priceMinor', type: sql.BigInt, value: item.priceMinor },
    { name: 'currency', type: sql.NVarChar(16), value: item.currency },
    { name: 'perBuyerLimit', type: sql.Int, value: item.perBuyerLimit },
    { name: 'startsAt', type: sql.BigInt, value: item.startsAt },
    { name: 'listed', type: sql.Int, value: item.listed },
    { name: 'sold', type: sql.Int, value: item.sold },
    { name: 'remaining', type: sql.Int, value: item.remaining },
    { name: 'version', type: sql.BigInt, value: item.version },
  ];
}

const statements: StoreStatements<MssqlCall> = {
  lockItem: (itemId) => rows(T.lockItem, id(itemId)),
  decidedPurchases: (ids) => rows(T.decidedPurchases, json('purchaseIds', ids)),
  confirmedUnits: (itemId, buyerIds) => rows(T.confirmedUnits, id(itemId), json('buyerIds', buyerIds)),
  heldPurchaseKeys: (itemId, keys) => rows(T.heldPurchaseKeys, id(itemId), json('purchaseKeys', keys)),
  processedCommands: (ids) => rows(T.processedCommands, json('commandIds', ids)),
  unpublishedOutboxOf: (itemId) => rows(T.unpublishedOutboxOf, id(itemId)),
  insertItem: (item) => write(T.insertItem, ...itemParameters(item)),
  updateItem: (item, previousVersion) =>
    write(T.updateItem, ...itemParameters(item), {
      name: 'previousVersion',
      type: sql.BigInt,
      value: previousVersion,
    }),
  insertPurchases: (purchases) => write(T.insertPurchases, json('purchaseRows', purchases)),
  insertPurchaseKeys: (itemId, holders) =>
    write(
      T.insertPurchaseKeys,
      id(itemId),
      json(
        'keyHolders',
        holders.map(({ buyerId, idempotencyKey, purchaseId }) => ({ buyerId, idempotencyKey, purchaseId })),
      ),
    ),
  insertEvents: (itemId, events) =>
    write(
      T.insertEvents,
      id(itemId),
      json(
        'eventRows',
        events.map((event) => ({
          version: event.version,
          name: event.name,
          payload: JSON.stringify(event.payload),
          occurredAt: event.occurredAt,
        })),
      ),
    ),
  insertProcessedCommands: (itemId, ids) =>
    write(T.insertProcessedCommands, id(itemId), json('processedIds', ids)),
  insertOutbox: (records) =>
    rows(
      insertOutboxStatement(records.length),
      ...records.flatMap((record, i): MssqlParameter[] => [
        { name: `t${i}`, type: sql.NVarChar(sql.MAX), value: record.topic },
        { name: `k${i}`, type: sql.NVarChar(sql.MAX), value: record.key },
        { name: `v${i}`, type: sql.VarBinary(sql.MAX), value: record.value },
        { name: `h${i}`, type: sql.NVarChar(sql.MAX), value: JSON.stringify(record.headers) },
      ]),
    ),
  unpublishedOutbox: (limit) => rows(T.unpublishedOutbox, { name: 'limit', type: sql.Int, value: limit }),
  markPublished: (ids) => write(T.markPublished, json('ids', ids)),
  getItem: (itemId) => rows(T.getItem, id(itemId)),
  listItems: () => rows(T.listItems),
  getPurchase: (purchaseId) =>
    rows(T.getPurchase, { name: 'purchaseId', type: sql.NVarChar(400), value: purchaseId }),
  itemEvents: (itemId, fromVersion) =>
    rows(T.itemEvents, id(itemId), { name: 'fromVersion', type: sql.BigInt, value: fromVersion }),
  ping: () => rows(T.ping),
};

/**
 * The calls as one batch: statements joined, parameters merged. A name two calls share must mean the
 * same value (every read of one item binds the same @itemId); anything else is a bug in the statements.
 */
export function batchOf(calls: readonly MssqlCall[]): { text: string; parameters: MssqlParameter[] } {
  const parameters = new Map<string, MssqlParameter>();
  for (const call of calls) {
    for (const parameter of call.parameters) {
      const bound = parameters.get(parameter.name);
      if (bound !== undefined && bound.value !== parameter.value) {
        throw new Error(`@${parameter.name} is bound to two values in one batch`);
      }
      parameters.set(parameter.name, parameter);
    }
  }
  return { text: calls.map((call) => call.text).join(';\n'), parameters: [...parameters.values()] };
}

export function mssqlStoreDialect(options: MssqlStoreOptions): StoreDialect<sql.Transaction, MssqlCall> {
  const lazy: LazyMssqlPool | undefined =
    'pool' in options
      ? undefined
      : createMssqlPool({
          connection: options.connection,
          ...(options.poolSize === undefined ? {} : { max: options.poolSize }),
          onError: options.onPoolError,
        });
  const ready = (): Promise<sql.ConnectionPool> =>
    'pool' in options ? Promise.resolve(options.pool) : lazy!.ready();

  return {
    name: 'mssql',
    statements,
    outboxRowsPerInsert: OUTBOX_ROWS_PER_INSERT,

    async begin() {
      const tx = new sql.Transaction(await ready());
      await tx.begin(sql.ISOLATION_LEVEL.READ_COMMITTED);
      return tx;
    },

    async run(tx, calls) {
      if (calls.length === 0) return [];
      const request = tx === null ? (await ready()).request() : tx.request();
      const batch = batchOf(calls);
      for (const p of batch.parameters) request.input(p.name, p.type, p.value);
      const result = await request.query(batch.text);
      const recordsets = [...(result.recordsets as sql.IRecordSet<Record<string, unknown>>[])];
      const rowCount = result.rowsAffected.reduce((sum, n) => sum + n, 0);
      return calls.map((call): CallResult => ({
        rows: call.returnsRows ? (recordsets.shift() ?? []) : [],
        // Only a call run alone reports its own count (what the store asks of insertItem/updateItem).
        rowCount: calls.length === 1 ? rowCount : Number.NaN,
      }));
    },

    commit: (tx) => tx.commit(),

    /**
     * A deadlock victim, or any error under XACT_ABORT, has already been rolled back by the server;
     * mssql then refuses rollback() with EABORT, which is the outcome we want.
     */
    async rollback(tx) {
      try {
        await tx.rollback();
      } catch (error) {
        if (error instanceof sql.TransactionError && error.code === 'EABORT') return;
        throw error;
      }
    },

    headersOf: (value) => JSON.parse(String(value)) as Record<string, string>,
    payloadOf: (value) => JSON.parse(String(value)) as unknown,
    storeErrorOf,

    async close() {
      await lazy?.close();
    },
  };
}

export function createMssqlStore(options: MssqlStoreOptions): SqlReservationStore {
  return createSqlReservationStore(mssqlStoreDialect(options));
}

// SQL Server error numbers (sys.messages) by what retrying can do about them.
export const CONFLICT_NUMBERS = new Set([
  2627, // PRIMARY KEY / UNIQUE constraint violated: another writer got there first
  2601, // duplicate key in a unique index
  1205, // chosen as deadlock victim
  1222, // lock request time out
  3960, // snapshot isolation update conflict
]);
export const REFUSED_NUMBERS = new Set([
  547, // CHECK (or FOREIGN KEY) constraint violated, e.g. remaining >= 0
  515, // NULL into a NOT NULL column
  2628, // string or binary data would be truncated
  8152, // string or binary data would be truncated (before SQL Server 2019)
  8115, // arithmetic overflow
  245, // conversion failed
  8114, // error converting data type
  13609, // JSON text is not properly formatted
]);
export const UNAVAILABLE_NUMBERS = new Set([
  233, // the client was unable to establish a connection / no process on the other end
  10053, // transport-level error: connection aborted
  10054, // transport-level error: connection reset
  40197, // service error processing the request (Azure SQL)
  40501, // service is busy (Azure SQL)
  40613, // database not currently available (Azure SQL)
  49918, // not enough resources (Azure SQL)
]);

export function storeErrorOf(error: unknown): ReservationStoreError {
  if (error instanceof ReservationStoreError) return error;
  if (error instanceof sql.RequestError && typeof error.number === 'number') {
    const detail = `SQL Server ${error.number}: ${error.message}`;
    if (CONFLICT_NUMBERS.has(error.number)) {
      return new ReservationStoreError('RESERVATION_STORE_CONFLICT', detail, { cause: error });
    }
    if (REFUSED_NUMBERS.has(error.number)) {
      return new ReservationStoreError('RESERVATION_STORE_CONSTRAINT_VIOLATED', detail, { cause: error });
    }
    if (UNAVAILABLE_NUMBERS.has(error.number)) {
      return new ReservationStoreError('RESERVATION_STORE_UNAVAILABLE', detail, { cause: error });
    }
    return new ReservationStoreError('RESERVATION_STORE_FAILED', detail, { cause: error });
  }
  // No error number: the connection failed, broke or timed out (ESOCKET, ECONNCLOSED, ETIMEOUT, EABORT…).
  return new ReservationStoreError('RESERVATION_STORE_UNAVAILABLE', `SQL Server: ${messageOf(error)}`, {
    cause: error,
  });
}
