// The reservation store, whatever the database: one transaction per item per call. A hot item is one
// row everybody wants, so the transaction takes the row lock first, reads and writes with a handful of
// set-based statements, and commits: the lock is held for a few round trips whatever the batch's size.
// The dialect (postgres-dialect.ts, mssql-dialect.ts) supplies the statements; this file supplies the
// steps, and so runs in full against PostgreSQL wherever SQL Server cannot.
import type { SqlDialect } from '@buy-now/config';
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
import type { CallResult, StoreDialect } from './store-dialect.js';
import {
  conflict,
  itemStateOf,
  messageOf,
  purchaseRowOf,
  type ItemRecord,
  type PurchaseRecord,
} from './sql-rows.js';

interface OutboxRecordRow {
  id: string | number;
  topic: string;
  record_key: string;
  record_value: Buffer;
  headers: unknown;
  created_at_ms: string | number;
}

/** A reservation store on SQL, saying which database it speaks to. */
export type SqlReservationStore = ReservationStore & { readonly dialect: SqlDialect };

const rowsOf = <R>(result: CallResult | undefined): R[] => (result?.rows ?? []) as R[];

export function createSqlReservationStore<Tx, Call>(dialect: StoreDialect<Tx, Call>): SqlReservationStore {
  const S = dialect.statements;

  /** Every failure of the database becomes a ReservationStoreError; decide's own errors never pass here. */
  async function sql<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw dialect.storeErrorOf(error);
    }
  }
  const run = (tx: Tx | null, calls: readonly Call[]) => sql(() => dialect.run(tx, calls));
  const one = async (call: Call): Promise<CallResult> =>
    (await run(null, [call]))[0] ?? { rows: [], rowCount: 0 };

  const outboxRowOf = (row: OutboxRecordRow): OutboxRow => ({
    id: String(row.id),
    topic: row.topic,
    key: row.record_key,
    value: row.record_value,
    headers: dialect.headersOf(row.headers),
    createdAt: Number(row.created_at_ms),
  });

  /**
   * Locks the item row and reads the decision context under it, in one run (one round trip where the
   * dialect batches). Rows of this item that an earlier transaction committed but nobody published (the
   * process died between commit and publish) come back too: they go out before this decision's rows, so
   * the item's events reach the topic in version order; redelivery re-emits a stored outcome this way.
   */
  async function lockAndLoad(
    tx: Tx,
    itemId: string,
    keys: DecisionKeys,
  ): Promise<{ state: ItemState | null; context: StoredContext; leftOver: OutboxRow[] }> {
    // Only what this batch can touch is read; an empty list is not worth a statement.
    const reads: { name: 'decided' | 'units' | 'held' | 'processed' | 'leftOver'; call: Call }[] = [
      ...(keys.purchaseIds.length > 0
        ? [{ name: 'decided' as const, call: S.decidedPurchases(keys.purchaseIds) }]
        : []),
      ...(keys.buyerIds.length > 0
        ? [{ name: 'units' as const, call: S.confirmedUnits(itemId, keys.buyerIds) }]
        : []),
      // One lookup for the whole batch, by the primary key of purchase_keys; under the item's row lock, so
      // no other transaction can give one of these keys to a purchase before this one commits.
      ...(keys.purchaseKeys.length > 0
        ? [{ name: 'held' as const, call: S.heldPurchaseKeys(itemId, keys.purchaseKeys) }]
        : []),
      ...(keys.commandIds.length > 0
        ? [{ name: 'processed' as const, call: S.processedCommands(keys.commandIds) }]
        : []),
      { name: 'leftOver' as const, call: S.unpublishedOutboxOf(itemId) },
    ];
    let results = await run(tx, [S.lockItem(itemId), ...reads.map((read) => read.call)]);
    let row = rowsOf<ItemRecord>(results[0])[0];
    if (row === undefined && S.lockAbsentItem !== undefined) {
      // Nothing was locked: lock the id, and read everything again. Whoever created the row meanwhile
      // has committed by then, and its row is locked like any other.
      results = (
        await run(tx, [S.lockAbsentItem(itemId), S.lockItem(itemId), ...reads.map((r) => r.call)])
      ).slice(1);
      row = rowsOf<ItemRecord>(results[0])[0];
    }
    const read = new Map(reads.map((r, index) => [r.name, results[index + 1]]));
    const state = row === undefined ? null : itemStateOf(row);
    const held = rowsOf<{ buyer_id: string; idempotency_key: string; purchase_id: string }>(read.get('held'));
    const units = rowsOf<{ buyer_id: string; units: string | number }>(read.get('units'));
    return {
      state,
      context: {
        state,
        decidedPurchaseIds: new Set(
          rowsOf<{ purchase_id: string }>(read.get('decided')).map((r) => r.purchase_id),
        ),
        purchaseIdsByKey: new Map(
          held.map((r) => [purchaseKeyOf(r.buyer_id, r.idempotency_key), r.purchase_id]),
        ),
        // An item without a row has no confirmed units, whatever a stray purchases row says.
        confirmedUnitsByBuyer: new Map(state === null ? [] : units.map((r) => [r.buyer_id, Number(r.units)])),
        processedCommandIds: new Set(
          rowsOf<{ command_id: string }>(read.get('processed')).map((r) => r.command_id),
        ),
      },
      leftOver: rowsOf<OutboxRecordRow>(read.get('leftOver')).map(outboxRowOf),
    };
  }

  async function persist(
    tx: Tx,
    itemId: string,
    previous: ItemState | null,
    decision: DecisionToPersist,
  ): Promise<OutboxRow[]> {
    const next = decision.state;
    if (next !== null) {
      const [written] = await run(tx, [
        previous === null ? S.insertItem(next) : S.updateItem(next, previous.version),
      ]);
      if (written?.rowCount !== 1) {
        throw conflict(
          previous === null
            ? `item ${itemId} was created by another transaction`
            : `item ${itemId} changed under its row lock`,
        );
      }
    }

    const writes: Call[] = [];
    if (decision.purchases.length > 0) {
      writes.push(S.insertPurchases(decision.purchases));
      // The backstop: a second holder of one key violates purchase_keys_pk and the whole decision rolls back.
      const holders = decision.purchases.filter(holdsPurchaseKey);
      if (holders.length > 0) writes.push(S.insertPurchaseKeys(itemId, holders));
    }
    if (decision.events.length > 0) writes.push(S.insertEvents(itemId, decision.events));
    if (decision.processedCommandIds.length > 0) {
      writes.push(S.insertProcessedCommands(itemId, decision.processedCommandIds));
    }
    if (writes.length > 0) await run(tx, writes);

    const outbox: OutboxRow[] = [];
    for (let start = 0; start < decision.outbox.length; start += dialect.outboxRowsPerInsert) {
      const records = decision.outbox.slice(start, start + dialect.outboxRowsPerInsert);
      const [inserted] = await run(tx, [S.insertOutbox(records)]);
      const rows = rowsOf<{ id: string | number; created_at_ms: string | number }>(inserted);
      const createdAt = new Map(rows.map((row) => [String(row.id), Number(row.created_at_ms)]));
      // Ids are drawn in the records' order, so sorting them back gives each record its own id.
      outbox.push(
        ...outboxIdsInOrder(
          rows.map((row) => String(row.id)),
          records.length,
        ).map((id, index) => ({ ...records[index]!, id, createdAt: createdAt.get(id) ?? 0 })),
      );
    }
    return outbox;
  }

  async function rollback(tx: Tx, itemId: string, failure: unknown): Promise<void> {
    try {
      await dialect.rollback(tx);
    } catch (rollbackError) {
      throw new ReservationStoreError(
        'RESERVATION_STORE_UNAVAILABLE',
        `rolling back item ${itemId} failed after: ${messageOf(failure)}`,
        { cause: failure, rollbackError },
      );
    }
  }

  return {
    dialect: dialect.name,

    async decideForItem<D extends DecisionToPersist>(
      itemId: string,
      keys: DecisionKeys,
      decide: (context: StoredContext) => D,
    ): Promise<PersistedDecision<D>> {
      const tx = await sql(() => dialect.begin());
      try {
        const { state, context, leftOver } = await lockAndLoad(tx, itemId, keys);
        const decision = decide(context);
        checkDecision(itemId, state, decision);
        const outbox = [...leftOver, ...(await persist(tx, itemId, state, decision))];
        await sql(() => dialect.commit(tx));
        return { decision, outbox, outboxIds: outbox.map((row) => row.id) };
      } catch (error) {
        await rollback(tx, itemId, error);
        throw error;
      }
    },

    async unpublishedOutbox(limit) {
      return rowsOf<OutboxRecordRow>(await one(S.unpublishedOutbox(limit))).map(outboxRowOf);
    },

    async markPublished(ids) {
      if (ids.length === 0) return;
      await one(S.markPublished(ids));
    },

    async getItem(itemId) {
      const row = rowsOf<ItemRecord>(await one(S.getItem(itemId)))[0];
      return row === undefined ? null : itemStateOf(row);
    },

    async listItems() {
      return rowsOf<ItemRecord>(await one(S.listItems())).map(itemStateOf);
    },

    async getPurchase(purchaseId) {
      const row = rowsOf<PurchaseRecord>(await one(S.getPurchase(purchaseId)))[0];
      return row === undefined ? null : purchaseRowOf(row);
    },

    async itemEvents(itemId, fromVersion = 1) {
      const rows = rowsOf<{
        version: string | number;
        event_type: string;
        payload: unknown;
        occurred_at_ms: string | number;
      }>(await one(S.itemEvents(itemId, fromVersion)));
      return rows.map((row): StoredItemEvent => ({
        version: Number(row.version),
        name: row.event_type,
        payload: dialect.payloadOf(row.payload),
        occurredAt: Number(row.occurred_at_ms),
      }));
    },

    async ping() {
      await one(S.ping());
    },

    close: () => sql(() => dialect.close()),
  };
}
