// The store contract against a real SQL Server: the one in MSSQL_URL, or a container when a Docker
// engine answers; otherwise skipped, saying so.
import { execFile } from 'node:child_process';
import { uniqueName, waitFor } from '@buy-now/testkit';
import sql from 'mssql';
import { describe, expect, it } from 'vitest';
import { migrateMssql } from '@buy-now/sql-schema';
import { createMssqlStore } from '../src/adapters/sql/index.js';
import { describeReservationStoreContract, type StoreUnderTest } from './reservation-store.contract.js';

const MSSQL_IMAGE = 'mcr.microsoft.com/mssql/server:2022-latest';
// Only for the throwaway container; meets SQL Server's password policy.
const CONTAINER_SA_PASSWORD = 'BuyNow!Test-Passw0rd';

type Target = { kind: 'url'; connectionString: string } | { kind: 'docker' };

const mssqlUrl = process.env['MSSQL_URL'];
const target: Target | undefined = mssqlUrl
  ? { kind: 'url', connectionString: mssqlUrl }
  : (await dockerEngineAnswers())
    ? { kind: 'docker' }
    : undefined;

if (target === undefined) {
  console.warn(
    'SQL Server contract tests skipped: set MSSQL_URL=... (an ADO connection string, e.g. ' +
      '"Server=127.0.0.1,1433;User Id=sa;Password=...;Encrypt=true;TrustServerCertificate=true") ' +
      'or run where a Docker engine answers',
  );
}

describe.skipIf(target === undefined)('SQL Server', () => {
  describeReservationStoreContract('SQL Server', () => makeStore(target!), { setupTimeoutMs: 300_000 });
});

describe('SQL Server store without a server', () => {
  it('fails to start with a retryable RESERVATION_STORE_UNAVAILABLE', async () => {
    await expect(
      createMssqlStore({
        connectionString: 'Server=127.0.0.1,1;Database=nowhere;User Id=sa;Password=x;Connect Timeout=5',
        onPoolError: (error) => {
          throw error;
        },
      }),
    ).rejects.toMatchObject({
      name: 'ReservationStoreError',
      code: 'RESERVATION_STORE_UNAVAILABLE',
      canRetry: true,
    });
  });
});

interface Server {
  config: sql.config;
  stop(): Promise<void>;
}

async function makeStore(where: Target): Promise<StoreUnderTest> {
  const server = await startServer(where);
  const database = uniqueName('buy_now_reservation').replaceAll('-', '_');
  const admin = await new sql.ConnectionPool({ ...server.config, database: 'master' }).connect();
  await admin.request().batch(`CREATE DATABASE ${database}`);

  const migrations = await new sql.ConnectionPool({ ...server.config, database }).connect();
  try {
    await migrateMssql(migrations);
  } finally {
    await migrations.close();
  }

  const poolErrors: Error[] = [];
  const store = await createMssqlStore({
    config: { ...server.config, database, pool: { max: 10 } },
    onPoolError: (error) => poolErrors.push(error),
  });
  return {
    store,
    cleanup: async () => {
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
  if (where.kind === 'url') {
    return {
      config: sql.ConnectionPool.parseConnectionString(where.connectionString),
      stop: () => Promise.resolve(),
    };
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
