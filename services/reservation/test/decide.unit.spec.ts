// Given an item's state, when a batch of commands arrives, then these events and purchase rows.
import type { AdjustStock, BuyRequested, ItemCommand, ItemEvent, ListItem } from '@buy-now/contracts';
import { describe, expect, it } from 'vitest';
import {
  decideItemCommands,
  decisionKeysOf,
  groupCommandsByItem,
  ItemDecisionError,
  purchaseKeyOf,
  toDecisionToPersist,
  type ItemDecisionContext,
  type ItemState,
} from '../src/domain/index.js';

const NOW = Date.UTC(2025, 10, 28, 9, 0, 0);
const ITEM = 'item-1';

function item(overrides: Partial<ItemState> = {}): ItemState {
  return {
    itemId: ITEM,
    title: 'Limited sneakers',
    priceMinor: 12_999,
    currency: 'EUR',
    perBuyerLimit: 1,
    startsAt: null,
    listed: 10,
    sold: 0,
    remaining: 10,
    version: 1,
    ...overrides,
  };
}

function given(state: ItemState | null, overrides: Partial<ItemDecisionContext> = {}): ItemDecisionContext {
  return {
    state,
    decidedPurchaseIds: new Set(),
    processedCommandIds: new Set(),
    purchaseIdsByKey: new Map(),
    confirmedUnitsByBuyer: new Map(),
    now: NOW,
    ...overrides,
  };
}

function buy(purchaseId: string, buyerId: string, overrides: Partial<BuyRequested> = {}): ItemCommand {
  return {
    name: 'BuyRequested',
    value: {
      purchaseId,
      itemId: ITEM,
      buyerId,
      quantity: 1,
      idempotencyKey: `key-${purchaseId}`,
      admittedAt: NOW - 10,
      admissionSeq: 7,
      gatewayId: 'gw-a',
      ...overrides,
    },
  };
}

function list(commandId: string, overrides: Partial<ListItem> = {}): ItemCommand {
  return {
    name: 'ListItem',
    value: {
      commandId,
      itemId: ITEM,
      title: 'Limited sneakers',
      priceMinor: 12_999,
      currency: 'EUR',
      stock: 5,
      perBuyerLimit: 2,
      startsAt: null,
      requestedAt: NOW - 1000,
      ...overrides,
    },
  };
}

function adjust(commandId: string, delta: number, overrides: Partial<AdjustStock> = {}): ItemCommand {
  return {
    name: 'AdjustStock',
    value: { commandId, itemId: ITEM, delta, requestedAt: NOW - 5, ...overrides },
  };
}

/** `Name@version` for versioned events, `PurchaseRejected:REASON@version` for rejections. */
function summary(events: readonly ItemEvent[]): string[] {
  return events.map((event) =>
    event.name === 'PurchaseRejected'
      ? `PurchaseRejected:${event.value.reason}@${String(event.value.version)}`
      : `${event.name}@${event.value.version}`,
  );
}

function versionsOf(events: readonly ItemEvent[]): number[] {
  return events.flatMap((event) => (event.name === 'PurchaseRejected' ? [] : [event.value.version]));
}

describe('decideItemCommands: buying', () => {
  it('confirms a buy, takes the next version and stamps the row and the event', () => {
    const decision = decideItemCommands(given(item({ version: 4 })), [buy('p1', 'alice')]);

    expect(decision.events).toEqual([
      {
        name: 'ItemBought',
        value: {
          itemId: ITEM,
          version: 5,
          purchaseId: 'p1',
          buyerId: 'alice',
          quantity: 1,
          remaining: 9,
          priceMinor: 12_999,
          currency: 'EUR',
          admittedAt: NOW - 10,
          admissionSeq: 7,
          occurredAt: NOW,
        },
      },
    ]);
    expect(decision.purchases).toEqual([
      {
        purchaseId: 'p1',
        itemId: ITEM,
        buyerId: 'alice',
        quantity: 1,
        status: 'confirmed',
        reason: null,
        idempotencyKey: 'key-p1',
        admissionSeq: 7,
        admittedAt: NOW - 10,
        decidedAt: NOW,
        itemVersion: 5,
      },
    ]);
    expect(decision.state).toEqual(item({ version: 5, sold: 1, remaining: 9 }));
    expect(decision.stateChanged).toBe(true);
    expect(decision.skipped).toBe(0);
  });

  it('sells the last unit of stock 1 to exactly the first of many buyers, then says out of stock', () => {
    const buyers = Array.from({ length: 50 }, (_, i) => buy(`p${i}`, `buyer-${i}`, { admissionSeq: i }));
    const decision = decideItemCommands(given(item({ listed: 1, remaining: 1, version: 1 })), buyers);

    const confirmed = decision.purchases.filter((p) => p.status === 'confirmed');
    expect(confirmed.map((p) => p.purchaseId)).toEqual(['p0']);
    expect(decision.purchases.filter((p) => p.reason === 'SOLD_OUT')).toHaveLength(49);
    expect(summary(decision.events).slice(0, 3)).toEqual([
      'ItemBought@2',
      'OutOfStock@3',
      'PurchaseRejected:SOLD_OUT@3',
    ]);
    expect(decision.state).toMatchObject({ listed: 1, sold: 1, remaining: 0, version: 3 });
  });

  it('applies the per-buyer limit across the batch and on top of units bought before', () => {
    const decision = decideItemCommands(
      given(item({ perBuyerLimit: 2 }), { confirmedUnitsByBuyer: new Map([['bob', 1]]) }),
      [buy('a1', 'alice'), buy('b1', 'bob'), buy('a2', 'alice'), buy('a3', 'alice'), buy('b2', 'bob')],
    );

    expect(decision.purchases.map((p) => `${p.purchaseId}:${p.reason ?? p.status}`)).toEqual([
      'a1:confirmed',
      'b1:confirmed',
      'a2:confirmed',
      'a3:LIMIT_EXCEEDED',
      'b2:LIMIT_EXCEEDED',
    ]);
    expect(decision.state).toMatchObject({ sold: 3, remaining: 7 });
  });

  it('refuses a request for more than is left as a whole (no partial fill) and still serves smaller ones', () => {
    const decision = decideItemCommands(given(item({ perBuyerLimit: 5, listed: 3, remaining: 3 })), [
      buy('big', 'alice', { quantity: 4 }),
      buy('fits', 'bob', { quantity: 3 }),
    ]);

    expect(summary(decision.events)).toEqual(['PurchaseRejected:SOLD_OUT@1', 'ItemBought@2', 'OutOfStock@3']);
    expect(decision.events[0]).toMatchObject({ value: { quantity: 4, remaining: 3 } });
    expect(decision.purchases.map((p) => p.status)).toEqual(['rejected', 'confirmed']);
    expect(decision.state).toMatchObject({ sold: 3, remaining: 0 });
  });

  it('rejects a quantity below 1 as INVALID_QUANTITY, before anything else, without a version', () => {
    const decision = decideItemCommands(given(null), [buy('zero', 'alice', { quantity: 0 })]);
    const known = decideItemCommands(given(item({ version: 3 })), [buy('neg', 'alice', { quantity: -2 })]);

    expect(decision.purchases[0]).toMatchObject({
      status: 'rejected',
      reason: 'INVALID_QUANTITY',
      quantity: 0,
    });
    expect(known.events).toEqual([
      {
        name: 'PurchaseRejected',
        value: {
          itemId: ITEM,
          version: 3,
          purchaseId: 'neg',
          buyerId: 'alice',
          quantity: -2,
          reason: 'INVALID_QUANTITY',
          remaining: 10,
          admissionSeq: 7,
          occurredAt: NOW,
          originalPurchaseId: null,
        },
      },
    ]);
    expect(known.stateChanged).toBe(false);
  });

  it('rejects a buy of an unknown item as UNKNOWN_ITEM with version null and nothing remaining', () => {
    const decision = decideItemCommands(given(null), [buy('p1', 'alice')]);

    expect(decision.events).toEqual([
      {
        name: 'PurchaseRejected',
        value: {
          itemId: ITEM,
          version: null,
          purchaseId: 'p1',
          buyerId: 'alice',
          quantity: 1,
          reason: 'UNKNOWN_ITEM',
          remaining: 0,
          admissionSeq: 7,
          occurredAt: NOW,
          originalPurchaseId: null,
        },
      },
    ]);
    expect(decision.purchases[0]).toMatchObject({
      status: 'rejected',
      reason: 'UNKNOWN_ITEM',
      itemVersion: null,
    });
    expect(decision.state).toBeNull();
    expect(decision.stateChanged).toBe(false);
  });

  it('judges the start of the sale on admittedAt, not on the clock of the decision', () => {
    const startsAt = NOW - 1000;
    const decision = decideItemCommands(given(item({ startsAt }), { now: NOW }), [
      buy('early', 'alice', { admittedAt: startsAt - 1 }),
      buy('on-time', 'bob', { admittedAt: startsAt }),
    ]);
    // Decided again with a clock from before the start (a replay, a skewed host): admittedAt still decides.
    const replayedLater = decideItemCommands(given(item({ startsAt }), { now: startsAt - 10_000 }), [
      buy('on-time', 'bob', { admittedAt: startsAt }),
    ]);

    expect(decision.purchases.map((p) => p.reason ?? p.status)).toEqual(['NOT_STARTED', 'confirmed']);
    expect(replayedLater.purchases[0]?.status).toBe('confirmed');
  });

  it('rejects in the documented order: NOT_STARTED before LIMIT_EXCEEDED before SOLD_OUT', () => {
    const state = item({ startsAt: NOW, perBuyerLimit: 1, listed: 1, remaining: 0, sold: 1 });
    const decision = decideItemCommands(given(state, { confirmedUnitsByBuyer: new Map([['alice', 1]]) }), [
      buy('a', 'alice', { admittedAt: NOW - 1 }),
      buy('b', 'alice', { admittedAt: NOW }),
      buy('c', 'bob', { admittedAt: NOW }),
    ]);

    expect(decision.purchases.map((p) => p.reason)).toEqual(['NOT_STARTED', 'LIMIT_EXCEEDED', 'SOLD_OUT']);
  });

  it('keeps an unknown admission order as null in the row and -1 on the event', () => {
    const decision = decideItemCommands(given(item()), [buy('p1', 'alice', { admissionSeq: -1 })]);

    expect(decision.purchases[0]?.admissionSeq).toBeNull();
    expect(decision.events[0]).toMatchObject({ name: 'ItemBought', value: { admissionSeq: -1 } });
  });
});

describe('decideItemCommands: replays', () => {
  it('skips purchase ids decided before and those repeated within the batch', () => {
    const decision = decideItemCommands(given(item(), { decidedPurchaseIds: new Set(['p1']) }), [
      buy('p1', 'alice'),
      buy('p2', 'bob'),
      buy('p2', 'bob'),
    ]);

    expect(decision.purchases.map((p) => p.purchaseId)).toEqual(['p2']);
    expect(summary(decision.events)).toEqual(['ItemBought@2']);
    expect(decision.skipped).toBe(2);
    expect(decision.ignored).toEqual([
      { name: 'BuyRequested', id: 'p1', reason: 'PURCHASE_ALREADY_DECIDED' },
      { name: 'BuyRequested', id: 'p2', reason: 'PURCHASE_ALREADY_DECIDED' },
    ]);
  });

  it('gives the same outcome when a batch is decided again from the same state', () => {
    const commands = [list('c1'), buy('p1', 'alice'), adjust('c2', 3), buy('p2', 'bob', { quantity: 2 })];
    expect(decideItemCommands(given(null), commands)).toEqual(decideItemCommands(given(null), commands));
  });

  it('changes nothing when the whole batch is replayed after it was committed', () => {
    const commands = [list('c1'), buy('p1', 'alice'), adjust('c2', 3)];
    const first = decideItemCommands(given(null), commands);
    const replay = decideItemCommands(
      given(first.state, {
        decidedPurchaseIds: new Set(first.purchases.map((p) => p.purchaseId)),
        processedCommandIds: new Set(first.processedCommandIds),
        confirmedUnitsByBuyer: new Map([['alice', 1]]),
      }),
      commands,
    );

    expect(replay.events).toEqual([]);
    expect(replay.purchases).toEqual([]);
    expect(replay.processedCommandIds).toEqual([]);
    expect(replay.skipped).toBe(3);
    expect(replay.stateChanged).toBe(false);
    expect(replay.state).toEqual(first.state);
  });

  it('ignores a processed ListItem or AdjustStock command id', () => {
    const decision = decideItemCommands(given(item(), { processedCommandIds: new Set(['c1', 'c2']) }), [
      list('c1'),
      adjust('c2', 5),
    ]);

    expect(decision.events).toEqual([]);
    expect(decision.ignored.map((i) => i.reason)).toEqual([
      'COMMAND_ALREADY_PROCESSED',
      'COMMAND_ALREADY_PROCESSED',
    ]);
  });
});

describe('decideItemCommands: one purchase per buyer, item and Idempotency-Key', () => {
  it('rejects a new purchase id for a key that already bought, naming the original; nothing is taken', () => {
    const state = item({ perBuyerLimit: 2, sold: 1, remaining: 9, version: 2 });
    const decision = decideItemCommands(
      given(state, {
        purchaseIdsByKey: new Map([[purchaseKeyOf('alice', 'K'), 'p1']]),
        confirmedUnitsByBuyer: new Map([['alice', 1]]),
      }),
      [buy('p2', 'alice', { idempotencyKey: 'K' })],
    );

    expect(decision.stateChanged).toBe(false);
    expect(decision.state).toEqual(state);
    expect(decision.purchases).toEqual([
      expect.objectContaining({
        purchaseId: 'p2',
        status: 'rejected',
        reason: 'DUPLICATE_REQUEST',
        idempotencyKey: 'K',
        itemVersion: 2,
      }),
    ]);
    expect(decision.events).toHaveLength(1);
    expect(decision.events[0]).toMatchObject({
      name: 'PurchaseRejected',
      value: {
        purchaseId: 'p2',
        reason: 'DUPLICATE_REQUEST',
        originalPurchaseId: 'p1',
        version: 2,
        remaining: 9,
      },
    });
  });

  it('lets the first of one key in a batch hold it; the key is the buyer’s own, and other keys still buy', () => {
    const decision = decideItemCommands(given(item({ perBuyerLimit: 3 })), [
      buy('p1', 'alice', { idempotencyKey: 'K' }),
      buy('p2', 'alice', { idempotencyKey: 'K' }),
      buy('p3', 'bob', { idempotencyKey: 'K' }),
      buy('p4', 'alice', { idempotencyKey: 'K2' }),
    ]);

    expect(decision.purchases.map((p) => `${p.purchaseId}:${p.reason ?? p.status}`)).toEqual([
      'p1:confirmed',
      'p2:DUPLICATE_REQUEST',
      'p3:confirmed',
      'p4:confirmed',
    ]);
    expect(decision.events[1]).toMatchObject({
      name: 'PurchaseRejected',
      value: { purchaseId: 'p2', originalPurchaseId: 'p1' },
    });
    expect(summary(decision.events)).toEqual([
      'ItemBought@2',
      'PurchaseRejected:DUPLICATE_REQUEST@2',
      'ItemBought@3',
      'ItemBought@4',
    ]);
  });

  it('lets a rejected first purchase hold its key too: the retry gets no second chance under it', () => {
    const decision = decideItemCommands(given(item({ listed: 1, remaining: 0, sold: 1 })), [
      buy('p1', 'alice', { idempotencyKey: 'K' }),
      buy('p2', 'alice', { idempotencyKey: 'K' }),
    ]);

    expect(decision.purchases.map((p) => p.reason)).toEqual(['SOLD_OUT', 'DUPLICATE_REQUEST']);
  });

  it('skips a redelivered original as before: dedupe by purchase id comes first', () => {
    const decision = decideItemCommands(
      given(item(), {
        decidedPurchaseIds: new Set(['p1']),
        purchaseIdsByKey: new Map([[purchaseKeyOf('alice', 'K'), 'p1']]),
      }),
      [buy('p1', 'alice', { idempotencyKey: 'K' })],
    );

    expect(decision.events).toEqual([]);
    expect(decision.purchases).toEqual([]);
    expect(decision.ignored).toEqual([
      { name: 'BuyRequested', id: 'p1', reason: 'PURCHASE_ALREADY_DECIDED' },
    ]);
  });

  it('names no original purchase on any other rejection', () => {
    const decision = decideItemCommands(given(item({ remaining: 0, sold: 10 })), [buy('p1', 'alice')]);

    expect(decision.events[0]).toMatchObject({
      name: 'PurchaseRejected',
      value: { reason: 'SOLD_OUT', originalPurchaseId: null },
    });
  });
});

describe('decideItemCommands: listing and stock', () => {
  it('lists an unknown item at version 1 with all its stock remaining', () => {
    const decision = decideItemCommands(given(null), [list('c1', { startsAt: NOW + 60_000 })]);

    expect(decision.events).toEqual([
      {
        name: 'ItemListed',
        value: {
          commandId: 'c1',
          itemId: ITEM,
          version: 1,
          title: 'Limited sneakers',
          priceMinor: 12_999,
          currency: 'EUR',
          stock: 5,
          perBuyerLimit: 2,
          startsAt: NOW + 60_000,
          occurredAt: NOW,
        },
      },
    ]);
    expect(decision.state).toEqual(
      item({ listed: 5, remaining: 5, perBuyerLimit: 2, startsAt: NOW + 60_000, version: 1 }),
    );
    expect(decision.processedCommandIds).toEqual(['c1']);
  });

  it('ignores a second listing of an existing item, and records it as processed so a replay stays ignored', () => {
    const decision = decideItemCommands(given(item({ version: 7 })), [list('c9', { stock: 1000 })]);

    expect(decision.events).toEqual([]);
    expect(decision.stateChanged).toBe(false);
    expect(decision.processedCommandIds).toEqual(['c9']);
    expect(decision.ignored).toEqual([{ name: 'ListItem', id: 'c9', reason: 'ITEM_ALREADY_LISTED' }]);
  });

  it('ignores an adjustment of an unknown item, and records it so it can never apply later', () => {
    const decision = decideItemCommands(given(null), [adjust('c1', 5), list('c2'), buy('p1', 'alice')]);

    expect(decision.ignored).toEqual([{ name: 'AdjustStock', id: 'c1', reason: 'ITEM_NOT_LISTED' }]);
    expect(decision.processedCommandIds).toEqual(['c1', 'c2']);
    expect(decision.state).toMatchObject({ listed: 5, remaining: 4, sold: 1, version: 2 });
  });

  it('ignores a listing the contract should have refused (negative stock, limit below 1)', () => {
    const decision = decideItemCommands(given(null), [
      list('c1', { stock: -1 }),
      list('c2', { perBuyerLimit: 0 }),
    ]);

    expect(decision.state).toBeNull();
    expect(decision.ignored.map((i) => i.reason)).toEqual(['INVALID_LISTING', 'INVALID_LISTING']);
  });

  it('restocks a sold-out item and reopens it to buyers', () => {
    const soldOut = item({ listed: 1, sold: 1, remaining: 0, version: 3, perBuyerLimit: 5 });
    const decision = decideItemCommands(given(soldOut), [
      buy('p1', 'alice'),
      adjust('c1', 2),
      buy('p2', 'alice'),
      buy('p3', 'bob'),
    ]);

    expect(summary(decision.events)).toEqual([
      'PurchaseRejected:SOLD_OUT@3',
      'StockAdjusted@4',
      'ItemBought@5',
      'ItemBought@6',
      'OutOfStock@7',
    ]);
    expect(decision.events[1]).toMatchObject({ value: { delta: 2, remaining: 2 } });
    expect(decision.state).toMatchObject({ listed: 3, sold: 3, remaining: 0, version: 7 });
  });

  it('withdraws at most what remains: sold units are never taken back', () => {
    const decision = decideItemCommands(given(item({ listed: 10, sold: 7, remaining: 3, version: 9 })), [
      adjust('c1', -5),
    ]);

    expect(decision.events).toEqual([
      {
        name: 'StockAdjusted',
        value: { commandId: 'c1', itemId: ITEM, version: 10, delta: -3, remaining: 0, occurredAt: NOW },
      },
      { name: 'OutOfStock', value: { itemId: ITEM, version: 11, occurredAt: NOW } },
    ]);
    expect(decision.state).toMatchObject({ listed: 7, sold: 7, remaining: 0, version: 11 });
  });

  it('says out of stock only when an adjustment takes remaining from above 0 to 0', () => {
    const decision = decideItemCommands(given(item({ listed: 2, sold: 2, remaining: 0, version: 4 })), [
      adjust('c1', -1),
    ]);

    expect(summary(decision.events)).toEqual(['StockAdjusted@5']);
    expect(decision.events[0]).toMatchObject({ value: { delta: 0, remaining: 0 } });
    expect(decision.state).toMatchObject({ listed: 2, sold: 2, remaining: 0 });
  });

  it('numbers every change of a mixed batch contiguously, rejections reusing the current version', () => {
    const decision = decideItemCommands(given(null), [
      buy('p0', 'zed'),
      list('c1', { stock: 2, perBuyerLimit: 1 }),
      buy('p1', 'alice'),
      buy('p2', 'alice'),
      adjust('c2', 1),
      buy('p3', 'bob'),
      buy('p4', 'carol'),
      buy('p5', 'dave'),
      adjust('c3', -10),
      adjust('c4', 4),
    ]);

    expect(summary(decision.events)).toEqual([
      'PurchaseRejected:UNKNOWN_ITEM@null',
      'ItemListed@1',
      'ItemBought@2',
      'PurchaseRejected:LIMIT_EXCEEDED@2',
      'StockAdjusted@3',
      'ItemBought@4',
      'ItemBought@5',
      'OutOfStock@6',
      'PurchaseRejected:SOLD_OUT@6',
      'StockAdjusted@7',
      'StockAdjusted@8',
    ]);
    const versions = versionsOf(decision.events);
    expect(versions).toEqual(versions.map((_, i) => i + 1));
    expect(decision.state).toMatchObject({ listed: 7, sold: 3, remaining: 4, version: 8 });
    const confirmedVersions = decision.purchases
      .filter((p) => p.status === 'confirmed')
      .map((p) => p.itemVersion);
    expect(confirmedVersions).toEqual([2, 4, 5]);
  });

  it('keeps sold + remaining = listed and remaining >= 0 through any sequence', () => {
    let state: ItemState | null = null;
    const decidedPurchaseIds = new Set<string>();
    const units = new Map<string, number>();
    for (let round = 0; round < 40; round++) {
      const commands: ItemCommand[] = [
        ...(round === 0 ? [list('list', { stock: 3, perBuyerLimit: 3 })] : []),
        adjust(`adj-${round}`, ((round * 7) % 11) - 5),
        buy(`p-${round}-a`, `buyer-${round % 4}`, { quantity: (round % 3) + 1 }),
        buy(`p-${round}-b`, `buyer-${(round + 1) % 4}`, { quantity: 1 }),
      ];
      const decision = decideItemCommands(
        given(state, { decidedPurchaseIds, confirmedUnitsByBuyer: new Map(units) }),
        commands,
      );
      const before: number = state?.version ?? 0;
      const versions = versionsOf(decision.events);
      expect(versions).toEqual(versions.map((_, i) => before + i + 1));
      for (const purchase of decision.purchases) {
        decidedPurchaseIds.add(purchase.purchaseId);
        if (purchase.status === 'confirmed') {
          units.set(purchase.buyerId, (units.get(purchase.buyerId) ?? 0) + purchase.quantity);
        }
      }
      state = decision.state;
      expect(state).not.toBeNull();
      expect(state!.remaining).toBeGreaterThanOrEqual(0);
      expect(state!.sold + state!.remaining).toBe(state!.listed);
      for (const bought of units.values()) expect(bought).toBeLessThanOrEqual(3);
    }
    expect(state!.sold).toBe([...units.values()].reduce((a, b) => a + b, 0));
  });

  it('refuses commands of another item: grouping them is the caller’s job', () => {
    const stranger = buy('p1', 'alice', { itemId: 'item-2' });
    expect(() => decideItemCommands(given(item()), [stranger])).toThrow(ItemDecisionError);
    expect(() => decideItemCommands(given(null), [buy('p0', 'bob'), stranger])).toThrow(
      expect.objectContaining({ code: 'DECISION_MIXED_ITEMS', canRetry: false }),
    );
  });

  it('does not modify the state or sets it was given', () => {
    const state = item();
    const decided = new Set<string>();
    decideItemCommands(given(state, { decidedPurchaseIds: decided }), [buy('p1', 'alice'), adjust('c1', 4)]);

    expect(state).toEqual(item());
    expect(decided.size).toBe(0);
  });
});

describe('batch helpers', () => {
  it('groups commands by item in log order and collects the keys the store needs', () => {
    const commands = [
      buy('p1', 'alice'),
      buy('p2', 'bob', { itemId: 'item-2' }),
      adjust('c1', 1),
      buy('p3', 'alice'),
      buy('p4', 'alice', { idempotencyKey: 'key-p1' }),
    ];
    const groups = groupCommandsByItem(commands);

    expect([...groups.keys()]).toEqual([ITEM, 'item-2']);
    expect(groups.get(ITEM)?.map((c) => c.name)).toEqual([
      'BuyRequested',
      'AdjustStock',
      'BuyRequested',
      'BuyRequested',
    ]);
    expect(decisionKeysOf(groups.get(ITEM) ?? [])).toEqual({
      purchaseIds: ['p1', 'p3', 'p4'],
      buyerIds: ['alice'],
      purchaseKeys: [
        { buyerId: 'alice', idempotencyKey: 'key-p1' },
        { buyerId: 'alice', idempotencyKey: 'key-p3' },
      ],
      commandIds: ['c1'],
    });
  });

  it('persists versioned events in the event store and every event in the outbox, in order', () => {
    const decision = decideItemCommands(given(item({ listed: 1, remaining: 1 })), [
      buy('p1', 'alice'),
      buy('p2', 'bob'),
    ]);
    const persisted = toDecisionToPersist(decision, (event) => ({
      topic: 'item-events',
      key: event.value.itemId,
      value: Buffer.from(event.name),
      headers: { schema: event.name },
    }));

    expect(persisted.state).toEqual(decision.state);
    expect(persisted.events.map((e) => `${e.name}@${e.version}`)).toEqual(['ItemBought@2', 'OutOfStock@3']);
    expect(persisted.events[0]?.payload).toEqual(decision.events[0]?.value);
    expect(persisted.outbox.map((o) => o.value.toString())).toEqual([
      'ItemBought',
      'OutOfStock',
      'PurchaseRejected',
    ]);
    expect(persisted.itemDecision).toBe(decision);
  });

  it('asks for no item write when nothing changed', () => {
    const decision = decideItemCommands(given(item({ remaining: 0, sold: 10 })), [buy('p1', 'alice')]);
    const persisted = toDecisionToPersist(decision, (event) => ({
      topic: 'item-events',
      key: event.value.itemId,
      value: Buffer.alloc(0),
      headers: {},
    }));

    expect(persisted.state).toBeNull();
    expect(persisted.purchases).toHaveLength(1);
    expect(persisted.events).toEqual([]);
    expect(persisted.outbox).toHaveLength(1);
  });
});
