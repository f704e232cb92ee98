// The hand-written TypeScript types and the Avro schemas describe the same records.
import { describe, expect, it } from 'vitest';

import { avroSchemaOf, rejectionReasons, schemaNames, stockStatuses, violationsOf } from '../src/index.js';
import type { AvroRecordSchema, SchemaName } from '../src/index.js';
import { samples } from './samples.js';

function enumSymbols(schema: AvroRecordSchema, field: string): readonly string[] {
  const type = schema.fields.find((f) => f.name === field)?.type;
  if (typeof type !== 'object' || Array.isArray(type) || !('symbols' in type)) {
    throw new Error(`${schema.name}.${field} is not an enum`);
  }
  return (type as { symbols: readonly string[] }).symbols;
}

describe('TypeScript types match the latest schemas', () => {
  it.each(schemaNames)('a %s sample is valid for its schema', (name: SchemaName) => {
    expect(violationsOf(name, samples[name])).toStrictEqual([]);
  });

  it.each(schemaNames)(
    'a %s sample has exactly the fields of its schema, in any order',
    (name: SchemaName) => {
      const schemaFields = avroSchemaOf(name).fields.map((field) => field.name);

      expect(Object.keys(samples[name]).sort()).toStrictEqual([...schemaFields].sort());
    },
  );

  it('lists the same rejection reasons and stock statuses as the schemas', () => {
    expect(enumSymbols(avroSchemaOf('PurchaseRejected'), 'reason')).toStrictEqual(rejectionReasons);
    expect(enumSymbols(avroSchemaOf('StockView'), 'status')).toStrictEqual(stockStatuses);
  });

  it('puts every record in the buynow namespace', () => {
    expect(schemaNames.map((name) => avroSchemaOf(name).namespace)).toStrictEqual(
      schemaNames.map(() => 'buynow'),
    );
  });

  it('hands out copies of schemas, so a caller cannot change the contract', () => {
    const copy = avroSchemaOf('OutOfStock');
    (copy.fields as unknown as unknown[]).pop();

    expect(avroSchemaOf('OutOfStock').fields.map((field) => field.name)).toStrictEqual([
      'itemId',
      'version',
      'occurredAt',
    ]);
  });
});
