// One migration runner for both dialects: the database DATABASE_URL names gets its dialect's migrations.
import type { SqlDatabase } from '@buy-now/config';
import type { MigrateDatabaseOptions, MigrationReport } from './migrations.js';
import { migrateMssqlDatabase } from './mssql/migrations.js';
import { migratePostgresDatabase } from './postgres/migrations.js';

export function migrateDatabase(
  database: SqlDatabase,
  options: MigrateDatabaseOptions = {},
): Promise<MigrationReport & { database: string; created: boolean }> {
  switch (database.dialect) {
    case 'postgres':
      return migratePostgresDatabase(database.url, options);
    case 'mssql':
      return migrateMssqlDatabase(database.url, options);
  }
}
