// DATABASE_URL picks the database the gateway reads the reservation's tables from. Nothing here connects.
import { ConfigError } from '@buy-now/config';
import { describe, expect, it } from 'vitest';
import { openReservationReads } from '../src/adapters/sql/reservation-reads.js';
import { loadGatewayConfig } from '../src/config.js';

const secrets = { ADMIN_TOKEN: 'a'.repeat(16), BUYER_TOKEN_SECRET: 'b'.repeat(32) };
const log = { warn: () => undefined };

describe("the gateway's reads of the reservation's tables", () => {
  it.each([
    ['mssql://sa:secret@sqlserver:1433/buy_now', 'mssql'],
    ['sqlserver://sa:secret@sqlserver/buy_now', 'mssql'],
    ['postgres://postgres@127.0.0.1:5432/buy_now', 'postgres'],
  ] as const)('%s gives the %s reads', async (url, dialect) => {
    const reads = openReservationReads(loadGatewayConfig({ ...secrets, DATABASE_URL: url }), log);
    expect(reads.dialect).toBe(dialect);
    await reads.close();
  });

  it('refuses a URL of another database, naming the variable', () => {
    expect(() => loadGatewayConfig({ ...secrets, DATABASE_URL: 'redis://127.0.0.1:6379' })).toThrow(
      ConfigError,
    );
    expect(() => loadGatewayConfig({ ...secrets, DATABASE_URL: 'redis://127.0.0.1:6379' })).toThrow(
      /DATABASE_URL="redis:\/\/127.0.0.1:6379": must be a postgres:\/\//,
    );
  });
});
