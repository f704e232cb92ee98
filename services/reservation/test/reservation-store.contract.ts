// What every ReservationStore must do against its real database, whatever the dialect. Each adapter's
// integration spec runs this suite against a fresh database of its own.
import {
  decode,
  encode,
  Topics,
  type BuyRequested,
  type ItemCommand,
  type ListItem,
} from '@buy-now/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decideItemCommands,
  decisionKeysOf,
  toDecisionToPersist,
  type DecisionToPersist,
  type EncodeItemEvent,
  type ItemDecisionToPersist,
  type PersistedDecision,
  type ReservationStore,
} from '../src/domain/index.js';

export interface StoreUnderTest {
  store: ReservationStore;
  cleanup: () => Promise<void>;
}

const encodeItemEvent: EncodeItemEvent = (event) => {
  const record = encode(event.name, event.value);
  return { topic: Topics.itemEvents, key: event.value.itemId, value: record.value, headers: record.headers };
};

// Millisecond values that a lossy conversion (seconds, float rounding, a time zone) would change.
const NOW = Date.UTC(2025, 10, 28, 9, 0, 0, 123);
let sequence = 0;

function newItemId(label: string): string {
  sequence += 1;
  return `${label}-${process.pid}-${Date.now().toString(36)}-${sequence}`;
}

function listing(itemId: string, overrides: Partial<ListItem> = {}): ItemCommand {
  return {
    name: 'ListItem',
    value: {
      commandId: `list-${itemId}`,
      itemId,
      title: 'Limited sneakers — 限定版',
      priceMinor: 12_999,
      currency: 'EUR',
      stock: 10,
      perBuyerLimit: 1,
      startsAt: NOW - 60_001,
      requestedAt: NOW - 90_000,
      ...overrides,
    },
  };
}

function buying(itemId: string, purchaseId: string, overrides: Partial<BuyRequested> = {}): ItemCommand {
  return {
    name: 'BuyRequested',
    value: {
      purchaseId,
      itemId,
      buyerId: `buyer-of-${purchaseId}`,
      quantity: 1,
      idempotencyKey: `key-${purchaseId}`,
      admittedAt: NOW - 7,
      admissionSeq: 41,
      gatewayId: 'gw-a',
      ...overrides,
    },
  };
}

/** The whole write path for one item's commands, as the consumer runs it. */
function decideWith(
  store: ReservationStore,
  itemId: string,
  commands: readonly ItemCommand[],
  now = NOW,
): Promise<PersistedDecision<ItemDecisionToPersist>> {
  return store.decideForItem(itemId, decisionKeysOf(commands), (context) =>
    toDecisionToPersist(decideItemCommands({ ...context, now }, commands), encodeItemEvent),
  );
}

async function outboxOf(store: ReservationStore, itemId: string) {
  return (await store.unpublishedOutbox(100_000)).filter((row) => row.key === itemId);
}

function expectContiguous(versions: readonly number[]): void {
  expect(versions).toEqual(versions.map((_, i) => i + 1));
}

export function describeReservationStoreContract(
  name: string,
  makeStore: () => Promise<StoreUnderTest>,
  options: { setupTimeoutMs?: number } = {},
): void {
  describe(`ReservationStore contract: ${name}`, () => {
    let subject: StoreUnderTest | undefined;
    const store = (): ReservationStore => {
      if (subject === undefined) throw new Error(`the ${name} store was not created`);
      return subject.store;
    };

    beforeAll(async () => {
      subject = await makeStore();
    }, options.setupTimeoutMs ?? 60_000);
    afterAll(async () => {
      await subject?.cleanup();
    }, options.setupTimeoutMs ?? 60_000);

    it('persists the item, purchases, events and outbox of a decision together, and reads them back', async () => {
      const itemId = newItemId('atomic');
      const commands = [
        listing(itemId, { stock: 2, perBuyerLimit: 2 }),
        buying(itemId, `${itemId}-p1`, { quantity: 2, buyerId: 'alice' }),
        buying(itemId, `${itemId}-p2`, { buyerId: 'bob', admissionSeq: -1 }),
      ];

      const persisted = await decideWith(store(), itemId, commands);

      const item = {
        itemId,
        title: 'Limited sneakers — 限定版',
        priceMinor: 12_999,
        currency: 'EUR',
        perBuyerLimit: 2,
        startsAt: NOW - 60_001,
        listed: 2,
        sold: 2,
        remaining: 0,
        version: 3,
      };
      expect(persisted.decision.state).toEqual(item);
      expect(await store().getItem(itemId)).toEqual(item);
      expect((await store().listItems()).find((i) => i.itemId === itemId)).toEqual(item);

      expect(await store().getPurchase(`${itemId}-p1`)).toEqual({
        purchaseId: `${itemId}-p1`,
        itemId,
        buyerId: 'alice',
        quantity: 2,
        status: 'confirmed',
        reason: null,
        idempotencyKey: `key-${itemId}-p1`,
        admissionSeq: 41,
        admittedAt: NOW - 7,
        decidedAt: NOW,
        itemVersion: 2,
      });
      expect(await store().getPurchase(`${itemId}-p2`)).toMatchObject({
        status: 'rejected',
        reason: 'SOLD_OUT',
        admissionSeq: null,
        itemVersion: 3,
      });

      const events = await store().itemEvents(itemId);
      expect(events.map((e) => `${e.name}@${e.version}`)).toEqual([
        'ItemListed@1',
        'ItemBought@2',
        'OutOfStock@3',
      ]);
      expect(events[1]).toEqual({
        version: 2,
        name: 'ItemBought',
        occurredAt: NOW,
        payload: persisted.decision.itemDecision.events[1]?.value,
      });
      expect((await store().itemEvents(itemId, 3)).map((e) => e.version)).toEqual([3]);

      const outbox = await outboxOf(store(), itemId);
      expect(outbox.map((row) => row.id)).toEqual(persisted.outboxIds);
      expect(persisted.outbox.map((row) => row.id)).toEqual(persisted.outboxIds);
      expect(outbox.map((row) => row.headers['schema'])).toEqual([
        'buynow.ItemListed',
        'buynow.ItemBought',
        'buynow.OutOfStock',
        'buynow.PurchaseRejected',
      ]);
      expect(outbox.map((row) => row.value)).toEqual(persisted.decision.outbox.map((record) => record.value));
      expect(outbox.every((row) => row.topic === Topics.itemEvents && Number.isFinite(row.createdAt))).toBe(
        true,
      );
    });

    it('answers a ping while the database is reachable', async () => {
      await expect(store().ping()).resolves.toBeUndefined();
    });

    it('returns nothing for what does not exist', async () => {
      expect(await store().getItem(newItemId('missing'))).toBeNull();
      expect(await store().getPurchase(newItemId('missing-purchase'))).toBeNull();
      expect(await store().itemEvents(newItemId('missing'))).toEqual([]);
    });

    it('leaves nothing behind when decide throws, and rethrows its error unchanged', async () => {
      const itemId = newItemId('throws');
      await decideWith(store(), itemId, [listing(itemId)]);
      const failure = new Error('decide failed');

      await expect(
        store().decideForItem(
          itemId,
          { purchaseIds: ['x'], buyerIds: ['y'], purchaseKeys: [], commandIds: [] },
          () => {
            throw failure;
          },
        ),
      ).rejects.toBe(failure);

      // The lock is released and the item can be decided on at once.
      const next = await decideWith(store(), itemId, [buying(itemId, `${itemId}-p1`)]);
      expect(next.decision.itemDecision.purchases[0]?.status).toBe('confirmed');
      expect((await store().itemEvents(itemId)).map((e) => e.version)).toEqual([1, 2]);
    });

    it('rolls back every write of a decision that fails on its last statements', async () => {
      const itemId = newItemId('late-failure');
      await decideWith(store(), itemId, [listing(itemId), buying(itemId, `${itemId}-p1`)]);
      const item = await store().getItem(itemId);
      const events = await store().itemEvents(itemId);
      const outbox = await outboxOf(store(), itemId);

      // A command id twice breaks the processed_commands key after items, purchases and events were written.
      const failing = store().decideForItem(
        itemId,
        { purchaseIds: [`${itemId}-p2`], buyerIds: [], purchaseKeys: [], commandIds: [] },
        (context) => ({
          ...toDecisionToPersist(
            decideItemCommands({ ...context, now: NOW }, [buying(itemId, `${itemId}-p2`)]),
            encodeItemEvent,
          ),
          processedCommandIds: [`${itemId}-dup`, `${itemId}-dup`],
        }),
      );

      await expect(failing).rejects.toMatchObject({
        name: 'ReservationStoreError',
        code: 'RESERVATION_STORE_CONFLICT',
      });
      expect(await store().getPurchase(`${itemId}-p2`)).toBeNull();
      expect(await store().getItem(itemId)).toEqual(item);
      expect(await store().itemEvents(itemId)).toEqual(events);
      expect(await outboxOf(store(), itemId)).toEqual(outbox);
    });

    it('serialises 20 concurrent decisions on one hot item: 10 sold of 10, versions without gaps', async () => {
      const itemId = newItemId('hot');
      await decideWith(store(), itemId, [listing(itemId, { stock: 10 })]);

      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          decideWith(store(), itemId, [buying(itemId, `${itemId}-p${i}`, { admissionSeq: i })]),
        ),
      );

      const outcomes = results.flatMap((r) => r.decision.itemDecision.purchases);
      expect(outcomes.filter((p) => p.status === 'confirmed')).toHaveLength(10);
      expect(outcomes.filter((p) => p.reason === 'SOLD_OUT')).toHaveLength(10);
      expect(await store().getItem(itemId)).toMatchObject({
        listed: 10,
        sold: 10,
        remaining: 0,
        version: 12,
      });

      const events = await store().itemEvents(itemId);
      expectContiguous(events.map((e) => e.version));
      expect(events.filter((e) => e.name === 'ItemBought')).toHaveLength(10);
      expect(events.at(-1)?.name).toBe('OutOfStock');

      const purchases = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store().getPurchase(`${itemId}-p${i}`)),
      );
      const confirmedVersions = purchases.flatMap((p) => (p?.status === 'confirmed' ? [p.itemVersion] : []));
      expect(confirmedVersions.sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      expect(purchases.filter((p) => p?.status === 'rejected').every((p) => p?.itemVersion === 12)).toBe(
        true,
      );
    });

    it('creates one item row when two first listings race, and numbers both batches in one sequence', async () => {
      const itemId = newItemId('race');
      const [first, second] = await Promise.all([
        decideWith(store(), itemId, [
          listing(itemId, { commandId: `${itemId}-a`, stock: 3 }),
          buying(itemId, `${itemId}-pa`),
        ]),
        decideWith(store(), itemId, [
          listing(itemId, { commandId: `${itemId}-b`, stock: 50 }),
          buying(itemId, `${itemId}-pb`),
        ]),
      ]);

      const listed = [first, second].flatMap((r) =>
        r.decision.itemDecision.events.filter((e) => e.name === 'ItemListed'),
      );
      expect(listed).toHaveLength(1);
      const item = await store().getItem(itemId);
      expect(item).toMatchObject({ sold: 2, version: 3 });
      expect([3, 50]).toContain(item?.listed);
      expectContiguous((await store().itemEvents(itemId)).map((e) => e.version));
    });

    it('changes nothing when the same purchases and commands are decided again', async () => {
      const itemId = newItemId('replay');
      const commands = [
        listing(itemId, { stock: 5 }),
        buying(itemId, `${itemId}-p1`),
        buying(itemId, `${itemId}-p2`, { quantity: 0 }),
        {
          name: 'AdjustStock',
          value: { commandId: `${itemId}-adj`, itemId, delta: 2, requestedAt: NOW },
        } as const,
      ];
      await decideWith(store(), itemId, commands);
      const item = await store().getItem(itemId);
      const events = await store().itemEvents(itemId);
      const outbox = await outboxOf(store(), itemId);

      const replay = await decideWith(store(), itemId, commands, NOW + 5_000);

      expect(replay.decision.itemDecision.skipped).toBe(4);
      expect(replay.decision.state).toBeNull();
      // Nothing was published (as after a crash between commit and publish): the stored outcome goes out again.
      expect(replay.outbox).toEqual(outbox);
      expect(await store().getItem(itemId)).toEqual(item);
      expect(await store().itemEvents(itemId)).toEqual(events);
      expect(await outboxOf(store(), itemId)).toEqual(outbox);
      expect(await store().getPurchase(`${itemId}-p2`)).toMatchObject({
        status: 'rejected',
        reason: 'INVALID_QUANTITY',
        quantity: 0,
      });
    });

    it('counts units bought in earlier transactions against the per-buyer limit', async () => {
      const itemId = newItemId('limit');
      await decideWith(store(), itemId, [
        listing(itemId, { perBuyerLimit: 2 }),
        buying(itemId, `${itemId}-p1`, { buyerId: 'alice' }),
      ]);
      const later = await decideWith(store(), itemId, [
        buying(itemId, `${itemId}-p2`, { buyerId: 'alice' }),
        buying(itemId, `${itemId}-p3`, { buyerId: 'alice' }),
      ]);

      expect(later.decision.itemDecision.purchases.map((p) => p.reason ?? p.status)).toEqual([
        'confirmed',
        'LIMIT_EXCEEDED',
      ]);
    });

    it('rejects a new purchase id under a key that already bought as DUPLICATE_REQUEST, naming the original', async () => {
      const itemId = newItemId('same-key');
      const alice = { buyerId: 'alice', idempotencyKey: 'K' };
      await decideWith(store(), itemId, [
        listing(itemId, { perBuyerLimit: 3 }),
        buying(itemId, `${itemId}-p1`, alice),
      ]);
      // The gate forgot the key and admitted the retry afresh; the second one rides in the same batch.
      const retry = [
        buying(itemId, `${itemId}-p2`, alice),
        buying(itemId, `${itemId}-p3`, alice),
        buying(itemId, `${itemId}-p4`, { buyerId: 'bob', idempotencyKey: 'K' }),
      ];
      const decided = await decideWith(store(), itemId, retry, NOW + 1_000);

      expect(decided.decision.itemDecision.purchases.map((p) => p.reason ?? p.status)).toEqual([
        'DUPLICATE_REQUEST',
        'DUPLICATE_REQUEST',
        'confirmed',
      ]);
      const rejections = decided.outbox
        .map((row) => decode(row.headers, row.value))
        .filter((event) => event.name === 'PurchaseRejected');
      expect(rejections.map((event) => event.value)).toEqual([
        expect.objectContaining({ purchaseId: `${itemId}-p2`, originalPurchaseId: `${itemId}-p1` }),
        expect.objectContaining({ purchaseId: `${itemId}-p3`, originalPurchaseId: `${itemId}-p1` }),
      ]);
      expect(await store().getPurchase(`${itemId}-p2`)).toMatchObject({
        status: 'rejected',
        reason: 'DUPLICATE_REQUEST',
        idempotencyKey: 'K',
      });
      expect(await store().getItem(itemId)).toMatchObject({ sold: 2, remaining: 8 });

      // Redelivered, the retries and the original are recognised by purchase id: nothing changes.
      const again = await decideWith(store(), itemId, [buying(itemId, `${itemId}-p1`, alice), ...retry]);
      expect(again.decision.itemDecision.skipped).toBe(4);
      expect(again.decision.itemDecision.purchases).toEqual([]);
      expect(await store().getItem(itemId)).toMatchObject({ sold: 2, remaining: 8 });
    });

    it('refuses a second purchase for one buyer, item and key even when a buggy decide asks for it', async () => {
      const itemId = newItemId('key-backstop');
      const alice = { buyerId: 'alice', idempotencyKey: 'K' };
      await decideWith(store(), itemId, [
        listing(itemId, { perBuyerLimit: 3 }),
        buying(itemId, `${itemId}-p1`, alice),
      ]);
      const item = await store().getItem(itemId);
      const commands = [buying(itemId, `${itemId}-p2`, alice)];

      const duplicate = store().decideForItem(itemId, decisionKeysOf(commands), (context) =>
        // Told the key is free, the domain confirms a second purchase for it.
        toDecisionToPersist(
          decideItemCommands({ ...context, purchaseIdsByKey: new Map(), now: NOW }, commands),
          encodeItemEvent,
        ),
      );

      await expect(duplicate).rejects.toMatchObject({ code: 'RESERVATION_STORE_CONFLICT', canRetry: true });
      expect(await store().getItem(itemId)).toEqual(item);
      expect(await store().getPurchase(`${itemId}-p2`)).toBeNull();
    });

    it('refuses a second row for a purchase id even when a buggy decide asks for it', async () => {
      const itemId = newItemId('duplicate');
      await decideWith(store(), itemId, [listing(itemId), buying(itemId, `${itemId}-p1`)]);
      const item = await store().getItem(itemId);

      const duplicate = store().decideForItem(
        itemId,
        { purchaseIds: [], buyerIds: [], purchaseKeys: [], commandIds: [] },
        (context): DecisionToPersist => {
          // Told nothing was decided, the domain decides p1 again.
          const decision = decideItemCommands({ ...context, now: NOW }, [buying(itemId, `${itemId}-p1`)]);
          return toDecisionToPersist(decision, encodeItemEvent);
        },
      );

      await expect(duplicate).rejects.toMatchObject({ code: 'RESERVATION_STORE_CONFLICT', canRetry: true });
      expect(await store().getItem(itemId)).toEqual(item);
      expect((await store().itemEvents(itemId)).map((e) => e.version)).toEqual([1, 2]);
    });

    it('refuses remaining below 0 by CHECK constraint even when a buggy decide asks for it', async () => {
      const itemId = newItemId('oversell');
      await decideWith(store(), itemId, [listing(itemId, { stock: 1 })]);
      const item = await store().getItem(itemId);
      if (item === null) throw new Error('the item was not listed');

      const oversell = store().decideForItem(
        itemId,
        { purchaseIds: [], buyerIds: [], purchaseKeys: [], commandIds: [] },
        () => ({
          state: { ...item, sold: 2, remaining: -1, version: item.version + 1 },
          purchases: [],
          events: [
            { name: 'ItemBought', version: item.version + 1, payload: { oversold: true }, occurredAt: NOW },
          ],
          outbox: [],
          processedCommandIds: [],
        }),
      );

      await expect(oversell).rejects.toMatchObject({
        name: 'ReservationStoreError',
        code: 'RESERVATION_STORE_CONSTRAINT_VIOLATED',
        canRetry: false,
      });
      expect(await store().getItem(itemId)).toEqual(item);
      expect((await store().itemEvents(itemId)).map((e) => e.version)).toEqual([1]);
    });

    it('refuses a decision about another item before writing anything', async () => {
      const itemId = newItemId('mine');
      await decideWith(store(), itemId, [listing(itemId)]);
      const item = await store().getItem(itemId);
      if (item === null) throw new Error('the item was not listed');

      const misdirected = store().decideForItem(
        itemId,
        { purchaseIds: [], buyerIds: [], purchaseKeys: [], commandIds: [] },
        () => ({
          state: { ...item, itemId: 'someone-else', version: item.version + 1 },
          purchases: [],
          events: [],
          outbox: [],
          processedCommandIds: [],
        }),
      );

      await expect(misdirected).rejects.toMatchObject({ code: 'RESERVATION_STORE_INVALID_DECISION' });
      expect(await store().getItem(itemId)).toEqual(item);
    });

    it('hands out unpublished outbox rows oldest first until they are marked published', async () => {
      const itemId = newItemId('outbox');
      const first = await decideWith(store(), itemId, [listing(itemId, { stock: 3 })]);
      const unpublished = await store().unpublishedOutbox(100_000);

      expect(unpublished.filter((row) => row.key === itemId).map((row) => row.id)).toEqual(first.outboxIds);
      const order = unpublished.map((row) => BigInt(row.id));
      expect(order).toEqual([...order].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      expect(await store().unpublishedOutbox(1)).toHaveLength(1);

      await store().markPublished(first.outboxIds);
      await store().markPublished([...first.outboxIds, ...first.outboxIds]);
      await store().markPublished([]);
      expect(await outboxOf(store(), itemId)).toEqual([]);
      const second = await decideWith(store(), itemId, [buying(itemId, `${itemId}-p1`)]);
      expect(second.outbox.map((row) => row.headers['schema'])).toEqual(['buynow.ItemBought']);
      expect((await outboxOf(store(), itemId)).map((row) => row.id)).toEqual(second.outboxIds);
    });

    it('sends rows a crash left unpublished before the next decision of the same item, in order', async () => {
      const itemId = newItemId('leftover');
      const other = newItemId('leftover-other');
      const first = await decideWith(store(), itemId, [listing(itemId, { stock: 3 })]);
      await decideWith(store(), other, [listing(other)]);

      const second = await decideWith(store(), itemId, [buying(itemId, `${itemId}-p1`)]);

      expect(second.outbox.slice(0, first.outbox.length)).toEqual(first.outbox);
      expect(second.outbox.map((row) => row.headers['schema'])).toEqual([
        'buynow.ItemListed',
        'buynow.ItemBought',
      ]);
      expect(second.outbox.every((row) => row.key === itemId)).toBe(true);
      expect(second.outboxIds).toEqual(second.outbox.map((row) => row.id));
    });

    it('decides a batch of 600 requests in one transaction, outbox rows in the order of the events', async () => {
      const itemId = newItemId('big-batch');
      const commands: ItemCommand[] = [
        listing(itemId, { stock: 550, startsAt: null }),
        ...Array.from({ length: 600 }, (_, i) => buying(itemId, `${itemId}-p${i}`, { admissionSeq: i })),
      ];

      const persisted = await decideWith(store(), itemId, commands);

      expect(await store().getItem(itemId)).toMatchObject({
        startsAt: null,
        sold: 550,
        remaining: 0,
        version: 552,
      });
      expect(persisted.outbox).toHaveLength(602);
      expect(persisted.outbox.map((row) => row.value)).toEqual(persisted.decision.outbox.map((r) => r.value));
      const ids = persisted.outboxIds.map((id) => BigInt(id));
      expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true);
      expect((await outboxOf(store(), itemId)).map((row) => row.id)).toEqual(persisted.outboxIds);
      expectContiguous((await store().itemEvents(itemId)).map((e) => e.version));
      expect(await store().getPurchase(`${itemId}-p599`)).toMatchObject({
        status: 'rejected',
        reason: 'SOLD_OUT',
      });
    });
  });
}
