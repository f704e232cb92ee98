import avro from 'avsc';
import { describe, expect, it } from 'vitest';

import {
  avroSchemaOf,
  ContractError,
  decode,
  decodeAs,
  decodeRecordAs,
  encode,
  schemaNames,
  schemasOnTopic,
  Topics,
  violationsOf,
} from '../src/index.js';
import type { ContractErrorCode, IncomingHeaders, ItemBought, ItemEvent, SchemaName } from '../src/index.js';
import { samples } from './samples.js';

function contractErrorOf(run: () => unknown): ContractError {
  try {
    run();
  } catch (error) {
    if (error instanceof ContractError) return error;
    throw error;
  }
  throw new Error('expected a ContractError, nothing was thrown');
}

function expectCode(run: () => unknown, code: ContractErrorCode): ContractError {
  const error = contractErrorOf(run);
  expect(error.code).toBe(code);
  expect(error.canRetry).toBe(false);
  return error;
}

const bought = encode('ItemBought', samples.ItemBought);

describe('encode then decode', () => {
  it.each(schemaNames)('round-trips %s to an equal plain object', (name: SchemaName) => {
    const encoded = encode(name, samples[name]);
    const decoded = decode(encoded.headers, encoded.value);

    expect(decoded.name).toBe(name);
    expect(decoded.value).toStrictEqual(samples[name]);
    expect(Object.getPrototypeOf(decoded.value)).toBe(Object.prototype);
  });

  it('round-trips null in nullable fields and the extremes of a long', () => {
    const listed = { ...samples.ItemListed, startsAt: null, priceMinor: Number.MAX_SAFE_INTEGER - 1 };
    const encoded = encode('ItemListed', listed);

    expect(decode(encoded.headers, encoded.value).value).toStrictEqual(listed);
  });

  it('keys the record by the itemId as UTF-8 and names the schema in the headers', () => {
    const encoded = encode('ItemBought', { ...samples.ItemBought, itemId: 'größe-42' });

    expect(encoded.key).toStrictEqual(Buffer.from('größe-42', 'utf8'));
    expect(encoded.headers).toStrictEqual({
      schema: 'buynow.ItemBought',
      'schema-version': '1',
      'content-type': 'avro/binary',
    });
  });

  it('encodes and decodes a list of item events as they leave a decide function', () => {
    const events: ItemEvent[] = [
      { name: 'ItemBought', value: samples.ItemBought },
      { name: 'OutOfStock', value: samples.OutOfStock },
    ];

    const decoded = events
      .map((event) => encode(event.name, event.value))
      .map((record) => decodeAs(schemasOnTopic[Topics.itemEvents], record.headers, record.value));

    expect(decoded.map(({ name, value }) => ({ name, value }))).toStrictEqual(events);
  });

  it('writes the latest version of an evolved schema', () => {
    expect(encode('BuyRequested', samples.BuyRequested).headers['schema-version']).toBe('2');
  });

  it('reads headers delivered as Buffers, and the last of repeated headers', () => {
    const headers: IncomingHeaders = {
      schema: Buffer.from('buynow.ItemBought'),
      'schema-version': [Buffer.from('7'), Buffer.from('1')],
      'content-type': Buffer.from('avro/binary'),
    };

    const decoded = decode(headers, bought.value);

    expect(decoded).toStrictEqual({ name: 'ItemBought', version: 1, value: samples.ItemBought });
  });

  it('accepts a record with no content-type header', () => {
    const { schema, 'schema-version': version } = bought.headers;

    expect(decode({ schema, 'schema-version': version }, bought.value).name).toBe('ItemBought');
  });
});

describe('encode refuses an invalid value', () => {
  it('names each bad field and what it expected', () => {
    const bad = { ...samples.ItemBought, quantity: 1.5, currency: 'eur' };

    const error = expectCode(() => encode('ItemBought', bad), 'CONTRACT_INVALID_RECORD');

    expect(error.details.fields).toStrictEqual(['quantity', 'currency']);
    expect(error.details.schema).toBe('buynow.ItemBought');
    expect(error.message).toContain('quantity: expected int, got 1.5');
    expect(error.message).toContain('currency: expected an ISO 4217 code');
  });

  it('names a missing field', () => {
    const { buyerId: _dropped, ...withoutBuyer } = samples.ItemBought;

    const error = expectCode(
      () => encode('ItemBought', withoutBuyer as unknown as ItemBought),
      'CONTRACT_INVALID_RECORD',
    );

    expect(error.details.fields).toStrictEqual(['buyerId']);
    expect(error.message).toContain('buyerId: expected string, got nothing');
  });

  it('names a field the schema does not have', () => {
    const withExtra = { ...samples.OutOfStock, remaining: 0 };

    const error = expectCode(() => encode('OutOfStock', withExtra), 'CONTRACT_INVALID_RECORD');

    expect(error.details.fields).toStrictEqual(['remaining']);
  });

  it('refuses a symbol outside an enum', () => {
    const bad = {
      ...samples.PurchaseRejected,
      reason: 'TOO_SLOW',
    } as unknown as typeof samples.PurchaseRejected;

    const error = expectCode(() => encode('PurchaseRejected', bad), 'CONTRACT_INVALID_RECORD');

    expect(error.message).toContain('reason: expected one of SOLD_OUT, LIMIT_EXCEEDED');
  });

  it('refuses a long beyond the safe integer range', () => {
    const bad = { ...samples.OutOfStock, version: 2 ** 60 };

    expect(
      expectCode(() => encode('OutOfStock', bad), 'CONTRACT_INVALID_RECORD').details.fields,
    ).toStrictEqual(['version']);
  });

  it.each([
    ['an empty itemId', { itemId: '' }, 'itemId'],
    ["the reserved itemId '*'", { itemId: '*' }, 'itemId'],
    ['a version below 1', { version: 0 }, 'version'],
    ['a negative remaining', { remaining: -1 }, 'remaining'],
    ['a quantity of 0', { quantity: 0 }, 'quantity'],
  ])('refuses an ItemBought with %s', (_label, change, field) => {
    const error = expectCode(
      () => encode('ItemBought', { ...samples.ItemBought, ...change }),
      'CONTRACT_INVALID_RECORD',
    );

    expect(error.details.fields).toStrictEqual([field]);
  });

  it("lets SalesMetrics use '*' but not a window that ends before it starts", () => {
    expect(violationsOf('SalesMetrics', samples.SalesMetrics)).toStrictEqual([]);

    const backwards = { ...samples.SalesMetrics, windowEnd: samples.SalesMetrics.windowStart - 1 };
    expect(violationsOf('SalesMetrics', backwards).map((v) => v.field)).toStrictEqual(['windowEnd']);
  });

  it('refuses something that is not a record at all', () => {
    const error = expectCode(
      () => encode('OutOfStock', null as unknown as typeof samples.OutOfStock),
      'CONTRACT_INVALID_RECORD',
    );

    expect(error.message).toContain('expected a buynow.OutOfStock record, got null');
  });

  it('refuses an unknown schema name', () => {
    expectCode(() => encode('ItemSold' as SchemaName, samples.OutOfStock), 'CONTRACT_UNKNOWN_SCHEMA');
  });

  it('refuses a version that does not exist', () => {
    expectCode(() => encode('BuyRequested', samples.BuyRequested, { version: 3 }), 'CONTRACT_UNKNOWN_SCHEMA');
  });
});

describe('decode refuses what breaks the contract', () => {
  it.each([
    ['no headers at all', undefined, 'schema or schema-version'],
    ['no schema header', { 'schema-version': '1' }, 'no schema header'],
    ['no schema-version header', { schema: 'buynow.ItemBought' }, 'no schema-version header'],
    ['an empty schema header', { schema: '', 'schema-version': '1' }, 'no schema header'],
    ['an empty repeated header', { schema: [], 'schema-version': '1' }, 'no schema header'],
  ])('with %s: CONTRACT_MISSING_HEADER', (_label, headers, reason) => {
    const error = expectCode(() => decode(headers, bought.value), 'CONTRACT_MISSING_HEADER');

    expect(error.message).toContain(reason);
  });

  it.each([
    ['an unknown name', 'buynow.ItemSold', '1'],
    ['a short name instead of the full one', 'ItemBought', '1'],
    ['a version newer than the reader', 'buynow.ItemBought', '2'],
    ['version 0', 'buynow.ItemBought', '0'],
    ['a version that is not an integer', 'buynow.ItemBought', '1.0'],
  ])('with %s: CONTRACT_UNKNOWN_SCHEMA', (_label, schema, version) => {
    expectCode(() => decode({ schema, 'schema-version': version }, bought.value), 'CONTRACT_UNKNOWN_SCHEMA');
  });

  it('says that a newer writer needs a newer reader', () => {
    const error = expectCode(
      () => decode({ ...bought.headers, 'schema-version': '2' }, bought.value),
      'CONTRACT_UNKNOWN_SCHEMA',
    );

    expect(error.message).toContain('unknown to this reader (it knows 1..1)');
  });

  it.each([
    ['null', null],
    ['undefined', undefined],
    ['empty', Buffer.alloc(0)],
  ])('with a %s value (a tombstone): CONTRACT_MISSING_VALUE', (_label, value) => {
    expectCode(() => decode(bought.headers, value), 'CONTRACT_MISSING_VALUE');
  });

  it('with truncated bytes: CONTRACT_DECODE_FAILED', () => {
    const error = expectCode(
      () => decode(bought.headers, bought.value.subarray(0, bought.value.length - 3)),
      'CONTRACT_DECODE_FAILED',
    );

    expect(error.message).toContain('truncated');
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('with trailing bytes: CONTRACT_DECODE_FAILED', () => {
    const error = expectCode(
      () => decode(bought.headers, Buffer.concat([bought.value, Buffer.from([0])])),
      'CONTRACT_DECODE_FAILED',
    );

    expect(error.message).toContain('trailing');
  });

  it('with garbage bytes: CONTRACT_DECODE_FAILED', () => {
    expectCode(() => decode(bought.headers, Buffer.from([0xff, 0xff, 0xff, 0xff])), 'CONTRACT_DECODE_FAILED');
  });

  it('with JSON where Avro was announced: CONTRACT_DECODE_FAILED', () => {
    const json = Buffer.from(JSON.stringify(samples.ItemBought));

    expectCode(() => decode(bought.headers, json), 'CONTRACT_DECODE_FAILED');
  });

  it('with a content-type other than Avro: CONTRACT_DECODE_FAILED', () => {
    expectCode(
      () => decode({ ...bought.headers, 'content-type': 'application/json' }, bought.value),
      'CONTRACT_DECODE_FAILED',
    );
  });

  it('with bytes that decode but break a field rule: CONTRACT_INVALID_RECORD naming the field', () => {
    // A writer that skipped validation: version 0 is a well-typed long but never a valid item version.
    const unchecked = avro.Type.forSchema(avroSchemaOf('OutOfStock') as unknown as avro.Schema);
    const bytes = unchecked.toBuffer({ ...samples.OutOfStock, version: 0 });

    const error = expectCode(
      () => decode(encode('OutOfStock', samples.OutOfStock).headers, bytes),
      'CONTRACT_INVALID_RECORD',
    );

    expect(error.details.fields).toStrictEqual(['version']);
    expect(error.message).toContain('version: expected a number >= 1, got 0');
  });
});

describe('decodeRecordAs', () => {
  const allowed = schemasOnTopic[Topics.itemEvents];

  it('decodes a record keyed by its itemId, as a Buffer or a string', () => {
    expect(decodeRecordAs(allowed, bought).value).toStrictEqual(samples.ItemBought);
    expect(decodeRecordAs(allowed, { ...bought, key: samples.ItemBought.itemId }).name).toBe('ItemBought');
  });

  it.each([
    ['another item', Buffer.from(`${samples.ItemBought.itemId}-other`)],
    ['an empty key', Buffer.alloc(0)],
    ['no key', null],
    ['the itemId in another encoding', Buffer.from(samples.ItemBought.itemId, 'utf16le')],
  ])('refuses %s as the key', (_name, key) => {
    const error = expectCode(() => decodeRecordAs(allowed, { ...bought, key }), 'CONTRACT_KEY_MISMATCH');
    expect(error.details).toMatchObject({ schema: 'buynow.ItemBought', fields: ['itemId'] });
  });
});

describe('decodeAs', () => {
  it('returns a record whose schema is allowed, narrowed to those schemas', () => {
    const decoded = decodeAs(schemasOnTopic[Topics.itemEvents], bought.headers, bought.value);

    expect(decoded.name).toBe('ItemBought');
    if (decoded.name !== 'ItemBought') throw new Error('unreachable');
    expect(decoded.value.remaining).toBe(samples.ItemBought.remaining);
  });

  it('refuses a known schema that does not belong, before reading its bytes', () => {
    const error = expectCode(
      () => decodeAs(schemasOnTopic[Topics.itemCommands], bought.headers, Buffer.from('not avro')),
      'CONTRACT_UNEXPECTED_SCHEMA',
    );

    expect(error.message).toContain('buynow.ItemBought is not expected here');
  });

  it('still reports missing headers first', () => {
    expectCode(() => decodeAs(['ItemBought'], {}, bought.value), 'CONTRACT_MISSING_HEADER');
  });
});
