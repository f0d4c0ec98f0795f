/**
 * The PostgreSQL the tests use: `TSBATCH_TEST_POSTGRES_URL`, which `.ci/run` sets after starting a
 * throwaway server (.ci/postgres.sh). Without it the PostgreSQL tests are skipped with a visible
 * reason, except under CI=true, where a missing database is a failure.
 */
export const POSTGRES_URL = process.env['TSBATCH_TEST_POSTGRES_URL'];
const ci = process.env['CI'];
export const IN_CI = Boolean(ci && ci !== 'false' && ci !== '0');

export const skipPostgres = !POSTGRES_URL && !IN_CI;
if (skipPostgres) {
  process.stderr.write('[postgres] SKIPPED: TSBATCH_TEST_POSTGRES_URL is not set. Start one with: eval "$(.ci/postgres.sh)"\n');
}

let tables = 0;
/** A table name no other test uses, so tests can share one database. */
export function freshTable(prefix: string): string {
  tables += 1;
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${tables}`;
}
