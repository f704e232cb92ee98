// TypeScript shapes of every record on the wire. They mirror the latest Avro schema of each name; a unit
// test encodes a sample of each so the two cannot drift apart.
//
// Conventions: every `*At` field and window bound is epoch milliseconds (UTC) in an Avro `long`; money is
// an integer count of the currency's minor unit (`priceMinor`, cents for EUR/USD) with an ISO 4217 code;
// `null` only where the field says so.

/** Epoch milliseconds, UTC. */
export type EpochMillis = number;

export const rejectionReasons = [
  'SOLD_OUT',
  'LIMIT_EXCEEDED',
  'NOT_STARTED',
  'UNKNOWN_ITEM',
  'INVALID_QUANTITY',
  /**
   * SQL already decided a purchase for this buyer, item and Idempotency-Key under another purchase id (the
   * gate had forgotten the key): the retry is refused and names the original (PurchaseRejected v2).
   */
  'DUPLICATE_REQUEST',
] as const;
export type RejectionReason = (typeof rejectionReasons)[number];

export const stockStatuses = ['SCHEDULED', 'LIVE', 'SOLD_OUT'] as const;
export type StockStatus = (typeof stockStatuses)[number];

/** The `itemId` of a SalesMetrics record that covers every item rather than one. */
export const ALL_ITEMS = '*';

// ---- item-commands -------------------------------------------------------------------------------------

export interface ListItem {
  /** Unique per admin request; the reservation service applies a command id at most once. */
  commandId: string;
  itemId: string;
  title: string;
  priceMinor: number;
  currency: string;
  stock: number;
  perBuyerLimit: number;
  /** null: on sale as soon as it is listed. */
  startsAt: EpochMillis | null;
  requestedAt: EpochMillis;
}

export interface AdjustStock {
  commandId: string;
  itemId: string;
  /** Positive restocks, negative withdraws unsold units. */
  delta: number;
  requestedAt: EpochMillis;
}

export interface BuyRequested {
  purchaseId: string;
  itemId: string;
  buyerId: string;
  quantity: number;
  idempotencyKey: string;
  admittedAt: EpochMillis;
  /** Order of admission at the gate for this item; -1 when unknown (records written before v2). */
  admissionSeq: number;
  /** Instance of the gateway that admitted it; '' when unknown (records written before v2). */
  gatewayId: string;
}

// ---- item-events ---------------------------------------------------------------------------------------

export interface ItemListed {
  commandId: string;
  itemId: string;
  version: number;
  title: string;
  priceMinor: number;
  currency: string;
  stock: number;
  perBuyerLimit: number;
  startsAt: EpochMillis | null;
  occurredAt: EpochMillis;
}

export interface StockAdjusted {
  commandId: string;
  itemId: string;
  version: number;
  delta: number;
  remaining: number;
  occurredAt: EpochMillis;
}

export interface ItemBought {
  itemId: string;
  version: number;
  purchaseId: string;
  buyerId: string;
  quantity: number;
  remaining: number;
  priceMinor: number;
  currency: string;
  admittedAt: EpochMillis;
  admissionSeq: number;
  occurredAt: EpochMillis;
}

export interface PurchaseRejected {
  itemId: string;
  /**
   * The item version the decision was made against. A rejection changes nothing about the item, so it
   * does not take a version of its own; null when the item does not exist (UNKNOWN_ITEM).
   */
  version: number | null;
  purchaseId: string;
  buyerId: string;
  quantity: number;
  reason: RejectionReason;
  /** Units left when the decision was made (0 for UNKNOWN_ITEM). */
  remaining: number;
  admissionSeq: number;
  occurredAt: EpochMillis;
  /** DUPLICATE_REQUEST: the purchase the same Idempotency-Key already made; null otherwise (and before v2). */
  originalPurchaseId: string | null;
}

export interface OutOfStock {
  itemId: string;
  version: number;
  occurredAt: EpochMillis;
}

// ---- views ---------------------------------------------------------------------------------------------

export interface StockView {
  itemId: string;
  /** Version of the last item event folded into this view. */
  version: number;
  title: string;
  priceMinor: number;
  currency: string;
  perBuyerLimit: number;
  /** Units listed plus every stock adjustment (withdrawals subtract). */
  listed: number;
  available: number;
  sold: number;
  /** As of `updatedAt`: a SCHEDULED item whose `startsAt` has passed is on sale. */
  status: StockStatus;
  startsAt: EpochMillis | null;
  lastSaleAt: EpochMillis | null;
  soldOutAt: EpochMillis | null;
  updatedAt: EpochMillis;
}

export interface SalesMetrics {
  /** An item id, or ALL_ITEMS ('*') for the totals over every item. */
  itemId: string;
  windowStart: EpochMillis;
  /** Exclusive. */
  windowEnd: EpochMillis;
  /** Confirmed purchases in the window. */
  orders: number;
  /** Units confirmed in the window. */
  units: number;
  totalOrders: number;
  totalUnits: number;
  /** From the moment the sale opened to the moment it sold out; null while not sold out. */
  timeToSellOutMs: number | null;
}

// ---- names ---------------------------------------------------------------------------------------------

/** Every record type by its short schema name. */
export interface RecordOf {
  ListItem: ListItem;
  AdjustStock: AdjustStock;
  BuyRequested: BuyRequested;
  ItemListed: ItemListed;
  StockAdjusted: StockAdjusted;
  ItemBought: ItemBought;
  PurchaseRejected: PurchaseRejected;
  OutOfStock: OutOfStock;
  StockView: StockView;
  SalesMetrics: SalesMetrics;
}

export type SchemaName = keyof RecordOf;
export type ItemCommandName = 'ListItem' | 'AdjustStock' | 'BuyRequested';
export type ItemEventName = 'ItemListed' | 'StockAdjusted' | 'ItemBought' | 'PurchaseRejected' | 'OutOfStock';

/** A record together with its schema name, discriminated on `name`. */
export type NamedRecord<N extends SchemaName = SchemaName> = {
  [K in N]: { name: K; value: RecordOf[K] };
}[N];

export type ItemCommand = NamedRecord<ItemCommandName>;
export type ItemEvent = NamedRecord<ItemEventName>;

/** What `decode` returns: the record in the latest shape, plus the version it was written with. */
export type DecodedRecord<N extends SchemaName = SchemaName> = {
  [K in N]: { name: K; version: number; value: RecordOf[K] };
}[N];
