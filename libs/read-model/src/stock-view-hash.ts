// A StockView as a flat Redis hash and back: every field as text, null as the empty string.
import { stockStatuses, type StockStatus, type StockView } from '@buy-now/contracts';
import { ReadModelError } from './errors.js';

type TextField = 'itemId' | 'title' | 'currency';
type NullableField = 'startsAt' | 'lastSaleAt' | 'soldOutAt';
type IntegerField = Exclude<keyof StockView, TextField | NullableField | 'status'>;

const textFields = ['itemId', 'title', 'currency'] as const satisfies readonly TextField[];
const nullableFields = ['startsAt', 'lastSaleAt', 'soldOutAt'] as const satisfies readonly NullableField[];
const integerFields = [
  'version',
  'priceMinor',
  'perBuyerLimit',
  'listed',
  'available',
  'sold',
  'updatedAt',
] as const satisfies readonly IntegerField[];

/** Every StockView field, in the order written. */
export const stockViewFields: readonly (keyof StockView)[] = [
  ...textFields,
  ...integerFields,
  'status',
  ...nullableFields,
];

// Does not compile once StockView gains a field the lists above do not name.
type Unlisted = Exclude<IntegerField, (typeof integerFields)[number]>;
const _everyFieldListed: [Unlisted] extends [never] ? true : Unlisted = true;

/** Field/value pairs for HSET. */
export function toHashFields(view: StockView): string[] {
  const pairs: string[] = [];
  for (const field of stockViewFields) {
    const value = view[field];
    pairs.push(field, value === null ? '' : String(value));
  }
  return pairs;
}

/** The view a hash holds; null when the hash does not exist. Throws READ_MODEL_INVALID_VIEW otherwise. */
export function fromHash(key: string, hash: Readonly<Record<string, string>>): StockView | null {
  if (Object.keys(hash).length === 0) return null;
  const problems: string[] = [];
  const text = (field: TextField): string => {
    const value = hash[field];
    if (value === undefined) problems.push(`${field} missing`);
    return value ?? '';
  };
  const integer = (field: IntegerField | NullableField, nullable: boolean): number | null => {
    const value = hash[field];
    if (value === undefined) {
      problems.push(`${field} missing`);
      return 0;
    }
    if (value === '' && nullable) return null;
    const parsed = Number(value);
    if (value === '' || !Number.isSafeInteger(parsed)) {
      problems.push(`${field} is not an integer: ${JSON.stringify(value)}`);
      return 0;
    }
    return parsed;
  };
  const status = hash.status;
  if (!(stockStatuses as readonly string[]).includes(status ?? '')) {
    problems.push(`status is not one of ${stockStatuses.join(', ')}: ${JSON.stringify(status)}`);
  }
  const view: StockView = {
    itemId: text('itemId'),
    version: integer('version', false) ?? 0,
    title: text('title'),
    priceMinor: integer('priceMinor', false) ?? 0,
    currency: text('currency'),
    perBuyerLimit: integer('perBuyerLimit', false) ?? 0,
    listed: integer('listed', false) ?? 0,
    available: integer('available', false) ?? 0,
    sold: integer('sold', false) ?? 0,
    status: status as StockStatus,
    startsAt: integer('startsAt', true),
    lastSaleAt: integer('lastSaleAt', true),
    soldOutAt: integer('soldOutAt', true),
    updatedAt: integer('updatedAt', false) ?? 0,
  };
  if (problems.length > 0) {
    throw new ReadModelError('READ_MODEL_INVALID_VIEW', `${key} is not a stock view: ${problems.join('; ')}`);
  }
  return view;
}
