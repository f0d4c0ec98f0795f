import { beforeEach, describe, expect, it } from 'vitest';
import { OptimisticLockingFailureError } from '../../src/domain/errors.js';
import { ExecutionContext } from '../../src/domain/execution-context.js';
import { JobParameters } from '../../src/domain/job-parameters.js';
import type { JobExecution } from '../../src/domain/job-execution.js';
import { createSilentLogger } from '../../src/observe/pino-logger.js';
import { MemoryKvStore } from '../../src/repository/in-memory/memory-kv-store.js';
import { KvJobRepository } from '../../src/repository/kv-job-repository.js';
import { transitionJob, transitionStep } from '../../src/step/status-host.js';
import type { DispatchMessage } from '../../src/remote/dispatcher.js';
import { claimPartition, dispatchPartition, reconcilePartitions, releaseClaim, renewLease } from '../../src/remote/partition-claims.js';
import { RemoteKeys, type RemotePartitionRecord } from '../../src/remote/remote-partition-record.js';
import { StoreDispatcher } from '../../src/remote/store-dispatcher.js';
import { systemClock } from '../../src/support/clock.js';

const LEASE = 1000;
let store: MemoryKvStore;
let repository: KvJobRepository;
let dispatcher: StoreDispatcher;
let job: JobExecution;
let message: DispatchMessage;

const claimAt = (owner: string, now: number) => store.write((tx) => claimPartition(tx, message.stepExecutionId, owner, LEASE, now));
const record = () => store.read((tx) => tx.get<RemotePartitionRecord>(RemoteKeys.partition(message.stepExecutionId)));
const stepNow = async () => (await repository.getStepExecution(job.id, message.stepExecutionId))!;

beforeEach(async () => {
  store = new MemoryKvStore();
  repository = new KvJobRepository(store);
  dispatcher = new StoreDispatcher(store, createSilentLogger());
  job = await repository.createJobExecution({ jobName: 'remote', parameters: JobParameters.EMPTY, restartable: true });
  await transitionJob(repository, systemClock, job, { type: 'START' });
  const step = await repository.createStepExecution(job, 'fan-out:partition0', new ExecutionContext({ 'partition.min': 1 }));
  message = { jobName: 'remote', jobExecutionId: job.id, managerStepName: 'fan-out', stepExecutionId: step.id, stepName: step.stepName };
  await store.write((tx) => dispatchPartition(tx, dispatcher, message, 0));
});

describe('partition claims: the fencing token and the lease', () => {
  it('a claim bumps the attempt; a second claim while the lease holds is refused, even by the same worker', async () => {
    expect(await claimAt('A', 100)).toEqual({ kind: 'claimed', attempt: 1 });
    expect(record()).toMatchObject({ owner: 'A', attempt: 1, leaseUntil: 100 + LEASE });
    expect(await claimAt('B', 500)).toEqual({ kind: 'held', owner: 'A', leaseUntil: 1100 });
    expect(await claimAt('A', 500)).toEqual({ kind: 'held', owner: 'A', leaseUntil: 1100 });
  });

  it('after the lease expires another worker takes over: the running step goes back to STARTING, and the old worker can neither commit nor renew', async () => {
    await claimAt('A', 100);
    const held = await stepNow();
    await transitionStep(repository, systemClock, held, { type: 'START' });
    held.readCount = 10;
    held.executionContext.put('range.next', 11);
    await repository.commitChunk(held, [{ kind: 'put', store: 'out', key: '1', value: 1 }]);

    expect(await claimAt('B', 100 + LEASE + 1)).toEqual({ kind: 'claimed', attempt: 2 });
    const taken = await stepNow();
    expect(taken.status).toBe('STARTING');
    expect(taken.executionContext.get('range.next')).toBe(11);

    held.readCount = 20;
    await expect(repository.commitChunk(held, [{ kind: 'put', store: 'out', key: '2', value: 2 }])).rejects.toBeInstanceOf(OptimisticLockingFailureError);
    expect(await repository.getStagedValue('out', '2')).toBeUndefined();
    expect(await store.write((tx) => renewLease(tx, message.stepExecutionId, 'A', 1, LEASE, 2000))).toBe(false);
    expect(await store.write((tx) => renewLease(tx, message.stepExecutionId, 'B', 2, LEASE, 2000))).toBe(true);
    expect(record()).toMatchObject({ owner: 'B', attempt: 2, leaseUntil: 3000 });
  });

  it('a partition whose job is being stopped ends STOPPED at the claim instead of running', async () => {
    await transitionJob(repository, systemClock, job, { type: 'REQUEST_STOP' });
    expect(await claimAt('A', 100)).toEqual({ kind: 'finished' });
    expect((await stepNow()).status).toBe('STOPPED');
    expect(record()).toBeUndefined();
  });

  it('a partition that already ended is not claimed, and its record goes', async () => {
    await claimAt('A', 100);
    const step = await stepNow();
    await transitionStep(repository, systemClock, step, { type: 'START' });
    await transitionStep(repository, systemClock, step, { type: 'COMPLETE' });
    expect(await claimAt('B', 5000)).toEqual({ kind: 'finished' });
    expect(record()).toBeUndefined();
  });

  it('release after a hand-back dispatches the partition again in the same transaction', async () => {
    await dispatcher.purge();
    await claimAt('A', 100);
    const step = await stepNow();
    await transitionStep(repository, systemClock, step, { type: 'START' });
    await transitionStep(repository, systemClock, step, { type: 'RELEASE' });
    await store.write((tx) => releaseClaim(tx, dispatcher, step.id, 'A', 1, 300));
    expect(record()).toMatchObject({ owner: null, leaseUntil: 0, attempt: 1, dispatchedAt: 300 });
    expect([...(await dispatcher.pendingStepExecutionIds())]).toEqual([step.id]);
  });
});

describe('reconcilePartitions: the queue re-derived from the repository', () => {
  const reconcile = (pending: number[], now: number) => store.write((tx) => reconcilePartitions(tx, dispatcher, new Set(pending), now, 500));

  it('leaves a partition alone while its message is pending or fresh, and dispatches it again once the queue has lost it', async () => {
    await dispatcher.purge();
    expect((await reconcile([message.stepExecutionId], 10_000)).redispatched).toEqual([]);
    expect((await reconcile([], 100)).redispatched).toEqual([]);
    expect((await reconcile([], 10_000)).redispatched).toEqual([message.stepExecutionId]);
    expect([...(await dispatcher.pendingStepExecutionIds())]).toEqual([message.stepExecutionId]);
  });

  it('dispatches again a partition whose holder let its lease run out, and frees the claim for the next worker', async () => {
    await claimAt('A', 0);
    expect((await reconcile([], LEASE - 1)).redispatched).toEqual([]);
    expect((await reconcile([message.stepExecutionId], LEASE)).redispatched).toEqual([message.stepExecutionId]);
    expect(record()).toMatchObject({ owner: null, attempt: 1 });
    expect(await claimAt('B', LEASE + 1)).toEqual({ kind: 'claimed', attempt: 2 });
  });

  it('removes the records of partitions that ended', async () => {
    await claimAt('A', 0);
    const step = await stepNow();
    await transitionStep(repository, systemClock, step, { type: 'START' });
    await transitionStep(repository, systemClock, step, { type: 'FAIL' });
    expect(await reconcile([], 10_000)).toEqual({ redispatched: [], settled: 1, open: 0 });
    expect(record()).toBeUndefined();
  });
});
