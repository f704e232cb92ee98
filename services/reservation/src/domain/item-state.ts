// The authoritative snapshot of one item: the `items` row, and what every decision starts from.
import type { EpochMillis } from '@buy-now/contracts';

export interface ItemState {
  itemId: string;
  title: string;
  priceMinor: number;
  currency: string;
  perBuyerLimit: number;
  /** null: on sale as soon as listed. */
  startsAt: EpochMillis | null;
  /** Units listed plus every applied adjustment; always sold + remaining. */
  listed: number;
  sold: number;
  remaining: number;
  /** Version of the last item event that changed the item (ItemListed is 1). */
  version: number;
}
