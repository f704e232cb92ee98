// The reads of the reservation's tables on PostgreSQL.
import type pg from 'pg';
import { closePostgresPool, createPostgresPool } from '../postgres/pool.js';
import { postgresTime } from '../time-columns.js';
import {
  archivedPurchaseOf,
  type ArchivedPurchaseRow,
  type ReservationReads,
  type ReservationReadsOptions,
} from './reservation-reads.js';

const { toMs } = postgresTime;

export const POSTGRES_READ_STATEMENTS = {
  gateItems: `SELECT item_id, per_buyer_limit, ${toMs('starts_at')} AS starts_at_ms, remaining, version FROM items`,
  gateConfirmedUnits: `SELECT item_id, buyer_id, sum(quantity) AS units FROM purchases
    WHERE status = 'confirmed' GROUP BY item_id, buyer_id`,
  gateLastAdmissionSeqs: `SELECT item_id, max(admission_seq) AS last_seq FROM purchases
    WHERE admission_seq IS NOT NULL GROUP BY item_id`,
  // A DUPLICATE_REQUEST's original is the purchase holding its key (migration 0006).
  purchase: `SELECT p.purchase_id, p.item_id, p.buyer_id, p.quantity, p.status, p.reason, p.idempotency_key,
      p.admission_seq, ${toMs('p.admitted_at')} AS admitted_ms, k.purchase_id AS original_purchase_id
    FROM purchases AS p
    LEFT JOIN purchase_keys AS k
      ON p.reason = 'DUPLICATE_REQUEST' AND k.item_id = p.item_id AND k.buyer_id = p.buyer_id
        AND k.idempotency_key = p.idempotency_key
    WHERE p.purchase_id = $1`,
  // One snapshot for both reads, so rows and events agree with each other while writers carry on.
  beginSnapshot: 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
  events: 'SELECT item_id, version, event_type, payload FROM item_events ORDER BY item_id, version',
  itemStock: 'SELECT item_id, version, listed, sold, remaining FROM items ORDER BY item_id',
  ping: 'SELECT 1',
} as const;

const S = POSTGRES_READ_STATEMENTS;

export function createPostgresReservationReads(
  url: string,
  options: ReservationReadsOptions,
): ReservationReads {
  const pool: pg.Pool = createPostgresPool({
    connectionString: url,
    max: options.poolSize ?? 2,
    ...(options.connectTimeoutMs === undefined ? {} : { connectionTimeoutMillis: options.connectTimeoutMs }),
    onIdleError: options.onPoolError,
  });

  return {
    dialect: 'postgres',

    async gateSnapshot() {
      const items = await pool.query<{
        item_id: string;
        per_buyer_limit: number;
        starts_at_ms: string | null;
        remaining: number;
        version: string;
      }>(S.gateItems);
      const units = await pool.query<{ item_id: string; buyer_id: string; units: string }>(
        S.gateConfirmedUnits,
      );
      const seqs = await pool.query<{ item_id: string; last_seq: string }>(S.gateLastAdmissionSeqs);
      return {
        items: items.rows.map((row) => ({
          itemId: row.item_id,
          perBuyerLimit: row.per_buyer_limit,
          startsAt: row.starts_at_ms === null ? null : Number(row.starts_at_ms),
          remaining: row.remaining,
          version: Number(row.version),
        })),
        confirmedUnits: units.rows.map((row) => ({
          itemId: row.item_id,
          buyerId: row.buyer_id,
          units: Number(row.units),
        })),
        lastAdmissionSeqs: seqs.rows.map((row) => ({ itemId: row.item_id, lastSeq: Number(row.last_seq) })),
      };
    },

    async findPurchase(purchaseId) {
      const { rows } = await pool.query<ArchivedPurchaseRow>(S.purchase, [purchaseId]);
      return rows[0] === undefined ? null : archivedPurchaseOf(rows[0]);
    },

    async eventStoreSnapshot() {
      const client = await pool.connect();
      let failed = false;
      try {
        await client.query(S.beginSnapshot);
        const events = await client.query<{
          item_id: string;
          version: string;
          event_type: string;
          payload: unknown;
        }>(S.events);
        const items = await client.query<{
          item_id: string;
          version: string;
          listed: number;
          sold: number;
          remaining: number;
        }>(S.itemStock);
        await client.query('COMMIT');
        return {
          events: events.rows.map((row) => ({
            itemId: row.item_id,
            version: Number(row.version),
            type: row.event_type,
            payload: row.payload,
          })),
          items: items.rows.map((row) => ({
            itemId: row.item_id,
            version: Number(row.version),
            listed: row.listed,
            sold: row.sold,
            remaining: row.remaining,
          })),
        };
      } catch (error) {
        failed = true;
        throw error;
      } finally {
        // A failed read leaves the transaction open: the connection goes rather than back to the pool.
        client.release(failed);
      }
    },

    async ping() {
      await pool.query(S.ping);
    },

    close: () => closePostgresPool(pool),
  };
}
