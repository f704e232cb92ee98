// Avro schemas of the events on item-events, every published version. A published version is frozen.
//
// Versions: ItemListed, StockAdjusted, ItemBought and OutOfStock each take the item's next version
// (1, 2, 3, … with no gaps), so a consumer applies an event only if its version is newer than the last it
// applied. PurchaseRejected changes nothing about the item: it carries the version it was decided against.
import type { AvroEnumSchema, AvroRecordSchema } from './avro-schema.js';

const rejectionReasonV1: AvroEnumSchema = {
  type: 'enum',
  name: 'RejectionReason',
  namespace: 'buynow',
  symbols: ['SOLD_OUT', 'LIMIT_EXCEEDED', 'NOT_STARTED', 'UNKNOWN_ITEM', 'INVALID_QUANTITY'],
};

// v2 adds DUPLICATE_REQUEST at the end: a reader of v2 reads every v1 symbol as it was. A v1 reader cannot
// read the new symbol, so readers are deployed before the reservation service writes v2 (see codec.ts).
const rejectionReasonV2: AvroEnumSchema = {
  ...rejectionReasonV1,
  symbols: [...rejectionReasonV1.symbols, 'DUPLICATE_REQUEST'],
};

export const itemListedV1: AvroRecordSchema = {
  type: 'record',
  name: 'ItemListed',
  namespace: 'buynow',
  fields: [
    { name: 'commandId', type: 'string', doc: 'The ListItem command applied.' },
    { name: 'itemId', type: 'string' },
    { name: 'version', type: 'long' },
    { name: 'title', type: 'string' },
    { name: 'priceMinor', type: 'long' },
    { name: 'currency', type: 'string' },
    { name: 'stock', type: 'int' },
    { name: 'perBuyerLimit', type: 'int' },
    { name: 'startsAt', type: ['null', 'long'], default: null },
    { name: 'occurredAt', type: 'long', doc: 'Epoch ms of the commit in the store of record.' },
  ],
};

export const stockAdjustedV1: AvroRecordSchema = {
  type: 'record',
  name: 'StockAdjusted',
  namespace: 'buynow',
  fields: [
    { name: 'commandId', type: 'string', doc: 'The AdjustStock command applied.' },
    { name: 'itemId', type: 'string' },
    { name: 'version', type: 'long' },
    { name: 'delta', type: 'int' },
    { name: 'remaining', type: 'int', doc: 'Units left after the adjustment.' },
    { name: 'occurredAt', type: 'long' },
  ],
};

export const itemBoughtV1: AvroRecordSchema = {
  type: 'record',
  name: 'ItemBought',
  namespace: 'buynow',
  fields: [
    { name: 'itemId', type: 'string' },
    { name: 'version', type: 'long' },
    { name: 'purchaseId', type: 'string' },
    { name: 'buyerId', type: 'string' },
    { name: 'quantity', type: 'int' },
    { name: 'remaining', type: 'int', doc: 'Units left after this purchase.' },
    { name: 'priceMinor', type: 'long', doc: 'Unit price charged.' },
    { name: 'currency', type: 'string' },
    { name: 'admittedAt', type: 'long' },
    { name: 'admissionSeq', type: 'long', doc: 'From BuyRequested; -1: unknown.' },
    { name: 'occurredAt', type: 'long' },
  ],
};

export const purchaseRejectedV1: AvroRecordSchema = {
  type: 'record',
  name: 'PurchaseRejected',
  namespace: 'buynow',
  fields: [
    { name: 'itemId', type: 'string' },
    {
      name: 'version',
      type: ['null', 'long'],
      default: null,
      doc: 'Item version the decision was made against (not bumped); null: item unknown.',
    },
    { name: 'purchaseId', type: 'string' },
    { name: 'buyerId', type: 'string' },
    { name: 'quantity', type: 'int' },
    { name: 'reason', type: rejectionReasonV1 },
    { name: 'remaining', type: 'int', doc: 'Units left when decided; 0 for an unknown item.' },
    { name: 'admissionSeq', type: 'long', doc: 'From BuyRequested; -1: unknown.' },
    { name: 'occurredAt', type: 'long' },
  ],
};

// v2 names the purchase an Idempotency-Key already made when SQL refuses a second one for it (the gate had
// forgotten the key, e.g. after a Redis loss), so the buyer can be pointed at it.
export const purchaseRejectedV2: AvroRecordSchema = {
  ...purchaseRejectedV1,
  fields: [
    ...purchaseRejectedV1.fields.map((field) =>
      field.name === 'reason' ? { ...field, type: rejectionReasonV2 } : field,
    ),
    {
      name: 'originalPurchaseId',
      type: ['null', 'string'],
      default: null,
      doc: 'DUPLICATE_REQUEST: the purchase this Idempotency-Key already made; null for every other reason.',
    },
  ],
};

export const outOfStockV1: AvroRecordSchema = {
  type: 'record',
  name: 'OutOfStock',
  namespace: 'buynow',
  doc: 'The last unit was sold (or withdrawn); follows the event that took remaining to 0.',
  fields: [
    { name: 'itemId', type: 'string' },
    { name: 'version', type: 'long' },
    { name: 'occurredAt', type: 'long' },
  ],
};
