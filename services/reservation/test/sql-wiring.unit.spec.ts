// DATABASE_URL picks the store's database: the SQL Server store for mssql://, PostgreSQL's for
// postgres://, a clear refusal for anything else. Nothing here connects.
import { ConfigError } from '@buy-now/config';
import { describe, expect, it } from 'vitest';
import { openReservationStore } from '../src/adapters/sql/index.js';
import { loadReservationConfig } from '../src/config.js';

const log = { warn: () => undefined };

describe('the reservation store DATABASE_URL names', () => {
  it.each([
    ['mssql://sa:secret@sqlserver:1433/buy_now?trustServerCertificate=true', 'mssql'],
    ['sqlserver://sa:secret@sqlserver/buy_now', 'mssql'],
    ['postgres://postgres@127.0.0.1:5432/buy_now', 'postgres'],
    ['postgresql://postgres@db/buy_now', 'postgres'],
  ] as const)('%s gives the %s store', async (url, dialect) => {
    const store = openReservationStore(loadReservationConfig({ DATABASE_URL: url }), log);
    expect(store.dialect).toBe(dialect);
    await store.close();
  });

  it('an ADO connection string with SQL_DIALECT=mssql gives the SQL Server store', async () => {
    const config = loadReservationConfig({
      DATABASE_URL: 'Server=sqlserver,1433;Database=buy_now;User Id=sa;Password=x',
      SQL_DIALECT: 'mssql',
    });
    const store = openReservationStore(config, log);
    expect(store.dialect).toBe('mssql');
    await store.close();
  });

  it('defaults to the local PostgreSQL', async () => {
    const store = openReservationStore(loadReservationConfig({}), log);
    expect(store.dialect).toBe('postgres');
    await store.close();
  });

  it('refuses a URL of another database, naming the variable and the accepted forms', () => {
    expect(() => loadReservationConfig({ DATABASE_URL: 'mysql://root@db/buy_now' })).toThrow(ConfigError);
    expect(() => loadReservationConfig({ DATABASE_URL: 'mysql://root@db/buy_now' })).toThrow(
      /DATABASE_URL="mysql:\/\/root@db\/buy_now": must be a postgres:\/\/, postgresql:\/\/, mssql:\/\/ or sqlserver:\/\/ URL/,
    );
  });
});
