/**
 * Remote partitioning across REAL processes: a launcher child (fixtures/remote/remote-launcher.ts,
 * the manager side only) and three `tsbatch worker` children share one repository, on PostgreSQL
 * with pg-boss (the default dispatcher there) or on one LMDB store (the `store` dispatcher). Workers
 * are killed with a real SIGKILL while they hold a partition and stopped with SIGTERM; the launcher
 * (the manager) is killed and a second one takes over; the pg-boss queue is purged under a running
 * job (HAPI FHIR #4212). Each time the job must still COMPLETE with every partition run to its end
 * once and every item staged exactly once.
 *
 * "Holds a partition" is read from the worker's own log (`partition.claimed` on stderr, pino at
 * info) and confirmed in the repository: that partition is STARTED with some but not all of its
 * chunks committed. Who wrote an item is in the staged value (`pid`, the worker's process id).
 *
 * PostgreSQL isolation: `tsbatch worker` always uses the default kv table and pg-boss schema, so each
 * PostgreSQL test gets a database of its own (CREATE DATABASE), dropped afterwards.
 */
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { BatchRuntime, JobExecution, StepExecution } from '../../src/index.js';
import { IN_CI, POSTGRES_URL, skipPostgres } from '../contract/postgres-test-database.js';
import {
  TSBATCH_BIN,
  afterThisTest,
  freshDatabase,
  freshStore,
  hasExited,
  killChildrenAndCleanUp,
  openRepository,
  spawnChild,
  stderrTail,
  tsbatchBackendArgs,
  waitUntil,
  type Backend,
  type TestChild,
} from './fixtures/process-harness.js';

const JOB_MODULE = fileURLToPath(new URL('./fixtures/remote/remote-partition-job.ts', import.meta.url));
const LAUNCHER = fileURLToPath(new URL('./fixtures/remote/remote-launcher.ts', import.meta.url));
const CHILD_TIMEOUT_MS = 40_000;
/** How long any one wait of these tests may take (polling every 50 ms). */
const WAIT_MS = 25_000;
const LEASE_MS = 1500;
const PG_BOSS_QUEUE = 'tsbatch-partitions';

// --- child processes ------------------------------------------------------------------------------

interface LogLine {
  readonly event?: string;
  readonly stepExecutionId?: number;
  readonly stepExecutionIds?: number[];
  readonly attempt?: number;
  readonly status?: string;
  readonly [field: string]: unknown;
}

type Child = TestChild<LogLine>;

afterEach(killChildrenAndCleanUp);

// --- backends -------------------------------------------------------------------------------------

const backendEnv = (backend: Backend): Record<string, string> =>
  backend.kind === 'postgres' ? { REMOTE_POSTGRES_URL: backend.url } : { REMOTE_STORE: backend.store };

/** The repository as a third process sees it (nothing recovered, no worker, no reconciler). */
const openReader = (backend: Backend): Promise<BatchRuntime> => openRepository(backend);

// --- the job and its processes --------------------------------------------------------------------

interface JobSize {
  readonly items: number;
  readonly grid: number;
  readonly chunk: number;
  readonly itemMs: number;
}

const jobEnv = (size: JobSize): Record<string, string> => ({
  REMOTE_ITEMS: String(size.items),
  REMOTE_GRID: String(size.grid),
  REMOTE_CHUNK: String(size.chunk),
  REMOTE_ITEM_MS: String(size.itemMs),
});

/** `tsbatch worker <job module> --concurrency 1 --lease-ms 1500`, logging at info on stderr. */
function startWorker(index: number, backend: Backend, size: JobSize): Child {
  return spawnChild<LogLine>(
    `worker${index}`,
    [TSBATCH_BIN, 'worker', JOB_MODULE, '--concurrency', '1', '--lease-ms', String(LEASE_MS), '--log-level', 'info', ...tsbatchBackendArgs(backend)],
    // Each worker plays a host of its own: nothing may depend on sharing the launcher's pid space.
    { env: { ...jobEnv(size), TSBATCH_HOST: `worker-host-${index}` }, killAfterMs: CHILD_TIMEOUT_MS },
  );
}

async function waitReady(worker: Child): Promise<void> {
  await waitUntil(`${worker.name} to start`, () => {
    if (worker.process.exitCode !== null) throw new Error(`${worker.name} exited ${worker.process.exitCode}: ${worker.stderr()}`);
    return worker.logs().some((l) => l.event === 'worker.started') ? true : undefined;
  }, WAIT_MS);
}

/**
 * The launcher and three workers, all started at once; resolves once every worker is consuming and
 * the execution exists. On a fresh PostgreSQL database the four race to create pg-boss's schema
 * and queue (pg-boss 10's create_queue deadlocks under that race; PgBossDispatcher.start retries).
 */
async function startAll(backend: Backend, size: JobSize): Promise<{ workers: Child[]; launcher: Child; executionId: number }> {
  const workers = [1, 2, 3].map((i) => startWorker(i, backend, size));
  const [{ launcher, executionId }] = await Promise.all([startLauncher(backend, size), ...workers.map(waitReady)]);
  return { workers, launcher, executionId };
}

/** The launcher child; resolves once it has created its execution. */
async function startLauncher(backend: Backend, size: JobSize, extraEnv: Record<string, string> = {}, name = 'launcher'): Promise<{ launcher: Child; executionId: number }> {
  const launcher = spawnChild<LogLine>(name, ['--import', 'tsx', LAUNCHER], {
    env: {
      ...backendEnv(backend),
      ...jobEnv(size),
      REMOTE_LEASE_MS: String(LEASE_MS),
      REMOTE_INTERVAL_MS: '500',
      TSBATCH_HOST: 'launcher-host',
      ...extraEnv,
    },
    killAfterMs: CHILD_TIMEOUT_MS,
  });
  const executionId = await waitUntil('the launcher to start its execution', () => {
    if (launcher.process.exitCode !== null) throw new Error(`The launcher exited ${launcher.process.exitCode}: ${launcher.stderr()}`);
    const match = /\{"started":(\d+)\}/.exec(launcher.stdout());
    return match ? Number(match[1]) : undefined;
  }, WAIT_MS);
  return { launcher, executionId };
}

/** How the launcher said its execution ended (and that it exited 0). */
async function launcherOutcome(launcher: Child, workers: readonly Child[]): Promise<string> {
  const exit = await launcher.done;
  const match = /\{"ended":\d+,"status":"(\w+)"\}/.exec(launcher.stdout());
  if (!match || exit.code !== 0) {
    const tails = [launcher, ...workers].map((child) => stderrTail(child, 15));
    throw new Error(`The launcher exited ${exit.code ?? exit.signal} without an outcome.\n${tails.join('\n')}`);
  }
  return match[1]!;
}

const partitionsOf = (execution: JobExecution): StepExecution[] =>
  execution.stepExecutions.filter((s) => s.stepName.startsWith('fan-out:')).sort((a, b) => a.stepName.localeCompare(b.stepName));

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

interface Staged {
  readonly n: number;
  readonly pid: number;
}
async function stagedOutput(reader: BatchRuntime): Promise<Staged[]> {
  return (await reader.explorer.getStagedValues('out')).map(({ value }) => value as unknown as Staged);
}

/**
 * What a user checks after the job: it COMPLETED; one step execution per partition, each COMPLETED
 * and run to its end; the counts add up to the items; every item staged exactly once.
 */
async function expectCompletedOnce(reader: BatchRuntime, executionId: number, size: JobSize): Promise<{ execution: JobExecution; staged: Staged[] }> {
  const execution = (await reader.explorer.getJobExecution(executionId))!;
  expect(execution.status).toBe('COMPLETED');
  const partitions = partitionsOf(execution);
  expect(partitions.map((p) => p.stepName)).toEqual(range(0, size.grid - 1).map((i) => `fan-out:partition${i}`));
  expect(partitions.map((p) => p.status)).toEqual(partitions.map(() => 'COMPLETED'));
  const perPartition = size.items / size.grid;
  expect(partitions.map((p) => [p.readCount, p.writeCount])).toEqual(partitions.map(() => [perPartition, perPartition]));
  expect(partitions.reduce((sum, p) => sum + p.readCount, 0)).toBe(size.items);
  expect(partitions.reduce((sum, p) => sum + p.writeCount, 0)).toBe(size.items);
  const manager = execution.stepExecutions.find((s) => s.stepName === 'fan-out')!;
  expect([manager.status, manager.readCount, manager.writeCount]).toEqual(['COMPLETED', size.items, size.items]);
  const staged = await stagedOutput(reader);
  expect(staged.map((s) => s.n)).toEqual(range(1, size.items));
  return { execution, staged };
}

interface Held {
  readonly worker: Child;
  readonly step: StepExecution;
  readonly min: number;
  readonly max: number;
}

/**
 * A worker that holds a partition right now: it logged `partition.claimed` for it, and the
 * repository shows it STARTED with at least one chunk committed and at least two chunks to go.
 */
async function aHeldPartition(reader: BatchRuntime, executionId: number, workers: readonly Child[], size: JobSize): Promise<Held> {
  return waitUntil('a worker holding a partition with a chunk committed', async () => {
    const execution = await reader.explorer.getJobExecution(executionId);
    if (!execution) return undefined;
    let best: Held | undefined;
    for (const worker of workers) {
      if (hasExited(worker.process)) continue;
      const claimed = worker.logs().filter((l) => l.event === 'partition.claimed');
      const last = claimed.at(-1);
      if (!last) continue;
      const finished = worker.logs().some((l) => l.event === 'partition.finished' && l.stepExecutionId === last.stepExecutionId && l.attempt === last.attempt);
      const step = execution.stepExecutions.find((s) => s.id === last.stepExecutionId);
      if (finished || !step || step.status !== 'STARTED') continue;
      const perPartition = size.items / size.grid;
      if (step.writeCount < size.chunk || step.writeCount > perPartition - 2 * size.chunk) continue;
      if (!best || step.writeCount < best.step.writeCount) {
        best = { worker, step, min: step.executionContext.get<number>('partition.min')!, max: step.executionContext.get<number>('partition.max')! };
      }
    }
    return best;
  }, WAIT_MS);
}

/** Every process's log lines, with who wrote them. */
const allLogs = (processes: readonly Child[]) => processes.flatMap((child) => child.logs().map((line) => ({ child, line })));

// --- the scenarios --------------------------------------------------------------------------------

/**
 * SIGKILL a worker while it holds a partition: its lease expires, a reconciler dispatches the
 * partition again, another worker takes it over (a new fencing attempt) and resumes it from its
 * last commit.
 */
async function killedWorkerScenario(backend: Backend): Promise<void> {
  const size: JobSize = { items: 600, grid: 6, chunk: 10, itemMs: 8 };
  const reader = await openReader(backend);
  const { workers, launcher, executionId } = await startAll(backend, size);

  const held = await aHeldPartition(reader, executionId, workers, size);
  held.worker.process.kill('SIGKILL');
  expect(await held.worker.done).toEqual({ code: null, signal: 'SIGKILL' });
  // The kill came mid-partition: the repository still shows it STARTED, part of it committed.
  const atKill = (await reader.explorer.getStepExecution(executionId, held.step.id))!;
  expect(atKill.status).toBe('STARTED');
  expect(atKill.writeCount).toBeGreaterThanOrEqual(held.step.writeCount);
  expect(atKill.writeCount).toBeLessThan(held.max - held.min + 1);

  expect(await launcherOutcome(launcher, workers)).toBe('COMPLETED');
  const { staged } = await expectCompletedOnce(reader, executionId, size);

  // The killed worker's partition: what it had committed stays its own (kept, not redone); the rest
  // was written by another worker, which took it over with a later attempt.
  const survivors = workers.filter((w) => w !== held.worker);
  const ofPartition = staged.filter((s) => s.n >= held.min && s.n <= held.max);
  const byKilled = ofPartition.filter((s) => s.pid === held.worker.pid);
  expect(byKilled.length).toBe(atKill.writeCount);
  expect(byKilled.map((s) => s.n)).toEqual(range(held.min, held.min + atKill.writeCount - 1));
  const rest = ofPartition.filter((s) => s.pid !== held.worker.pid);
  expect(rest.length).toBe(held.max - held.min + 1 - atKill.writeCount);
  expect(survivors.map((w) => w.pid)).toContain(rest.at(-1)!.pid);
  const finisher = survivors.find((w) => w.pid === rest.at(-1)!.pid)!;
  const takeover = finisher.logs().find((l) => l.event === 'partition.claimed' && l.stepExecutionId === held.step.id);
  expect(takeover).toMatchObject({ resumed: true });
  // The killed worker's own claim found nothing committed yet.
  expect(held.worker.logs().find((l) => l.event === 'partition.claimed' && l.stepExecutionId === held.step.id)).toMatchObject({ resumed: false, attempt: 1 });
  expect(takeover!.attempt).toBeGreaterThanOrEqual(2);
  const redispatched = allLogs([launcher, ...survivors]).filter(({ line }) => line.event === 'partition.redispatched' && line.stepExecutionIds?.includes(held.step.id));
  expect(redispatched.length).toBeGreaterThan(0);
  // Every item was written by one of the four workers (none by the launcher, which runs no partition).
  expect(staged.filter((s) => s.pid !== held.worker.pid).every((s) => survivors.some((w) => w.pid === s.pid))).toBe(true);
}

/**
 * SIGTERM a worker mid-partition: it commits its chunk in flight, hands the partition back
 * (RELEASE, dispatched again in the same transaction) and exits 0; another worker resumes it.
 */
async function terminatedWorkerScenario(backend: Backend): Promise<void> {
  const size: JobSize = { items: 600, grid: 6, chunk: 10, itemMs: 8 };
  const reader = await openReader(backend);
  const { workers, launcher, executionId } = await startAll(backend, size);

  const held = await aHeldPartition(reader, executionId, workers, size);
  held.worker.process.kill('SIGTERM');
  const exit = await held.worker.done;
  expect(exit, held.worker.stderr()).toEqual({ code: 0, signal: null });
  expect(held.worker.stderr()).toContain('SIGTERM: handing partitions back');
  const handedBack = (await reader.explorer.getStepExecution(executionId, held.step.id))!;
  // Handed back, not failed or stopped: waiting for a worker (or already taken by one).
  expect(['STARTING', 'STARTED', 'COMPLETED']).toContain(handedBack.status);
  expect(held.worker.logs().find((l) => l.event === 'partition.finished' && l.stepExecutionId === held.step.id)).toMatchObject({ status: 'STARTING' });

  expect(await launcherOutcome(launcher, workers)).toBe('COMPLETED');
  const { staged } = await expectCompletedOnce(reader, executionId, size);

  const survivors = workers.filter((w) => w !== held.worker);
  const ofPartition = staged.filter((s) => s.n >= held.min && s.n <= held.max);
  const byStopped = ofPartition.filter((s) => s.pid === held.worker.pid);
  // It committed at least what it had when signalled, and stopped before the partition's end.
  expect(byStopped.length).toBeGreaterThanOrEqual(held.step.writeCount);
  expect(byStopped.map((s) => s.n)).toEqual(range(held.min, held.min + byStopped.length - 1));
  expect(byStopped.length).toBeLessThan(ofPartition.length);
  expect(survivors.map((w) => w.pid)).toContain(ofPartition.at(-1)!.pid);
  const finisher = survivors.find((w) => w.pid === ofPartition.at(-1)!.pid)!;
  expect(finisher.logs().find((l) => l.event === 'partition.claimed' && l.stepExecutionId === held.step.id)).toMatchObject({ resumed: true });
  // Handed back, not lost: no reconciler had to dispatch it again.
  expect(allLogs([launcher, ...survivors]).some(({ line }) => line.event === 'partition.redispatched' && line.stepExecutionIds?.includes(held.step.id))).toBe(false);
}

/**
 * SIGKILL the launcher, the manager, while workers run its partitions: nothing moves the job on, so
 * it stays STARTED; a second launcher on the same host sees the first one's process gone, marks the
 * execution FAILED (ORPHANED) with the partitions still running, which fences their workers out at
 * their next commit, and restarts the instance. The restart keeps the partitions that completed and
 * resumes the others from their last commit: each partition COMPLETES exactly once across the two
 * executions, and its written counts add up to its size (nothing written twice, nothing skipped).
 */
async function killedManagerScenario(backend: Backend): Promise<void> {
  const size: JobSize = { items: 1200, grid: 6, chunk: 10, itemMs: 8 };
  const perPartition = size.items / size.grid;
  const reader = await openReader(backend);
  const { workers, launcher, executionId } = await startAll(backend, size);
  await aHeldPartition(reader, executionId, workers, size);
  launcher.process.kill('SIGKILL');
  expect(await launcher.done).toEqual({ code: null, signal: 'SIGKILL' });
  expect((await reader.explorer.getJobExecution(executionId))!.status).toBe('STARTED');

  const { launcher: second, executionId: restartId } = await startLauncher(backend, size, { REMOTE_RECOVERY: 'fail' }, 'second launcher');
  expect(restartId).not.toBe(executionId);
  expect(await launcherOutcome(second, workers)).toBe('COMPLETED');

  const first = (await reader.explorer.getJobExecution(executionId))!;
  expect([first.status, first.exitStatus.exitCode]).toEqual(['FAILED', 'ORPHANED']);
  const restart = (await reader.explorer.getJobExecution(restartId))!;
  expect(restart.jobInstance.id).toBe(first.jobInstance.id);
  expect(restart.status).toBe('COMPLETED');
  const runsOf = (index: number) => [...partitionsOf(first), ...partitionsOf(restart)].filter((p) => p.stepName === `fan-out:partition${index}`);
  for (let index = 0; index < size.grid; index++) {
    const runs = runsOf(index);
    expect(runs.filter((p) => p.status === 'COMPLETED').length, `partition ${index}: ${runs.map((p) => p.status).join(', ')}`).toBe(1);
    expect(runs.reduce((sum, p) => sum + p.writeCount, 0), `partition ${index}`).toBe(perPartition);
  }
  // The kill came mid-partition: some partition was fenced out with part of it committed, and the
  // restart went on after that part instead of starting it again.
  const resumed = range(0, size.grid - 1).filter((index) => {
    const [before, after] = runsOf(index);
    return before?.status === 'FAILED' && before.writeCount > 0 && after?.status === 'COMPLETED';
  });
  expect(resumed.length).toBeGreaterThan(0);
  expect((await stagedOutput(reader)).map((s) => s.n)).toEqual(range(1, size.items));
}

const postgresReason = !POSTGRES_URL && !IN_CI ? ' (SKIPPED: TSBATCH_TEST_POSTGRES_URL is not set)' : '';

describe.skipIf(skipPostgres)(`remote partitioning across processes on PostgreSQL + pg-boss${postgresReason}`, () => {
  it('a worker SIGKILLed while it holds a partition: another worker resumes it; the job COMPLETES, every item once', async () => {
    await killedWorkerScenario(await freshDatabase('tsbatch_remote'));
  });

  it('HAPI FHIR #4212: the pg-boss queue purged mid-run; the reconciler dispatches the queued partitions again and the job COMPLETES, every item once', async () => {
    const backend = await freshDatabase('tsbatch_remote');
    if (backend.kind !== 'postgres') throw new Error('unreachable');
    const size: JobSize = { items: 540, grid: 9, chunk: 10, itemMs: 8 };
    const reader = await openReader(backend);
    const { workers, launcher, executionId } = await startAll(backend, size);

    const db = new pg.Client({ connectionString: backend.url });
    await db.connect();
    afterThisTest(() => db.end());
    // Every worker (concurrency 1) runs one partition; the other six wait in the queue.
    await waitUntil('three partitions running and the rest queued', async () => {
      const running = workers.filter((w) => w.logs().some((l) => l.event === 'partition.claimed')).length;
      const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND state = 'created'`, [PG_BOSS_QUEUE]);
      return running === 3 && rows[0]!.n >= 3 ? true : undefined;
    }, WAIT_MS);
    const purged = await db.query<{ state: string; id: string }>(
      `DELETE FROM pgboss.job WHERE name = $1 RETURNING state, (data->>'stepExecutionId') AS id`,
      [PG_BOSS_QUEUE],
    );
    const queuedIds = purged.rows.filter((r) => r.state === 'created').map((r) => Number(r.id));
    expect(queuedIds.length).toBeGreaterThanOrEqual(3);
    // Those partitions are in no queue now, and no worker holds them.
    const { rows: left } = await db.query(`SELECT 1 FROM pgboss.job WHERE name = $1 AND state = ANY('{created,retry,active}')`, [PG_BOSS_QUEUE]);
    expect(left).toEqual([]);

    expect(await launcherOutcome(launcher, workers)).toBe('COMPLETED');
    await expectCompletedOnce(reader, executionId, size);
    // The reconciler (in whichever process won its lock) dispatched every purged queued partition again.
    const redispatched = new Set(allLogs([launcher, ...workers]).flatMap(({ line }) => (line.event === 'partition.redispatched' ? (line.stepExecutionIds ?? []) : [])));
    for (const id of queuedIds) expect(redispatched.has(id), `partition ${id} dispatched again`).toBe(true);
    // Each partition ran to its end once: one `partition.finished` COMPLETED per partition across the workers.
    const finished = allLogs(workers).filter(({ line }) => line.event === 'partition.finished' && line.status === 'COMPLETED');
    expect(finished.map(({ line }) => line.stepExecutionId).sort()).toEqual(partitionsOf((await reader.explorer.getJobExecution(executionId))!).map((p) => p.id).sort());
  });

  it('a worker SIGTERMed mid-partition exits 0 and hands it back; another worker finishes it, every item once', async () => {
    await terminatedWorkerScenario(await freshDatabase('tsbatch_remote'));
  });

  it('the launcher (manager) SIGKILLed mid-job: a second launcher fails the orphan and restarts it; every partition completes once', async () => {
    await killedManagerScenario(await freshDatabase('tsbatch_remote'));
  });
});

describe('remote partitioning across processes on one LMDB store (store dispatcher)', () => {
  it('a worker SIGKILLed while it holds a partition: another worker resumes it; the job COMPLETES, every item once', async () => {
    await killedWorkerScenario(freshStore('tsbatch-remote-'));
  });

  it('a worker SIGTERMed mid-partition exits 0 and hands it back; another worker finishes it, every item once', async () => {
    await terminatedWorkerScenario(freshStore('tsbatch-remote-'));
  });

  it('the launcher (manager) SIGKILLed mid-job: a second launcher fails the orphan and restarts it; every partition completes once', async () => {
    await killedManagerScenario(freshStore('tsbatch-remote-'));
  });
});
