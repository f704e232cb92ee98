// DATABASE_URL picks the database views:verify tallies the event store of. Nothing here connects.
import { ConfigError } from '@buy-now/config';
import { describe, expect, it } from 'vitest';
import { loadStreamProcessorConfig } from '../src/config.js';
import { openEventStore } from '../src/views-verify.js';

describe('the event store views:verify reads', () => {
  it.each([
    ['mssql://sa:secret@sqlserver:1433/buy_now', 'mssql'],
    ['postgresql://postgres@db/buy_now', 'postgres'],
  ] as const)('%s gives the %s reads', async (url, dialect) => {
    const store = openEventStore(loadStreamProcessorConfig({ DATABASE_URL: url }));
    expect(store.dialect).toBe(dialect);
    await store.close();
  });

  it('refuses a scheme SQL_DIALECT contradicts', () => {
    const source = { DATABASE_URL: 'postgres://db/buy_now', SQL_DIALECT: 'mssql' };
    expect(() => loadStreamProcessorConfig(source)).toThrow(ConfigError);
    expect(() => loadStreamProcessorConfig(source)).toThrow(/is a postgres:\/\/ URL but SQL_DIALECT=mssql/);
  });
});
