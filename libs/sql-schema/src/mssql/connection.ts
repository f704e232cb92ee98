// SQL Server connections from the DATABASE_URL forms libs/config accepts: an mssql:// or sqlserver://
// URL, or an ADO connection string. Pools connect on first use, so building one never touches the network.
import sql from 'mssql';

export class MssqlUrlError extends Error {
  readonly code = 'MSSQL_URL_INVALID';
  readonly canRetry = false;
  constructor(message: string) {
    super(message);
    this.name = 'MssqlUrlError';
  }
}

const BOOLEAN_PARAMETERS = { encrypt: 'encrypt', trustServerCertificate: 'trustServerCertificate' } as const;
const MS_PARAMETERS = {
  connectTimeout: 'connectionTimeout',
  connectionTimeout: 'connectionTimeout',
  requestTimeout: 'requestTimeout',
} as const;

/**
 * `mssql://user:password@host[:port]/database?encrypt=true&trustServerCertificate=true&connectTimeout=ms
 * &requestTimeout=ms&instanceName=NAME` (or sqlserver://), or an ADO string (`Server=host,1433;…`).
 * User and password are URL-decoded; a parameter the list above does not name is refused, not ignored.
 */
export function mssqlConfigOf(connection: string): sql.config {
  if (!/^(mssql|sqlserver):\/\//i.test(connection.trim())) {
    return sql.ConnectionPool.parseConnectionString(connection);
  }
  let url: URL;
  try {
    url = new URL(connection);
  } catch {
    throw new MssqlUrlError('the SQL Server URL does not parse');
  }
  if (url.hostname === '') throw new MssqlUrlError('the SQL Server URL names no host');
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  const options: NonNullable<sql.config['options']> = {};
  const config: sql.config = {
    server: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    ...(url.port === '' ? {} : { port: Number(url.port) }),
    ...(url.username === '' ? {} : { user: decodeURIComponent(url.username) }),
    ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
    ...(database === '' ? {} : { database }),
    options,
  };
  for (const [name, value] of url.searchParams) {
    if (name in BOOLEAN_PARAMETERS) {
      if (value !== 'true' && value !== 'false') throw new MssqlUrlError(`${name} must be true or false`);
      options[BOOLEAN_PARAMETERS[name as keyof typeof BOOLEAN_PARAMETERS]] = value === 'true';
    } else if (name in MS_PARAMETERS) {
      if (!/^\d+$/.test(value)) throw new MssqlUrlError(`${name} must be milliseconds`);
      config[MS_PARAMETERS[name as keyof typeof MS_PARAMETERS]] = Number(value);
    } else if (name === 'instanceName') {
      options.instanceName = value;
    } else {
      throw new MssqlUrlError(
        `unknown parameter ${name} (known: encrypt, trustServerCertificate, connectTimeout, requestTimeout, instanceName)`,
      );
    }
  }
  return config;
}

/** The same server, another database (master, to create or drop one). */
export function withDatabase(config: sql.config, database: string): sql.config {
  return { ...config, database };
}

export interface MssqlPoolOptions {
  /** What mssqlConfigOf takes, or a config already made. */
  connection: string | sql.config;
  /** Connections in the pool; default: the connection's own, else 10. */
  max?: number;
  /** How long a new connection may take. */
  connectTimeoutMs?: number;
  /** A pooled connection failed while nobody was using it; the pool replaces it. */
  onError: (error: Error) => void;
}

export interface LazyMssqlPool {
  /** The pool, connected; a failed connect is tried again by the next call. */
  ready(): Promise<sql.ConnectionPool>;
  close(): Promise<void>;
}

export function createMssqlPool(options: MssqlPoolOptions): LazyMssqlPool {
  const base =
    typeof options.connection === 'string' ? mssqlConfigOf(options.connection) : options.connection;
  const pool = new sql.ConnectionPool({
    ...base,
    ...(options.connectTimeoutMs === undefined ? {} : { connectionTimeout: options.connectTimeoutMs }),
    pool: { ...base.pool, max: options.max ?? base.pool?.max ?? 10 },
  });
  pool.on('error', (error: Error) => options.onError(error));
  let connecting: Promise<sql.ConnectionPool> | undefined;
  return {
    ready() {
      connecting ??= pool.connect().catch((error: unknown) => {
        connecting = undefined;
        throw error;
      });
      return connecting;
    },
    async close() {
      if (connecting === undefined) return;
      await connecting.then(
        () => pool.close(),
        () => undefined,
      );
      connecting = undefined;
    },
  };
}
