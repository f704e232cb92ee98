// Rebuilds the Redis gate from SQL, the authority, when Redis lost its data (no gate epoch). Purchases
// in flight at that moment are not in SQL yet, so the gate may admit a few more than remain; SQL still
// refuses them (SOLD_OUT): the one documented first-come-first-served exception. The item views come
// back on their own: the stream processor restores its read model from the compacted stock-views topic.
import type { Logger } from '@buy-now/observability';
import type { ReservationReads } from '@buy-now/sql-schema';
import type { PurchaseGate } from '../../domain/purchase-gate.js';

export interface GateRebuilder {
  /** Rebuilds when the gate has no epoch; returns the number of items restored (0: nothing to do). */
  rebuildIfLost(): Promise<number>;
}

export function createGateRebuilder(deps: {
  reads: Pick<ReservationReads, 'gateSnapshot'>;
  gate: PurchaseGate;
  logger: Logger;
}): GateRebuilder {
  let running: Promise<number> | undefined;

  const rebuild = async (): Promise<number> => {
    const started = Date.now();
    const snapshot = await deps.reads.gateSnapshot();
    // So the admission sequence carries on after the rebuild instead of starting again at 1.
    const lastSeqByItem = new Map(snapshot.lastAdmissionSeqs.map((row) => [row.itemId, row.lastSeq]));
    const unitsByItem = new Map<string, Record<string, number>>();
    for (const row of snapshot.confirmedUnits) {
      const units = unitsByItem.get(row.itemId) ?? {};
      units[row.buyerId] = row.units;
      unitsByItem.set(row.itemId, units);
    }
    for (const item of snapshot.items) {
      await deps.gate.restoreItem({
        itemId: item.itemId,
        version: item.version,
        remaining: item.remaining,
        perBuyerLimit: item.perBuyerLimit,
        startsAt: item.startsAt,
        confirmedUnitsByBuyer: unitsByItem.get(item.itemId) ?? {},
        lastAdmissionSeq: lastSeqByItem.get(item.itemId) ?? 0,
      });
    }
    await deps.gate.markGateRebuilt();
    deps.logger.warn(
      { items: snapshot.items.length, tookMs: Date.now() - started },
      'gate rebuilt from SQL (Redis had lost its data)',
    );
    return snapshot.items.length;
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
