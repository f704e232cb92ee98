export { loadConfig, ConfigError } from './load-config.js';
export { env } from './fields.js';
export {
  checkSqlDatabase,
  resolveSqlDatabase,
  sqlDatabaseFields,
  sqlDatabaseOf,
  SQL_DIALECTS,
  type SqlDatabase,
  type SqlDialect,
} from './sql-database.js';
export { z } from 'zod';
