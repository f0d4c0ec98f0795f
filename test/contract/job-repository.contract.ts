import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BatchStatus } from '../../src/domain/batch-status.js';
import {
  ExecutionContextValueError,
  JobExecutionAlreadyRunningError,
  JobInstanceAlreadyCompleteError,
  JobRestartError,
  NoSuchJobExecutionError,
  OptimisticLockingFailureError,
} from '../../src/domain/errors.js';
import { ExecutionContext, type JsonValue } from '../../src/domain/execution-context.js';
import { ExitStatus } from '../../src/domain/exit-status.js';
import { JobExecution } from '../../src/domain/job-execution.js';
import { JobParameters, type JobParameterInput } from '../../src/domain/job-parameters.js';
import type { StepExecution } from '../../src/domain/step-execution.js';
import type { JobRepository } from '../../src/repository/job-repository.js';

/** What a backend hands the contract: a fresh, empty repository, and how to reopen and dispose of it. */
export interface JobRepositoryFixture {
  readonly repository: JobRepository;
  /** Closes the repository and opens the same store again (durable backends only). */
  readonly reopen?: () => Promise<JobRepository>;
  readonly cleanup: () => Promise<void>;
}

export interface JobRepositoryContractOptions {
  /**
   * Contract cases this backend is known to fail, by title, with the defect. They run as
   * `it.fails`, so fixing the defect makes the case fail until its entry is removed here.
   */
  readonly knownBugs?: Readonly<Record<string, string>>;
}

type Constructor<E> = abstract new (...args: never[]) => E;

/** Awaits a promise that must reject with `type` and `code`, and returns the error. */
async function rejection<E extends Error>(promise: Promise<unknown>, type: Constructor<E>, code: string): Promise<E> {
  const outcome = await promise.then(
    (value) => ({ rejected: false as const, value }),
    (error: unknown) => ({ rejected: true as const, error }),
  );
  if (!outcome.rejected) throw new Error(`expected a ${type.name} (${code}), but the call resolved`);
  expect(outcome.error).toBeInstanceOf(type);
  expect((outcome.error as { code?: unknown }).code).toBe(code);
  return outcome.error as E;
}

/** JSON has no -0 (it is written as 0, and -0 === 0); compare round trips with -0 read as 0. */
function withoutNegativeZero(value: unknown): unknown {
  if (Object.is(value, -0)) return 0;
  if (Array.isArray(value)) return value.map(withoutNegativeZero);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutNegativeZero(v)]));
  }
  return value;
}

function hasProtoKey(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasProtoKey);
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).some(([k, v]) => k === '__proto__' || hasProtoKey(v));
  }
  return false;
}

const ids = (list: ReadonlyArray<{ id: number }>) => list.map((item) => item.id);

/**
 * The JobRepository conformance suite (DESIGN.md sections 4 and 5; reference sections 2.1, 2.2, 2.5).
 * Every read-back goes through `reopened()`, which for a durable backend closes and reopens the
 * store first, so each assertion on stored state also proves that the state survives a restart.
 */
export function describeJobRepositoryContract(
  name: string,
  open: () => Promise<JobRepositoryFixture>,
  options: JobRepositoryContractOptions = {},
): void {
  const contractIt = (title: string, fn: () => Promise<void>) => {
    const bug = options.knownBugs?.[title];
    if (bug) it.fails(`${title} [known ${name} bug: ${bug}]`, fn);
    else it(title, fn);
  };

  describe(`JobRepository contract: ${name}`, () => {
    let fixture: JobRepositoryFixture;
    let repository: JobRepository;

    beforeEach(async () => {
      fixture = await open();
      repository = fixture.repository;
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    /** The repository to read back from: for a durable store, the same store closed and reopened. */
    async function reopened(): Promise<JobRepository> {
      if (fixture.reopen) repository = await fixture.reopen();
      return repository;
    }

    function launch(
      jobName = 'orders',
      parameters: Readonly<Record<string, JobParameterInput>> = { date: '2024-01-01' },
      restartable = true,
    ): Promise<JobExecution> {
      return repository.createJobExecution({ jobName, parameters: JobParameters.of(parameters), restartable });
    }

    /** Puts an execution into `status` the way the host would store it (the repository does not police the machine). */
    async function store(execution: JobExecution, status: BatchStatus): Promise<JobExecution> {
      execution.status = status;
      await repository.updateJobExecution(execution);
      return execution;
    }

    describe('createJobExecution', () => {
      contractIt('creates a job instance and a STARTING execution at version 0', async () => {
        const execution = await launch('orders', { date: '2024-01-01', attempt: { value: 1, identifying: false } });
        expect(execution.status).toBe('STARTING');
        expect(execution.version).toBe(0);
        expect(execution.exitStatus.exitCode).toBe('UNKNOWN');
        expect(execution.jobInstance.jobName).toBe('orders');
        expect(execution.jobInstance.instanceKey).toBe(JobParameters.of({ date: '2024-01-01' }).instanceKey());
        expect(execution.executionContext.size).toBe(0);
        expect(execution.stepExecutions).toEqual([]);

        const repo = await reopened();
        const stored = await repo.getJobExecution(execution.id);
        expect(stored).toBeDefined();
        expect(stored!.status).toBe('STARTING');
        expect(stored!.version).toBe(0);
        expect(stored!.exitStatus.exitCode).toBe('UNKNOWN');
        expect(stored!.jobInstance).toEqual(execution.jobInstance);
        expect(stored!.createTime.getTime()).toBe(execution.createTime.getTime());
        expect(stored!.jobParameters.equals(execution.jobParameters)).toBe(true);
        expect(stored!.jobParameters.getParameter('attempt')).toEqual({ value: 1, type: 'number', identifying: false });
        expect(await repo.getJobInstance(execution.jobInstance.id)).toEqual(execution.jobInstance);
        expect(await repo.findJobInstance('orders', JobParameters.of({ date: '2024-01-01' }))).toEqual(execution.jobInstance);
        expect(await repo.findJobInstance('orders', JobParameters.of({ date: '2024-01-02' }))).toBeUndefined();
      });

      contractIt('uses the same instance for the same identifying parameters, whatever the non-identifying ones', async () => {
        const first = await launch('orders', { date: '2024-01-01', attempt: { value: 1, identifying: false } });
        await store(first, 'FAILED');
        const second = await launch('orders', { attempt: { value: 2, identifying: false }, date: '2024-01-01' });
        expect(second.jobInstance.id).toBe(first.jobInstance.id);
        expect(second.id).not.toBe(first.id);

        const repo = await reopened();
        expect(ids(await repo.getJobExecutions(first.jobInstance.id))).toEqual([second.id, first.id]);
        expect((await repo.getJobExecution(second.id))!.jobParameters.get('attempt')).toBe(2);
        expect((await repo.getJobExecution(first.id))!.jobParameters.get('attempt')).toBe(1);
        expect(await repo.getJobInstances('orders')).toHaveLength(1);
      });

      contractIt('creates separate instances for other identifying values, types or job names', async () => {
        const executions = [
          await launch('orders', { v: '1' }),
          await launch('orders', { v: 1 }),
          await launch('orders', { v: 2 }),
          await launch('orders', { v: 1, extra: true }),
          await launch('invoices', { v: '1' }),
        ];
        expect(new Set(executions.map((e) => e.jobInstance.id)).size).toBe(5);
        expect(executions.every((e) => e.status === 'STARTING')).toBe(true);
        const repo = await reopened();
        expect(await repo.getJobInstances('orders')).toHaveLength(4);
        expect(await repo.getJobInstances('invoices')).toHaveLength(1);
      });

      contractIt('gives one instance per job name to launches without identifying parameters', async () => {
        const first = await launch('nightly', {});
        await store(first, 'FAILED');
        const second = await launch('nightly', { note: { value: 'x', identifying: false } });
        expect(second.jobInstance.id).toBe(first.jobInstance.id);
      });
    });

    describe('launch checks, in Spring order', () => {
      for (const status of ['STARTING', 'STARTED', 'STOPPING'] as const) {
        contractIt(`refuses an instance whose execution is ${status} with JobExecutionAlreadyRunningError`, async () => {
          const first = await launch();
          if (status !== 'STARTING') await store(first, status);
          const error = await rejection(launch(), JobExecutionAlreadyRunningError, 'JOB_EXECUTION_ALREADY_RUNNING');
          expect(error.executionId).toBe(first.id);
          expect(error.status).toBe(status);
          expect(ids(await repository.getJobExecutions(first.jobInstance.id))).toEqual([first.id]);
        });
      }

      contractIt('refuses to restart an instance with an UNKNOWN execution with JobRestartError', async () => {
        const first = await store(await launch(), 'UNKNOWN');
        const error = await rejection(launch(), JobRestartError, 'JOB_RESTART');
        expect(error.message).toContain('UNKNOWN');
        expect(ids(await repository.getJobExecutions(first.jobInstance.id))).toEqual([first.id]);
      });

      for (const status of ['COMPLETED', 'ABANDONED'] as const) {
        contractIt(`refuses an instance whose execution is ${status} with JobInstanceAlreadyCompleteError`, async () => {
          const first = await store(await launch(), status);
          const error = await rejection(launch(), JobInstanceAlreadyCompleteError, 'JOB_INSTANCE_ALREADY_COMPLETE');
          expect(error.jobInstanceId).toBe(first.jobInstance.id);
          expect(error.status).toBe(status);
          expect(ids(await repository.getJobExecutions(first.jobInstance.id))).toEqual([first.id]);
        });
      }

      contractIt('refuses a second execution of a job that is not restartable with JobRestartError', async () => {
        const first = await launch('once', { date: '2024-01-01' }, false);
        expect(first.status).toBe('STARTING');
        await store(first, 'FAILED');
        await rejection(launch('once', { date: '2024-01-01' }, false), JobRestartError, 'JOB_RESTART');
        expect(await repository.getJobExecutions(first.jobInstance.id)).toHaveLength(1);
      });

      for (const status of ['FAILED', 'STOPPED'] as const) {
        contractIt(`restarts a ${status} instance with a new execution that inherits the job execution context`, async () => {
          const first = await launch();
          first.executionContext.put('cursor', { page: 3, done: ['a', 'b'] });
          await store(first, status);

          const repo = await reopened();
          const second = await repo.createJobExecution({ jobName: 'orders', parameters: JobParameters.of({ date: '2024-01-01' }), restartable: true });
          expect(second.id).not.toBe(first.id);
          expect(second.jobInstance.id).toBe(first.jobInstance.id);
          expect(second.status).toBe('STARTING');
          expect(second.version).toBe(0);
          expect(second.executionContext.toJSON()).toEqual({ cursor: { page: 3, done: ['a', 'b'] } });
          expect((await repo.getJobExecution(second.id))!.executionContext.get('cursor')).toEqual({ page: 3, done: ['a', 'b'] });
          expect((await repo.getJobExecution(first.id))!.status).toBe(status);
        });
      }

      contractIt('a restart inherits the context of the most recent execution', async () => {
        const first = await launch();
        first.executionContext.put('n', 1);
        await store(first, 'FAILED');
        const second = await launch();
        second.executionContext.put('n', 2);
        await store(second, 'STOPPED');
        const third = await launch();
        expect(third.executionContext.get('n')).toBe(2);
      });

      contractIt('checks running before UNKNOWN, and both before restartability', async () => {
        const first = await store(await launch(), 'FAILED');
        const second = await launch(); // STARTING
        await store(first, 'UNKNOWN');
        const error = await rejection(launch('orders', { date: '2024-01-01' }, false), JobExecutionAlreadyRunningError, 'JOB_EXECUTION_ALREADY_RUNNING');
        expect(error.executionId).toBe(second.id);
      });

      contractIt('checks UNKNOWN before COMPLETED', async () => {
        const first = await store(await launch(), 'FAILED');
        const second = await launch();
        await store(second, 'UNKNOWN');
        await store(first, 'COMPLETED');
        await rejection(launch(), JobRestartError, 'JOB_RESTART');
      });

      contractIt('checks COMPLETED before restartability', async () => {
        await store(await launch(), 'COMPLETED');
        await rejection(launch('orders', { date: '2024-01-01' }, false), JobInstanceAlreadyCompleteError, 'JOB_INSTANCE_ALREADY_COMPLETE');
      });

      contractIt('lets exactly one of two concurrent launches of a new instance start', async () => {
        const results = await Promise.allSettled([launch(), launch()]);
        const started = results.filter((r): r is PromiseFulfilledResult<JobExecution> => r.status === 'fulfilled');
        const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(started).toHaveLength(1);
        expect(refused).toHaveLength(1);
        expect(refused[0]!.reason).toBeInstanceOf(JobExecutionAlreadyRunningError);
        const instances = await repository.getJobInstances('orders');
        expect(ids(instances)).toEqual([started[0]!.value.jobInstance.id]);
        expect(ids(await repository.getJobExecutions(instances[0]!.id))).toEqual([started[0]!.value.id]);
      });

      contractIt('lets exactly one of two concurrent restarts of a FAILED instance start', async () => {
        const first = await store(await launch(), 'FAILED');
        const results = await Promise.allSettled([launch(), launch()]);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(refused).toHaveLength(1);
        expect(refused[0]!.reason).toMatchObject({ code: 'JOB_EXECUTION_ALREADY_RUNNING' });
        expect(await repository.getJobExecutions(first.jobInstance.id)).toHaveLength(2);
      });
    });

    describe('updateJobExecution', () => {
      contractIt('stores status, exit status, times and context, and increments the version', async () => {
        const execution = await launch();
        execution.status = 'STARTED';
        execution.startTime = new Date(1_700_000_000_000);
        execution.executionContext.put('phase', 'load');
        expect(await repository.updateJobExecution(execution)).toEqual({ stopRequested: false });
        expect(execution.version).toBe(1);

        execution.status = 'COMPLETED';
        execution.exitStatus = ExitStatus.of('COMPLETED WITH SKIPS', '3 items skipped');
        execution.endTime = new Date(1_700_000_060_000);
        await repository.updateJobExecution(execution);
        expect(execution.version).toBe(2);

        const stored = (await (await reopened()).getJobExecution(execution.id))!;
        expect(stored.status).toBe('COMPLETED');
        expect(stored.exitStatus.toJSON()).toEqual({ exitCode: 'COMPLETED WITH SKIPS', exitDescription: '3 items skipped' });
        expect(stored.startTime?.getTime()).toBe(1_700_000_000_000);
        expect(stored.endTime?.getTime()).toBe(1_700_000_060_000);
        expect(stored.lastUpdated).toBeInstanceOf(Date);
        expect(stored.version).toBe(2);
        expect(stored.executionContext.toJSON()).toEqual({ phase: 'load' });
      });

      contractIt('refuses a stale copy with OptimisticLockingFailureError and stores nothing of it', async () => {
        const stale = await launch();
        const fresh = (await repository.getJobExecution(stale.id))!;
        await store(fresh, 'STARTED');

        stale.status = 'FAILED';
        stale.executionContext.put('lost', true);
        const error = await rejection(repository.updateJobExecution(stale), OptimisticLockingFailureError, 'OPTIMISTIC_LOCKING_FAILURE');
        expect(error.expectedVersion).toBe(0);
        expect(error.actualVersion).toBe(1);
        expect(stale.version).toBe(0);

        const stored = (await (await reopened()).getJobExecution(stale.id))!;
        expect(stored.status).toBe('STARTED');
        expect(stored.version).toBe(1);
        expect(stored.executionContext.has('lost')).toBe(false);
      });

      contractIt('merges a stored STOPPING into a running copy: stopRequested, status STOPPING, the copy written', async () => {
        const runner = await store(await launch(), 'STARTED');
        const operator = (await repository.getJobExecution(runner.id))!;
        operator.status = 'STOPPING';
        expect(await repository.updateJobExecution(operator)).toEqual({ stopRequested: true });

        runner.executionContext.put('progress', 5);
        expect(await repository.updateJobExecution(runner)).toEqual({ stopRequested: true });
        expect(runner.status).toBe('STOPPING');
        expect(runner.version).toBe(3);

        const stored = (await (await reopened()).getJobExecution(runner.id))!;
        expect(stored.status).toBe('STOPPING');
        expect(stored.version).toBe(3);
        expect(stored.executionContext.get('progress')).toBe(5);
      });

      contractIt('lets a finished copy written over a stored STOPPING keep its end status, reporting the stop', async () => {
        const runner = await store(await launch(), 'STARTED');
        const operator = (await repository.getJobExecution(runner.id))!;
        await store(operator, 'STOPPING');
        runner.status = 'COMPLETED';
        expect(await repository.updateJobExecution(runner)).toEqual({ stopRequested: true });
        expect((await (await reopened()).getJobExecution(runner.id))!.status).toBe('COMPLETED');
      });

      contractIt('refuses an execution that was never created with NoSuchJobExecutionError', async () => {
        const real = await launch();
        const ghost = new JobExecution({ id: real.id + 1000, jobInstance: real.jobInstance, jobParameters: real.jobParameters });
        await rejection(repository.updateJobExecution(ghost), NoSuchJobExecutionError, 'NO_SUCH_JOB_EXECUTION');
        expect(await repository.getJobExecution(ghost.id)).toBeUndefined();
      });

      contractIt('updateJobExecutionContext stores the context alone, without a new version', async () => {
        const execution = await launch();
        execution.executionContext.put('checkpoint', [1, 2]);
        await repository.updateJobExecutionContext(execution);
        const stored = (await (await reopened()).getJobExecution(execution.id))!;
        expect(stored.executionContext.get('checkpoint')).toEqual([1, 2]);
        expect(stored.version).toBe(0);
        expect(stored.status).toBe('STARTING');
      });
    });

    describe('step executions and the chunk commit', () => {
      async function startedStep(stepName = 'load', context = new ExecutionContext()): Promise<{ job: JobExecution; step: StepExecution }> {
        const job = await store(await launch(), 'STARTED');
        const step = await repository.createStepExecution(job, stepName, context);
        return { job, step };
      }

      contractIt('createStepExecution stores a STARTING step at version 0 with zero counts and the given context', async () => {
        const { job, step } = await startedStep('load', new ExecutionContext({ 'reader.read.count': 4 }));
        expect(step.status).toBe('STARTING');
        expect(step.version).toBe(0);
        expect(step.exitStatus.exitCode).toBe('EXECUTING');
        expect(step).toMatchObject({ stepName: 'load', jobExecutionId: job.id, jobInstanceId: job.jobInstance.id, jobName: 'orders' });

        const stored = (await (await reopened()).getStepExecution(job.id, step.id))!;
        expect(stored).toMatchObject({
          id: step.id,
          stepName: 'load',
          status: 'STARTING',
          version: 0,
          jobExecutionId: job.id,
          jobInstanceId: job.jobInstance.id,
          jobName: 'orders',
          readCount: 0,
          writeCount: 0,
          filterCount: 0,
          commitCount: 0,
          rollbackCount: 0,
          readSkipCount: 0,
          processSkipCount: 0,
          writeSkipCount: 0,
        });
        expect(stored.exitStatus.exitCode).toBe('EXECUTING');
        expect(stored.executionContext.toJSON()).toEqual({ 'reader.read.count': 4 });
        expect(stored.jobParameters.get('date')).toBe('2024-01-01');
      });

      contractIt('updateStepExecution stores status, counts, exit status, times and context, and increments the version', async () => {
        const { job, step } = await startedStep();
        step.status = 'FAILED';
        step.exitStatus = ExitStatus.FAILED.addExitDescription('boom');
        step.startTime = new Date(1000);
        step.endTime = new Date(2000);
        step.readCount = 7;
        step.rollbackCount = 1;
        step.processSkipCount = 2;
        step.executionContext.put('reader.read.count', 7);
        expect(await repository.updateStepExecution(step)).toEqual({ stopRequested: false });
        expect(step.version).toBe(1);

        const stored = (await (await reopened()).getStepExecution(job.id, step.id))!;
        expect(stored).toMatchObject({ status: 'FAILED', version: 1, readCount: 7, rollbackCount: 1, processSkipCount: 2 });
        expect(stored.skipCount).toBe(2);
        expect(stored.exitStatus.toJSON()).toEqual({ exitCode: 'FAILED', exitDescription: 'boom' });
        expect(stored.startTime?.getTime()).toBe(1000);
        expect(stored.endTime?.getTime()).toBe(2000);
        expect(stored.executionContext.get('reader.read.count')).toBe(7);
      });

      contractIt('updateStepExecution refuses a stale copy with OptimisticLockingFailureError and stores nothing of it', async () => {
        const { job, step } = await startedStep();
        const other = (await repository.getStepExecution(job.id, step.id))!;
        other.status = 'STARTED';
        await repository.updateStepExecution(other);

        step.status = 'COMPLETED';
        step.writeCount = 50;
        const error = await rejection(repository.updateStepExecution(step), OptimisticLockingFailureError, 'OPTIMISTIC_LOCKING_FAILURE');
        expect(error.expectedVersion).toBe(0);
        expect(error.actualVersion).toBe(1);
        expect(step.version).toBe(0);
        const stored = (await (await reopened()).getStepExecution(job.id, step.id))!;
        expect(stored).toMatchObject({ status: 'STARTED', writeCount: 0, version: 1 });
      });

      contractIt('commitChunk stores counts, version, context and staged writes together', async () => {
        const { job, step } = await startedStep();
        step.status = 'STARTED';
        Object.assign(step, { readCount: 3, writeCount: 2, filterCount: 1, commitCount: 1, readSkipCount: 0 });
        step.executionContext.put('reader.read.count', 3);
        const first = await repository.commitChunk(step, [
          { kind: 'put', store: 'out', key: 'a', value: 1 },
          { kind: 'put', store: 'out', key: 'c', value: { total: 3, tags: ['x'] } },
          { kind: 'put', store: 'other', key: 'a', value: 'elsewhere' },
        ]);
        expect(first).toEqual({ stopRequested: false });
        expect(step.version).toBe(1);

        Object.assign(step, { readCount: 6, writeCount: 4, filterCount: 1, commitCount: 2, rollbackCount: 1, writeSkipCount: 1 });
        step.executionContext.put('reader.read.count', 6);
        await repository.commitChunk(step, [
          { kind: 'remove', store: 'out', key: 'a' },
          { kind: 'put', store: 'out', key: 'b', value: null },
          { kind: 'put', store: 'out', key: 'd', value: 'four' },
        ]);
        expect(step.version).toBe(2);

        const repo = await reopened();
        const stored = (await repo.getStepExecution(job.id, step.id))!;
        expect(stored).toMatchObject({
          status: 'STARTED',
          version: 2,
          readCount: 6,
          writeCount: 4,
          filterCount: 1,
          commitCount: 2,
          rollbackCount: 1,
          writeSkipCount: 1,
        });
        expect(stored.executionContext.toJSON()).toEqual({ 'reader.read.count': 6 });
        expect(await repo.getStagedValue('out', 'a')).toBeUndefined();
        expect(await repo.getStagedValue('out', 'c')).toEqual({ total: 3, tags: ['x'] });
        expect(await repo.getStagedValues('out')).toEqual([
          { key: 'b', value: null },
          { key: 'c', value: { total: 3, tags: ['x'] } },
          { key: 'd', value: 'four' },
        ]);
        expect(await repo.getStagedValues('other')).toEqual([{ key: 'a', value: 'elsewhere' }]);
        expect(await repo.getStagedValues('none')).toEqual([]);
      });

      contractIt('commitChunk refuses a stale copy with OptimisticLockingFailureError and writes nothing of the chunk', async () => {
        const { job, step } = await startedStep();
        const takeover = (await repository.getStepExecution(job.id, step.id))!;
        takeover.readCount = 2;
        takeover.executionContext.put('reader.read.count', 2);
        await repository.commitChunk(takeover, [{ kind: 'put', store: 'out', key: 'kept', value: 2 }]);

        step.readCount = 99;
        step.commitCount = 1;
        step.executionContext.put('reader.read.count', 99);
        const error = await rejection(
          repository.commitChunk(step, [
            { kind: 'put', store: 'out', key: 'lost', value: 99 },
            { kind: 'remove', store: 'out', key: 'kept' },
          ]),
          OptimisticLockingFailureError,
          'OPTIMISTIC_LOCKING_FAILURE',
        );
        expect(error.expectedVersion).toBe(0);
        expect(error.actualVersion).toBe(1);
        expect(step.version).toBe(0);

        const repo = await reopened();
        const stored = (await repo.getStepExecution(job.id, step.id))!;
        expect(stored).toMatchObject({ version: 1, readCount: 2, commitCount: 0 });
        expect(stored.executionContext.get('reader.read.count')).toBe(2);
        expect(await repo.getStagedValue('out', 'lost')).toBeUndefined();
        expect(await repo.getStagedValues('out')).toEqual([{ key: 'kept', value: 2 }]);
      });

      contractIt('commitChunk and updateStepExecution report stopRequested once the job execution is STOPPING', async () => {
        const { job, step } = await startedStep();
        expect(await repository.commitChunk(step, [])).toEqual({ stopRequested: false });
        const operator = (await repository.getJobExecution(job.id))!;
        await store(operator, 'STOPPING');
        expect(await repository.commitChunk(step, [{ kind: 'put', store: 'out', key: 'k', value: 1 }])).toEqual({ stopRequested: true });
        expect(await repository.getStagedValue('out', 'k')).toBe(1); // the chunk itself still commits
        expect(await repository.updateStepExecution(step)).toEqual({ stopRequested: true });
        expect(step.version).toBe(3);
      });

      contractIt('any JSON value in a step context survives a chunk commit and the read-back (property)', async () => {
        const { job, step } = await startedStep();
        // '__proto__' keys are covered by their own case below.
        const value = fc.jsonValue().filter((v) => !hasProtoKey(v));
        await fc.assert(
          fc.asyncProperty(value, async (v) => {
            step.executionContext.put('value', v as JsonValue);
            await repository.commitChunk(step, [{ kind: 'put', store: 'json', key: 'value', value: v as JsonValue }]);
            const stored = (await repository.getStepExecution(job.id, step.id))!;
            expect(withoutNegativeZero(stored.executionContext.get('value'))).toEqual(withoutNegativeZero(v));
            expect(withoutNegativeZero(await repository.getStagedValue('json', 'value'))).toEqual(withoutNegativeZero(v));
          }),
          { numRuns: 40 },
        );
      });

      contractIt('refuses, at put, what UTF-8 storage would alter: unpaired UTF-16 surrogates and __proto__ keys', async () => {
        const { job, step } = await startedStep();
        const context = step.executionContext;
        for (const [key, value] of [
          ['text', 'a\ud800b'],
          ['key\udc00', 1],
          ['__proto__', 'top'],
          ['nested', JSON.parse('{"__proto__": {"offset": 1}, "plain": 2}') as JsonValue],
        ] as const) {
          expect(() => context.put(key, value), key).toThrowError(ExecutionContextValueError);
        }
        context.put('kept', 'a\ud83d\ude00b');
        await repository.commitChunk(step, []);
        const stored = (await (await reopened()).getStepExecution(job.id, step.id))!;
        expect(stored.executionContext.keys()).toEqual(['kept']);
        expect(stored.executionContext.get('kept')).toBe('a\ud83d\ude00b');
      });
    });

    describe('explorer queries', () => {
      contractIt('getJobNames lists every job that has an instance', async () => {
        expect(await repository.getJobNames()).toEqual([]);
        await launch('orders');
        await launch('invoices');
        await launch('audit.daily');
        await launch('orders', { date: '2024-01-02' });
        expect((await (await reopened()).getJobNames()).sort()).toEqual(['audit.daily', 'invoices', 'orders']);
      });

      contractIt('getJobNames lists a job whose name starts with a character outside the Basic Multilingual Plane', async () => {
        await launch('plain');
        await launch('📦 export');
        expect((await (await reopened()).getJobNames()).sort()).toEqual(['plain', '📦 export'].sort());
      });

      contractIt('getStagedValues lists a staged key that starts with a character outside the Basic Multilingual Plane', async () => {
        const job = await launch();
        const step = await repository.createStepExecution(job, 'load', new ExecutionContext());
        await repository.commitChunk(step, [
          { kind: 'put', store: 'users', key: 'alice', value: 1 },
          { kind: 'put', store: 'users', key: '😀 bob', value: 2 },
        ]);
        const repo = await reopened();
        expect(await repo.getStagedValue('users', '😀 bob')).toBe(2);
        expect(await repo.getStagedValues('users')).toEqual([
          { key: 'alice', value: 1 },
          { key: '😀 bob', value: 2 },
        ]);
      });

      contractIt('getJobInstances lists the instances of one job newest first, with paging', async () => {
        const first = await launch('orders', { n: 1 });
        const second = await launch('orders', { n: 2 });
        const third = await launch('orders', { n: 3 });
        await launch('invoices', { n: 1 });
        const repo = await reopened();
        expect(ids(await repo.getJobInstances('orders'))).toEqual([third.jobInstance.id, second.jobInstance.id, first.jobInstance.id]);
        expect(ids(await repo.getJobInstances('orders', 0, 2))).toEqual([third.jobInstance.id, second.jobInstance.id]);
        expect(ids(await repo.getJobInstances('orders', 1, 1))).toEqual([second.jobInstance.id]);
        expect(ids(await repo.getJobInstances('orders', 3, 5))).toEqual([]);
        expect(await repo.getJobInstances('invoices')).toHaveLength(1);
        expect(await repo.getJobInstances('missing')).toEqual([]);
        expect((await repo.getJobInstances('orders'))[0]).toEqual(third.jobInstance);
      });

      contractIt('getJobExecutions lists newest first and getLastJobExecution is the newest', async () => {
        const first = await store(await launch(), 'FAILED');
        const second = await store(await launch(), 'STOPPED');
        const third = await launch();
        const repo = await reopened();
        const executions = await repo.getJobExecutions(first.jobInstance.id);
        expect(ids(executions)).toEqual([third.id, second.id, first.id]);
        expect(executions.map((e) => e.status)).toEqual(['STARTING', 'STOPPED', 'FAILED']);
        expect((await repo.getLastJobExecution(first.jobInstance.id))?.id).toBe(third.id);
        expect(await repo.getJobExecutions(first.jobInstance.id + 100)).toEqual([]);
        expect(await repo.getLastJobExecution(first.jobInstance.id + 100)).toBeUndefined();
      });

      contractIt('findRunningJobExecutions returns the STARTING, STARTED and STOPPING executions of that job only', async () => {
        const starting = await launch('orders', { n: 1 });
        const started = await store(await launch('orders', { n: 2 }), 'STARTED');
        const stopping = await store(await launch('orders', { n: 3 }), 'STOPPING');
        for (const [n, status] of [[4, 'COMPLETED'], [5, 'FAILED'], [6, 'STOPPED'], [7, 'ABANDONED'], [8, 'UNKNOWN']] as const) {
          await store(await launch('orders', { n }), status);
        }
        const other = await store(await launch('invoices', { n: 1 }), 'STARTED');
        const repo = await reopened();
        const running = await repo.findRunningJobExecutions('orders');
        expect(ids(running).sort((a, b) => a - b)).toEqual([starting.id, started.id, stopping.id]);
        expect(ids(await repo.findRunningJobExecutions('invoices'))).toEqual([other.id]);
        expect(await repo.findRunningJobExecutions('missing')).toEqual([]);
      });

      contractIt('getStepExecution, getLastStepExecution and getStepExecutionCount span the executions of an instance', async () => {
        const first = await store(await launch(), 'STARTED');
        const load1 = await repository.createStepExecution(first, 'load', new ExecutionContext({ run: 1 }));
        const report = await repository.createStepExecution(first, 'report', new ExecutionContext());
        await store(first, 'FAILED');
        const second = await launch();
        const load2 = await repository.createStepExecution(second, 'load', new ExecutionContext({ run: 2 }));
        const instanceId = first.jobInstance.id;

        const repo = await reopened();
        expect((await repo.getStepExecution(first.id, load1.id))?.executionContext.get('run')).toBe(1);
        expect(await repo.getStepExecution(second.id, load1.id)).toBeUndefined();
        expect(await repo.getStepExecution(first.id, load2.id + 100)).toBeUndefined();
        const last = (await repo.getLastStepExecution(instanceId, 'load'))!;
        expect(last.id).toBe(load2.id);
        expect(last.jobExecutionId).toBe(second.id);
        expect(last.executionContext.get('run')).toBe(2);
        expect((await repo.getLastStepExecution(instanceId, 'report'))?.id).toBe(report.id);
        expect(await repo.getLastStepExecution(instanceId, 'missing')).toBeUndefined();
        expect(await repo.getStepExecutionCount(instanceId, 'load')).toBe(2);
        expect(await repo.getStepExecutionCount(instanceId, 'report')).toBe(1);
        expect(await repo.getStepExecutionCount(instanceId, 'missing')).toBe(0);
        expect(await repo.getStepExecutionCount(instanceId + 100, 'load')).toBe(0);
      });

      contractIt('getJobExecution includes its step executions in start order, with their counts and contexts', async () => {
        const job = await store(await launch(), 'STARTED');
        const load = await repository.createStepExecution(job, 'load', new ExecutionContext({ 'reader.read.count': 0 }));
        load.readCount = 10;
        load.writeCount = 10;
        load.commitCount = 1;
        load.executionContext.put('reader.read.count', 10);
        await repository.commitChunk(load, []);
        const report = await repository.createStepExecution(job, 'report', new ExecutionContext({ pages: 2 }));
        job.executionContext.put('job.key', 'v');
        await repository.updateJobExecution(job);

        const stored = (await (await reopened()).getJobExecution(job.id))!;
        expect(stored.executionContext.toJSON()).toEqual({ 'job.key': 'v' });
        expect(stored.stepExecutions.map((s) => [s.id, s.stepName])).toEqual([
          [load.id, 'load'],
          [report.id, 'report'],
        ]);
        expect(stored.stepExecutions[0]).toMatchObject({ readCount: 10, writeCount: 10, commitCount: 1, version: 1, jobName: 'orders' });
        expect(stored.stepExecutions[0]!.executionContext.toJSON()).toEqual({ 'reader.read.count': 10 });
        expect(stored.stepExecutions[1]!.executionContext.toJSON()).toEqual({ pages: 2 });
        expect(await repository.getJobExecution(job.id + 100)).toBeUndefined();
        expect(await repository.getJobInstance(job.jobInstance.id + 100)).toBeUndefined();
      });

      contractIt('returns copies: changing a query result changes nothing stored', async () => {
        const job = await launch();
        await repository.createStepExecution(job, 'load', new ExecutionContext({ a: 1 }));
        const copy = (await repository.getJobExecution(job.id))!;
        copy.status = 'FAILED';
        copy.executionContext.put('k', 1);
        copy.stepExecutions[0]!.readCount = 100;
        copy.stepExecutions[0]!.executionContext.put('a', 2);
        const again = (await repository.getJobExecution(job.id))!;
        expect(again.status).toBe('STARTING');
        expect(again.executionContext.has('k')).toBe(false);
        expect(again.stepExecutions[0]!.readCount).toBe(0);
        expect(again.stepExecutions[0]!.executionContext.get('a')).toBe(1);
      });
    });

    describe('state after a reopen', () => {
      contractIt('still enforces the launch checks and keeps ids increasing', async () => {
        const completed = await store(await launch('orders', { n: 1 }), 'COMPLETED');
        const running = await launch('orders', { n: 2 });
        const repo = await reopened();
        await rejection(
          repo.createJobExecution({ jobName: 'orders', parameters: JobParameters.of({ n: 1 }), restartable: true }),
          JobInstanceAlreadyCompleteError,
          'JOB_INSTANCE_ALREADY_COMPLETE',
        );
        await rejection(
          repo.createJobExecution({ jobName: 'orders', parameters: JobParameters.of({ n: 2 }), restartable: true }),
          JobExecutionAlreadyRunningError,
          'JOB_EXECUTION_ALREADY_RUNNING',
        );
        const next = await repo.createJobExecution({ jobName: 'orders', parameters: JobParameters.of({ n: 3 }), restartable: true });
        expect(next.id).toBeGreaterThan(Math.max(completed.id, running.id));
        expect(next.jobInstance.id).toBeGreaterThan(running.jobInstance.id);
        const step = await repo.createStepExecution(next, 'load', new ExecutionContext());
        expect(step.id).toBeGreaterThan(0);
        expect((await repo.getJobExecution(next.id))!.stepExecutions.map((s) => s.id)).toEqual([step.id]);
      });
    });
  });
}
