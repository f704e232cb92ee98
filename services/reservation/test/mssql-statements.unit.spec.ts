// Every T-SQL statement the reservation store's SQL Server dialect sends, parsed: no SQL Server runs
// here, so this is what checks them between runs of the contract suite on one.
import { describe, expect, it } from 'vitest';
import { batchOf, insertOutboxStatement, MSSQL_STORE_STATEMENTS } from '../src/adapters/sql/mssql-dialect.js';
import { expectEveryStatementParses, withoutOpenJsonSchema } from './support/tsql-parse.js';

const OPENJSON_SCHEMA = {
  reason: "OPENJSON's WITH (column type 'path') schema clause",
  rest: withoutOpenJsonSchema,
};

describe('the SQL Server store statements', () => {
  expectEveryStatementParses(
    {
      ...MSSQL_STORE_STATEMENTS,
      'insertOutbox (1 row)': insertOutboxStatement(1),
      'insertOutbox (3 rows)': insertOutboxStatement(3),
    },
    {
      decidedPurchases: OPENJSON_SCHEMA,
      confirmedUnits: OPENJSON_SCHEMA,
      heldPurchaseKeys: OPENJSON_SCHEMA,
      processedCommands: OPENJSON_SCHEMA,
      insertPurchases: OPENJSON_SCHEMA,
      insertPurchaseKeys: OPENJSON_SCHEMA,
      insertEvents: OPENJSON_SCHEMA,
      insertProcessedCommands: OPENJSON_SCHEMA,
      markPublished: OPENJSON_SCHEMA,
      'insertOutbox (1 row)': {
        reason: 'the OUTPUT clause',
        rest: (text) => text.replace(/\n\s*OUTPUT [^\n]*\n/, '\n'),
      },
      'insertOutbox (3 rows)': {
        reason: 'the OUTPUT clause',
        rest: (text) => text.replace(/\n\s*OUTPUT [^\n]*\n/, '\n'),
      },
    },
  );
});

describe('batches', () => {
  const call = (text: string, ...parameters: { name: string; value: unknown }[]) => ({
    text,
    parameters: parameters.map((p) => ({ ...p, type: () => ({ type: () => undefined }) as never })),
    returnsRows: true,
  });

  it('joins statements and binds a name they share once', () => {
    const batch = batchOf([
      call('SELECT 1 WHERE @itemId = 1', { name: 'itemId', value: 'i' }),
      call('SELECT 2 WHERE @itemId = 2', { name: 'itemId', value: 'i' }, { name: 'x', value: 1 }),
    ]);
    expect(batch.text).toBe('SELECT 1 WHERE @itemId = 1;\nSELECT 2 WHERE @itemId = 2');
    expect(batch.parameters.map((p) => p.name)).toEqual(['itemId', 'x']);
  });

  it('refuses one name bound to two values', () => {
    expect(() =>
      batchOf([call('SELECT @a', { name: 'a', value: 1 }), call('SELECT @a', { name: 'a', value: 2 })]),
    ).toThrow('@a is bound to two values in one batch');
  });
});
