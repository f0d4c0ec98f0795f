import pg from 'pg';
import PgBoss from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidConfigurationError } from '../../src/domain/errors.js';
import type { DispatchMessage } from '../../src/remote/dispatcher.js';
import { PgBossDispatcher } from '../../src/remote/postgres/pg-boss-dispatcher.js';
import type { KvTransaction } from '../../src/repository/kv-store.js';
import { PgKvStore } from '../../src/repository/postgres/pg-kv-store.js';
import { describeDispatcherContract } from './dispatcher.contract.js';
import { POSTGRES_URL, freshTable, skipPostgres } from './postgres-test-database.js';

describe.skipIf(skipPostgres)('pg-boss dispatcher', () => {
  it('has a database to run against (CI starts one; see .ci/postgres.sh)', () => {
    expect(POSTGRES_URL, 'CI=true but TSBATCH_TEST_POSTGRES_URL is not set: .ci/run must start PostgreSQL').toBeTruthy();
  });

  if (!POSTGRES_URL) return;
  const url = POSTGRES_URL;
  // One pg-boss schema for this file, one queue and one repository table per test.
  const schema = freshTable('tsbatch_boss');
  const tables: string[] = [];
  let queues = 0;

  afterAll(async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      for (const table of tables) await client.query(`DROP TABLE IF EXISTS ${table}`);
    } finally {
      await client.end();
    }
  });

  function openStore(): PgKvStore {
    const table = freshTable('dispatch');
    tables.push(table);
    return PgKvStore.open(url, { table });
  }

  function start(queue: string, options: { retryDelaySeconds?: number; expireInSeconds?: number; retryLimit?: number } = {}) {
    return PgBossDispatcher.start({ connectionString: url, schema, queue, retryDelaySeconds: 0, ...options });
  }

  describeDispatcherContract('pg-boss', async () => {
    const queue = `contract-${++queues}`;
    const store = openStore();
    const dispatcher = await start(queue);
    const others: PgBossDispatcher[] = [];
    return {
      dispatcher,
      store,
      second: async () => {
        const other = await start(queue);
        others.push(other);
        return other;
      },
      close: async () => {
        await Promise.all([dispatcher, ...others].map((d) => d.close()));
        await store.close();
      },
    };
  });

  describe('the job row, written in the repository transaction', () => {
    let sql: pg.Client;
    beforeAll(async () => {
      sql = new pg.Client({ connectionString: url });
      await sql.connect();
    });
    afterAll(async () => {
      await sql.end();
    });

    const message = (stepExecutionId: number): DispatchMessage => ({
      jobName: 'orders',
      jobExecutionId: 3,
      managerStepName: 'load',
      stepExecutionId,
      stepName: `load:partition${stepExecutionId}`,
    });

    async function jobRows(queue: string, stepExecutionId: number): Promise<Array<Record<string, unknown>>> {
      const { rows } = await sql.query(`SELECT * FROM ${schema}.job WHERE name = $1 AND (data->>'stepExecutionId')::bigint = $2`, [
        queue,
        stepExecutionId,
      ]);
      return rows;
    }

    it('leaves no job when the transaction rolls back', async () => {
      const queue = `rollback-${++queues}`;
      const store = openStore();
      const dispatcher = await start(queue);
      try {
        await expect(
          store.write((tx) => {
            dispatcher.enqueue(tx, message(1));
            // The row is there, inside the transaction.
            expect(tx.sql(`SELECT count(*)::int AS n FROM ${schema}.job WHERE name = $1`, [queue])).toEqual([{ n: 1 }]);
            throw new Error('rolled back');
          }),
        ).rejects.toThrow('rolled back');
        expect(await jobRows(queue, 1)).toEqual([]);
        await store.write((tx) => dispatcher.enqueue(tx, message(2)));
        expect(await jobRows(queue, 2)).toHaveLength(1);
      } finally {
        await dispatcher.close();
        await store.close();
      }
    });

    it('leaves exactly one job when a serialization failure runs the transaction body twice', async () => {
      const queue = `serialization-${++queues}`;
      const store = openStore();
      const table = tables[tables.length - 1]!;
      const rival = PgKvStore.open(url, { table });
      const dispatcher = await start(queue);
      try {
        await store.write((tx) => tx.put('partition/9', { status: 'STARTING' }));
        let runs = 0;
        await store.write((tx) => {
          runs++;
          const row = tx.get<{ status: string }>('partition/9');
          dispatcher.enqueue(tx, message(9));
          if (runs === 1) {
            // Another process updates the row this transaction read; PgKvStore's write runs its whole
            // transaction synchronously, so it commits here, before this body ends.
            void rival.write((other) => other.put('partition/9', { status: 'CLAIMED_ELSEWHERE' }));
          }
          tx.put('partition/9', { status: `${row?.status}+QUEUED` });
        });
        expect(runs, 'the body ran again after a serialization failure').toBe(2);
        expect(store.read((tx) => tx.get('partition/9'))).toEqual({ status: 'CLAIMED_ELSEWHERE+QUEUED' });
        const rows = await jobRows(queue, 9);
        expect(rows).toHaveLength(1);
        expect(rows[0]!['state']).toBe('created');
      } finally {
        await dispatcher.close();
        await rival.close();
        await store.close();
      }
    });

    it("writes the same row as pg-boss's own send() with the same options (pins the INSERT to pg-boss 10.4.2)", async () => {
      const boss = new PgBoss({ connectionString: url, schema, schedule: false, supervise: false });
      boss.on('error', () => undefined);
      await boss.start();
      const store = openStore();
      const dlq = `pin-dlq-${++queues}`;
      const withSettings = `pin-settings-${queues}`;
      const plain = `pin-plain-${queues}`;
      await boss.createQueue(dlq);
      // A queue someone created with a retention and a dead letter: enqueue must honour both, as send does.
      await boss.createQueue(withSettings, { name: withSettings, retentionMinutes: 30, deadLetter: dlq, retryLimit: 9, expireInSeconds: 60 });
      const options = { expireInSeconds: 123, retryLimit: 4, retryDelaySeconds: 7 };
      try {
        for (const queue of [withSettings, plain]) {
          const dispatcher = await start(queue, options);
          try {
            await store.write((tx) => dispatcher.enqueue(tx, message(100)));
            await boss.send(queue, message(101), { expireInSeconds: 123, retryLimit: 4, retryDelay: 7 });
            const compared = `
              SELECT name, priority, data - 'stepExecutionId' - 'stepName' AS data, state, retry_limit, retry_count, retry_delay,
                retry_backoff, started_on, singleton_key, singleton_on, expire_in::text, completed_on, output, dead_letter, policy,
                (keep_until - start_after)::text AS kept_for, (start_after - created_on)::text AS start_delay
              FROM ${schema}.job WHERE name = $1 AND (data->>'stepExecutionId')::bigint = $2`;
            const ours = (await sql.query(compared, [queue, 100])).rows;
            const theirs = (await sql.query(compared, [queue, 101])).rows;
            expect(ours).toHaveLength(1);
            expect(ours).toEqual(theirs);
            expect(ours[0]).toMatchObject({
              expire_in: '00:02:03',
              retry_limit: 4,
              retry_delay: 7,
              policy: 'standard',
              dead_letter: queue === withSettings ? dlq : null,
              kept_for: queue === withSettings ? '00:30:00' : '14 days',
            });
          } finally {
            await dispatcher.close();
          }
        }
      } finally {
        await boss.stop({ graceful: false });
        await store.close();
      }
    });

    it('refuses a queue whose policy could merge or drop dispatches', async () => {
      const boss = new PgBoss({ connectionString: url, schema, schedule: false, supervise: false });
      boss.on('error', () => undefined);
      await boss.start();
      const queue = `short-${++queues}`;
      try {
        await boss.createQueue(queue, { name: queue, policy: 'short' });
        await expect(start(queue)).rejects.toThrow(InvalidConfigurationError);
        await expect(start(queue)).rejects.toThrow(/policy 'short'/);
      } finally {
        await boss.stop({ graceful: false });
      }
    });

    it('refuses a transaction that runs no SQL, and options that cannot work, with INVALID_CONFIGURATION', async () => {
      const dispatcher = await start(`plain-${++queues}`);
      try {
        const kvOnly: KvTransaction = { get: () => undefined, range: () => [], put: () => undefined, remove: () => undefined };
        expect(() => dispatcher.enqueue(kvOnly, message(1))).toThrow(InvalidConfigurationError);
        expect(() => dispatcher.enqueue(kvOnly, message(1))).toThrow(/PostgreSQL repository/);
      } finally {
        await dispatcher.close();
      }
      await expect(PgBossDispatcher.start({ connectionString: url, schema: 'x; DROP TABLE y' })).rejects.toMatchObject({
        code: 'INVALID_CONFIGURATION',
      });
      await expect(PgBossDispatcher.start({ connectionString: url, schema, retryLimit: 0 })).rejects.toThrow(/retryLimit/);
    });
  });
});
