// A fresh, migrated database per test suite, so suites never see each other's rows: on the PostgreSQL or
// the SQL Server that the base URL names (its scheme says which, as DATABASE_URL's does for the services).
import { resolveSqlDatabase, type SqlDialect } from '@buy-now/config';
import {
  ensureMssqlDatabase,
  ensurePostgresDatabase,
  migrateMssql,
  migratePostgres,
  mssqlConfigOf,
  withDatabase,
} from '@buy-now/sql-schema';
import sql from 'mssql';
import pg from 'pg';
import { readTestkitEnv } from './config.js';
import { uniqueName } from './helpers.js';

export interface TestDatabase {
  dialect: SqlDialect;
  /** The base URL with this database's name: what a service under test gets as DATABASE_URL. */
  url: string;
  name: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(baseUrl: string, prefix = 'buy_now_test'): Promise<TestDatabase> {
  const resolved = resolveSqlDatabase(baseUrl);
  if (typeof resolved === 'string') throw new Error(`test database base URL ${resolved}`);
  const name = uniqueName(prefix).replaceAll('-', '_');
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return resolved.dialect === 'postgres'
    ? createPostgresTestDatabase(baseUrl, url.toString(), name)
    : createMssqlTestDatabase(url.toString(), name);
}

async function createPostgresTestDatabase(baseUrl: string, url: string, name: string): Promise<TestDatabase> {
  await ensurePostgresDatabase(url);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await migratePostgres(client);
  } finally {
    await client.end();
  }
  return {
    dialect: 'postgres',
    url,
    name,
    drop: async () => {
      const admin = new URL(baseUrl);
      admin.pathname = '/postgres';
      const c = new pg.Client({ connectionString: admin.toString() });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

async function createMssqlTestDatabase(url: string, name: string): Promise<TestDatabase> {
  const config = mssqlConfigOf(url);
  await ensureMssqlDatabase(config);
  const pool = await new sql.ConnectionPool(config).connect();
  try {
    await migrateMssql(pool);
  } finally {
    await pool.close();
  }
  return {
    dialect: 'mssql',
    url,
    name,
    drop: async () => {
      const admin = await new sql.ConnectionPool(withDatabase(config, 'master')).connect();
      try {
        // Ends the sessions still open on it, as PostgreSQL's WITH (FORCE) does.
        await admin
          .request()
          .batch(
            `IF DB_ID(N'${name}') IS NOT NULL BEGIN ALTER DATABASE [${name}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE [${name}]; END`,
          );
      } finally {
        await admin.close();
      }
    },
  };
}

/**
 * The SQL Server that suites written for it use, given by one variable: MSSQL_URL, or DATABASE_URL when
 * its scheme names SQL Server (then every suite runs there). Undefined: none is given.
 */
export function sqlServerUnderTest(): { connection: string; from: 'MSSQL_URL' | 'DATABASE_URL' } | undefined {
  const env = readTestkitEnv();
  if (env.mssqlUrl) return { connection: env.mssqlUrl, from: 'MSSQL_URL' };
  const database = env.databaseUrl === undefined ? undefined : resolveSqlDatabase(env.databaseUrl);
  if (typeof database === 'object' && database.dialect === 'mssql') {
    return { connection: database.url, from: 'DATABASE_URL' };
  }
  return undefined;
}

/** The dialect DATABASE_URL names (PostgreSQL when unset): suites that speak one dialect skip on the other. */
export function databaseDialectUnderTest(): SqlDialect {
  const url = readTestkitEnv().databaseUrl;
  const database = url === undefined ? undefined : resolveSqlDatabase(url);
  return typeof database === 'object' ? database.dialect : 'postgres';
}
