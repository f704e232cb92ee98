// Writes an item's event stream the way the reservation service does: contiguous versions, remaining
// after each change, OutOfStock right after the change that took remaining to 0.
import type { EpochMillis, ItemEvent, RejectionReason } from '@buy-now/contracts';

export interface ListingOptions {
  stock: number;
  at: EpochMillis;
  startsAt?: EpochMillis | null;
  title?: string;
  priceMinor?: number;
  perBuyerLimit?: number;
}

export class ItemScript {
  readonly events: ItemEvent[] = [];
  version = 0;
  remaining = 0;
  listed = 0;
  sold = 0;
  private purchases = 0;

  constructor(
    readonly itemId: string,
    listing: ListingOptions,
  ) {
    this.version = 1;
    this.remaining = listing.stock;
    this.listed = listing.stock;
    this.events.push({
      name: 'ItemListed',
      value: {
        commandId: `list-${itemId}`,
        itemId,
        version: 1,
        title: listing.title ?? `Item ${itemId}`,
        priceMinor: listing.priceMinor ?? 4_999,
        currency: 'EUR',
        stock: listing.stock,
        perBuyerLimit: listing.perBuyerLimit ?? 5,
        startsAt: listing.startsAt ?? null,
        occurredAt: listing.at,
      },
    });
  }

  buy(at: EpochMillis, quantity = 1): this {
    const purchase = ++this.purchases;
    this.remaining -= quantity;
    this.sold += quantity;
    this.events.push({
      name: 'ItemBought',
      value: {
        itemId: this.itemId,
        version: ++this.version,
        purchaseId: `${this.itemId}-p${purchase}`,
        buyerId: `buyer-${purchase}`,
        quantity,
        remaining: this.remaining,
        priceMinor: 4_999,
        currency: 'EUR',
        admittedAt: at - 1,
        admissionSeq: purchase,
        occurredAt: at,
      },
    });
    if (this.remaining === 0) this.outOfStock(at);
    return this;
  }

  adjust(at: EpochMillis, delta: number): this {
    const before = this.remaining;
    this.remaining += delta;
    this.listed += delta;
    this.events.push({
      name: 'StockAdjusted',
      value: {
        commandId: `adjust-${this.itemId}-${this.version + 1}`,
        itemId: this.itemId,
        version: ++this.version,
        delta,
        remaining: this.remaining,
        occurredAt: at,
      },
    });
    if (before > 0 && this.remaining === 0) this.outOfStock(at);
    return this;
  }

  reject(at: EpochMillis, reason: RejectionReason = 'SOLD_OUT'): this {
    const purchase = ++this.purchases;
    this.events.push({
      name: 'PurchaseRejected',
      value: {
        itemId: this.itemId,
        version: this.version,
        purchaseId: `${this.itemId}-p${purchase}`,
        buyerId: `buyer-${purchase}`,
        quantity: 1,
        reason,
        remaining: this.remaining,
        admissionSeq: purchase,
        occurredAt: at,
        originalPurchaseId: null,
      },
    });
    return this;
  }

  private outOfStock(at: EpochMillis): void {
    this.events.push({
      name: 'OutOfStock',
      value: { itemId: this.itemId, version: ++this.version, occurredAt: at },
    });
  }
}
