// The reconciler's use case: an admission whose BuyRequested the broker never acknowledged (its gateway
// died, or its publish ended without knowing) is published again under the same purchaseId, never given
// back. The log may already hold it, and SQL decides a purchaseId once, so publishing twice is harmless,
// while giving the unit back could tell a buyer "nothing was bought" about a purchase SQL then confirms.
import type { PurchaseGate } from './purchase-gate.js';
import type { CommandPublisher } from './ports.js';

export interface FinishReport {
  /** Claimed, published and acknowledged: now pending, SQL decides them. */
  finished: number;
  /** Claimed but not published (the broker is still away): claimed again after another bound. */
  failed: number;
}

export async function finishStuckAdmissions(
  deps: {
    gate: PurchaseGate;
    commands: CommandPublisher;
    onFailed?: (purchaseId: string, error: unknown) => void;
  },
  olderThanMs: number,
): Promise<FinishReport> {
  const report: FinishReport = { finished: 0, failed: 0 };
  for (const stuck of await deps.gate.claimStuck(olderThanMs)) {
    try {
      await deps.commands.publish({ name: 'BuyRequested', value: stuck });
      await deps.gate.markAccepted(stuck.itemId, stuck.purchaseId);
      report.finished += 1;
    } catch (error) {
      report.failed += 1;
      deps.onFailed?.(stuck.purchaseId, error);
    }
  }
  return report;
}
