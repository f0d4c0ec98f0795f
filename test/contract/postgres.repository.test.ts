import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/domain/errors.js';
import type { JobRepository } from '../../src/repository/job-repository.js';
import { openPostgresJobRepository } from '../../src/testing.js';
import { describeJobRepositoryContract } from './job-repository.contract.js';
import { POSTGRES_URL, freshTable, skipPostgres } from './postgres-test-database.js';

describe.skipIf(skipPostgres)('PostgreSQL repository', () => {
  it('has a database to run against (CI starts one; see .ci/postgres.sh)', () => {
    expect(POSTGRES_URL, 'CI=true but TSBATCH_TEST_POSTGRES_URL is not set: .ci/run must start PostgreSQL').toBeTruthy();
  });

  if (POSTGRES_URL) {
    const url = POSTGRES_URL;
    describeJobRepositoryContract('postgres', async () => {
      const table = freshTable('contract');
      let current: JobRepository = openPostgresJobRepository(url, { table });
      return {
        repository: current,
        reopen: async () => {
          await current.close();
          current = openPostgresJobRepository(url, { table });
          return current;
        },
        cleanup: async () => {
          await current.close();
        },
      };
    });

    it('refuses an unreachable server with STORE_UNAVAILABLE, naming it without the password', () => {
      let error: unknown;
      try {
        openPostgresJobRepository('postgres://tsbatch:secret@127.0.0.1:1/none', { statementTimeoutMs: 5000 });
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as Error).message).toContain('postgres://tsbatch:***@127.0.0.1:1/none');
      expect((error as Error).message).not.toContain('secret');
    });
  }
});
