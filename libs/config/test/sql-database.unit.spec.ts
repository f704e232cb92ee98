import { describe, expect, it } from 'vitest';
import {
  checkSqlDatabase,
  ConfigError,
  loadConfig,
  resolveSqlDatabase,
  sqlDatabaseFields,
  sqlDatabaseOf,
  z,
} from '../src/index.js';

const schema = z.object({ ...sqlDatabaseFields() }).superRefine(checkSqlDatabase);
const load = (source: Record<string, string>) => loadConfig('svc', schema, source);

function problemsOf(source: Record<string, string>): readonly string[] {
  try {
    load(source);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('the config was accepted');
}

describe('DATABASE_URL and SQL_DIALECT', () => {
  it('defaults to the local PostgreSQL', () => {
    expect(sqlDatabaseOf(load({}))).toEqual({
      dialect: 'postgres',
      url: 'postgres://postgres@127.0.0.1:5432/buy_now',
    });
  });

  it.each([
    ['postgres://postgres@db:5432/buy_now', 'postgres'],
    ['postgresql://u:p@db/buy_now', 'postgres'],
    ['mssql://sa:secret@sqlserver:1433/buy_now?trustServerCertificate=true', 'mssql'],
    ['sqlserver://sa:secret@sqlserver/buy_now', 'mssql'],
    ['SQLSERVER://sa:secret@sqlserver/buy_now', 'mssql'],
  ] as const)('takes the dialect from the scheme of %s', (url, dialect) => {
    expect(sqlDatabaseOf(load({ DATABASE_URL: url }))).toEqual({ dialect, url });
  });

  it('takes an ADO connection string when SQL_DIALECT=mssql says what it is', () => {
    const url = 'Server=sqlserver,1433;Database=buy_now;User Id=sa;Password=x;TrustServerCertificate=true';
    expect(sqlDatabaseOf(load({ DATABASE_URL: url, SQL_DIALECT: 'mssql' }))).toEqual({
      dialect: 'mssql',
      url,
    });
  });

  it('accepts an override that agrees with the scheme', () => {
    expect(sqlDatabaseOf(load({ DATABASE_URL: 'postgres://db/x', SQL_DIALECT: 'postgres' })).dialect).toBe(
      'postgres',
    );
  });

  it.each([['mysql://root@db/buy_now'], ['http://db/buy_now'], ['not a url'], ['Server=db;Database=x']])(
    'refuses %s, naming the variable and every accepted form',
    (url) => {
      const [problem, ...others] = problemsOf({ DATABASE_URL: url });
      expect(others).toEqual([]);
      expect(problem).toContain(
        `DATABASE_URL=${JSON.stringify(url)}: must be a postgres://, postgresql://, mssql:// or sqlserver:// URL`,
      );
      expect(problem).toContain('SQL_DIALECT=mssql');
    },
  );

  it('refuses a scheme and an override that disagree', () => {
    expect(problemsOf({ DATABASE_URL: 'mssql://sa:pw@db/x', SQL_DIALECT: 'postgres' })).toEqual([
      'DATABASE_URL="mssql://sa:***@db/x": is a mssql:// URL but SQL_DIALECT=postgres: leave SQL_DIALECT unset or make the two agree',
    ]);
  });

  it('refuses an unknown SQL_DIALECT', () => {
    expect(problemsOf({ SQL_DIALECT: 'oracle' })[0]).toMatch(/^SQL_DIALECT="oracle": /);
  });

  it('never prints the password of a URL', () => {
    expect(problemsOf({ DATABASE_URL: 'mysql://root:hunter2@db/x' }).join('\n')).not.toContain('hunter2');
  });

  it('resolves without a schema too, saying what is wrong', () => {
    expect(resolveSqlDatabase('mssql://db/x')).toEqual({ dialect: 'mssql', url: 'mssql://db/x' });
    expect(resolveSqlDatabase('redis://db')).toMatch(/^must be a postgres:\/\//);
    expect(() => sqlDatabaseOf({ DATABASE_URL: 'redis://db' })).toThrow(/^DATABASE_URL must be a/);
  });
});
