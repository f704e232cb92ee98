// Avro schemas of the commands on item-commands, every published version. A published version is frozen:
// change a contract by adding a version whose new fields have defaults.
import type { AvroRecordSchema } from './avro-schema.js';

export const listItemV1: AvroRecordSchema = {
  type: 'record',
  name: 'ListItem',
  namespace: 'buynow',
  doc: 'Put an item on sale (admin).',
  fields: [
    { name: 'commandId', type: 'string', doc: 'Unique per admin request; applied at most once.' },
    { name: 'itemId', type: 'string' },
    { name: 'title', type: 'string' },
    { name: 'priceMinor', type: 'long', doc: 'Price in minor units of currency (cents).' },
    { name: 'currency', type: 'string', doc: 'ISO 4217 code, e.g. EUR.' },
    { name: 'stock', type: 'int', doc: 'Units on sale.' },
    { name: 'perBuyerLimit', type: 'int', doc: 'Most units one buyer may buy of this item.' },
    {
      name: 'startsAt',
      type: ['null', 'long'],
      default: null,
      doc: 'Epoch ms the sale opens; null: on sale at once.',
    },
    { name: 'requestedAt', type: 'long', doc: 'Epoch ms.' },
  ],
};

export const adjustStockV1: AvroRecordSchema = {
  type: 'record',
  name: 'AdjustStock',
  namespace: 'buynow',
  doc: 'Restock (delta > 0) or withdraw unsold units (delta < 0) (admin).',
  fields: [
    { name: 'commandId', type: 'string' },
    { name: 'itemId', type: 'string' },
    { name: 'delta', type: 'int' },
    { name: 'requestedAt', type: 'long', doc: 'Epoch ms.' },
  ],
};

export const buyRequestedV1: AvroRecordSchema = {
  type: 'record',
  name: 'BuyRequested',
  namespace: 'buynow',
  doc: 'A purchase the gate admitted; the reservation service decides it.',
  fields: [
    { name: 'purchaseId', type: 'string' },
    { name: 'itemId', type: 'string' },
    { name: 'buyerId', type: 'string' },
    { name: 'quantity', type: 'int' },
    { name: 'idempotencyKey', type: 'string' },
    { name: 'admittedAt', type: 'long', doc: 'Epoch ms.' },
  ],
};

// v2 makes first-come-first-served checkable: the gate's admission order travels with the request.
export const buyRequestedV2: AvroRecordSchema = {
  ...buyRequestedV1,
  fields: [
    ...buyRequestedV1.fields,
    {
      name: 'admissionSeq',
      type: 'long',
      default: -1,
      doc: 'Order of admission at the gate for this item; -1: unknown.',
    },
    {
      name: 'gatewayId',
      type: 'string',
      default: '',
      doc: "Gateway instance that admitted it; '': unknown.",
    },
  ],
};
