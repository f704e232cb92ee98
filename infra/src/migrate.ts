// `npm run db:migrate`: creates the database if needed and applies pending migrations.
import { createLogger } from '@buy-now/observability';
import { ensurePostgresDatabase, migratePostgres } from '@buy-now/sql-schema';
import pg from 'pg';
import { infraConfig } from './config.js';

const logger = createLogger({ service: 'infra', level: 'info' });
const safeUrl = infraConfig.DATABASE_URL.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');

try {
  const { created, database } = await ensurePostgresDatabase(infraConfig.DATABASE_URL);
  if (created) logger.info({ database }, 'created database');
  const client = new pg.Client({ connectionString: infraConfig.DATABASE_URL });
  await client.connect();
  try {
    const report = await migratePostgres(client, {
      onApplied: (m) => logger.info({ version: m.version, name: m.name }, 'applied migration'),
    });
    logger.info(
      { database, applied: report.applied.length, alreadyApplied: report.alreadyApplied },
      'schema up to date',
    );
  } finally {
    await client.end();
  }
} catch (error) {
  logger.error(
    { err: error, database: safeUrl },
    'migration failed: is PostgreSQL up (`npm run infra:status`)?',
  );
  process.exitCode = 1;
}
