/**
 * Work-chunk jobs (issue #7, DESIGN.md section 6): fan-out, gates, reducers, retries, polling,
 * cancellation, bad input, queries, lease reclaim, maintenance, progress and logging — as a user
 * of `runtime.workChunks` sees them.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { capturingLogger } from './fixtures/capturing-logger.js';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  BatchRuntime,
  InvalidConfigurationError,
  JobParametersInvalidError,
  NonRetryableError,
  NoSuchWorkChunkInstanceError,
  NoSuchWorkChunkJobError,
  RetryLaterError,
  WorkChunkInstanceEndedError,
  workChunkJob,
  type Logger,
  type WorkChunkInstance,
  type WorkChunkInstanceOutcome,
  type WorkChunkJobDefinition,
  type WorkChunkOptions,
  type WorkChunkProgressEvent,
} from '../../src/index.js';
import type { ExecutionOwner } from '../../src/domain/execution-owner.js';
import { LmdbKvStore } from '../../src/repository/lmdb/lmdb-kv-store.js';
import { systemClock } from '../../src/support/clock.js';
import { processStartOf } from '../../src/support/process-identity.js';
import { queueName } from '../../src/workchunk/keys.js';
import { WorkChunkRepository } from '../../src/workchunk/work-chunk-repository.js';
import { storedStepsOf } from '../../src/workchunk/work-chunk-job.js';

// ---- helpers -----------------------------------------------------------------------------------

const runtimes: BatchRuntime[] = [];
const directories: string[] = [];
/** Every deferred a test made: released after each test, so that no chunk blocks `close()`. */
const blockers: Array<() => void> = [];

afterEach(async () => {
  for (const release of blockers.splice(0)) release();
  for (const runtime of runtimes.splice(0)) await runtime.close();
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

/** Quick polling, and no periodic maintenance pass unless a test asks for one. */
const FAST: WorkChunkOptions = { pollIntervalMs: 10, maintenanceIntervalMs: 600_000 };

async function openRuntime(workChunks: WorkChunkOptions = {}, extra: { path?: string; logger?: Logger } = {}): Promise<BatchRuntime> {
  const runtime = await BatchRuntime.open({
    ...(extra.path ? { path: extra.path } : { inMemory: true }),
    logger: extra.logger ?? false,
    workChunks: { ...FAST, ...workChunks },
  });
  runtimes.push(runtime);
  return runtime;
}

async function closeRuntime(runtime: BatchRuntime): Promise<void> {
  runtimes.splice(runtimes.indexOf(runtime), 1);
  await runtime.close();
}

function tempDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), 'tsbatch-workchunk-'));
  directories.push(directory);
  return directory;
}

interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  blockers.push(resolve);
  return { promise, resolve };
}

/** Polls a condition (a guard against hanging, not a timing assertion). */
async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function runToEnd(runtime: BatchRuntime, definitionId: string, parameters: unknown = {}): Promise<WorkChunkInstance> {
  const id = await runtime.workChunks.start(definitionId, parameters);
  return runtime.workChunks.waitFor(id, { timeoutMs: 15_000 });
}

const noBackoff = { maxAttempts: 3, backoff: { type: 'none' } } as const;

// ---- the fan-out job of the issue: 1 -> 10 -> 20 chunks ------------------------------------------

function fanOutJob(written: string[]) {
  return workChunkJob('fan-out', 1)
    .description('10 ranges, 2 halves each, one staged write per half')
    .parameters(z.object({ ranges: z.number().int().positive() }))
    .first<{ range: number }>('ranges', ({ parameters }, sink) => {
      for (let range = 0; range < parameters.ranges; range++) sink.accept({ range });
      return { recordsProcessed: parameters.ranges };
    })
    .step<{ range: number; half: number }>('split', ({ data }, sink) => {
      sink.accept({ range: data.range, half: 0 });
      sink.accept({ range: data.range, half: 1 });
      return { recordsProcessed: 1 };
    })
    .last('write', ({ data, transaction, chunk }) => {
      const key = `r${String(data.range).padStart(2, '0')}-h${data.half}`;
      written.push(key);
      transaction.put('fan-out', key, { range: data.range, half: data.half, chunkId: chunk.id });
      return { recordsProcessed: 1 };
    })
    .retry({ maxAttempts: 2, backoff: { type: 'none' } })
    .build();
}

const FAN_OUT_KEYS = Array.from({ length: 10 }, (_, r) => [0, 1].map((h) => `r${String(r).padStart(2, '0')}-h${h}`)).flat();
const FAN_OUT_CHUNK_IDS = ['0', ...Array.from({ length: 10 }, (_, r) => `0.${r}`), ...Array.from({ length: 10 }, (_, r) => [`0.${r}.0`, `0.${r}.1`]).flat()];

async function expectFanOutCompleted(runtime: BatchRuntime, done: WorkChunkInstance, written: readonly string[]): Promise<void> {
  expect(done).toMatchObject({
    definitionId: 'fan-out',
    definitionVersion: 1,
    status: 'COMPLETED',
    parameters: { ranges: 10 },
    progress: 1,
    totalChunks: 31,
    completedChunks: 31,
    recordsProcessed: 10 + 10 + 20,
    errorCount: 0,
    errorMessage: null,
    warnings: [],
    report: null,
    chunksPurged: false,
    currentStep: 'write',
    estimatedTimeRemainingMs: undefined,
  });
  expect(done.chunkCounts).toEqual({ ranges: { COMPLETED: 1 }, split: { COMPLETED: 10 }, write: { COMPLETED: 20 } });
  expect(done.startTime).toBeInstanceOf(Date);
  expect(done.endTime!.getTime()).toBeGreaterThanOrEqual(done.startTime!.getTime());

  // At least once: every write ran; exactly once: the staged store holds each key once, with its value.
  expect(new Set(written)).toEqual(new Set(FAN_OUT_KEYS));
  const staged = await runtime.explorer.getStagedValues('fan-out');
  expect(staged.map((entry) => entry.key)).toEqual([...FAN_OUT_KEYS].sort());
  for (const { key, value } of staged) {
    const [, range, half] = /^r(\d+)-h(\d)$/.exec(key)!;
    expect(value).toEqual({ range: Number(range), half: Number(half), chunkId: `0.${Number(range)}.${half}` });
  }

  // Children have deterministic ids: the parent's id and their sequence.
  const chunks = await runtime.workChunks.chunks(done.id);
  expect(chunks.map((c) => c.id).sort()).toEqual([...FAN_OUT_CHUNK_IDS].sort());
  for (const chunk of chunks) {
    expect(chunk).toMatchObject({ instanceId: done.id, status: 'COMPLETED', attempts: 1, errorCount: 0, pollAttempts: 0, lease: null });
    expect(chunk.stepId).toBe(['ranges', 'split', 'write'][chunk.id.split('.').length - 1]);
  }
}

describe('a 3-step non-gated job fanning out 1 -> 10 -> 20 chunks', () => {
  it('completes in memory with every count, the progress and each staged write exactly once', async () => {
    const runtime = await openRuntime({ concurrency: 4 });
    const written: string[] = [];
    runtime.workChunks.register(fanOutJob(written));
    const done = await runToEnd(runtime, 'fan-out', { ranges: 10 });
    await expectFanOutCompleted(runtime, done, written);
    expect(written).toHaveLength(20);
  });

  it('completes on LMDB, and a new runtime on the same directory reads the instance, its chunks and the staged output back', async () => {
    const path = tempDirectory();
    const runtime = await openRuntime({ concurrency: 2 }, { path });
    const written: string[] = [];
    runtime.workChunks.register(fanOutJob(written));
    const done = await runToEnd(runtime, 'fan-out', { ranges: 10 });
    await expectFanOutCompleted(runtime, done, written);
    await closeRuntime(runtime);

    const reopened = await openRuntime({}, { path });
    const again = await reopened.workChunks.get(done.id);
    expect(again).toMatchObject({ status: 'COMPLETED', totalChunks: 31, completedChunks: 31, recordsProcessed: 40, progress: 1 });
    expect(again!.chunkCounts).toEqual(done.chunkCounts);
    expect(await reopened.workChunks.chunks(done.id)).toHaveLength(31);
    expect(await reopened.explorer.getStagedValues('fan-out')).toHaveLength(20);
    expect((await reopened.workChunks.list({ definitionId: 'fan-out' })).map((i) => i.id)).toEqual([done.id]);
  });
});

// ---- gates -------------------------------------------------------------------------------------

describe('gated and non-gated execution', () => {
  function twoStepJob(gated: boolean, log: string[], holdA: Promise<void>, onBStart: () => void) {
    let runningA = 0;
    const builder = workChunkJob(gated ? 'gated' : 'overlapping', 1);
    if (gated) builder.gated();
    return {
      runningA: () => runningA,
      definition: builder
        .first<number>('gen', (_c, sink) => {
          for (let i = 0; i < 4; i++) sink.accept(i);
        })
        .step<number>('a', async ({ data }, sink) => {
          runningA += 1;
          log.push(`a:start:${data}`);
          if (data !== 0) await holdA;
          sink.accept(data);
          runningA -= 1;
          log.push(`a:end:${data}`);
        })
        .last('b', ({ data }) => {
          log.push(`b:start:${data}:running-a=${runningA}`);
          onBStart();
        })
        .build(),
    };
  }

  it('gated: no chunk of step 2 starts before every chunk of step 1 completed; meanwhile its chunks wait at the gate', async () => {
    const runtime = await openRuntime({ concurrency: 4 });
    const log: string[] = [];
    const holdA = deferred();
    const job = twoStepJob(true, log, holdA.promise, () => undefined);
    runtime.workChunks.register(job.definition);
    const id = await runtime.workChunks.start('gated');

    // a0 completes at once; its child is stored behind the gate while a1..a3 are held.
    await waitUntil(async () => (await runtime.workChunks.chunks(id, { stepId: 'b' })).length === 1, "a0's child");
    await sleep(50); // several poll intervals: a pool that ignored the gate would start it now
    const waiting = await runtime.workChunks.chunks(id, { stepId: 'b' });
    expect(waiting.map((c) => [c.id, c.status, c.attempts])).toEqual([['0.0.0', 'GATE_WAITING', 0]]);
    const mid = await runtime.workChunks.get(id);
    expect(mid).toMatchObject({ status: 'IN_PROGRESS', currentStep: 'a' });
    expect(mid!.chunkCounts).toEqual({ gen: { COMPLETED: 1 }, a: { COMPLETED: 1, IN_PROGRESS: 3 }, b: { GATE_WAITING: 1 } });
    expect(log.filter((line) => line.startsWith('b:'))).toEqual([]);

    holdA.resolve();
    const done = await runtime.workChunks.waitFor(id, { timeoutMs: 10_000 });
    expect(done).toMatchObject({ status: 'COMPLETED', totalChunks: 9, completedChunks: 9 });
    const lastAEnd = Math.max(...log.flatMap((line, index) => (line.startsWith('a:end') ? [index] : [])));
    const firstBStart = log.findIndex((line) => line.startsWith('b:start'));
    expect(firstBStart).toBeGreaterThan(lastAEnd);
    expect(log.filter((line) => line.startsWith('b:start')).every((line) => line.endsWith('running-a=0'))).toBe(true);
  });

  it('non-gated: a chunk of step 2 starts while chunks of step 1 still run', async () => {
    const runtime = await openRuntime({ concurrency: 4 });
    const log: string[] = [];
    const holdA = deferred();
    // a1..a3 wait until a chunk of b has started: with a gate, this job would never end.
    const job = twoStepJob(false, log, holdA.promise, () => holdA.resolve());
    runtime.workChunks.register(job.definition);
    const done = await runToEnd(runtime, 'overlapping');
    expect(done).toMatchObject({ status: 'COMPLETED', totalChunks: 9, completedChunks: 9 });
    expect(log.find((line) => line.startsWith('b:start'))).toBe('b:start:0:running-a=3');
    const firstBStart = log.findIndex((line) => line.startsWith('b:start'));
    const lastAEnd = Math.max(...log.flatMap((line, index) => (line.startsWith('a:end') ? [index] : [])));
    expect(firstBStart).toBeLessThan(lastAEnd);
  });

  it('a gated step that produced nothing is passed at once, and the job completes', async () => {
    const runtime = await openRuntime();
    const ran: string[] = [];
    runtime.workChunks.register(
      workChunkJob('empty-gated', 1)
        .gated()
        .first<number>('gen', () => void ran.push('gen'))
        .step<number>('a', () => void ran.push('a'))
        .last('b', () => void ran.push('b'))
        .build(),
    );
    const done = await runToEnd(runtime, 'empty-gated');
    expect(done).toMatchObject({ status: 'COMPLETED', progress: 1, totalChunks: 1, completedChunks: 1 });
    expect(ran).toEqual(['gen']);
  });
});

// ---- reducers ----------------------------------------------------------------------------------

describe('reducers (gated .reduce)', () => {
  function sumJob(id: string, consumed: number[], withInitial: boolean, onComplete?: (outcome: WorkChunkInstanceOutcome<unknown>) => void) {
    const chain = workChunkJob(id, 1)
      .gated()
      .first<number>('gen', (_c, sink) => {
        for (let i = 1; i <= 250; i++) sink.accept(i);
      })
      .step<number>('double', ({ data }, sink) => sink.accept(data * 2));
    const tail = withInitial
      ? chain.reduce<{ total: number; count: number }, { total: number; count: number }>('sum', {
          initial: () => ({ total: 0, count: 0 }),
          consume(data, state) {
            consumed.push(data);
            state.total += data;
            state.count += 1;
          },
          complete(sink, state) {
            sink.accept({ total: state.total, count: state.count });
          },
        })
      : chain.reduce<{ total: number }, number>('sum', {
          // Without `initial`, the first call gets null.
          consume(data, state) {
            consumed.push(data);
            return (state ?? 0) + data;
          },
          complete(sink, state) {
            sink.accept({ total: state });
          },
        });
    if (onComplete) tail.onComplete(onComplete);
    return tail.build();
  }

  const expectedDoubled = Array.from({ length: 250 }, (_, i) => 2 * (i + 1));

  it('with `initial`: the report is stored on the instance and every output is consumed exactly once (across batches of 100)', async () => {
    const runtime = await openRuntime({ concurrency: 4 });
    const consumed: number[] = [];
    runtime.workChunks.register(sumJob('sum-resumable', consumed, true));
    const done = await runToEnd(runtime, 'sum-resumable');
    expect(done).toMatchObject({ status: 'COMPLETED', progress: 1, report: { total: 62_750, count: 250 }, totalChunks: 501, completedChunks: 501 });
    expect(done.chunkCounts).toEqual({ gen: { COMPLETED: 1 }, double: { COMPLETED: 250 }, sum: { COMPLETED: 250 } });
    expect([...consumed].sort((a, b) => a - b)).toEqual(expectedDoubled);
  });

  it('without `initial`: the same report, every output consumed exactly once, and onComplete told once', async () => {
    const runtime = await openRuntime({ concurrency: 4 });
    const consumed: number[] = [];
    const completions: Array<WorkChunkInstanceOutcome<unknown>> = [];
    runtime.workChunks.register(sumJob('sum-plain', consumed, false, (outcome) => void completions.push(outcome)));
    const done = await runToEnd(runtime, 'sum-plain');
    expect(done).toMatchObject({ status: 'COMPLETED', progress: 1, report: { total: 62_750 }, totalChunks: 501, completedChunks: 501 });
    expect(done.chunkCounts.sum).toEqual({ COMPLETED: 250 });
    expect([...consumed].sort((a, b) => a - b)).toEqual(expectedDoubled);
    await waitUntil(() => completions.length > 0, 'the completion handler');
    await sleep(20);
    expect(completions).toEqual([{ instanceId: done.id, parameters: {}, status: 'COMPLETED', errorMessage: null, report: { total: 62_750 } }]);
  });

  it('a reducer over a step that produced nothing still reports from its initial state', async () => {
    const runtime = await openRuntime();
    runtime.workChunks.register(
      workChunkJob('sum-empty', 1)
        .gated()
        .first<number>('gen', () => undefined)
        .reduce<{ count: number }, { count: number }>('count', {
          initial: () => ({ count: 0 }),
          consume: (_d, state) => ({ count: state.count + 1 }),
          complete: (sink, state) => sink.accept(state),
        })
        .build(),
    );
    const done = await runToEnd(runtime, 'sum-empty');
    expect(done).toMatchObject({ status: 'COMPLETED', report: { count: 0 }, progress: 1 });
  });

  it('reduce() on a non-gated job is refused when the definition is built', () => {
    const chain = workChunkJob('not-gated', 1).first<number>('gen', () => undefined);
    expect(() => chain.reduce('sum', { consume: () => undefined, complete: () => undefined })).toThrow(InvalidConfigurationError);
    expect(() => chain.reduce('sum', { consume: () => undefined, complete: () => undefined })).toThrow(/reduce\('sum'\) needs a gated job/);
  });

  it('a reducer whose consume throws fails the instance with its message, and onError is told once', async () => {
    const runtime = await openRuntime();
    const failures: Array<WorkChunkInstanceOutcome<unknown>> = [];
    runtime.workChunks.register(
      workChunkJob('sum-throws', 1)
        .gated()
        .first<number>('gen', (_c, sink) => {
          for (let i = 0; i < 5; i++) sink.accept(i);
        })
        .reduce<number, { n: number }>('sum', {
          initial: () => ({ n: 0 }),
          consume(data) {
            if (data === 3) throw new Error('cannot add 3');
          },
          complete: (sink, state) => sink.accept(state.n),
        })
        .onError((outcome) => void failures.push(outcome))
        .build(),
    );
    const done = await runToEnd(runtime, 'sum-throws');
    expect(done.status).toBe('FAILED');
    expect(done.errorMessage).toBe("The reducer 'sum' failed: Error: cannot add 3");
    expect(done.report).toBeNull();
    expect(done.errorCount).toBe(1);
    expect(done.chunkCounts.sum).toEqual({ FAILED: 5 });
    await waitUntil(() => failures.length > 0, 'the error handler');
    await sleep(20);
    expect(failures).toEqual([{ instanceId: done.id, parameters: {}, status: 'FAILED', errorMessage: done.errorMessage, report: null }]);
  });

  it('a reducer whose complete throws fails the instance with its message', async () => {
    const runtime = await openRuntime();
    runtime.workChunks.register(
      workChunkJob('report-throws', 1)
        .gated()
        .first<number>('gen', (_c, sink) => sink.accept(1))
        .reduce<number, number>('report', {
          consume: (data, state) => (state ?? 0) + data,
          complete() {
            throw new TypeError('no report today');
          },
        })
        .build(),
    );
    const done = await runToEnd(runtime, 'report-throws');
    expect(done).toMatchObject({ status: 'FAILED', errorMessage: "The reducer 'report' failed: TypeError: no report today", report: null });
  });
});

// ---- errors, retries, polling, recovered errors ----------------------------------------------------

describe('chunk errors', () => {
  it('a transient error then success: COMPLETED, the error counted, the chunk run twice, the instance ERRORED meanwhile', async () => {
    const runtime = await openRuntime();
    const attempts: number[] = [];
    runtime.workChunks.register(
      workChunkJob('transient', 1)
        .first<string>('gen', (_c, sink) => sink.accept('payload'))
        .last('flaky', ({ chunk, data }) => {
          attempts.push(chunk.attempt);
          expect(data).toBe('payload');
          if (chunk.attempt === 1) throw new Error('connection reset');
        })
        .retry(noBackoff)
        .build(),
    );
    const statuses = new Set<string>();
    runtime.workChunks.onProgress((event) => statuses.add(event.instance.status));
    const done = await runToEnd(runtime, 'transient');
    expect(done).toMatchObject({ status: 'COMPLETED', errorCount: 1, errorMessage: null, progress: 1 });
    expect(attempts).toEqual([1, 2]);
    expect(statuses.has('ERRORED')).toBe(true);
    const [flaky] = await runtime.workChunks.chunks(done.id, { stepId: 'flaky' });
    expect(flaky).toMatchObject({ id: '0.0', status: 'COMPLETED', attempts: 2, errorCount: 1 });
  });

  it('a permanent error: the chunk FAILED after retry.maxAttempts runs and the instance FAILED with the message', async () => {
    const runtime = await openRuntime();
    const failures: Array<WorkChunkInstanceOutcome<unknown>> = [];
    let runs = 0;
    runtime.workChunks.register(
      workChunkJob('permanent', 1)
        .first<number>('gen', (_c, sink) => sink.accept(7))
        .last('explode', () => {
          runs += 1;
          throw new Error('disk on fire');
        })
        .retry({ maxAttempts: 3, backoff: { type: 'fixed', delayMs: 5 } })
        .onError((outcome) => void failures.push(outcome))
        .build(),
    );
    const done = await runToEnd(runtime, 'permanent');
    expect(runs).toBe(3);
    expect(done.status).toBe('FAILED');
    expect(done.errorMessage).toBe("Chunk 0.0 of step 'explode' failed after 3 attempt(s): Error: disk on fire");
    expect(done.errorCount).toBe(3);
    expect(done.chunkCounts.explode).toEqual({ FAILED: 1 });
    const [chunk] = await runtime.workChunks.chunks(done.id, { status: 'FAILED' });
    expect(chunk).toMatchObject({ id: '0.0', stepId: 'explode', attempts: 3, errorCount: 3, errorMessage: 'Error: disk on fire', lease: null });
    expect(chunk!.endTime).toBeInstanceOf(Date);
    await waitUntil(() => failures.length > 0, 'the error handler');
    await sleep(20);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ status: 'FAILED', errorMessage: done.errorMessage });
  });

  // BUG: toWorkChunkInstance (src/workchunk/work-chunk-instance.ts, `const DONE = ['COMPLETED',
  // 'FAILED']`) counts FAILED chunks as done, so an instance whose every chunk failed shows
  // progress 1 (100 %), although `progress` is documented as the share of *completed* chunks.
  it('a FAILED instance whose last chunk failed does not report 100 % progress', async () => {
    const runtime = await openRuntime();
    runtime.workChunks.register(
      workChunkJob('failed-progress', 1)
        .first<number>('gen', (_c, sink) => sink.accept(1))
        .last('explode', () => {
          throw new NonRetryableError('no');
        })
        .build(),
    );
    const done = await runToEnd(runtime, 'failed-progress');
    expect(done).toMatchObject({ status: 'FAILED', completedChunks: 1, totalChunks: 2 });
    expect(done.progress).toBeLessThan(1);
  });

  it('a NonRetryableError fails the chunk and the instance after one run', async () => {
    const runtime = await openRuntime();
    let runs = 0;
    runtime.workChunks.register(
      workChunkJob('non-retryable', 1)
        .first<number>('gen', (_c, sink) => sink.accept(1))
        .last('validate', () => {
          runs += 1;
          throw new NonRetryableError('record 1 is malformed');
        })
        .retry({ maxAttempts: 5, backoff: { type: 'none' } })
        .build(),
    );
    const done = await runToEnd(runtime, 'non-retryable');
    expect(runs).toBe(1);
    expect(done).toMatchObject({ status: 'FAILED', errorCount: 1, errorMessage: "Chunk 0.0 of step 'validate' failed: NonRetryableError: record 1 is malformed" });
    expect((await runtime.workChunks.chunks(done.id, { stepId: 'validate' }))[0]).toMatchObject({ status: 'FAILED', attempts: 1 });
  });

  it('a thrown non-Error value fails the chunk at once, with a message naming the value', async () => {
    const runtime = await openRuntime();
    runtime.workChunks.register(
      workChunkJob('throws-string', 1)
        .first<number>('gen', () => {
          // eslint-disable-next-line @typescript-eslint/only-throw-error
          throw 'oops';
        })
        .last('never', () => undefined)
        .retry({ maxAttempts: 5, backoff: { type: 'none' } })
        .build(),
    );
    const done = await runToEnd(runtime, 'throws-string');
    expect(done.status).toBe('FAILED');
    expect(done.errorMessage).toContain('A non-Error value was thrown: "oops"');
    expect((await runtime.workChunks.chunks(done.id))[0]).toMatchObject({ status: 'FAILED', attempts: 1 });
  });

  it('RetryLaterError parks the chunk in POLL_WAITING, then it completes; polls are counted and are not errors', async () => {
    const runtime = await openRuntime();
    let polls = 0;
    runtime.workChunks.register(
      workChunkJob('polling', 1)
        .first<number>('gen', (_c, sink) => sink.accept(1))
        .last('await-export', () => {
          if (polls++ < 2) throw new RetryLaterError(20);
          return { recordsProcessed: 1 };
        })
        // Polls do not use up attempts: one attempt is enough.
        .retry({ maxAttempts: 1 })
        .build(),
    );
    const counts: string[] = [];
    runtime.workChunks.onProgress((event) => {
      const step = event.instance.chunkCounts['await-export'] ?? {};
      if (step.POLL_WAITING) counts.push(`POLL_WAITING:${event.instance.status}`);
    });
    const done = await runToEnd(runtime, 'polling');
    expect(done).toMatchObject({ status: 'COMPLETED', errorCount: 0, errorMessage: null, recordsProcessed: 1 });
    // Seen parked (and the instance not ERRORED: a poll is not an error).
    expect(counts.length).toBeGreaterThanOrEqual(1);
    expect(new Set(counts)).toEqual(new Set(['POLL_WAITING:IN_PROGRESS']));
    const [chunk] = await runtime.workChunks.chunks(done.id, { stepId: 'await-export' });
    expect(chunk).toMatchObject({ status: 'COMPLETED', pollAttempts: 2, attempts: 3, errorCount: 0 });
  });

  it('a chunk in POLL_WAITING is visible through chunks() until its poll time comes', async () => {
    const runtime = await openRuntime();
    let polled = false;
    runtime.workChunks.register(
      workChunkJob('poll-visible', 1)
        .first<number>('gen', (_c, sink) => sink.accept(1))
        .last('wait', () => {
          if (!polled) {
            polled = true;
            throw new RetryLaterError(300);
          }
        })
        .build(),
    );
    const id = await runtime.workChunks.start('poll-visible');
    await waitUntil(async () => (await runtime.workChunks.chunks(id, { status: 'POLL_WAITING' })).length === 1, 'the POLL_WAITING chunk');
    const [parked] = await runtime.workChunks.chunks(id, { status: 'POLL_WAITING' });
    expect(parked).toMatchObject({ id: '0.0', stepId: 'wait', pollAttempts: 1, lease: null });
    expect((await runtime.workChunks.get(id))!.status).toBe('IN_PROGRESS');
    const done = await runtime.workChunks.waitFor(id, { timeoutMs: 10_000 });
    expect(done.status).toBe('COMPLETED');
  });

  it('sink.recoveredError records a warning and counts an error, and the instance still COMPLETES', async () => {
    const runtime = await openRuntime();
    runtime.workChunks.register(
      workChunkJob('recovered', 1)
        .first<number>('gen', (_c, sink) => {
          for (let i = 0; i < 4; i++) sink.accept(i);
        })
        .step<number>('clean', ({ data }, sink) => {
          if (data % 2 === 1) sink.recoveredError(`row ${data} had a bad date; left empty`);
          sink.accept(data);
        })
        .last('store', (_c, warnings) => {
          warnings.recoveredError('one more');
        })
        .build(),
    );
    const done = await runToEnd(runtime, 'recovered');
    expect(done.status).toBe('COMPLETED');
    expect(done.errorCount).toBe(2 + 4);
    expect(done.errorMessage).toBeNull();
    expect([...done.warnings].sort()).toEqual(['one more', 'one more', 'one more', 'one more', 'row 1 had a bad date; left empty', 'row 3 had a bad date; left empty']);
    const clean = await runtime.workChunks.chunks(done.id, { stepId: 'clean' });
    expect(clean.find((c) => c.id === '0.1')).toMatchObject({ status: 'COMPLETED', warningMessage: 'row 1 had a bad date; left empty', errorCount: 0 });
    expect(clean.find((c) => c.id === '0.0')!.warningMessage).toBeNull();
  });
});

// ---- cancel ------------------------------------------------------------------------------------

describe('cancel', () => {
  async function startBlockedJob(id: string) {
    const runtime = await openRuntime({ concurrency: 3 });
    const log: string[] = [];
    const hold = deferred();
    runtime.workChunks.register(
      workChunkJob(id, 1)
        .first<number>('gen', (_c, sink) => {
          for (let i = 0; i < 10; i++) sink.accept(i);
        })
        .last('work', async ({ data }) => {
          log.push(`start:${data}`);
          await hold.promise;
          log.push(`end:${data}`);
          return { recordsProcessed: 1 };
        })
        .build(),
    );
    const instanceId = await runtime.workChunks.start(id);
    await waitUntil(() => log.length === 3, 'three running chunks');
    return { runtime, log, hold, instanceId };
  }

  it('mid-run: CANCELLED at once, running chunks finish, and no chunk starts after the cancel', async () => {
    const { runtime, log, hold, instanceId } = await startBlockedJob('cancel-me');
    const cancelled = await runtime.workChunks.cancel(instanceId);
    log.push('cancelled');
    expect(cancelled.status).toBe('CANCELLED');
    expect(cancelled.endTime).toBeInstanceOf(Date);
    expect(cancelled.errorMessage).toMatch(/^Cancelled while step '/);
    expect((await runtime.workChunks.waitFor(instanceId, { timeoutMs: 1000 })).status).toBe('CANCELLED');

    hold.resolve();
    await waitUntil(async () => (await runtime.workChunks.chunks(instanceId, { status: 'IN_PROGRESS' })).length === 0, 'the running chunks to commit');
    await sleep(60); // several poll intervals: a pool that ignored the cancel would claim more now
    const cancelAt = log.indexOf('cancelled');
    expect(log.slice(0, cancelAt).filter((l) => l.startsWith('start:'))).toHaveLength(3);
    expect(log.slice(cancelAt + 1).filter((l) => l.startsWith('start:'))).toEqual([]);
    expect(log.slice(cancelAt + 1).filter((l) => l.startsWith('end:'))).toHaveLength(3);

    const after = await runtime.workChunks.get(instanceId);
    expect(after).toMatchObject({ status: 'CANCELLED' });
    expect(after!.chunkCounts).toEqual({ gen: { COMPLETED: 1 }, work: { COMPLETED: 3, READY: 7 } });
    expect(after!.endTime).toEqual(cancelled.endTime);
    expect((await runtime.workChunks.list({ status: 'CANCELLED' })).map((i) => i.id)).toEqual([instanceId]);
  });

  // BUG: WorkChunkRepository.cancel (src/workchunk/work-chunk-repository.ts, cancel()) names
  // `instance.currentStep`, which only gated jobs move: a non-gated job is always reported as
  // cancelled in its first step, with no count of the chunks still running.
  it('mid-run, non-gated: the cancel message names the step that runs and how many chunks finish', async () => {
    const { runtime, instanceId } = await startBlockedJob('cancel-message');
    const cancelled = await runtime.workChunks.cancel(instanceId);
    expect(cancelled.errorMessage).toBe("Cancelled while step 'work' ran (3 chunk(s) in progress finish)");
  });

  // BUG: WorkChunkCoordinator.cancel (src/workchunk/coordinator.ts, cancel()) calls
  // `afterChange([record], [])` with no ended ids, so listeners get a 'progress' event for the
  // CANCELLED instance and never an 'ended' one, and no 'workchunk.instance_ended' line is logged.
  it('a cancel is announced to listeners as the instance’s one ended event', async () => {
    const { runtime, instanceId, hold } = await startBlockedJob('cancel-event');
    const events: WorkChunkProgressEvent[] = [];
    runtime.workChunks.onProgress((event) => {
      if (event.instance.id === instanceId) events.push(event);
    });
    await runtime.workChunks.cancel(instanceId);
    hold.resolve();
    await waitUntil(async () => (await runtime.workChunks.chunks(instanceId, { status: 'IN_PROGRESS' })).length === 0, 'the running chunks to commit');
    const ended = events.filter((e) => e.type === 'ended');
    expect(ended).toHaveLength(1);
    expect(ended[0]!.instance.status).toBe('CANCELLED');
  });

  it('cancelling an ended instance throws WorkChunkInstanceEndedError; an unknown one NoSuchWorkChunkInstanceError', async () => {
    const runtime = await openRuntime();
    runtime.workChunks.register(
      workChunkJob('quick', 1)
        .first<number>('gen', (_c, sink) => sink.accept(1))
        .last('done', () => undefined)
        .build(),
    );
    const done = await runToEnd(runtime, 'quick');
    expect(done.status).toBe('COMPLETED');
    const attempt = runtime.workChunks.cancel(done.id);
    await expect(attempt).rejects.toBeInstanceOf(WorkChunkInstanceEndedError);
    await expect(runtime.workChunks.cancel(done.id)).rejects.toMatchObject({
      code: 'WORK_CHUNK_INSTANCE_ENDED',
      message: `Work-chunk job instance '${done.id}' is COMPLETED; it has ended, so it cannot be cancelled.`,
    });
    expect((await runtime.workChunks.get(done.id))!.status).toBe('COMPLETED');
    await expect(runtime.workChunks.cancel('no-such-instance')).rejects.toBeInstanceOf(NoSuchWorkChunkInstanceError);
    await expect(runtime.workChunks.cancel('no-such-instance')).rejects.toMatchObject({ code: 'NO_SUCH_WORK_CHUNK_INSTANCE' });
  });

  it('cancelling twice: the second cancel throws WORK_CHUNK_INSTANCE_ENDED', async () => {
    const { runtime, instanceId, hold } = await startBlockedJob('cancel-twice');
    await runtime.workChunks.cancel(instanceId);
    await expect(runtime.workChunks.cancel(instanceId)).rejects.toMatchObject({ code: 'WORK_CHUNK_INSTANCE_ENDED', status: 'CANCELLED' });
    hold.resolve();
  });
});

// ---- bad input ---------------------------------------------------------------------------------

describe('bad input', () => {
  const trivial = (id: string, version = 1) =>
    workChunkJob(id, version)
      .first<number>('gen', (_c, sink) => sink.accept(version))
      .last('use', () => undefined)
      .build();

  it('an unknown definition: NoSuchWorkChunkJobError naming the known ones; nothing is stored', async () => {
    const runtime = await openRuntime();
    runtime.workChunks.register(trivial('known-job'));
    const attempt = runtime.workChunks.start('unknown-job');
    await expect(attempt).rejects.toBeInstanceOf(NoSuchWorkChunkJobError);
    await expect(runtime.workChunks.start('unknown-job')).rejects.toMatchObject({
      code: 'NO_SUCH_WORK_CHUNK_JOB',
      message: expect.stringContaining("No work-chunk job 'unknown-job' is registered. Known: known-job@1."),
    });
    expect(await runtime.workChunks.list()).toEqual([]);
  });

  it('invalid zod parameters: JobParametersInvalidError naming each bad field; nothing is stored', async () => {
    const runtime = await openRuntime();
    runtime.workChunks.register(
      workChunkJob('typed', 1)
        .parameters(z.object({ count: z.number().int(), name: z.string().min(1), mode: z.enum(['full', 'delta']) }))
        .first<number>('gen', ({ parameters }, sink) => sink.accept(parameters.count))
        .last('use', () => undefined)
        .build(),
    );
    const error = await runtime.workChunks.start('typed', { count: 'x', name: '', mode: 'other' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobParametersInvalidError);
    expect(error).toMatchObject({ code: 'JOB_PARAMETERS_INVALID' });
    const message = (error as Error).message;
    expect(message).toMatch(/^Invalid parameters for work-chunk job 'typed': /);
    for (const field of ['count:', 'name:', 'mode:']) expect(message).toContain(field);
    await expect(runtime.workChunks.start('typed', {})).rejects.toThrow(/count: .*; name: .*; mode: /);
    expect(await runtime.workChunks.list()).toEqual([]);
    // Valid parameters are stored as the schema outputs them.
    const done = await runToEnd(runtime, 'typed', { count: 3, name: 'n', mode: 'full' });
    expect(done).toMatchObject({ status: 'COMPLETED', parameters: { count: 3, name: 'n', mode: 'full' } });
  });

  it("a custom validator's messages (returned or thrown) are reported", async () => {
    const runtime = await openRuntime();
    runtime.workChunks.register(
      workChunkJob('range', 1)
        .parameters(z.object({ from: z.number(), to: z.number() }))
        .validator(({ from, to }) => {
          if (from < 0) throw new Error('from must not be negative');
          const problems: string[] = [];
          if (from > to) problems.push('from must not exceed to');
          if (to - from > 100) problems.push('at most 100 at a time');
          return problems;
        })
        .first<number>('gen', (_c, sink) => sink.accept(1))
        .last('use', () => undefined)
        .build(),
    );
    await expect(runtime.workChunks.start('range', { from: 5, to: 1 })).rejects.toMatchObject({
      code: 'JOB_PARAMETERS_INVALID',
      message: "Invalid parameters for work-chunk job 'range': from must not exceed to",
    });
    await expect(runtime.workChunks.start('range', { from: 0, to: 500 })).rejects.toThrow('at most 100 at a time');
    await expect(runtime.workChunks.start('range', { from: -1, to: 0 })).rejects.toThrow("Invalid parameters for work-chunk job 'range': from must not be negative");
    expect((await runToEnd(runtime, 'range', { from: 1, to: 2 })).status).toBe('COMPLETED');
  });

  it('parameters that are not JSON are refused without a schema too', async () => {
    const runtime = await openRuntime();
    runtime.workChunks.register(trivial('untyped'));
    await expect(runtime.workChunks.start('untyped', { when: new Date() })).rejects.toMatchObject({
      code: 'JOB_PARAMETERS_INVALID',
      message: expect.stringContaining('Date'),
    });
  });

  it('the newest version runs unless { version } is given; an unknown version is refused', async () => {
    const runtime = await openRuntime();
    const seen: number[] = [];
    const versioned = (version: number) =>
      workChunkJob('versioned', version)
        .first<number>('gen', (_c, sink) => sink.accept(version))
        .last('use', ({ data }) => void seen.push(data))
        .build();
    runtime.workChunks.register(versioned(2));
    runtime.workChunks.register(versioned(1));
    const newest = await runToEnd(runtime, 'versioned');
    expect(newest.definitionVersion).toBe(2);
    const older = await runtime.workChunks.waitFor(await runtime.workChunks.start('versioned', {}, { version: 1 }), { timeoutMs: 10_000 });
    expect(older).toMatchObject({ definitionVersion: 1, status: 'COMPLETED' });
    expect(seen).toEqual([2, 1]);
    await expect(runtime.workChunks.start('versioned', {}, { version: 3 })).rejects.toMatchObject({
      code: 'NO_SUCH_WORK_CHUNK_JOB',
      message: expect.stringContaining("No work-chunk job 'versioned' version 3 is registered"),
    });
  });

  it('registering the same id and version twice is refused', async () => {
    const runtime = await openRuntime();
    runtime.workChunks.register(trivial('twice'));
    expect(() => runtime.workChunks.register(trivial('twice'))).toThrow(InvalidConfigurationError);
    expect(() => runtime.workChunks.register(trivial('twice'))).toThrow("Work-chunk job 'twice' version 1 is already registered.");
    expect(() => runtime.workChunks.register(trivial('twice', 2))).not.toThrow();
  });

  it('bad definitions are refused when they are built', () => {
    expect(() => workChunkJob('', 1)).toThrow(InvalidConfigurationError);
    expect(() => workChunkJob('a/b', 1)).toThrow(/without '@', '\/'/);
    expect(() => workChunkJob('x'.repeat(101), 1)).toThrow(InvalidConfigurationError);
    expect(() => workChunkJob('zero', 0)).toThrow("Work-chunk job 'zero': the version must be an integer >= 1; got 0.");
    expect(() => workChunkJob('half', 1.5)).toThrow(InvalidConfigurationError);
    expect(() =>
      workChunkJob('dup', 1)
        .first<number>('same', () => undefined)
        .last('same', () => undefined),
    ).toThrow("Work-chunk job 'dup': two steps are named 'same'.");
    const tail = workChunkJob('retry', 1)
      .first<number>('gen', () => undefined)
      .last('use', () => undefined);
    expect(() => tail.retry({ maxAttempts: 0 })).toThrow(/retry.maxAttempts must be an integer >= 1; got 0/);
  });

  it.each([
    ['a Date', () => ({ at: new Date(0) }), /a Date is not a plain object \(store date\.toISOString\(\)\)/],
    ['undefined', () => undefined, /undefined is not a JSON value/],
    ['NaN', () => ({ ratio: NaN }), /NaN is not a finite number/],
    ['a Map', () => new Map([[1, 2]]), /a Map is not a plain object/],
  ])('a step emitting %s: the chunk fails with a message naming the step and the problem', async (_label, make, expected) => {
    const runtime = await openRuntime();
    let lastRan = false;
    runtime.workChunks.register(
      workChunkJob('emits-bad', 1)
        .first<unknown>('produce', (_c, sink) => sink.accept(make()))
        .last('consume', () => void (lastRan = true))
        .build(),
    );
    const done = await runToEnd(runtime, 'emits-bad');
    expect(done.status).toBe('FAILED');
    expect(done.errorMessage).toContain("Chunk 0 of step 'produce' failed");
    expect(done.errorMessage).toContain("output of step 'produce'");
    expect(done.errorMessage).toMatch(expected);
    expect(lastRan).toBe(false);
    const [chunk] = await runtime.workChunks.chunks(done.id);
    // A value JSON cannot hold is a bug no retry fixes: one run, despite the default 3 attempts.
    expect(chunk).toMatchObject({ id: '0', status: 'FAILED', attempts: 1 });
    expect(chunk!.errorMessage).toMatch(expected);
    expect(done.totalChunks).toBe(1);
  });

  it('a staged write of a non-JSON value fails the chunk and writes nothing', async () => {
    const runtime = await openRuntime();
    runtime.workChunks.register(
      workChunkJob('stages-bad', 1)
        .first<number>('gen', (_c, sink) => sink.accept(1))
        .last('write', ({ transaction }) => {
          transaction.put('bad-out', 'ok', 1);
          transaction.put('bad-out', 'when', new Date(0) as never);
        })
        .retry({ maxAttempts: 1 })
        .build(),
    );
    const done = await runToEnd(runtime, 'stages-bad');
    expect(done.status).toBe('FAILED');
    expect(done.errorMessage).toContain('bad-out/when');
    expect(done.errorMessage).toContain('a Date is not a plain object');
    expect(await runtime.explorer.getStagedValues('bad-out')).toEqual([]);
  });

  it('a closed runtime refuses register and start', async () => {
    const runtime = await openRuntime();
    const definition = trivial('after-close');
    await closeRuntime(runtime);
    expect(() => runtime.workChunks.register(definition)).toThrow(expect.objectContaining({ code: 'ILLEGAL_STATE' }));
    await expect(runtime.workChunks.start('after-close')).rejects.toMatchObject({ code: 'ILLEGAL_STATE' });
  });
});

// ---- queries -----------------------------------------------------------------------------------

describe('list, get, chunks and waitFor', () => {
  it('list filters by definition and status, newest first; get of an unknown id is undefined', async () => {
    const runtime = await openRuntime();
    const make = (id: string, fail: boolean) =>
      workChunkJob(id, 1)
        .first<number>('gen', (_c, sink) => sink.accept(1))
        .last('use', () => {
          if (fail) throw new NonRetryableError('no');
        })
        .build();
    runtime.workChunks.register(make('alpha', false));
    runtime.workChunks.register(make('beta', true));
    const a1 = await runToEnd(runtime, 'alpha');
    await sleep(3);
    const b1 = await runToEnd(runtime, 'beta');
    await sleep(3);
    const a2 = await runToEnd(runtime, 'alpha');

    expect((await runtime.workChunks.list()).map((i) => i.id)).toEqual([a2.id, b1.id, a1.id]);
    expect((await runtime.workChunks.list({ definitionId: 'alpha' })).map((i) => i.id)).toEqual([a2.id, a1.id]);
    expect((await runtime.workChunks.list({ status: 'FAILED' })).map((i) => i.id)).toEqual([b1.id]);
    expect((await runtime.workChunks.list({ definitionId: 'alpha', status: 'FAILED' })).map((i) => i.id)).toEqual([]);
    expect((await runtime.workChunks.list({ status: ['COMPLETED', 'FAILED'], limit: 2 })).map((i) => i.id)).toEqual([a2.id, b1.id]);
    expect(await runtime.workChunks.list({ definitionId: 'gamma' })).toEqual([]);

    expect(await runtime.workChunks.get('00000000-0000-0000-0000-000000000000')).toBeUndefined();
    expect(await runtime.workChunks.get(a1.id)).toMatchObject({ id: a1.id, definitionId: 'alpha', status: 'COMPLETED' });
  });

  it('chunks() filters by status, step and limit; chunks() and waitFor() of an unknown id throw NO_SUCH_WORK_CHUNK_INSTANCE', async () => {
    const runtime = await openRuntime();
    runtime.workChunks.register(
      workChunkJob('filters', 1)
        .first<number>('gen', (_c, sink) => {
          for (let i = 0; i < 5; i++) sink.accept(i);
        })
        .last('use', ({ data }) => {
          if (data === 4) throw new NonRetryableError('four');
        })
        .build(),
    );
    const done = await runToEnd(runtime, 'filters');
    expect(done.status).toBe('FAILED');
    expect((await runtime.workChunks.chunks(done.id, { stepId: 'gen' })).map((c) => c.id)).toEqual(['0']);
    expect((await runtime.workChunks.chunks(done.id, { status: 'FAILED' })).map((c) => c.id)).toEqual(['0.4']);
    expect(await runtime.workChunks.chunks(done.id, { stepId: 'use', limit: 2 })).toHaveLength(2);
    expect(await runtime.workChunks.chunks(done.id, { stepId: 'no-such-step' })).toEqual([]);
    await expect(runtime.workChunks.chunks('nope')).rejects.toMatchObject({ code: 'NO_SUCH_WORK_CHUNK_INSTANCE' });
    await expect(runtime.workChunks.waitFor('nope')).rejects.toMatchObject({ code: 'NO_SUCH_WORK_CHUNK_INSTANCE' });
  });

  it('waitFor with a timeout on an instance that does not end rejects with ILLEGAL_STATE', async () => {
    const runtime = await openRuntime();
    const hold = deferred();
    runtime.workChunks.register(
      workChunkJob('slow', 1)
        .first<number>('gen', async () => hold.promise)
        .last('use', () => undefined)
        .build(),
    );
    const id = await runtime.workChunks.start('slow');
    await expect(runtime.workChunks.waitFor(id, { timeoutMs: 50 })).rejects.toMatchObject({
      code: 'ILLEGAL_STATE',
      message: expect.stringContaining('cannot be waited for longer than 50 ms'),
    });
    hold.resolve();
    expect((await runtime.workChunks.waitFor(id, { timeoutMs: 10_000 })).status).toBe('COMPLETED');
  });
});

// ---- lease reclaim -----------------------------------------------------------------------------

describe('lease reclaim (a worker that died holding a chunk)', () => {
  function reclaimJob(ran: number[]) {
    return workChunkJob('reclaim', 1)
      .first<number>('gen', ({ chunk }, sink) => {
        ran.push(chunk.attempt);
        sink.accept(1);
      })
      .last('use', () => undefined)
      .build();
  }

  /** Stores an instance whose first chunk is IN_PROGRESS under `owner`'s lease, as a worker would leave it. */
  async function leaveChunkLeased(path: string, definition: WorkChunkJobDefinition<unknown>, owner: ExecutionOwner, leaseMs: number): Promise<string> {
    const store = LmdbKvStore.open(path);
    try {
      const repository = new WorkChunkRepository(store, systemClock, undefined);
      const instance = await repository.createInstance({
        definitionId: definition.id,
        definitionVersion: definition.version,
        parameters: {},
        gated: definition.gated,
        steps: storedStepsOf(definition),
      });
      const cycle = await repository.cycle(owner, [], () => definition.retry, { queues: [queueName(definition.id, definition.version)], limit: 1, leaseMs });
      expect(cycle.claimed.map((c) => c.chunk.id)).toEqual(['0']);
      return instance.id;
    } finally {
      await store.close();
    }
  }

  const liveOwner = (): ExecutionOwner => ({ host: hostname(), pid: process.pid, token: 'other-runtime-in-a-live-process', processStart: processStartOf(process.pid) });

  it('an expired lease is reclaimed by maintain(); a live lease is not; the instance then completes', async () => {
    const path = tempDirectory();
    const ran: number[] = [];
    const definition = reclaimJob(ran) as WorkChunkJobDefinition<unknown>;
    const instanceId = await leaveChunkLeased(path, definition, liveOwner(), 400);

    const runtime = await openRuntime({}, { path });
    runtime.workChunks.register(definition);
    // register() starts a maintenance pass; maintain() called at once joins it.
    const early = await runtime.workChunks.maintain();
    expect(early).toMatchObject({ reclaimedChunks: 0, activeInstances: 1 });
    const [held] = await runtime.workChunks.chunks(instanceId);
    expect(held).toMatchObject({ status: 'IN_PROGRESS', attempts: 1, lease: { host: hostname(), pid: process.pid } });
    expect(ran).toEqual([]);

    await waitUntil(() => Date.now() > held!.lease!.expiresAt.getTime() + 5, 'the lease to expire');
    const report = await runtime.workChunks.maintain();
    expect(report.reclaimedChunks).toBe(1);
    const done = await runtime.workChunks.waitFor(instanceId, { timeoutMs: 10_000 });
    expect(done).toMatchObject({ status: 'COMPLETED', totalChunks: 2, completedChunks: 2 });
    expect(ran).toEqual([2]);
    expect((await runtime.workChunks.chunks(instanceId, { stepId: 'gen' }))[0]).toMatchObject({ status: 'COMPLETED', attempts: 2, lease: null });
  });

  it('a chunk leased by a dead process is reclaimed at once, and the dead run can no longer commit (fenced)', async () => {
    const path = tempDirectory();
    const ran: number[] = [];
    const definition = reclaimJob(ran) as WorkChunkJobDefinition<unknown>;
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
    const deadOwner: ExecutionOwner = { host: hostname(), pid: deadPid, token: 'dead-worker', processStart: null };
    const instanceId = await leaveChunkLeased(path, definition, deadOwner, 3_600_000);

    const runtime = await openRuntime({}, { path });
    runtime.workChunks.register(definition);
    // register() starts a maintenance pass; maintain() called at once joins it.
    const report = await runtime.workChunks.maintain();
    expect(report.reclaimedChunks).toBe(1);
    const done = await runtime.workChunks.waitFor(instanceId, { timeoutMs: 10_000 });
    expect(done).toMatchObject({ status: 'COMPLETED', completedChunks: 2 });
    expect(ran).toEqual([2]);
    await closeRuntime(runtime);

    // The dead worker's run (attempt 1) comes back: its outcome is refused, nothing is written.
    const store = LmdbKvStore.open(path);
    try {
      const repository = new WorkChunkRepository(store, systemClock, undefined);
      const zombie = await repository.cycle(
        deadOwner,
        [{ instanceId, chunkId: '0', attempt: 1, outcome: { kind: 'succeeded', children: [99, 98], staged: [{ kind: 'put', store: 'zombie', key: 'k', value: 1 }], recordsProcessed: 5, warnings: [] } }],
        () => definition.retry,
        undefined,
      );
      expect(zombie.committed).toEqual([false]);
      expect(repository.listChunks(instanceId).map((c) => c.id)).toEqual(['0', '0.0']);
      expect(repository.getInstance(instanceId)).toMatchObject({ status: 'COMPLETED', recordsProcessed: 0 });
    } finally {
      await store.close();
    }
    const reopened = await openRuntime({}, { path });
    expect(await reopened.explorer.getStagedValues('zombie')).toEqual([]);
  });
});

describe('leases of live workers', () => {
  it('a chunk running longer than its lease keeps it by heartbeats: a second runtime on the same store does not take it over', async () => {
    const path = tempDirectory();
    const runs: string[] = [];
    const definition = (runtime: string) =>
      workChunkJob('long-chunk', 1)
        .first<number>('gen', (_c, sink) => sink.accept(1))
        .last('slow', async ({ chunk }) => {
          runs.push(`${runtime}:${chunk.id}:${chunk.attempt}`);
          await sleep(700); // over twice the lease
        })
        .build();
    const options = { leaseMs: 300, maintenanceIntervalMs: 50 };
    const first = await openRuntime(options, { path });
    const second = await openRuntime(options, { path });
    first.workChunks.register(definition('first'));
    const id = await first.workChunks.start('long-chunk');
    await waitUntil(() => runs.length === 1, 'the slow chunk to start');
    second.workChunks.register(definition('second'));
    const done = await second.workChunks.waitFor(id, { timeoutMs: 10_000 });
    expect(done.status).toBe('COMPLETED');
    expect(runs).toEqual(['first:0.0:1']);
    expect((await second.workChunks.chunks(id, { stepId: 'slow' }))[0]).toMatchObject({ status: 'COMPLETED', attempts: 1 });
  });
});

// ---- maintenance -------------------------------------------------------------------------------

describe('maintenance', () => {
  it('maintain() reports what it did: active instances while one runs, none after', async () => {
    const runtime = await openRuntime();
    const hold = deferred();
    runtime.workChunks.register(
      workChunkJob('maintained', 1)
        .first<number>('gen', async () => hold.promise)
        .last('use', () => undefined)
        .build(),
    );
    const id = await runtime.workChunks.start('maintained');
    await waitUntil(async () => (await runtime.workChunks.get(id))!.status === 'IN_PROGRESS', 'the instance to start');
    const running = await runtime.workChunks.maintain();
    expect(running).toMatchObject({ reclaimedChunks: 0, activeInstances: 1, settledInstances: 0, reductionsStarted: 0, purgedInstances: 0 });
    expect(running.durationMs).toBeGreaterThanOrEqual(0);
    hold.resolve();
    await runtime.workChunks.waitFor(id, { timeoutMs: 10_000 });
    const idle = await runtime.workChunks.maintain();
    expect(idle).toMatchObject({ reclaimedChunks: 0, activeInstances: 0, settledInstances: 0, reductionsStarted: 0, purgedInstances: 0 });
    expect(await runtime.workChunks.chunks(id)).toHaveLength(1);
  });

  it('with a tiny retention, the chunks of an ended instance are purged; the instance record and its figures stay', async () => {
    const runtime = await openRuntime({ retentionMs: 1 });
    const written: string[] = [];
    runtime.workChunks.register(fanOutJob(written));
    const done = await runToEnd(runtime, 'fan-out', { ranges: 10 });
    expect(await runtime.workChunks.chunks(done.id)).toHaveLength(31);
    await sleep(5);
    const report = await runtime.workChunks.maintain();
    expect(report.purgedInstances).toBe(1);
    expect(await runtime.workChunks.chunks(done.id)).toEqual([]);
    const kept = await runtime.workChunks.get(done.id);
    expect(kept).toMatchObject({ status: 'COMPLETED', chunksPurged: true, totalChunks: 31, completedChunks: 31, recordsProcessed: 40, progress: 1 });
    // The staged output is the job's result, not chunk data: it stays.
    expect(await runtime.explorer.getStagedValues('fan-out')).toHaveLength(20);
    expect((await runtime.workChunks.maintain()).purgedInstances).toBe(0);
  });

  it('the periodic pass purges on its own', async () => {
    const runtime = await openRuntime({ retentionMs: 1, maintenanceIntervalMs: 20 });
    runtime.workChunks.register(
      workChunkJob('auto-purge', 1)
        .first<number>('gen', (_c, sink) => sink.accept(1))
        .last('use', () => undefined)
        .build(),
    );
    const done = await runToEnd(runtime, 'auto-purge');
    await waitUntil(async () => (await runtime.workChunks.get(done.id))!.chunksPurged, 'the periodic purge');
    expect(await runtime.workChunks.chunks(done.id)).toEqual([]);
  });
});

// ---- progress ----------------------------------------------------------------------------------

describe('progress events', () => {
  function collect(runtime: BatchRuntime): { events: WorkChunkProgressEvent[]; of: (id: string) => WorkChunkProgressEvent[]; stop: () => void } {
    const events: WorkChunkProgressEvent[] = [];
    const stop = runtime.workChunks.onProgress((event) => events.push(event));
    return { events, of: (id) => events.filter((e) => e.instance.id === id), stop };
  }

  it('gated: progress only grows, the steps advance in order, an ETA is given while running, and one final ended event', async () => {
    const runtime = await openRuntime({ concurrency: 2 });
    runtime.workChunks.register(
      workChunkJob('progressive', 1)
        .gated()
        .first<number>('gen', async (_c, sink) => {
          await sleep(3);
          for (let i = 0; i < 6; i++) sink.accept(i);
        })
        .step<number>('a', async ({ data }, sink) => {
          await sleep(3);
          sink.accept(data);
        })
        .last('b', async () => {
          await sleep(3);
        })
        .build(),
    );
    const { of } = collect(runtime);
    const done = await runToEnd(runtime, 'progressive');
    const events = of(done.id);
    expect(events[0]).toMatchObject({ type: 'progress', instance: { status: 'QUEUED', progress: 0, currentStep: 'gen' } });
    const progress = events.map((e) => e.instance.progress);
    for (let i = 1; i < progress.length; i++) expect(progress[i], `event ${i}: ${progress.join(', ')}`).toBeGreaterThanOrEqual(progress[i - 1]!);
    for (const value of progress) expect(value >= 0 && value <= 1).toBe(true);
    const steps = events.map((e) => ['gen', 'a', 'b'].indexOf(e.instance.currentStep));
    for (let i = 1; i < steps.length; i++) expect(steps[i]).toBeGreaterThanOrEqual(steps[i - 1]!);
    expect(new Set(steps)).toEqual(new Set([0, 1, 2]));
    expect(events.some((e) => e.type === 'progress' && typeof e.instance.estimatedTimeRemainingMs === 'number' && e.instance.estimatedTimeRemainingMs >= 0)).toBe(true);
    expect(events.filter((e) => e.type === 'ended')).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ type: 'ended', instance: { status: 'COMPLETED', progress: 1, estimatedTimeRemainingMs: undefined, completedChunks: 13 } });
  });

  it('the unsubscribe function stops the events; a throwing listener does not stop the job', async () => {
    const runtime = await openRuntime();
    runtime.workChunks.register(
      workChunkJob('listeners', 1)
        .first<number>('gen', (_c, sink) => sink.accept(1))
        .last('use', () => undefined)
        .build(),
    );
    const { events, stop } = collect(runtime);
    runtime.workChunks.onProgress(() => {
      throw new Error('listener bug');
    });
    const first = await runToEnd(runtime, 'listeners');
    expect(first.status).toBe('COMPLETED');
    const seen = events.length;
    expect(seen).toBeGreaterThan(0);
    stop();
    expect((await runToEnd(runtime, 'listeners')).status).toBe('COMPLETED');
    expect(events).toHaveLength(seen);
  });

  it('a failed instance ends with one ended event carrying FAILED and its message', async () => {
    const runtime = await openRuntime();
    runtime.workChunks.register(
      workChunkJob('ends-failed', 1)
        .first<number>('gen', () => {
          throw new NonRetryableError('nope');
        })
        .last('use', () => undefined)
        .build(),
    );
    const { of } = collect(runtime);
    const done = await runToEnd(runtime, 'ends-failed');
    const ended = of(done.id).filter((e) => e.type === 'ended');
    expect(ended).toHaveLength(1);
    expect(ended[0]!.instance).toMatchObject({ status: 'FAILED', errorMessage: done.errorMessage, estimatedTimeRemainingMs: undefined });
  });

  // BUG (design): progress of a non-gated job (src/workchunk/work-chunk-instance.ts,
  // toWorkChunkInstance) is the mean over steps of completed/total; a step's total grows while
  // the step before it still emits, so a step that was 1/1 done drops to 1/6 and the instance's
  // progress goes backwards (here from 0.83 to 0.72).
  it('non-gated: progress never goes backwards when a late chunk fans out', async () => {
    const runtime = await openRuntime({ concurrency: 3 });
    const lastDone = deferred();
    runtime.workChunks.onProgress((event) => {
      if ((event.instance.chunkCounts.out?.COMPLETED ?? 0) >= 1) lastDone.resolve();
    });
    runtime.workChunks.register(
      workChunkJob('backwards', 1)
        .first<number>('gen', (_c, sink) => {
          sink.accept(0);
          sink.accept(1);
        })
        .step<number>('fan', async ({ data }, sink) => {
          if (data === 0) return void sink.accept(0);
          await lastDone.promise; // fans out only after the first output was written
          for (let i = 0; i < 5; i++) sink.accept(i);
        })
        .last('out', () => undefined)
        .build(),
    );
    const { of } = collect(runtime);
    const done = await runToEnd(runtime, 'backwards');
    expect(done.status).toBe('COMPLETED');
    const progress = of(done.id).map((e) => e.instance.progress);
    for (let i = 1; i < progress.length; i++) expect(progress[i], progress.map((p) => p.toFixed(2)).join(' ')).toBeGreaterThanOrEqual(progress[i - 1]!);
  });
});

// ---- logging -----------------------------------------------------------------------------------



describe('logging', () => {
  it('work-chunk lines carry definitionId, instanceId, chunkId and workStep; the step logger too', async () => {
    const { logger, lines } = capturingLogger('debug');
    const runtime = await openRuntime({}, { logger });
    runtime.workChunks.register(
      workChunkJob('logged', 1)
        .first<number>('gen', ({ logger: log }, sink) => {
          log.info({ event: 'user.generated', count: 2 }, 'generated');
          sink.accept(0);
          sink.accept(1);
        })
        .last('use', ({ chunk, logger: log }) => {
          log.info({ event: 'user.used' }, 'used');
          if (chunk.id === '0.1' && chunk.attempt === 1) throw new Error('first try fails');
        })
        .retry(noBackoff)
        .build(),
    );
    const done = await runToEnd(runtime, 'logged');
    expect(done.status).toBe('COMPLETED');
    await closeRuntime(runtime);
    await new Promise((resolve) => setImmediate(resolve));

    const stepOf = (chunkId: string) => ['gen', 'use'][chunkId.split('.').length - 1];
    const chunkLines = lines.filter((l) => ['workchunk.started', 'workchunk.completed', 'workchunk.errored', 'user.generated', 'user.used'].includes(l.event ?? ''));
    const count = (event: string) => chunkLines.filter((l) => l.event === event).length;
    // Chunks 0, 0.0 and 0.1; 0.1 runs twice.
    expect([count('workchunk.started'), count('workchunk.completed'), count('workchunk.errored'), count('user.generated'), count('user.used')]).toEqual([4, 3, 1, 1, 3]);
    for (const line of chunkLines) {
      expect(line, JSON.stringify(line)).toMatchObject({ definitionId: 'logged', instanceId: done.id });
      expect(typeof line.chunkId, JSON.stringify(line)).toBe('string');
      expect(line.workStep, JSON.stringify(line)).toBe(stepOf(line.chunkId as string));
    }
    const events = chunkLines.map((l) => `${l.event}@${l.chunkId as string}`);
    expect(events).toContain('workchunk.errored@0.1');
    expect(events).toContain('user.generated@0');
    expect(events.filter((e) => e === 'user.used@0.1')).toHaveLength(2);
    expect(lines.find((l) => l.event === 'workchunk.instance_started')).toMatchObject({ definitionId: 'logged', instanceId: done.id });
    expect(lines.find((l) => l.event === 'workchunk.instance_ended')).toMatchObject({ definitionId: 'logged', instanceId: done.id, status: 'COMPLETED' });
  });

  it('reducer lines carry instanceId and workStep', async () => {
    const { logger, lines } = capturingLogger('info');
    const runtime = await openRuntime({}, { logger });
    runtime.workChunks.register(
      workChunkJob('logged-reduce', 1)
        .gated()
        .first<number>('gen', (_c, sink) => sink.accept(1))
        .reduce<number, number>('total', {
          consume: (d, s) => (s ?? 0) + d,
          complete: (sink, s, { logger: log }) => {
            log.info({ event: 'user.reported' }, 'reported');
            sink.accept(s);
          },
        })
        .build(),
    );
    const done = await runToEnd(runtime, 'logged-reduce');
    expect(done).toMatchObject({ status: 'COMPLETED', report: 1 });
    await closeRuntime(runtime);
    await new Promise((resolve) => setImmediate(resolve));
    const reducerLines = lines.filter((l) => ['workchunk.reduction_started', 'workchunk.reduction_completed', 'user.reported'].includes(l.event ?? ''));
    expect(reducerLines.map((l) => l.event)).toEqual(['workchunk.reduction_started', 'user.reported', 'workchunk.reduction_completed']);
    for (const line of reducerLines) expect(line).toMatchObject({ definitionId: 'logged-reduce', instanceId: done.id, workStep: 'total' });
  });
});
