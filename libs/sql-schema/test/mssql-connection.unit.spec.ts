import { describe, expect, it } from 'vitest';
import { MssqlUrlError, mssqlConfigOf } from '../src/index.js';

describe('mssqlConfigOf', () => {
  it('reads an mssql:// URL: host, port, decoded user and password, database and options', () => {
    expect(
      mssqlConfigOf(
        'mssql://sa:BuyNow%21Passw0rd@sqlserver:1433/buy_now?encrypt=false&trustServerCertificate=true&connectTimeout=5000',
      ),
    ).toEqual({
      server: 'sqlserver',
      port: 1433,
      user: 'sa',
      password: 'BuyNow!Passw0rd',
      database: 'buy_now',
      connectionTimeout: 5000,
      options: { encrypt: false, trustServerCertificate: true },
    });
  });

  it('reads sqlserver:// the same way and leaves out what the URL does not say', () => {
    expect(mssqlConfigOf('sqlserver://db.example/x')).toEqual({
      server: 'db.example',
      database: 'x',
      options: {},
    });
  });

  it('reads an ADO connection string through the driver', () => {
    expect(mssqlConfigOf('Server=db,1433;Database=buy_now;User Id=sa;Password=pw')).toMatchObject({
      server: 'db',
      port: 1433,
      database: 'buy_now',
      user: 'sa',
      password: 'pw',
    });
  });

  it.each([
    ['mssql://db/x?colour=blue', /unknown parameter colour/],
    ['mssql://db/x?encrypt=yes', /encrypt must be true or false/],
    ['mssql://db/x?requestTimeout=soon', /requestTimeout must be milliseconds/],
  ])('refuses %s', (url, message) => {
    expect(() => mssqlConfigOf(url)).toThrow(MssqlUrlError);
    expect(() => mssqlConfigOf(url)).toThrow(message);
  });
});
