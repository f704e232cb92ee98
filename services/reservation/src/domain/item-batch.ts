// Splitting a consumed batch into per-item work, each in log order: the unit of one SQL transaction.
import type { ItemCommand } from '@buy-now/contracts';
import { purchaseKeyOf } from './purchase.js';
import type { DecisionKeys, PurchaseKey } from './reservation-store.js';

/** Commands grouped by itemId, each group in the order given; groups in order of first appearance. */
export function groupCommandsByItem(commands: readonly ItemCommand[]): Map<string, ItemCommand[]> {
  const byItem = new Map<string, ItemCommand[]>();
  for (const command of commands) {
    const group = byItem.get(command.value.itemId);
    if (group === undefined) byItem.set(command.value.itemId, [command]);
    else group.push(command);
  }
  return byItem;
}

/** The ids the store needs to load the decision context of these commands. */
export function decisionKeysOf(commands: readonly ItemCommand[]): DecisionKeys {
  const purchaseIds = new Set<string>();
  const buyerIds = new Set<string>();
  const commandIds = new Set<string>();
  const purchaseKeys = new Map<string, PurchaseKey>();
  for (const command of commands) {
    if (command.name === 'BuyRequested') {
      const { purchaseId, buyerId, idempotencyKey } = command.value;
      purchaseIds.add(purchaseId);
      buyerIds.add(buyerId);
      purchaseKeys.set(purchaseKeyOf(buyerId, idempotencyKey), { buyerId, idempotencyKey });
    } else {
      commandIds.add(command.value.commandId);
    }
  }
  return {
    purchaseIds: [...purchaseIds],
    buyerIds: [...buyerIds],
    purchaseKeys: [...purchaseKeys.values()],
    commandIds: [...commandIds],
  };
}
