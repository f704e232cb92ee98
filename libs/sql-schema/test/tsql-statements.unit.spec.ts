// Every T-SQL statement sql-schema sends to SQL Server: the migration files, the runner's own statements
// and the reservation reads. (The reservation store's are checked in services/reservation.)
import { describe } from 'vitest';
import { listMigrations, MSSQL_MIGRATION_STATEMENTS, MSSQL_READ_STATEMENTS } from '../src/index.js';
import { expectEveryStatementParses, withNamedExecArgument } from './support/tsql-parse.js';

describe('the SQL Server migrations, as sent (one batch a file)', () => {
  expectEveryStatementParses(
    Object.fromEntries(listMigrations('mssql').map((m) => [`${m.version}_${m.name}`, m.sql])),
    {
      '3_rejected_purchase_quantity': {
        reason: 'DECLARE with a value inside IF … BEGIN … END, and EXEC sp_executesql with a variable',
      },
      '4_exact_id_comparison': {
        reason: 'EXEC sp_executesql with a variable as its argument',
        rest: withNamedExecArgument,
      },
    },
  );
});

describe("the migration runner's statements", () => {
  expectEveryStatementParses(MSSQL_MIGRATION_STATEMENTS, {
    takeLock: {
      reason: "EXEC @result = procedure (a procedure's return value)",
      rest: (text) => text.replace('EXEC @result = ', 'EXEC '),
    },
    createDatabase: {
      reason: 'EXEC sp_executesql with a variable as its argument',
      rest: withNamedExecArgument,
    },
  });
});

describe('the reservation reads', () => {
  expectEveryStatementParses(MSSQL_READ_STATEMENTS, {});
});
