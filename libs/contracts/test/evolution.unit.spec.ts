// A newer reader must read every older record: proven here with bytes of a frozen old schema.
import { createHash } from 'node:crypto';

import avro from 'avsc';
import { describe, expect, it } from 'vitest';

import { avroSchemaOf, ContractError, decode, encode, latestVersionOf, schemaNames } from '../src/index.js';
import type { SchemaName } from '../src/index.js';
import { samples } from './samples.js';

// BuyRequested v1 as first published, spelled out here rather than taken from the package so that a
// change to the registered v1 cannot quietly change what this test writes.
const buyRequestedV1 = avro.Type.forSchema({
  type: 'record',
  name: 'BuyRequested',
  namespace: 'buynow',
  fields: [
    { name: 'purchaseId', type: 'string' },
    { name: 'itemId', type: 'string' },
    { name: 'buyerId', type: 'string' },
    { name: 'quantity', type: 'int' },
    { name: 'idempotencyKey', type: 'string' },
    { name: 'admittedAt', type: 'long' },
  ],
});

const v1Request = {
  purchaseId: 'p-old',
  itemId: 'item-1',
  buyerId: 'buyer-9',
  quantity: 3,
  idempotencyKey: 'idem-old',
  admittedAt: Date.UTC(2025, 0, 1),
};

// PurchaseRejected v1 as first published, for the same reason.
const purchaseRejectedV1 = avro.Type.forSchema({
  type: 'record',
  name: 'PurchaseRejected',
  namespace: 'buynow',
  fields: [
    { name: 'itemId', type: 'string' },
    { name: 'version', type: ['null', 'long'], default: null },
    { name: 'purchaseId', type: 'string' },
    { name: 'buyerId', type: 'string' },
    { name: 'quantity', type: 'int' },
    {
      name: 'reason',
      type: {
        type: 'enum',
        name: 'RejectionReason',
        symbols: ['SOLD_OUT', 'LIMIT_EXCEEDED', 'NOT_STARTED', 'UNKNOWN_ITEM', 'INVALID_QUANTITY'],
      },
    },
    { name: 'remaining', type: 'int' },
    { name: 'admissionSeq', type: 'long' },
    { name: 'occurredAt', type: 'long' },
  ],
});

const v1Rejection = {
  itemId: 'item-1',
  version: 7,
  purchaseId: 'p-old',
  buyerId: 'buyer-9',
  quantity: 1,
  reason: 'SOLD_OUT',
  remaining: 0,
  admissionSeq: 12,
  occurredAt: Date.UTC(2025, 0, 1),
};

describe('reading older versions with the latest schema', () => {
  it('reads a BuyRequested v1 record as v2, with the defaults of the added fields', () => {
    const bytes = buyRequestedV1.toBuffer(v1Request);

    const decoded = decode({ schema: 'buynow.BuyRequested', 'schema-version': '1' }, bytes);

    expect(decoded).toStrictEqual({
      name: 'BuyRequested',
      version: 1,
      value: { ...v1Request, admissionSeq: -1, gatewayId: '' },
    });
  });

  it('writes v1 on request, dropping the fields v1 lacks, and the bytes are exactly v1', () => {
    const encoded = encode('BuyRequested', samples.BuyRequested, { version: 1 });

    expect(encoded.headers['schema-version']).toBe('1');
    const { admissionSeq: _seq, gatewayId: _gateway, ...v1Fields } = samples.BuyRequested;
    expect({ ...(buyRequestedV1.fromBuffer(encoded.value) as object) }).toStrictEqual(v1Fields);
    expect(decode(encoded.headers, encoded.value).value).toStrictEqual({
      ...v1Fields,
      admissionSeq: -1,
      gatewayId: '',
    });
  });

  it('does not read v2 bytes as v1: the version header decides how bytes are read', () => {
    const v2 = encode('BuyRequested', samples.BuyRequested);

    expect(() => decode({ ...v2.headers, 'schema-version': '1' }, v2.value)).toThrow(ContractError);
  });

  it('reads a PurchaseRejected v1 record as v2: every v1 reason as it was, no original purchase', () => {
    const bytes = purchaseRejectedV1.toBuffer(v1Rejection);

    const decoded = decode({ schema: 'buynow.PurchaseRejected', 'schema-version': '1' }, bytes);

    expect(decoded).toStrictEqual({
      name: 'PurchaseRejected',
      version: 1,
      value: { ...v1Rejection, originalPurchaseId: null },
    });
  });

  it('writes a PurchaseRejected as v1 on request, but never a DUPLICATE_REQUEST, which v1 cannot say', () => {
    const rejected = { ...v1Rejection, originalPurchaseId: null } as const;
    const encoded = encode('PurchaseRejected', { ...rejected, reason: 'SOLD_OUT' }, { version: 1 });

    expect({ ...(purchaseRejectedV1.fromBuffer(encoded.value) as object) }).toStrictEqual(v1Rejection);
    expect(() =>
      encode(
        'PurchaseRejected',
        { ...rejected, purchaseId: 'p-retry', reason: 'DUPLICATE_REQUEST', originalPurchaseId: 'p-old' },
        { version: 1 },
      ),
    ).toThrow(ContractError);
  });

  it('round-trips a DUPLICATE_REQUEST with the purchase it names, and refuses one that names none', () => {
    const duplicate = {
      ...v1Rejection,
      purchaseId: 'p-retry',
      reason: 'DUPLICATE_REQUEST',
      originalPurchaseId: 'p-old',
    } as const;
    const encoded = encode('PurchaseRejected', duplicate);

    expect(encoded.headers['schema-version']).toBe('2');
    expect(decode(encoded.headers, encoded.value).value).toStrictEqual(duplicate);
    expect(() => encode('PurchaseRejected', { ...duplicate, originalPurchaseId: null })).toThrow(
      ContractError,
    );
    expect(() => encode('PurchaseRejected', { ...duplicate, originalPurchaseId: 'p-retry' })).toThrow(
      ContractError,
    );
    expect(() =>
      encode('PurchaseRejected', { ...duplicate, reason: 'SOLD_OUT', originalPurchaseId: 'p-old' }),
    ).toThrow(ContractError);
  });

  it('keeps the latest schema able to read every earlier version', () => {
    for (const name of schemaNames) {
      const latest = avro.Type.forSchema(avroSchemaOf(name) as unknown as avro.Schema);
      for (let version = 1; version < latestVersionOf(name); version += 1) {
        const older = avro.Type.forSchema(avroSchemaOf(name, version) as unknown as avro.Schema);
        expect(() => latest.createResolver(older), `${name} v${version}`).not.toThrow();
      }
    }
    expect(latestVersionOf('BuyRequested')).toBe(2);
    expect(latestVersionOf('PurchaseRejected')).toBe(2);
  });
});

function digestOf(schema: object): string {
  const withoutDocs = JSON.stringify(schema, (key, value: unknown) => (key === 'doc' ? undefined : value));
  return createHash('sha256').update(withoutDocs).digest('hex').slice(0, 16);
}

describe('published versions are frozen', () => {
  // Digests of each schema without its docs: names, types, field order and defaults, all that decides how
  // bytes are read. A change here means a published schema was edited in place, which breaks every reader
  // and stored record of it: add a new version instead.
  const published: Record<`${SchemaName} v${number}`, string> = {
    'ListItem v1': 'f0131c3e4743a14e',
    'AdjustStock v1': 'd18198e9c4efb665',
    'BuyRequested v1': '84d395adabec7b88',
    'BuyRequested v2': '6751bbf342913698',
    'ItemListed v1': '88424dc76a080a9d',
    'StockAdjusted v1': '1557f4db375f4bf5',
    'ItemBought v1': '28031ae35bf38e76',
    'PurchaseRejected v1': 'f2bb09d4ccbd359f',
    'PurchaseRejected v2': '06aeaea9b56f9042',
    'OutOfStock v1': '94b842ebca21bf67',
    'StockView v1': '451159861f118954',
    'SalesMetrics v1': 'ee9467d529671fc0',
  };

  it('lists every registered version', () => {
    const registered = schemaNames.flatMap((name) =>
      Array.from({ length: latestVersionOf(name) }, (_, index) => `${name} v${index + 1}`),
    );

    expect(registered.sort()).toStrictEqual(Object.keys(published).sort());
  });

  it.each(Object.entries(published))('%s is unchanged', (label, fingerprint) => {
    const [name, version] = label.split(' v') as [SchemaName, string];

    expect(digestOf(avroSchemaOf(name, Number(version)))).toBe(fingerprint);
  });
});
