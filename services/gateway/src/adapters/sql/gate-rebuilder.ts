// Rebuilds the Redis gate from SQL, the authority, when Redis lost its data (no gate epoch). Purchases
// in flight at that moment are not in SQL yet, so the gate may admit a few more than remain; SQL still
// refuses them (SOLD_OUT): the one documented first-come-first-served exception. The item views come
// back on their own: the stream processor restores its read model from the compacted stock-views topic.
import type pg from 'pg';
import type { Logger } from '@buy-now/observability';
import type { PurchaseGate } from '../../domain/purchase-gate.js';

export interface GateRebuilder {
  /** Rebuilds when the gate has no epoch; returns the number of items restored (0: nothing to do). */
  rebuildIfLost(): Promise<number>;
}

interface ItemRow {
  item_id: string;
  per_buyer_limit: number;
  starts_at_ms: string | null;
  remaining: number;
  version: string;
}

export function createGateRebuilder(deps: {
  pool: pg.Pool;
  gate: PurchaseGate;
  logger: Logger;
}): GateRebuilder {
  let running: Promise<number> | undefined;

  const rebuild = async (): Promise<number> => {
    const started = Date.now();
    const { rows: items } = await deps.pool.query<ItemRow>(
      `SELECT item_id, per_buyer_limit, (extract(epoch from starts_at) * 1000)::bigint AS starts_at_ms,
              remaining, version
         FROM items`,
    );
    const { rows: buyers } = await deps.pool.query<{ item_id: string; buyer_id: string; units: string }>(
      `SELECT item_id, buyer_id, sum(quantity) AS units FROM purchases WHERE status = 'confirmed' GROUP BY item_id, buyer_id`,
    );
    // So the admission sequence carries on after the rebuild instead of starting again at 1.
    const { rows: sequences } = await deps.pool.query<{ item_id: string; last_seq: string }>(
      `SELECT item_id, max(admission_seq) AS last_seq FROM purchases WHERE admission_seq IS NOT NULL GROUP BY item_id`,
    );
    const lastSeqByItem = new Map(sequences.map((row) => [row.item_id, Number(row.last_seq)]));
    const unitsByItem = new Map<string, Record<string, number>>();
    for (const row of buyers) {
      const units = unitsByItem.get(row.item_id) ?? {};
      units[row.buyer_id] = Number(row.units);
      unitsByItem.set(row.item_id, units);
    }
    for (const row of items) {
      const startsAt = row.starts_at_ms === null ? null : Number(row.starts_at_ms);
      await deps.gate.restoreItem({
        itemId: row.item_id,
        version: Number(row.version),
        remaining: row.remaining,
        perBuyerLimit: row.per_buyer_limit,
        startsAt,
        confirmedUnitsByBuyer: unitsByItem.get(row.item_id) ?? {},
        lastAdmissionSeq: lastSeqByItem.get(row.item_id) ?? 0,
      });
    }
    await deps.gate.markGateRebuilt();
    deps.logger.warn(
      { items: items.length, tookMs: Date.now() - started },
      'gate rebuilt from SQL (Redis had lost its data)',
    );
    return items.length;
  };

  return {
    async rebuildIfLost() {
      if ((await deps.gate.gateEpoch()) !== null) return 0;
      // One rebuild at a time per process; other instances may rebuild too, which is harmless (versioned).
      running ??= rebuild().finally(() => {
        running = undefined;
      });
      return running;
    },
  };
}
