/**
 * The stored side of work-chunk jobs on a MemoryKvStore with a manual clock: gates that open in
 * the commit of a step's last chunk, back-off and poll due times, fencing, lease renewal, and (a
 * property) per-step counters that always equal a scan of the chunks.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ExecutionOwner } from '../../../src/domain/execution-owner.js';
import { isIncompleteChunkStatus, type WorkChunkStatus } from '../../../src/domain/work-chunk-status.js';
import { MemoryKvStore } from '../../../src/repository/in-memory/memory-kv-store.js';
import type { Clock } from '../../../src/support/clock.js';
import { queueName } from '../../../src/workchunk/keys.js';
import type { StoredWorkStep, WorkChunkInstanceRecord } from '../../../src/workchunk/records.js';
import type { ChunkRunOutcome, RetrySettings } from '../../../src/workchunk/work-chunk-commit.js';
import { WorkChunkRepository, type ClaimedChunk } from '../../../src/workchunk/work-chunk-repository.js';

class ManualClock implements Clock {
  constructor(public ms = 1_000_000) {}
  now(): Date {
    return new Date(this.ms);
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

const OWNER: ExecutionOwner = { host: 'test-host', pid: 1, token: 'runtime-a', processStart: null };
const OTHER: ExecutionOwner = { host: 'test-host', pid: 2, token: 'runtime-b', processStart: null };
const STEPS: readonly StoredWorkStep[] = [
  { id: 's0', kind: 'first' },
  { id: 's1', kind: 'step' },
  { id: 's2', kind: 'last' },
];
const QUEUE = queueName('def', 1);
const RETRY: RetrySettings = { maxAttempts: 2, backoff: { type: 'fixed', delayMs: 100 } };

const succeed = (children: number[] = []): ChunkRunOutcome => ({ kind: 'succeeded', children, staged: [], recordsProcessed: 1, warnings: [] });

async function setup(gated: boolean) {
  const clock = new ManualClock();
  const repository = new WorkChunkRepository(new MemoryKvStore(), clock, undefined);
  const instance = await repository.createInstance({ definitionId: 'def', definitionVersion: 1, parameters: {}, gated, steps: STEPS });
  const claim = async (limit = 10, owner = OWNER) => (await repository.cycle(owner, [], () => RETRY, { queues: [QUEUE], limit, leaseMs: 60_000 })).claimed;
  const finish = async (claimed: ClaimedChunk, outcome: ChunkRunOutcome, owner = OWNER) =>
    repository.cycle(owner, [{ instanceId: instance.id, chunkId: claimed.chunk.id, attempt: claimed.chunk.attempts, outcome }], () => RETRY, undefined);
  const chunk = (id: string) => repository.listChunks(instance.id).find((c) => c.id === id);
  const stored = () => repository.getInstance(instance.id)!;
  return { clock, repository, instance, claim, finish, chunk, stored };
}

function scanCounts(repository: WorkChunkRepository, instance: WorkChunkInstanceRecord): Array<Partial<Record<WorkChunkStatus, number>>> {
  const counts: Array<Partial<Record<WorkChunkStatus, number>>> = instance.steps.map(() => ({}));
  for (const chunk of repository.listChunks(instance.id)) {
    const step = counts[chunk.stepIndex]!;
    step[chunk.status] = (step[chunk.status] ?? 0) + 1;
  }
  return counts;
}

describe('WorkChunkRepository on a MemoryKvStore', () => {
  it('an instance is stored QUEUED with one READY first chunk, and its first claim starts it', async () => {
    const { instance, claim, stored, chunk, clock } = await setup(false);
    expect(instance).toMatchObject({ status: 'QUEUED', counts: [{ READY: 1 }, {}, {}], startTime: null });
    const [first] = await claim();
    expect(first!.chunk).toMatchObject({ id: '0', status: 'IN_PROGRESS', attempts: 1, lease: { owner: OWNER, expiresAt: clock.ms + 60_000 } });
    expect(stored()).toMatchObject({ status: 'IN_PROGRESS', startTime: clock.ms, counts: [{ IN_PROGRESS: 1 }, {}, {}] });
    expect(chunk('0')!.startTime).toBe(clock.ms);
  });

  it('gated: children wait at the gate, which opens in the same commit as the step’s last chunk', async () => {
    const { claim, finish, stored, repository, instance } = await setup(true);
    const [first] = await claim();
    // The first step's only chunk: its commit stores the children and, the step being done, opens the gate.
    await finish(first!, succeed([10, 20, 30]));
    expect(stored()).toMatchObject({ currentStep: 1, counts: [{ COMPLETED: 1 }, { READY: 3 }, {}] });

    const running = await claim(2);
    expect(running.map((c) => c.chunk.id)).toEqual(['0.0', '0.1']);
    await finish(running[0]!, succeed([1]));
    expect(stored()).toMatchObject({ currentStep: 1, counts: [{ COMPLETED: 1 }, { COMPLETED: 1, IN_PROGRESS: 1, READY: 1 }, { GATE_WAITING: 1 }] });
    // Nothing behind the gate is claimable, however often one asks.
    const third = await claim(10);
    expect(third.map((c) => c.chunk.id)).toEqual(['0.2']);
    expect(await claim(10)).toEqual([]);

    await finish(running[1]!, succeed([2]));
    expect(stored().currentStep).toBe(1);
    const last = await finish(third[0]!, succeed([3]));
    expect(last.changed[0]).toMatchObject({ currentStep: 2, counts: [{ COMPLETED: 1 }, { COMPLETED: 3 }, { READY: 3 }] });
    expect(last.ended).toEqual([]);

    const finals = await claim(10);
    expect(finals.map((c) => c.chunk.data).sort()).toEqual([1, 2, 3]);
    for (const claimed of finals.slice(0, 2)) await finish(claimed, succeed());
    const end = await finish(finals[2]!, succeed());
    expect(end.ended).toEqual([instance.id]);
    expect(stored()).toMatchObject({ status: 'COMPLETED', recordsProcessed: 7 });
    expect(scanCounts(repository, stored())).toEqual(stored().counts);
  });

  it('an errored chunk is due again after its back-off, not before; its second error fails it and the instance', async () => {
    const { claim, finish, stored, chunk, clock, repository } = await setup(false);
    const [first] = await claim();
    await finish(first!, { kind: 'errored', message: 'Error: once', warnings: [] });
    expect(chunk('0')).toMatchObject({ status: 'ERRORED', errorCount: 1, errorMessage: 'Error: once', dueAt: clock.ms + 100, lease: null });
    expect(stored()).toMatchObject({ status: 'ERRORED', errorCount: 1 });
    expect(repository.hasDueChunk([QUEUE])).toEqual({ due: false, nextDueAt: clock.ms + 100 });
    clock.advance(99);
    expect(await claim()).toEqual([]);
    clock.advance(1);
    const [retry] = await claim();
    expect(retry!.chunk).toMatchObject({ id: '0', attempts: 2, status: 'IN_PROGRESS' });
    await finish(retry!, { kind: 'errored', message: 'Error: twice', warnings: [] });
    expect(chunk('0')).toMatchObject({ status: 'FAILED', errorCount: 2 });
    expect(stored()).toMatchObject({ status: 'FAILED', errorMessage: "Chunk 0 of step 's0' failed after 2 attempt(s): Error: twice" });
  });

  it('a poll-later chunk is due after its delay and is claimed again with its poll counted', async () => {
    const { claim, finish, chunk, clock } = await setup(false);
    const [first] = await claim();
    await finish(first!, { kind: 'poll-later', delayMs: 500, warnings: [] });
    expect(chunk('0')).toMatchObject({ status: 'POLL_WAITING', pollAttempts: 1, errorCount: 0, dueAt: clock.ms + 500 });
    clock.advance(499);
    expect(await claim()).toEqual([]);
    clock.advance(1);
    const [again] = await claim();
    expect(again!.chunk).toMatchObject({ status: 'IN_PROGRESS', attempts: 2, pollAttempts: 1 });
  });

  it('fencing: a run of another owner or of an older attempt commits nothing', async () => {
    const { claim, finish, stored, repository, instance } = await setup(false);
    const [first] = await claim();
    const foreign = await finish(first!, succeed([1, 2]), OTHER);
    expect(foreign.committed).toEqual([false]);
    const stale = await repository.cycle(OWNER, [{ instanceId: instance.id, chunkId: '0', attempt: 0, outcome: succeed([1]) }], () => RETRY, undefined);
    expect(stale.committed).toEqual([false]);
    expect(stored().counts).toEqual([{ IN_PROGRESS: 1 }, {}, {}]);
    expect((await finish(first!, succeed([1]))).committed).toEqual([true]);
    // Committed once: the same run again is refused, the child is not duplicated.
    expect((await finish(first!, succeed([1]))).committed).toEqual([false]);
    expect(repository.listChunks(instance.id).map((c) => c.id)).toEqual(['0', '0.0']);
  });

  it('renewLeases extends held leases and reports the chunks no longer held', async () => {
    const { claim, finish, chunk, clock, repository, instance } = await setup(false);
    const [first] = await claim();
    clock.advance(1_000);
    expect(await repository.renewLeases(OWNER, [{ instanceId: instance.id, chunkId: '0', attempt: 1 }], 60_000)).toEqual([]);
    expect(chunk('0')!.lease!.expiresAt).toBe(clock.ms + 60_000);
    expect(await repository.renewLeases(OTHER, [{ instanceId: instance.id, chunkId: '0', attempt: 1 }], 60_000)).toEqual(['0']);
    await finish(first!, succeed());
    expect(await repository.renewLeases(OWNER, [{ instanceId: instance.id, chunkId: '0', attempt: 1 }], 60_000)).toEqual(['0']);
  });

  it('reclaimLeases takes back only expired leases of other owners', async () => {
    const { claim, chunk, clock, repository } = await setup(false);
    await claim(1, OTHER);
    const alive = () => false;
    expect(await repository.reclaimLeases(OWNER, alive)).toEqual([]);
    clock.advance(60_001);
    // Its own leases are never reclaimed by a runtime.
    expect(await repository.reclaimLeases(OTHER, alive)).toEqual([]);
    const reclaimed = await repository.reclaimLeases(OWNER, alive);
    expect(reclaimed.map((r) => [r.chunkId, r.owner.token])).toEqual([['0', 'runtime-b']]);
    expect(chunk('0')).toMatchObject({ status: 'READY', lease: null, attempts: 1 });
    const [again] = await claim(1, OWNER);
    expect(again!.chunk).toMatchObject({ id: '0', attempts: 2, lease: { owner: OWNER } });
  });

  it('a cancelled instance: its queued chunks are never claimed, its running one still commits without children', async () => {
    const { claim, finish, stored, repository, instance } = await setup(false);
    const [first] = await claim();
    await repository.cancel(instance.id);
    expect(stored()).toMatchObject({ status: 'CANCELLED' });
    expect((await finish(first!, succeed([1, 2, 3]))).committed).toEqual([true]);
    expect(repository.listChunks(instance.id).map((c) => [c.id, c.status])).toEqual([['0', 'COMPLETED']]);
    expect(await claim()).toEqual([]);
    await expect(repository.cancel(instance.id)).rejects.toMatchObject({ code: 'WORK_CHUNK_INSTANCE_ENDED' });
  });
});

// ---- the counters, as a property ------------------------------------------------------------------

type Op =
  | { readonly kind: 'claim'; readonly limit: number }
  | { readonly kind: 'finish'; readonly pick: number; readonly outcome: 'succeed' | 'error' | 'fail' | 'poll'; readonly children: number }
  | { readonly kind: 'tick'; readonly ms: number };

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('claim' as const), limit: fc.integer({ min: 1, max: 4 }) }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('finish' as const),
      pick: fc.nat(),
      outcome: fc.constantFrom('succeed', 'succeed', 'succeed', 'error', 'fail', 'poll') as fc.Arbitrary<'succeed' | 'error' | 'fail' | 'poll'>,
      children: fc.integer({ min: 0, max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 200 }) }) },
);

function outcomeOf(op: Extract<Op, { kind: 'finish' }>, stepIndex: number): ChunkRunOutcome {
  switch (op.outcome) {
    case 'succeed':
      return succeed(stepIndex < STEPS.length - 1 ? Array.from({ length: op.children }, (_, i) => i) : []);
    case 'error':
      return { kind: 'errored', message: 'Error: e', warnings: [] };
    case 'fail':
      return { kind: 'failed', message: 'Error: f', warnings: [] };
    case 'poll':
      return { kind: 'poll-later', delayMs: 50, warnings: [] };
  }
}

function checkInvariants(repository: WorkChunkRepository, instanceId: string): WorkChunkInstanceRecord {
  const instance = repository.getInstance(instanceId)!;
  const chunks = repository.listChunks(instanceId);
  // The counters equal a scan: maintenance never needs to count.
  expect(instance.counts).toEqual(scanCounts(repository, instance));
  for (const chunk of chunks) {
    expect(chunk.lease !== null, `${chunk.id} ${chunk.status}`).toBe(chunk.status === 'IN_PROGRESS');
    if (instance.gated && chunk.stepIndex > instance.currentStep) expect(chunk.status, chunk.id).toBe('GATE_WAITING');
    if (instance.gated && chunk.stepIndex < instance.currentStep) expect(isIncompleteChunkStatus(chunk.status), chunk.id).toBe(false);
    if (!instance.gated) expect(chunk.status).not.toBe('GATE_WAITING');
  }
  const failed = chunks.some((c) => c.status === 'FAILED');
  if (failed) expect(instance.status).toBe('FAILED');
  if (instance.status === 'COMPLETED') expect(chunks.every((c) => c.status === 'COMPLETED')).toBe(true);
  if (instance.status === 'ERRORED') expect(chunks.some((c) => c.status === 'ERRORED' || c.status === 'IN_PROGRESS')).toBe(true);
  expect(new Set(chunks.map((c) => c.id)).size).toBe(chunks.length);
  return instance;
}

describe('WorkChunkRepository counters (property)', () => {
  it('after any sequence of claims, outcomes and clock ticks, the per-step counters equal a scan and the gate and status agree with the chunks', async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(opArbitrary, { maxLength: 40 }), async (gated, ops) => {
        const { repository, instance, claim, finish, clock } = await setup(gated);
        const running: ClaimedChunk[] = [];
        for (const op of ops) {
          if (op.kind === 'claim') running.push(...(await claim(op.limit)));
          else if (op.kind === 'tick') clock.advance(op.ms);
          else if (running.length > 0) {
            const [claimed] = running.splice(op.pick % running.length, 1);
            const result = await finish(claimed!, outcomeOf(op, claimed!.chunk.stepIndex));
            expect(result.committed).toEqual([true]);
          }
          checkInvariants(repository, instance.id);
        }
        // Drain: every run finishes well; the instance must end, COMPLETED unless a chunk failed.
        for (let round = 0; round < 50; round++) {
          for (const claimed of running.splice(0)) await finish(claimed, succeed());
          const status = checkInvariants(repository, instance.id).status;
          if (status === 'COMPLETED' || status === 'FAILED') break;
          clock.advance(1_000);
          running.push(...(await claim(100)));
        }
        const end = checkInvariants(repository, instance.id);
        const anyFailed = repository.listChunks(instance.id).some((c) => c.status === 'FAILED');
        expect(end.status).toBe(anyFailed ? 'FAILED' : 'COMPLETED');
        expect(repository.activeInstanceIds()).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });
});
