/**
 * The runtime on PostgreSQL: the same jobs, restarts and work-chunk jobs as on LMDB, and two
 * processes launching one job instance at once, of which exactly one may run it.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchRuntime, iterableReader, job, JobParameters, step, storeWriter, workChunkJob } from '../../src/index.js';
import { POSTGRES_URL, freshTable, skipPostgres } from '../contract/postgres-test-database.js';

let runtimes: BatchRuntime[] = [];
afterEach(async () => {
  for (const runtime of runtimes) await runtime.close();
  runtimes = [];
});

async function open(table: string): Promise<BatchRuntime> {
  const runtime = await BatchRuntime.open({ postgres: { connectionString: POSTGRES_URL!, table }, logger: false });
  runtimes.push(runtime);
  return runtime;
}

describe.skipIf(skipPostgres || !POSTGRES_URL)('BatchRuntime on PostgreSQL', () => {
  it('runs a chunk job that fails half-way, and a restart resumes at its last commit, every item stored once', async () => {
    const table = freshTable('runtime');
    let failAt: number | undefined = 57;
    const makeJob = () =>
      job('import')
        .start(
          step('load')
            .chunk<number, number>(10)
            .reader(() => iterableReader(Array.from({ length: 100 }, (_, i) => i), 'numbers'))
            .processor((n) => {
              if (n === failAt) throw new Error(`item ${n} is bad`);
              return n * 2;
            })
            .writer(storeWriter<number>({ store: 'doubled', key: (n) => String(n / 2) }))
            .build(),
        )
        .build();
    const runtime = await open(table);
    const first = await runtime.launcher.run(makeJob(), JobParameters.of({ day: '2026-12-01' }));
    expect(first.status).toBe('FAILED');
    expect(first.stepExecutions[0]).toMatchObject({ readCount: 60, writeCount: 50, commitCount: 5, rollbackCount: 1 });
    failAt = undefined;
    // A second runtime (as another process would) restarts it from what PostgreSQL holds.
    const other = await open(table);
    const second = await other.launcher.run(makeJob(), JobParameters.of({ day: '2026-12-01' }));
    expect(second.status).toBe('COMPLETED');
    expect(second.stepExecutions[0]).toMatchObject({ readCount: 50, writeCount: 50 });
    const stored = await other.explorer.getStagedValues('doubled');
    expect(stored).toHaveLength(100);
    expect(stored.map((s) => s.value).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 100 }, (_, i) => i * 2));
  });

  it('runs a gated work-chunk job with a reducer', async () => {
    const runtime = await open(freshTable('workchunks'));
    runtime.workChunks.register(
      workChunkJob('sum', 1)
        .gated()
        .first<number>('emit', (_c, sink) => {
          for (let i = 1; i <= 30; i++) sink.accept(i);
        })
        .step<number>('square', ({ data }, sink) => sink.accept(data * data))
        .reduce<number, { total: number }>('total', {
          initial: () => ({ total: 0 }),
          consume: (n, state) => ({ total: state.total + n }),
          complete: (sink, state) => sink.accept(state.total),
        })
        .build(),
    );
    const done = await runtime.workChunks.waitFor(await runtime.workChunks.start('sum'), { timeoutMs: 30_000 });
    expect(done).toMatchObject({ status: 'COMPLETED', report: 9455, completedChunks: 61 });
  });

  it('of two processes launching the same instance at once, exactly one runs it', async () => {
    const table = freshTable('race');
    const child = fileURLToPath(new URL('./fixtures/postgres-launch.ts', import.meta.url));
    const launchIn = () =>
      new Promise<string>((resolve) => {
        const process_ = spawn(process.execPath, ['--import', 'tsx', child], {
          env: { ...process.env, TSBATCH_TEST_POSTGRES_URL: POSTGRES_URL, PG_TABLE: table },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        process_.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
        process_.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
        process_.on('close', () => resolve(out.trim() || `no outcome; stderr: ${err.trim()}`));
      });
    // Both open a database table that does not exist yet, at the same moment, too.
    const outcomes = (await Promise.all([launchIn(), launchIn()])).sort();
    // The loser saw the winner's running execution: Spring Batch's JobExecutionAlreadyRunningError.
    expect(outcomes).toEqual(['COMPLETED', 'JOB_EXECUTION_ALREADY_RUNNING']);
  }, 60_000);

  it('a stop asked by another process reaches the one running the job, at its next chunk boundary', async () => {
    const table = freshTable('stop');
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/postgres-slow-job.ts', import.meta.url))], {
      env: { ...process.env, TSBATCH_TEST_POSTGRES_URL: POSTGRES_URL, PG_TABLE: table },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    const started = new Promise<number>((resolve) =>
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        const match = /STARTED (\d+)/.exec(out);
        if (match) resolve(Number(match[1]));
      }),
    );
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    const executionId = await started;
    const operator = await open(table);
    // Let it commit a few chunks, then stop it from here: another process, as another host would.
    await new Promise((resolve) => setTimeout(resolve, 400));
    await operator.operator.stop(executionId);
    await exited;
    const [, status, written] = /ENDED (\w+) (\d+)/.exec(out) ?? [];
    expect(status, err).toBe('STOPPED');
    expect(Number(written)).toBeGreaterThan(0);
    expect(Number(written)).toBeLessThan(2000);
    const stored = await operator.explorer.getJobExecution(executionId);
    expect(stored?.status).toBe('STOPPED');
    expect(stored?.stepExecutions[0]?.status).toBe('STOPPED');
  }, 60_000);
});
