// A fresh, migrated PostgreSQL database per test suite, so suites never see each other's rows.
import { ensurePostgresDatabase, migratePostgres } from '@buy-now/sql-schema';
import pg from 'pg';
import { uniqueName } from './helpers.js';

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(baseUrl: string, prefix = 'buy_now_test'): Promise<TestDatabase> {
  const name = uniqueName(prefix).replaceAll('-', '_');
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  await ensurePostgresDatabase(url.toString());
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await migratePostgres(client);
  } finally {
    await client.end();
  }
  return {
    url: url.toString(),
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
