// The store contract against the real PostgreSQL server, on a fresh migrated database.
import { createTestDatabase, databaseDialectUnderTest, getTestServers } from '@buy-now/testkit';
import { describe, expect, it } from 'vitest';
import { createPostgresStore } from '../src/adapters/sql/index.js';
import { describeReservationStoreContract } from './reservation-store.contract.js';

const onPostgres = databaseDialectUnderTest() === 'postgres';
if (!onPostgres)
  console.warn(
    'PostgreSQL contract tests skipped: DATABASE_URL names SQL Server (mssql-store.int.spec.ts runs there)',
  );

describe.skipIf(!onPostgres)('PostgreSQL', () => {
  describeReservationStoreContract('PostgreSQL', async () => {
    const database = await createTestDatabase((await getTestServers()).databaseUrl, 'buy_now_reservation');
    const poolErrors: Error[] = [];
    const store = createPostgresStore({
      connectionString: database.url,
      poolSize: 10,
      onPoolError: (error) => poolErrors.push(error),
    });
    return {
      store,
      cleanup: async () => {
        await store.close();
        // Read before dropping: the drop terminates connections the pool may still be closing.
        const failures = poolErrors.map(String);
        await database.drop();
        if (failures.length > 0) throw new Error(`idle connections failed: ${failures.join('; ')}`);
      },
    };
  });
});

describe('PostgreSQL store without a server', () => {
  it('fails with a retryable RESERVATION_STORE_UNAVAILABLE and never calls decide', async () => {
    const store = createPostgresStore({
      connectionString: 'postgres://postgres@127.0.0.1:1/nowhere',
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
