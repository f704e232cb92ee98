// The store contract against a real SQL Server: the one MSSQL_URL names (or DATABASE_URL, when it is an
// mssql:// URL), else a container when a Docker engine answers; otherwise skipped, saying so.
import { execFile } from 'node:child_process';
import { ensureMssqlDatabase, migrateMssql, mssqlConfigOf, withDatabase } from '@buy-now/sql-schema';
import { sqlServerUnderTest, uniqueName, waitFor } from '@buy-now/testkit';
import sql from 'mssql';
import { describe, expect, it } from 'vitest';
import { createMssqlStore } from '../src/adapters/sql/index.js';
import { describeReservationStoreContract, type StoreUnderTest } from './reservation-store.contract.js';

const MSSQL_IMAGE = 'mcr.microsoft.com/mssql/server:2022-latest';
// Only for the throwaway container; meets SQL Server's password policy.
const CONTAINER_SA_PASSWORD = 'BuyNow!Test-Passw0rd';

type Target = { kind: 'given'; connection: string } | { kind: 'docker' };

const given = sqlServerUnderTest();
const target: Target | undefined = given
  ? { kind: 'given', connection: given.connection }
  : (await dockerEngineAnswers())
    ? { kind: 'docker' }
    : undefined;

if (target === undefined) {
  console.warn(
    'SQL Server contract tests skipped: no SQL Server here. Set MSSQL_URL (e.g. ' +
      '"mssql://sa:...@127.0.0.1:1433/master?trustServerCertificate=true", or an ADO connection string), ' +
      'or DATABASE_URL to an mssql:// URL, or run where a Docker engine answers (`docker compose up -d sqlserver`).',
  );
} else {
  console.warn(
    `SQL Server contract tests run against ${given ? `the server ${given.from} names` : 'a container'}`,
  );
}

describe.skipIf(target === undefined)('SQL Server', () => {
  describeReservationStoreContract('SQL Server', () => makeStore(target!), { setupTimeoutMs: 300_000 });
});

describe('SQL Server store without a server', () => {
  it('fails with a retryable RESERVATION_STORE_UNAVAILABLE and never calls decide', async () => {
    const store = createMssqlStore({
      connection: 'mssql://sa:x@127.0.0.1:1/nowhere?connectTimeout=5000',
      onPoolError: (error) => {
        throw error;
      },
    });
    let decided = false;

    await expect(
      store.decideForItem(
        'item-1',
        { purchaseIds: [], buyerIds: [], purchaseKeys: [], commandIds: [] },
        () => {
          decided = true;
          throw new Error('unreachable');
        },
      ),
    ).rejects.toMatchObject({
      name: 'ReservationStoreError',
      code: 'RESERVATION_STORE_UNAVAILABLE',
      canRetry: true,
    });
    await expect(store.getItem('item-1')).rejects.toMatchObject({ code: 'RESERVATION_STORE_UNAVAILABLE' });
    expect(decided).toBe(false);
    await store.close();
  });
});

interface Server {
  config: sql.config;
  stop(): Promise<void>;
}

async function makeStore(where: Target): Promise<StoreUnderTest> {
  const server = await startServer(where);
  const database = uniqueName('buy_now_reservation').replaceAll('-', '_');
  const config = withDatabase(server.config, database);
  await ensureMssqlDatabase(config);
  const migrations = await new sql.ConnectionPool(config).connect();
  try {
    await migrateMssql(migrations);
  } finally {
    await migrations.close();
  }

  const poolErrors: Error[] = [];
  const store = createMssqlStore({
    connection: config,
    poolSize: 10,
    onPoolError: (error) => poolErrors.push(error),
  });
  return {
    store,
    cleanup: async () => {
      const admin = await new sql.ConnectionPool(withDatabase(server.config, 'master')).connect();
      try {
        await store.close();
        await admin
          .request()
          .batch(
            `ALTER DATABASE ${database} SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE ${database};`,
          );
      } finally {
        await admin.close();
        await server.stop();
      }
      if (poolErrors.length > 0)
        throw new Error(`pooled connections failed: ${poolErrors.map(String).join('; ')}`);
    },
  };
}

async function startServer(where: Target): Promise<Server> {
  if (where.kind === 'given') {
    return { config: mssqlConfigOf(where.connection), stop: () => Promise.resolve() };
  }
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer(MSSQL_IMAGE)
    .withEnvironment({ ACCEPT_EULA: 'Y', MSSQL_SA_PASSWORD: CONTAINER_SA_PASSWORD, MSSQL_PID: 'Developer' })
    .withExposedPorts(1433)
    .withWaitStrategy(Wait.forLogMessage(/SQL Server is now ready for client connections/))
    .withStartupTimeout(240_000)
    .start();
  const config: sql.config = {
    server: container.getHost(),
    port: container.getMappedPort(1433),
    user: 'sa',
    password: CONTAINER_SA_PASSWORD,
    options: { encrypt: false, trustServerCertificate: true },
  };
  // The log line comes a moment before logins are accepted.
  await waitFor(
    'SQL Server to accept a login',
    async () => {
      const pool = await new sql.ConnectionPool({ ...config, database: 'master' }).connect();
      await pool.close();
      return true;
    },
    { timeoutMs: 60_000, intervalMs: 1_000 },
  );
  return {
    config,
    stop: async () => {
      await container.stop();
    },
  };
}

function dockerEngineAnswers(): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 5_000 }, (error, stdout) =>
      resolve(!error && stdout.trim().length > 0),
    );
  });
}
