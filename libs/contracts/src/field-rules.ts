// What Avro types cannot say: an empty id, a lower-case currency or a negative count is well-typed but
// never a valid record, and is cheaper to refuse at the edge than to debug three services later.
import { ALL_ITEMS } from './records.js';
import type { SchemaName } from './records.js';

type Fields = Readonly<Record<string, unknown>>;

export interface FieldRule {
  readonly field: string;
  readonly expected: string;
  /** Passes on a missing field: that is the Avro check's to report, and an older version may lack it. */
  readonly holds: (record: Fields) => boolean;
}

function nonEmpty(field: string): FieldRule {
  return { field, expected: 'a non-empty string', holds: (r) => r[field] !== '' };
}

// '*' is reserved for the all-items SalesMetrics series, so no real item may be called that.
const itemId: FieldRule = {
  field: 'itemId',
  expected: `a non-empty item id other than '${ALL_ITEMS}'`,
  holds: (r) => r['itemId'] !== '' && r['itemId'] !== ALL_ITEMS,
};

const currency: FieldRule = {
  field: 'currency',
  expected: 'an ISO 4217 code (3 upper-case letters)',
  holds: (r) =>
    r['currency'] === undefined || (typeof r['currency'] === 'string' && /^[A-Z]{3}$/.test(r['currency'])),
};

/** null passes too: nullability is the schema's business. */
function atLeast(field: string, min: number): FieldRule {
  return {
    field,
    expected: `a number >= ${min}`,
    holds: (r) => {
      const value = r[field];
      return value === null || value === undefined || (typeof value === 'number' && value >= min);
    },
  };
}

const version = atLeast('version', 1);

export const fieldRules: { readonly [N in SchemaName]: readonly FieldRule[] } = {
  ListItem: [
    nonEmpty('commandId'),
    itemId,
    nonEmpty('title'),
    atLeast('priceMinor', 0),
    currency,
    atLeast('stock', 0),
    atLeast('perBuyerLimit', 1),
  ],
  AdjustStock: [nonEmpty('commandId'), itemId],
  // quantity is not checked here: an invalid quantity is a domain decision (INVALID_QUANTITY).
  BuyRequested: [nonEmpty('purchaseId'), itemId, nonEmpty('buyerId'), nonEmpty('idempotencyKey')],
  ItemListed: [
    nonEmpty('commandId'),
    itemId,
    version,
    nonEmpty('title'),
    atLeast('priceMinor', 0),
    currency,
    atLeast('stock', 0),
    atLeast('perBuyerLimit', 1),
  ],
  StockAdjusted: [nonEmpty('commandId'), itemId, version, atLeast('remaining', 0)],
  ItemBought: [
    itemId,
    version,
    nonEmpty('purchaseId'),
    nonEmpty('buyerId'),
    atLeast('quantity', 1),
    atLeast('remaining', 0),
    atLeast('priceMinor', 0),
    currency,
  ],
  PurchaseRejected: [
    itemId,
    version,
    nonEmpty('purchaseId'),
    nonEmpty('buyerId'),
    atLeast('remaining', 0),
    {
      field: 'originalPurchaseId',
      expected: 'another purchase id exactly when the reason is DUPLICATE_REQUEST, else null',
      holds: (r) =>
        r['originalPurchaseId'] === undefined ||
        (r['reason'] === 'DUPLICATE_REQUEST'
          ? typeof r['originalPurchaseId'] === 'string' &&
            r['originalPurchaseId'] !== '' &&
            r['originalPurchaseId'] !== r['purchaseId']
          : r['originalPurchaseId'] === null),
    },
  ],
  OutOfStock: [itemId, version],
  StockView: [
    itemId,
    version,
    nonEmpty('title'),
    atLeast('priceMinor', 0),
    currency,
    atLeast('perBuyerLimit', 1),
    atLeast('listed', 0),
    atLeast('available', 0),
    atLeast('sold', 0),
  ],
  SalesMetrics: [
    nonEmpty('itemId'),
    {
      field: 'windowEnd',
      expected: 'a time >= windowStart',
      holds: (r) =>
        typeof r['windowEnd'] !== 'number' ||
        typeof r['windowStart'] !== 'number' ||
        r['windowEnd'] >= r['windowStart'],
    },
    atLeast('orders', 0),
    atLeast('units', 0),
    atLeast('totalOrders', 0),
    atLeast('totalUnits', 0),
    atLeast('timeToSellOutMs', 0),
  ],
};
