// PostgreSQL pools that outlive their connections' failures and close for real. Every pool the project
// opens comes from here, so none of them can bring a process down.
import pg from 'pg';

export interface PostgresPoolOptions {
  connectionString: string;
  /** Connections in the pool; default 10. */
  max?: number;
  /** How long a new connection may take; default: no limit. */
  connectionTimeoutMillis?: number;
  /**
   * A connection failed while nobody was using it: the server restarted, an administrator or a DROP
   * DATABASE terminated it, the network dropped it. The pool has already discarded it and opens a new
   * one on the next query. Without a listener this event would be an uncaught exception.
   */
  onIdleError: (error: Error) => void;
}

const openClients = new WeakMap<pg.Pool, Set<pg.PoolClient>>();

export function createPostgresPool(options: PostgresPoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    ...(options.connectionTimeoutMillis === undefined
      ? {}
      : { connectionTimeoutMillis: options.connectionTimeoutMillis }),
  });
  pool.on('error', (error) => options.onIdleError(error));
  const clients = new Set<pg.PoolClient>();
  pool.on('connect', (client) => {
    clients.add(client);
    client.once('end', () => clients.delete(client));
  });
  openClients.set(pool, clients);
  return pool;
}

/**
 * Closes the pool and waits until every connection has ended. `pool.end()` alone resolves once it has
 * asked each connection to close, while their sessions may still be alive on the server: a DROP
 * DATABASE … WITH (FORCE) right after it terminates them, and they report that as an error.
 */
export async function closePostgresPool(pool: pg.Pool): Promise<void> {
  const ended = [...(openClients.get(pool) ?? [])].map(
    (client) => new Promise<void>((resolve) => client.once('end', () => resolve())),
  );
  await pool.end();
  await Promise.all(ended);
}
