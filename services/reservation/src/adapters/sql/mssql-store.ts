// The reservation store on SQL Server, with the semantics of the PostgreSQL adapter: the item's row
// lock first, set-based reads and writes (OPENJSON instead of unnest), one transaction per call.
import sql from 'mssql';
import {
  holdsPurchaseKey,
  purchaseKeyOf,
  ReservationStoreError,
  type DecisionKeys,
  type DecisionToPersist,
  type ItemState,
  type OutboxRecord,
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

export type MssqlStoreOptions =
  | {
      /** ADO style: `Server=host,1433;Database=buy_now;User Id=sa;Password=…;Encrypt=true;TrustServerCertificate=true`. */
      connectionString: string;
      /** Connections in the pool; default 10. */
      poolSize?: number;
      /** A pooled connection broke outside any call; the pool replaces it. Report it: it is not retried. */
      onPoolError: (error: Error) => void;
    }
  | {
      config: sql.config;
      onPoolError: (error: Error) => void;
    }
  | {
      /** A connected pool owned by the caller: close() leaves it open. */
      pool: sql.ConnectionPool;
    };

// Epoch milliseconds in and out of datetime2(3), the same way everywhere. Days and milliseconds are
// added separately because DATEADD takes an int, and milliseconds since 1970 do not fit one.
const EPOCH = "CAST('1970-01-01T00:00:00' AS datetime2(3))";
const fromMs = (expr: string): string =>
  `DATEADD(millisecond, CAST((${expr}) % 86400000 AS int), DATEADD(day, CAST((${expr}) / 86400000 AS int), ${EPOCH}))`;
const toMs = (expr: string): string => `DATEDIFF_BIG(millisecond, ${EPOCH}, ${expr})`;

const ITEM_COLUMNS = itemColumns(toMs);

const PURCHASE_COLUMNS = purchaseColumns(toMs);

// Ids are compared as nvarchar(400), wider than any id column, so an over-long id can never match a
// truncated one; inserting it fails instead.
const idsIn = (parameter: string): string =>
  `(SELECT j.id FROM OPENJSON(${parameter}) WITH (id nvarchar(400) '$') AS j)`;

// 4 parameters a row, under SQL Server's 2,100 per request.
const OUTBOX_ROWS_PER_INSERT = 500;

const OUTBOX_COLUMNS = `id, topic, record_key, record_value, headers, ${toMs('created_at')} AS created_at_ms`;

interface OutboxRecordRow {
  id: string;
  topic: string;
  record_key: string;
  record_value: Buffer;
  headers: string;
  created_at_ms: string;
}

export async function createMssqlStore(options: MssqlStoreOptions): Promise<ReservationStore> {
  const ownsPool = !('pool' in options);
  let pool: sql.ConnectionPool;
  if ('pool' in options) {
    pool = options.pool;
  } else {
    let config: sql.config;
    if ('config' in options) {
      config = options.config;
    } else {
      const parsed = sql.ConnectionPool.parseConnectionString(options.connectionString);
      config = { ...parsed, pool: { ...parsed.pool, max: options.poolSize ?? parsed.pool.max ?? 10 } };
    }
    pool = new sql.ConnectionPool(config);
    pool.on('error', options.onPoolError);
    try {
      await pool.connect();
    } catch (error) {
      throw storeErrorOf(error);
    }
  }

  async function run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw storeErrorOf(error);
    }
  }

  async function decideForItem<D extends DecisionToPersist>(
    itemId: string,
    keys: DecisionKeys,
    decide: (context: StoredContext) => D,
  ): Promise<PersistedDecision<D>> {
    const tx = new sql.Transaction(pool);
    await run(() => tx.begin(sql.ISOLATION_LEVEL.READ_COMMITTED));
    try {
      const { state, context, leftOver } = await run(() => lockAndLoad(tx, itemId, keys));
      const decision = decide(context);
      checkDecision(itemId, state, decision);
      const outbox = [...leftOver, ...(await run(() => persist(tx, itemId, state, decision)))];
      await run(() => tx.commit());
      return { decision, outbox, outboxIds: outbox.map((row) => row.id) };
    } catch (error) {
      await rollback(tx, itemId, error);
      throw error;
    }
  }

  return {
    decideForItem,

    async unpublishedOutbox(limit) {
      const result = await run(() =>
        pool
          .request()
          .input('limit', sql.Int, limit)
          .query<OutboxRecordRow>(
            `SELECT TOP (@limit) id, topic, record_key, record_value, headers, ${toMs('created_at')} AS created_at_ms
             FROM outbox WHERE published_at IS NULL ORDER BY id`,
          ),
      );
      return result.recordset.map((row): OutboxRow => ({
        id: String(row.id),
        topic: row.topic,
        key: row.record_key,
        value: row.record_value,
        headers: JSON.parse(row.headers) as Record<string, string>,
        createdAt: Number(row.created_at_ms),
      }));
    },

    async markPublished(ids) {
      if (ids.length === 0) return;
      await run(() =>
        pool
          .request()
          .input('ids', sql.NVarChar(sql.MAX), JSON.stringify(ids))
          .query(
            `UPDATE outbox SET published_at = SYSUTCDATETIME()
             WHERE published_at IS NULL AND id IN (SELECT j.id FROM OPENJSON(@ids) WITH (id bigint '$') AS j)`,
          ),
      );
    },

    async getItem(itemId) {
      const result = await run(() =>
        pool
          .request()
          .input('itemId', sql.NVarChar(400), itemId)
          .query<ItemRecord>(`SELECT ${ITEM_COLUMNS} FROM items WHERE item_id = @itemId`),
      );
      const row = result.recordset[0];
      return row === undefined ? null : itemStateOf(row);
    },

    async listItems() {
      const result = await run(() =>
        pool.request().query<ItemRecord>(`SELECT ${ITEM_COLUMNS} FROM items ORDER BY item_id`),
      );
      return result.recordset.map(itemStateOf);
    },

    async getPurchase(purchaseId) {
      const result = await run(() =>
        pool
          .request()
          .input('purchaseId', sql.NVarChar(400), purchaseId)
          .query<PurchaseRecord>(`SELECT ${PURCHASE_COLUMNS} FROM purchases WHERE purchase_id = @purchaseId`),
      );
      const row = result.recordset[0];
      return row === undefined ? null : purchaseRowOf(row);
    },

    async itemEvents(itemId, fromVersion = 1) {
      const result = await run(() =>
        pool
          .request()
          .input('itemId', sql.NVarChar(400), itemId)
          .input('fromVersion', sql.BigInt, fromVersion)
          .query<{ version: string; event_type: string; payload: string; occurred_at_ms: string }>(
            `SELECT version, event_type, payload, ${toMs('occurred_at')} AS occurred_at_ms
             FROM item_events WHERE item_id = @itemId AND version >= @fromVersion ORDER BY version`,
          ),
      );
      return result.recordset.map((row): StoredItemEvent => ({
        version: Number(row.version),
        name: row.event_type,
        payload: JSON.parse(row.payload) as unknown,
        occurredAt: Number(row.occurred_at_ms),
      }));
    },

    async ping() {
      await run(() => pool.request().query('SELECT 1'));
    },

    async close() {
      if (ownsPool) await run(() => pool.close());
    },
  };
}

/**
 * Locks the item row and reads the decision context, in one round trip. HOLDLOCK makes the lock
 * cover the key even when no row has it yet, so two first listings of one item queue up too.
 * `leftOver` are rows of this item that an earlier transaction committed but nobody published (the
 * process died between commit and publish): they go out before this decision's rows, so the item's
 * events reach the topic in version order; redelivery re-emits a stored outcome this way.
 */
async function lockAndLoad(
  tx: sql.Transaction,
  itemId: string,
  keys: DecisionKeys,
): Promise<{ state: ItemState | null; context: StoredContext; leftOver: OutboxRow[] }> {
  const result = await tx
    .request()
    .input('itemId', sql.NVarChar(400), itemId)
    .input('purchaseIds', sql.NVarChar(sql.MAX), JSON.stringify(keys.purchaseIds))
    .input('buyerIds', sql.NVarChar(sql.MAX), JSON.stringify(keys.buyerIds))
    .input('purchaseKeys', sql.NVarChar(sql.MAX), JSON.stringify(keys.purchaseKeys))
    .input('commandIds', sql.NVarChar(sql.MAX), JSON.stringify(keys.commandIds))
    .query<
      [
        ItemRecord,
        { purchase_id: string },
        { buyer_id: string; units: number },
        { command_id: string },
        OutboxRecordRow,
        { buyer_id: string; idempotency_key: string; purchase_id: string },
      ]
    >(
      `SELECT ${ITEM_COLUMNS} FROM items WITH (UPDLOCK, ROWLOCK, HOLDLOCK) WHERE item_id = @itemId;
       SELECT purchase_id FROM purchases WHERE purchase_id IN ${idsIn('@purchaseIds')};
       SELECT buyer_id, SUM(quantity) AS units FROM purchases
         WHERE item_id = @itemId AND status = 'confirmed' AND buyer_id IN ${idsIn('@buyerIds')}
         GROUP BY buyer_id;
       SELECT command_id FROM processed_commands WHERE command_id IN ${idsIn('@commandIds')};
       SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE published_at IS NULL AND record_key = @itemId ORDER BY id;
       SELECT k.buyer_id, k.idempotency_key, k.purchase_id
         FROM OPENJSON(@purchaseKeys) WITH (
           buyer_id nvarchar(400) '$.buyerId', idempotency_key nvarchar(400) '$.idempotencyKey') AS q
         JOIN purchase_keys AS k
           ON k.item_id = @itemId AND k.buyer_id = q.buyer_id COLLATE Latin1_General_100_BIN2
             AND k.idempotency_key = q.idempotency_key COLLATE Latin1_General_100_BIN2;`,
    );
  const [items, decided, units, processed, unpublished, held] = result.recordsets;
  const row = items[0];
  const state = row === undefined ? null : itemStateOf(row);
  return {
    state,
    context: {
      state,
      decidedPurchaseIds: new Set(decided.map((r) => r.purchase_id)),
      purchaseIdsByKey: new Map(
        held.map((r) => [purchaseKeyOf(r.buyer_id, r.idempotency_key), r.purchase_id]),
      ),
      confirmedUnitsByBuyer: new Map(state === null ? [] : units.map((r) => [r.buyer_id, Number(r.units)])),
      processedCommandIds: new Set(processed.map((r) => r.command_id)),
    },
    leftOver: unpublished.map(outboxRowOf),
  };
}

async function persist(
  tx: sql.Transaction,
  itemId: string,
  previous: ItemState | null,
  decision: DecisionToPersist,
): Promise<OutboxRow[]> {
  const next = decision.state;
  if (next !== null) {
    const request = tx
      .request()
      .input('itemId', sql.NVarChar(400), itemId)
      .input('title', sql.NVarChar(sql.MAX), next.title)
      .input('priceMinor', sql.BigInt, next.priceMinor)
      .input('currency', sql.NVarChar(16), next.currency)
      .input('perBuyerLimit', sql.Int, next.perBuyerLimit)
      .input('startsAt', sql.BigInt, next.startsAt)
      .input('listed', sql.Int, next.listed)
      .input('sold', sql.Int, next.sold)
      .input('remaining', sql.Int, next.remaining)
      .input('version', sql.BigInt, next.version);
    if (previous === null) {
      const inserted = await request.query(
        `INSERT INTO items (item_id, title, price_minor, currency, per_buyer_limit, starts_at, listed, sold,
           remaining, version)
         SELECT @itemId, @title, @priceMinor, @currency, @perBuyerLimit, ${fromMs('@startsAt')}, @listed, @sold,
           @remaining, @version
         WHERE NOT EXISTS (SELECT 1 FROM items WITH (UPDLOCK, HOLDLOCK) WHERE item_id = @itemId)`,
      );
      if (inserted.rowsAffected[0] !== 1) throw conflict(`item ${itemId} was created by another transaction`);
    } else {
      const updated = await request.input('previousVersion', sql.BigInt, previous.version).query(
        `UPDATE items SET title = @title, price_minor = @priceMinor, currency = @currency,
             per_buyer_limit = @perBuyerLimit, starts_at = ${fromMs('@startsAt')}, listed = @listed, sold = @sold,
             remaining = @remaining, version = @version, updated_at = SYSUTCDATETIME()
           WHERE item_id = @itemId AND version = @previousVersion`,
      );
      if (updated.rowsAffected[0] !== 1) throw conflict(`item ${itemId} changed under its row lock`);
    }
  }

  if (decision.purchases.length > 0) {
    // The second statement is the backstop: a second holder of one key violates purchase_keys_pk.
    const holders = decision.purchases
      .filter(holdsPurchaseKey)
      .map(({ buyerId, idempotencyKey, purchaseId }) => ({ buyerId, idempotencyKey, purchaseId }));
    await tx
      .request()
      .input('itemId', sql.NVarChar(400), itemId)
      .input('rows', sql.NVarChar(sql.MAX), JSON.stringify(decision.purchases))
      .input('holders', sql.NVarChar(sql.MAX), JSON.stringify(holders))
      .query(
        `INSERT INTO purchases (purchase_id, item_id, buyer_id, quantity, status, reason, idempotency_key,
           admission_seq, admitted_at, decided_at, item_version)
         SELECT p.purchase_id, p.item_id, p.buyer_id, p.quantity, p.status, p.reason, p.idempotency_key,
           p.admission_seq, ${fromMs('p.admitted_at')}, ${fromMs('p.decided_at')}, p.item_version
         FROM OPENJSON(@rows) WITH (
           purchase_id nvarchar(max) '$.purchaseId', item_id nvarchar(max) '$.itemId',
           buyer_id nvarchar(max) '$.buyerId', quantity int '$.quantity', status nvarchar(max) '$.status',
           reason nvarchar(max) '$.reason', idempotency_key nvarchar(max) '$.idempotencyKey',
           admission_seq bigint '$.admissionSeq', admitted_at bigint '$.admittedAt',
           decided_at bigint '$.decidedAt', item_version bigint '$.itemVersion') AS p;
         INSERT INTO purchase_keys (item_id, buyer_id, idempotency_key, purchase_id)
         SELECT @itemId, k.buyer_id, k.idempotency_key, k.purchase_id
         FROM OPENJSON(@holders) WITH (
           buyer_id nvarchar(max) '$.buyerId', idempotency_key nvarchar(max) '$.idempotencyKey',
           purchase_id nvarchar(max) '$.purchaseId') AS k;`,
      );
  }

  if (decision.events.length > 0) {
    const rows = decision.events.map((event) => ({
      version: event.version,
      name: event.name,
      payload: JSON.stringify(event.payload),
      occurredAt: event.occurredAt,
    }));
    await tx
      .request()
      .input('itemId', sql.NVarChar(400), itemId)
      .input('rows', sql.NVarChar(sql.MAX), JSON.stringify(rows))
      .query(
        `INSERT INTO item_events (item_id, version, event_type, payload, occurred_at)
         SELECT @itemId, e.version, e.event_type, e.payload, ${fromMs('e.occurred_at')}
         FROM OPENJSON(@rows) WITH (
           version bigint '$.version', event_type nvarchar(max) '$.name', payload nvarchar(max) '$.payload',
           occurred_at bigint '$.occurredAt') AS e`,
      );
  }

  if (decision.processedCommandIds.length > 0) {
    await tx
      .request()
      .input('itemId', sql.NVarChar(400), itemId)
      .input('ids', sql.NVarChar(sql.MAX), JSON.stringify(decision.processedCommandIds))
      .query(
        `INSERT INTO processed_commands (command_id, item_id)
         SELECT j.id, @itemId FROM OPENJSON(@ids) WITH (id nvarchar(max) '$') AS j`,
      );
  }

  const written: OutboxRow[] = [];
  for (let start = 0; start < decision.outbox.length; start += OUTBOX_ROWS_PER_INSERT) {
    written.push(...(await insertOutbox(tx, decision.outbox.slice(start, start + OUTBOX_ROWS_PER_INSERT))));
  }
  return written;
}

async function insertOutbox(tx: sql.Transaction, records: readonly OutboxRecord[]): Promise<OutboxRow[]> {
  const request = tx.request();
  const values = records.map((record, i) => {
    request
      .input(`t${i}`, sql.NVarChar(sql.MAX), record.topic)
      .input(`k${i}`, sql.NVarChar(sql.MAX), record.key)
      .input(`v${i}`, sql.VarBinary(sql.MAX), record.value)
      .input(`h${i}`, sql.NVarChar(sql.MAX), JSON.stringify(record.headers));
    return `(${i}, @t${i}, @k${i}, @v${i}, @h${i})`;
  });
  // Identity values are drawn in the ORDER BY order, so sorting them back gives each record its own id.
  const result = await request.query<{ id: string; created_at_ms: string }>(
    `INSERT INTO outbox (topic, record_key, record_value, headers)
     OUTPUT INSERTED.id, ${toMs('INSERTED.created_at')} AS created_at_ms
     SELECT v.topic, v.record_key, v.record_value, v.headers
     FROM (VALUES ${values.join(', ')}) AS v(ord, topic, record_key, record_value, headers)
     ORDER BY v.ord`,
  );
  const ids = result.recordset.map((row) => String(row.id));
  const createdAt = new Map(result.recordset.map((row) => [String(row.id), Number(row.created_at_ms)]));
  return outboxIdsInOrder(ids, records.length).map((id, i) => ({
    ...records[i]!,
    id,
    createdAt: createdAt.get(id) ?? 0,
  }));
}

/**
 * Rolls back after a failure. A deadlock victim, or any error under XACT_ABORT, has already been
 * rolled back by the server; mssql then refuses rollback() with EABORT, which is the outcome we want.
 */
async function rollback(tx: sql.Transaction, itemId: string, failure: unknown): Promise<void> {
  try {
    await tx.rollback();
  } catch (rollbackError) {
    if (rollbackError instanceof sql.TransactionError && rollbackError.code === 'EABORT') return;
    throw new ReservationStoreError(
      'RESERVATION_STORE_UNAVAILABLE',
      `rolling back item ${itemId} failed after: ${messageOf(failure)}`,
      { cause: failure, rollbackError },
    );
  }
}

function outboxRowOf(row: OutboxRecordRow): OutboxRow {
  return {
    id: String(row.id),
    topic: row.topic,
    key: row.record_key,
    value: row.record_value,
    headers: JSON.parse(row.headers) as Record<string, string>,
    createdAt: Number(row.created_at_ms),
  };
}

// SQL Server error numbers (sys.messages) by what retrying can do about them.
const CONFLICT_NUMBERS = new Set([
  2627, // PRIMARY KEY / UNIQUE constraint violated: another writer got there first
  2601, // duplicate key in a unique index
  1205, // chosen as deadlock victim
  1222, // lock request time out
  3960, // snapshot isolation update conflict
]);
const REFUSED_NUMBERS = new Set([
  547, // CHECK (or FOREIGN KEY) constraint violated, e.g. remaining >= 0
  515, // NULL into a NOT NULL column
  2628, // string or binary data would be truncated
  8152, // string or binary data would be truncated (before SQL Server 2019)
  8115, // arithmetic overflow
  245, // conversion failed
  8114, // error converting data type
  13609, // JSON text is not properly formatted
]);
const UNAVAILABLE_NUMBERS = new Set([
  233, // the client was unable to establish a connection / no process on the other end
  10053, // transport-level error: connection aborted
  10054, // transport-level error: connection reset
  40197, // service error processing the request (Azure SQL)
  40501, // service is busy (Azure SQL)
  40613, // database not currently available (Azure SQL)
  49918, // not enough resources (Azure SQL)
]);

function storeErrorOf(error: unknown): ReservationStoreError {
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
