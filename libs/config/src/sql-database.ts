// Which SQL database a service talks to, told by DATABASE_URL (its scheme names the dialect) or by an
// explicit SQL_DIALECT. Every service that reads SQL resolves it here, so they cannot disagree.
import { z } from 'zod';

export type SqlDialect = 'postgres' | 'mssql';

export interface SqlDatabase {
  dialect: SqlDialect;
  /** A postgres(ql):// URL; for SQL Server an mssql:// or sqlserver:// URL or an ADO connection string. */
  url: string;
}

export const SQL_DIALECTS = ['postgres', 'mssql'] as const satisfies readonly SqlDialect[];

const DIALECT_OF_SCHEME: Readonly<Record<string, SqlDialect>> = {
  postgres: 'postgres',
  postgresql: 'postgres',
  mssql: 'mssql',
  sqlserver: 'mssql',
};

const ACCEPTED =
  'must be a postgres://, postgresql://, mssql:// or sqlserver:// URL ' +
  '(or, with SQL_DIALECT=mssql, an ADO connection string such as "Server=host,1433;Database=buy_now;User Id=sa;Password=…")';

// An ADO connection string is a list of key=value pairs; its first key is a word or words.
const ADO_CONNECTION_STRING = /^\s*[A-Za-z][A-Za-z ]*=[^;]*(;|$)/;

function schemeOf(url: string): string | undefined {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url.trim());
  if (!match?.[1]) return undefined;
  try {
    new URL(url);
  } catch {
    return undefined;
  }
  return match[1].toLowerCase();
}

/**
 * The database DATABASE_URL names, the dialect overridden by SQL_DIALECT when given; when the two do
 * not make one database, what is wrong with DATABASE_URL (the accepted forms, or the disagreement).
 */
export function resolveSqlDatabase(url: string, override?: SqlDialect): SqlDatabase | string {
  const scheme = schemeOf(url);
  const fromScheme = scheme === undefined ? undefined : DIALECT_OF_SCHEME[scheme];
  if (override === undefined) {
    return fromScheme === undefined ? ACCEPTED : { dialect: fromScheme, url };
  }
  if (fromScheme !== undefined && fromScheme !== override) {
    return `is a ${scheme}:// URL but SQL_DIALECT=${override}: leave SQL_DIALECT unset or make the two agree`;
  }
  if (fromScheme === undefined && !(override === 'mssql' && ADO_CONNECTION_STRING.test(url))) {
    return ACCEPTED;
  }
  return { dialect: override, url };
}

/**
 * The two variables of a service's config schema. Use with `.superRefine(checkSqlDatabase)` on the
 * schema, and `sqlDatabaseOf(config)` where the database is built.
 */
export function sqlDatabaseFields(fallback = 'postgres://postgres@127.0.0.1:5432/buy_now') {
  return {
    DATABASE_URL: z.string().default(fallback),
    /** Only needed when DATABASE_URL's scheme does not say it (an ADO connection string). */
    SQL_DIALECT: z.enum(SQL_DIALECTS).optional(),
  };
}

export function checkSqlDatabase(
  config: { DATABASE_URL: string; SQL_DIALECT?: SqlDialect | undefined },
  ctx: z.RefinementCtx,
): void {
  const resolved = resolveSqlDatabase(config.DATABASE_URL, config.SQL_DIALECT);
  if (typeof resolved === 'string') {
    ctx.addIssue({ code: 'custom', path: ['DATABASE_URL'], message: resolved, input: config.DATABASE_URL });
  }
}

/** The database of a config that passed checkSqlDatabase. */
export function sqlDatabaseOf(config: {
  readonly DATABASE_URL: string;
  readonly SQL_DIALECT?: SqlDialect | undefined;
}): SqlDatabase {
  const resolved = resolveSqlDatabase(config.DATABASE_URL, config.SQL_DIALECT);
  if (typeof resolved === 'string') throw new Error(`DATABASE_URL ${resolved}`);
  return resolved;
}
