// The reads of the reservation's tables on SQL Server: the PostgreSQL statements' twins.
import sql from 'mssql';
import { createMssqlPool } from '../mssql/connection.js';
import { mssqlTime } from '../time-columns.js';
import {
  archivedPurchaseOf,
  type ArchivedPurchaseRow,
  type ReservationReads,
  type ReservationReadsOptions,
} from './reservation-reads.js';

const { toMs } = mssqlTime;

/** Every statement these reads send (the T-SQL parse test reads them). */
export const MSSQL_READ_STATEMENTS = {
  gateItems: `SELECT item_id, per_buyer_limit, ${toMs('starts_at')} AS starts_at_ms, remaining, version FROM items`,
  gateConfirmedUnits: `SELECT item_id, buyer_id, SUM(quantity) AS units FROM purchases
    WHERE status = 'confirmed' GROUP BY item_id, buyer_id`,
  gateLastAdmissionSeqs: `SELECT item_id, MAX(admission_seq) AS last_seq FROM purchases
    WHERE admission_seq IS NOT NULL GROUP BY item_id`,
  // purchases.idempotency_key kept the database's collation (migration 0006); the key table compares
  // exactly, so the join says which collation it means instead of failing on the conflict.
  purchase: `SELECT p.purchase_id, p.item_id, p.buyer_id, p.quantity, p.status, p.reason, p.idempotency_key,
      p.admission_seq, ${toMs('p.admitted_at')} AS admitted_ms, k.purchase_id AS original_purchase_id
    FROM purchases AS p
    LEFT JOIN purchase_keys AS k
      ON p.reason = 'DUPLICATE_REQUEST' AND k.item_id = p.item_id AND k.buyer_id = p.buyer_id
        AND k.idempotency_key = p.idempotency_key COLLATE Latin1_General_100_BIN2
    WHERE p.purchase_id = @purchaseId`,
  // Items first, then events: the order in which the reservation's transactions lock them, so the
  // snapshot's shared locks (SERIALIZABLE) make writers wait, never deadlock with them.
  itemStock: 'SELECT item_id, version, listed, sold, remaining FROM items ORDER BY item_id',
  events: 'SELECT item_id, version, event_type, payload FROM item_events ORDER BY item_id, version',
  ping: 'SELECT 1',
} as const;

const S = MSSQL_READ_STATEMENTS;

export function createMssqlReservationReads(
  connection: string,
  options: ReservationReadsOptions,
): ReservationReads {
  const lazy = createMssqlPool({
    connection,
    max: options.poolSize ?? 2,
    ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
    onError: options.onPoolError,
  });

  return {
    dialect: 'mssql',

    async gateSnapshot() {
      const pool = await lazy.ready();
      const items = await pool.request().query<{
        item_id: string;
        per_buyer_limit: number;
        starts_at_ms: string | null;
        remaining: number;
        version: string;
      }>(S.gateItems);
      const units = await pool
        .request()
        .query<{ item_id: string; buyer_id: string; units: number }>(S.gateConfirmedUnits);
      const seqs = await pool.request().query<{ item_id: string; last_seq: string }>(S.gateLastAdmissionSeqs);
      return {
        items: items.recordset.map((row) => ({
          itemId: row.item_id,
          perBuyerLimit: row.per_buyer_limit,
          startsAt: row.starts_at_ms === null ? null : Number(row.starts_at_ms),
          remaining: row.remaining,
          version: Number(row.version),
        })),
        confirmedUnits: units.recordset.map((row) => ({
          itemId: row.item_id,
          buyerId: row.buyer_id,
          units: Number(row.units),
        })),
        lastAdmissionSeqs: seqs.recordset.map((row) => ({
          itemId: row.item_id,
          lastSeq: Number(row.last_seq),
        })),
      };
    },

    async findPurchase(purchaseId) {
      const pool = await lazy.ready();
      const result = await pool
        .request()
        .input('purchaseId', sql.NVarChar(400), purchaseId)
        .query<ArchivedPurchaseRow>(S.purchase);
      const row = result.recordset[0];
      return row === undefined ? null : archivedPurchaseOf(row);
    },

    async eventStoreSnapshot() {
      const pool = await lazy.ready();
      const tx = new sql.Transaction(pool);
      await tx.begin(sql.ISOLATION_LEVEL.SERIALIZABLE);
      try {
        const items = await tx.request().query<{
          item_id: string;
          version: string;
          listed: number;
          sold: number;
          remaining: number;
        }>(S.itemStock);
        const events = await tx
          .request()
          .query<{ item_id: string; version: string; event_type: string; payload: string }>(S.events);
        await tx.commit();
        return {
          events: events.recordset.map((row) => ({
            itemId: row.item_id,
            version: Number(row.version),
            type: row.event_type,
            payload: JSON.parse(row.payload) as unknown,
          })),
          items: items.recordset.map((row) => ({
            itemId: row.item_id,
            version: Number(row.version),
            listed: row.listed,
            sold: row.sold,
            remaining: row.remaining,
          })),
        };
      } catch (error) {
        await tx.rollback().catch(() => undefined); // already rolled back by the server, or the connection is gone
        throw error;
      }
    },

    async ping() {
      const pool = await lazy.ready();
      await pool.request().query(S.ping);
    },

    close: () => lazy.close(),
  };
}
