// Avro schemas of the materialized views (stock-views, sales-metrics), every published version.
import type { AvroRecordSchema } from './avro-schema.js';

export const stockViewV1: AvroRecordSchema = {
  type: 'record',
  name: 'StockView',
  namespace: 'buynow',
  doc: 'Latest state of one item, folded from item-events; the compacted topic keeps the last per item.',
  fields: [
    { name: 'itemId', type: 'string' },
    { name: 'version', type: 'long', doc: 'Version of the last item event folded in.' },
    { name: 'title', type: 'string' },
    { name: 'priceMinor', type: 'long' },
    { name: 'currency', type: 'string' },
    { name: 'perBuyerLimit', type: 'int' },
    { name: 'listed', type: 'int', doc: 'Units listed plus every adjustment.' },
    { name: 'available', type: 'int' },
    { name: 'sold', type: 'int' },
    {
      name: 'status',
      type: {
        type: 'enum',
        name: 'StockStatus',
        namespace: 'buynow',
        symbols: ['SCHEDULED', 'LIVE', 'SOLD_OUT'],
      },
      doc: 'As of updatedAt: a SCHEDULED item whose startsAt has passed is on sale.',
    },
    { name: 'startsAt', type: ['null', 'long'], default: null },
    { name: 'lastSaleAt', type: ['null', 'long'], default: null },
    { name: 'soldOutAt', type: ['null', 'long'], default: null },
    { name: 'updatedAt', type: 'long' },
  ],
};

export const salesMetricsV1: AvroRecordSchema = {
  type: 'record',
  name: 'SalesMetrics',
  namespace: 'buynow',
  doc: "Confirmed sales of one item, or of every item when itemId is '*', in [windowStart, windowEnd).",
  fields: [
    { name: 'itemId', type: 'string', doc: "An item id, or '*' for all items." },
    { name: 'windowStart', type: 'long' },
    { name: 'windowEnd', type: 'long' },
    { name: 'orders', type: 'long' },
    { name: 'units', type: 'long' },
    { name: 'totalOrders', type: 'long' },
    { name: 'totalUnits', type: 'long' },
    { name: 'timeToSellOutMs', type: ['null', 'long'], default: null, doc: 'null while not sold out.' },
  ],
};
