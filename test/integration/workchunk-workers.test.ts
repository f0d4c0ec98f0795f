/**
 * Work-chunk jobs across REAL worker processes (issue #8: "any worker claims any chunk"). There is
 * no dispatcher: the chunk rows in the shared repository are the queue, and every process that
 * registers the definition claims from it. The job is fixtures/workchunk/worker-module.ts: a
 * gated fan-out into item chunks, each staging who ran it (`process.pid`) in its commit, and a
 * reducer that tallies them.
 *
 * A launcher child (the fixture's `launch` mode) registers the definition with work-chunk
 * concurrency 0, starts one instance and closes its runtime: it runs no chunk, so every chunk runs
 * in the two workers. Each worker plays a host of its own (TSBATCH_HOST), so a dead worker's chunks come
 * back only through their lease, not through a same-host pid check.
 *
 * - Two `tsbatch worker <module>` processes run the instance: it COMPLETES, every item chunk ran and
 *   committed once, and both workers ran some.
 * - One worker SIGKILLed while it holds chunks: the other takes them over once their lease expires,
 *   and the instance still COMPLETES with every item committed once. These workers are the
 *   fixture's `work` mode, not `tsbatch worker`: the CLI's `--lease-ms` reaches work chunks too,
 *   but it keeps the default maintenance period (5 s), too slow for this test.
 *
 * On one LMDB store always, and on PostgreSQL (a database of its own per test, since `tsbatch
 * worker` uses the default table) when TSBATCH_TEST_POSTGRES_URL is set.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { BatchRuntime, WorkChunkInstance } from '../../src/index.js';
import { skipPostgres } from '../contract/postgres-test-database.js';
import {
  TSBATCH_BIN,
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
import { DEFINITION_ID, type TallyReport, type WorkOutput } from './fixtures/workchunk/worker-module.js';

const MODULE = fileURLToPath(new URL('./fixtures/workchunk/worker-module.ts', import.meta.url));
const CHILD_TIMEOUT_MS = 30_000;
const LEASE_MS = 1500;

// --- child processes ------------------------------------------------------------------------------

type Child = TestChild;

afterEach(killChildrenAndCleanUp);

const isAlive = (child: Child) => !hasExited(child.process);

/** The last lines a child wrote on stderr, for failure messages. */
const tail = (child: Child) => stderrTail(child, 12);

// --- backends -------------------------------------------------------------------------------------

const fixtureEnv = (backend: Backend): Record<string, string> => (backend.kind === 'postgres' ? { WC_POSTGRES_URL: backend.url } : { WC_STORE: backend.store });

/**
 * The repository as an onlooker sees it: it registers no definition, so it runs no chunk. Opened
 * before any child, so the store (or the kv table) exists before they race to create it.
 */
const openReader = (backend: Backend): Promise<BatchRuntime> => openRepository(backend, { workChunks: { pollIntervalMs: 50 } });

// --- the processes ----------------------------------------------------------------------------------

/** `tsbatch worker <module>`: ready once it says so on stderr. */
async function startCliWorkers(backend: Backend): Promise<Child[]> {
  const workers = [1, 2].map((i) =>
    spawnChild(`tsbatch worker ${i}`, [TSBATCH_BIN, 'worker', MODULE, '--concurrency', '1', ...tsbatchBackendArgs(backend)], {
      env: { TSBATCH_HOST: `wc-worker-host-${i}` },
      killAfterMs: CHILD_TIMEOUT_MS,
    }),
  );
  await Promise.all(workers.map((worker) => waitReady(worker, () => worker.stderr().includes('Worker ready'))));
  return workers;
}

/** The fixture's `work` mode: a worker with a short work-chunk lease and maintenance period. */
async function startShortLeaseWorkers(backend: Backend): Promise<Child[]> {
  const workers = [1, 2].map((i) =>
    spawnChild(`short-lease worker ${i}`, ['--import', 'tsx', MODULE, 'work'], {
      env: {
        ...fixtureEnv(backend),
        TSBATCH_HOST: `wc-worker-host-${i}`,
        WC_LEASE_MS: String(LEASE_MS),
        WC_MAINTENANCE_MS: '250',
        WC_CONCURRENCY: '2',
        WC_POLL_MS: '50',
      },
      killAfterMs: CHILD_TIMEOUT_MS,
    }),
  );
  await Promise.all(workers.map((worker) => waitReady(worker, () => worker.stdout().includes('READY'))));
  return workers;
}

async function waitReady(worker: Child, ready: () => boolean): Promise<void> {
  await waitUntil(`${worker.name} to be ready`, () => {
    if (!isAlive(worker)) throw new Error(`${worker.name} exited (${worker.process.exitCode ?? worker.process.signalCode}):\n${worker.stderr()}`);
    return ready() ? true : undefined;
  }, 20_000);
}

/** The launcher child: starts one instance and exits; returns its id. */
async function launch(backend: Backend, items: number, itemMs: number): Promise<{ id: string; launcher: Child }> {
  const launcher = spawnChild('launcher', ['--import', 'tsx', MODULE, 'launch'], {
    env: {
      ...fixtureEnv(backend),
      TSBATCH_HOST: 'wc-launcher-host',
      WC_ITEMS: String(items),
      WC_ITEM_MS: String(itemMs),
    },
    killAfterMs: CHILD_TIMEOUT_MS,
  });
  const exit = await launcher.done;
  const match = /\{"started":"([^"]+)"\}/.exec(launcher.stdout());
  if (exit.code !== 0 || !match) throw new Error(`The launcher exited ${exit.code ?? exit.signal} without an instance:\n${launcher.stderr()}`);
  return { id: match[1]!, launcher };
}

async function awaitEnd(reader: BatchRuntime, id: string, processes: readonly Child[]): Promise<WorkChunkInstance> {
  try {
    return await reader.workChunks.waitFor(id, { timeoutMs: 20_000 });
  } catch (error) {
    throw new Error(`${String(error)}\n${processes.map(tail).join('\n')}`);
  }
}

// --- what a user checks ---------------------------------------------------------------------------

async function stagedOf<T>(reader: BatchRuntime, store: string): Promise<Array<{ key: string; value: T }>> {
  return (await reader.explorer.getStagedValues(store)).map(({ key, value }) => ({ key, value: value as unknown as T }));
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * The instance COMPLETED; every `work` chunk is COMPLETED; every item's output was committed once
 * (one 'wc-runs' entry per item: a second committed run would add a second); the reducer consumed
 * each item once. Returns the outputs in item order.
 */
async function expectCompletedOnce(reader: BatchRuntime, done: WorkChunkInstance, items: number): Promise<WorkOutput[]> {
  expect(done.status, done.errorMessage ?? undefined).toBe('COMPLETED');
  expect(done.errorCount).toBe(0);
  expect(done.chunkCounts['fan-out']).toEqual({ COMPLETED: 1 });
  expect(done.chunkCounts['work']).toEqual({ COMPLETED: items });
  expect(done.recordsProcessed).toBe(items + items);

  const chunks = await reader.workChunks.chunks(done.id, { stepId: 'work' });
  expect(chunks.length).toBe(items);
  expect(chunks.every((chunk) => chunk.status === 'COMPLETED' && chunk.lease === null)).toBe(true);
  expect(new Set(chunks.map((chunk) => (chunk.data as { n: number }).n)).size).toBe(items);

  const outputs = (await stagedOf<WorkOutput>(reader, 'wc-out')).filter(({ key }) => key.startsWith(`${done.id}/`)).map(({ value }) => value);
  expect(outputs.map((o) => o.n)).toEqual(range(items));
  const runs = (await stagedOf<{ pid: number }>(reader, 'wc-runs')).filter(({ key }) => key.startsWith(`${done.id}/`));
  expect(runs.length, 'one committed run per item').toBe(items);
  // Each output is the one committed by the chunk's last run (its attempt as the chunk records it).
  const attemptOf = new Map(chunks.map((chunk) => [chunk.id, chunk.attempts]));
  expect(outputs.map((o) => o.attempt)).toEqual(outputs.map((o) => attemptOf.get(o.chunkId)));

  const report = done.report as unknown as TallyReport;
  expect([report.count, report.distinct]).toEqual([items, items]);
  const byPid: Record<string, number> = {};
  for (const o of outputs) byPid[String(o.pid)] = (byPid[String(o.pid)] ?? 0) + 1;
  expect(report.byPid).toEqual(byPid);
  return outputs;
}

// --- the scenarios --------------------------------------------------------------------------------

async function twoCliWorkersScenario(backend: Backend): Promise<void> {
  // 36 chunks of 35 ms at 4 per worker (the runtime's default work-chunk concurrency): one worker
  // alone needs ~9 rounds, longer than the other's 250 ms poll, so both get some.
  const items = 36;
  const reader = await openReader(backend);
  const workers = await startCliWorkers(backend);
  const { id, launcher } = await launch(backend, items, 35);

  const done = await awaitEnd(reader, id, [launcher, ...workers]);
  const outputs = await expectCompletedOnce(reader, done, items);
  expect(done.definitionId).toBe(DEFINITION_ID);

  // Every item chunk ran in one of the two workers, and both ran some.
  const pids = workers.map((w) => w.pid);
  expect(outputs.every((o) => pids.includes(o.pid)), `pids ${[...new Set(outputs.map((o) => o.pid))].join(', ')} vs workers ${pids.join(', ')}`).toBe(true);
  for (const worker of workers) expect(outputs.filter((o) => o.pid === worker.pid).length, `${worker.name}'s chunks`).toBeGreaterThan(0);
  // Nothing had to be retried or taken over.
  expect(outputs.every((o) => o.attempt === 1)).toBe(true);
  // The first step ran in a worker too: the launcher (concurrency 0) runs none.
  const [first] = (await stagedOf<{ pid: number }>(reader, 'wc-first')).filter(({ key }) => key === id);
  expect(pids).toContain(first!.value.pid);
  expect(first!.value.pid).not.toBe(launcher.pid);
  // The workers are still serving.
  expect(workers.every(isAlive), workers.map(tail).join('\n')).toBe(true);
}

async function killedWorkerScenario(backend: Backend): Promise<void> {
  // 40 chunks of 40 ms at 2 per worker: ~400 ms of work for two, so the kill lands mid-run.
  const items = 40;
  const reader = await openReader(backend);
  const workers = await startShortLeaseWorkers(backend);
  const { id, launcher } = await launch(backend, items, 40);

  // A worker that has committed some items and holds a `work` chunk now, with more still queued.
  const victim = await waitUntil(
    'a worker holding a chunk mid-run',
    async () => {
      const chunks = await reader.workChunks.chunks(id, { stepId: 'work' });
      const completed = chunks.filter((c) => c.status === 'COMPLETED').length;
      if (completed < 4 || completed > items - 12) return undefined;
      const outputs = (await stagedOf<WorkOutput>(reader, 'wc-out')).map(({ value }) => value);
      return workers.find((w) => outputs.some((o) => o.pid === w.pid) && chunks.some((c) => c.status === 'IN_PROGRESS' && c.lease?.pid === w.pid));
    },
    20_000,
    5,
  );
  victim.process.kill('SIGKILL');
  expect(await victim.done).toEqual({ code: null, signal: 'SIGKILL' });
  const killedAt = Date.now();
  const survivor = workers.find((w) => w !== victim)!;

  // What it held when it died: leased to it, IN_PROGRESS, and nobody else may take it before the lease ends.
  const stranded = (await reader.workChunks.chunks(id, { stepId: 'work', status: 'IN_PROGRESS' })).filter((c) => c.lease?.pid === victim.pid);
  expect(stranded.length, 'chunks the killed worker held').toBeGreaterThan(0);
  const committedByVictim = (await stagedOf<WorkOutput>(reader, 'wc-out')).filter(({ value }) => value.pid === victim.pid).length;

  const done = await awaitEnd(reader, id, [launcher, ...workers]);
  const outputs = await expectCompletedOnce(reader, done, items);

  // Every item ran in one of the two workers; what the victim committed stays its own.
  expect(outputs.every((o) => o.pid === victim.pid || o.pid === survivor.pid)).toBe(true);
  expect(outputs.filter((o) => o.pid === victim.pid).length).toBe(committedByVictim);
  // The chunks it held were run again by the survivor, in a later attempt, after their lease ran out.
  const byChunk = new Map(outputs.map((o) => [o.chunkId, o]));
  const chunks = new Map((await reader.workChunks.chunks(id, { stepId: 'work' })).map((c) => [c.id, c]));
  for (const held of stranded) {
    expect(byChunk.get(held.id), `chunk ${held.id}`).toMatchObject({ pid: survivor.pid });
    expect(byChunk.get(held.id)!.attempt).toBeGreaterThanOrEqual(2);
    expect(chunks.get(held.id)!.attempts).toBe(byChunk.get(held.id)!.attempt);
    // The survivor's maintenance pass reclaimed it, and not before its lease ran out.
    const reclaimed = survivor.logs().find((line) => line['event'] === 'workchunk.lease_reclaimed' && line['chunkId'] === held.id);
    expect(reclaimed, `survivor's log:\n${tail(survivor)}`).toMatchObject({ instanceId: id, previousOwner: { pid: victim.pid } });
    expect(reclaimed!['time'] as number).toBeGreaterThanOrEqual(held.lease!.expiresAt.getTime());
  }
  // Reclaimed within a lease plus a few maintenance periods (and the rest of the work).
  expect(done.endTime!.getTime() - killedAt).toBeLessThan(LEASE_MS + 5000);
  expect(isAlive(survivor), tail(survivor)).toBe(true);
}

const postgresReason = skipPostgres ? ' (SKIPPED: TSBATCH_TEST_POSTGRES_URL is not set)' : '';

describe('work-chunk jobs run by worker processes on one LMDB store', () => {
  it('two `tsbatch worker` processes run one instance: it COMPLETES, every chunk once, both workers ran chunks', async () => {
    await twoCliWorkersScenario(freshStore('tsbatch-wcworkers-'));
  });

  it('a worker SIGKILLed while it holds chunks: the other takes them over after their lease; COMPLETED, every item once', async () => {
    await killedWorkerScenario(freshStore('tsbatch-wcworkers-'));
  });
});

describe.skipIf(skipPostgres)(`work-chunk jobs run by worker processes on PostgreSQL${postgresReason}`, () => {
  it('two `tsbatch worker` processes run one instance: it COMPLETES, every chunk once, both workers ran chunks', async () => {
    await twoCliWorkersScenario(await freshDatabase('tsbatch_wcworkers'));
  });

  it('a worker SIGKILLed while it holds chunks: the other takes them over after their lease; COMPLETED, every item once', async () => {
    await killedWorkerScenario(await freshDatabase('tsbatch_wcworkers'));
  });
});
