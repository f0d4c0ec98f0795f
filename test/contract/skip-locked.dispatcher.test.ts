import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../src/observe/pino-logger.js';
import { SkipLockedDispatcher } from '../../src/remote/postgres/skip-locked-dispatcher.js';
import { PgKvStore } from '../../src/repository/postgres/pg-kv-store.js';
import { describeDispatcherContract } from './dispatcher.contract.js';
import { POSTGRES_URL, freshTable, skipPostgres } from './postgres-test-database.js';

describe.skipIf(skipPostgres)('skip-locked dispatcher', () => {
  it('has a database to run against (CI starts one; see .ci/postgres.sh)', () => {
    expect(POSTGRES_URL, 'CI=true but TSBATCH_TEST_POSTGRES_URL is not set: .ci/run must start PostgreSQL').toBeTruthy();
  });

  if (!POSTGRES_URL) return;
  const url = POSTGRES_URL;
  const logger = createSilentLogger();
  // A repository table and a dispatch table per test, dropped when the file is done.
  const tables: string[] = [];

  afterAll(async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      for (const table of tables) await client.query(`DROP TABLE IF EXISTS ${table}`);
    } finally {
      await client.end();
    }
  });

  describeDispatcherContract('skip-locked', async () => {
    const kvTable = freshTable('dispatch_kv');
    const queueTable = freshTable('dispatch_queue');
    tables.push(kvTable, queueTable);
    // The queue table lives in the repository's database: enqueue inserts with the repository transaction's SQL.
    const store = PgKvStore.open(url, { table: kvTable });
    const start = () => SkipLockedDispatcher.start({ connectionString: url, table: queueTable, logger });
    const dispatcher = await start();
    const others: SkipLockedDispatcher[] = [];
    return {
      dispatcher,
      store,
      second: async () => {
        const other = await start();
        others.push(other);
        return other;
      },
      close: async () => {
        await Promise.all([dispatcher, ...others].map((d) => d.close()));
        await store.close();
      },
    };
  });
});
