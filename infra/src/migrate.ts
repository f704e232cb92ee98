// `npm run db:migrate`: creates the database DATABASE_URL names if needed and applies pending migrations,
// PostgreSQL or SQL Server alike.
import { sqlDatabaseOf } from '@buy-now/config';
import { createLogger } from '@buy-now/observability';
import { migrateDatabase } from '@buy-now/sql-schema';
import { infraConfig } from './config.js';

const logger = createLogger({ service: 'infra', level: 'info' });
const database = sqlDatabaseOf(infraConfig);
const safeUrl = database.url
  .replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')
  .replace(/(Password|Pwd)=[^;]*/gi, '$1=***');

try {
  const report = await migrateDatabase(database, {
    createDatabase: true,
    onApplied: (m) => logger.info({ version: m.version, name: m.name }, 'applied migration'),
    onConnectionError: (error) => logger.warn({ err: error }, 'migration connection failed'),
  });
  if (report.created) logger.info({ database: report.database }, 'created database');
  logger.info(
    {
      dialect: database.dialect,
      database: report.database,
      applied: report.applied.length,
      alreadyApplied: report.alreadyApplied,
    },
    'schema up to date',
  );
} catch (error) {
  logger.error(
    { err: error, database: safeUrl, dialect: database.dialect },
    database.dialect === 'postgres'
      ? 'migration failed: is PostgreSQL up (`npm run infra:status`)?'
      : 'migration failed: is SQL Server up (`docker compose up -d sqlserver`)?',
  );
  process.exitCode = 1;
}
