/**
 * Restart across runtimes on one LMDB store, the launch checks a user runs into through the
 * runtime, restart rules of steps, and stopping a running job.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BatchRuntime,
  JobParameters,
  RepeatStatus,
  job,
  step,
  type ExecutionContext,
  type ItemReader,
  type ItemStream,
  type ItemWriter,
  type Job,
  type JobParameterInput,
} from '../../src/index.js';

// ---- helpers --------------------------------------------------------------------------------

const POSITION_KEY = 'numbers.position';

/** Reads 1..total() and restarts at its committed position; `onRead` may throw to fail a read. */
class NumberReader implements ItemReader<number>, ItemStream {
  private position = 0;
  constructor(
    private readonly total: () => number,
    private readonly onRead?: (item: number) => void,
  ) {}
  open(context: ExecutionContext): void {
    this.position = context.get<number>(POSITION_KEY) ?? 0;
  }
  read(): number | null {
    if (this.position >= this.total()) return null;
    const item = this.position + 1;
    this.onRead?.(item);
    this.position = item;
    return item;
  }
  update(context: ExecutionContext): void {
    context.put(POSITION_KEY, this.position);
  }
}

const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
const pad = (n: number): string => String(n).padStart(10, '0');

/** Stages every item into the chunk's commit under a key unique to (chunk sequence, index). */
function stagingWriter(options: { failWhen?: (items: readonly number[]) => boolean; delayMs?: () => number } = {}): ItemWriter<number> {
  return {
    async write(chunk, transaction) {
      const sequence = Number(transaction.chunkKey.split('/').pop());
      chunk.items.forEach((item, index) => transaction.put('out', `${pad(sequence)}/${pad(index)}`, item));
      if (options.failWhen?.(chunk.items)) throw new Error(`cannot write chunk ${chunk.items.join(',')}`);
      const delay = options.delayMs?.() ?? 0;
      if (delay > 0) await sleep(delay);
    },
  };
}

async function stagedOutput(runtime: BatchRuntime): Promise<number[]> {
  return (await runtime.explorer.getStagedValues('out')).map(({ value }) => value as number);
}

const openRuntimes = new Set<BatchRuntime>();
const directories: string[] = [];

function newDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), 'tsbatch-reopen-'));
  directories.push(directory);
  return directory;
}

async function openRuntime(directory = newDirectory()): Promise<BatchRuntime> {
  const runtime = await BatchRuntime.open({ path: directory, logger: false });
  openRuntimes.add(runtime);
  return runtime;
}

async function closeRuntime(runtime: BatchRuntime): Promise<void> {
  openRuntimes.delete(runtime);
  await runtime.close();
}

afterEach(async () => {
  for (const runtime of [...openRuntimes]) await closeRuntime(runtime);
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

/** A tiny job with one tasklet step whose outcome the test controls. */
function taskletJob(name: string, outcome: { fail: boolean }, configure: (b: ReturnType<typeof job>) => ReturnType<typeof job> = (b) => b): Job {
  const work = step(`${name}.work`)
    .tasklet(() => {
      if (outcome.fail) throw new Error(`${name} failed on purpose`);
      return RepeatStatus.FINISHED;
    })
    .build();
  return configure(job(name)).start(work).build();
}

// ---- restart in a new runtime ------------------------------------------------------------------

describe('restart from a new runtime on the same LMDB store', () => {
  it('run 1 fails; a new runtime on the same directory restarts it by execution id and resumes at the last commit', async () => {
    const directory = newDirectory();
    let failing = true;
    const firstReads: number[] = [];
    const buildJob = () =>
      job('reopenJob')
        .start(
          step('load')
            .chunk<number, number>(5)
            .reader(() => {
              let first = true;
              return new NumberReader(
                () => 40,
                (item) => {
                  if (first) firstReads.push(item);
                  first = false;
                },
              );
            })
            .writer(() => stagingWriter({ failWhen: (items) => failing && items.includes(23) }))
            .build(),
        )
        .build();

    const runtime1 = await openRuntime(directory);
    runtime1.registry.register(buildJob());
    const firstId = await runtime1.operator.start('reopenJob', { file: 'in.csv' });
    const first = await runtime1.operator.waitFor(firstId);
    expect(first.status).toBe('FAILED');
    expect(first.stepExecutions[0]).toMatchObject({ readCount: 25, writeCount: 20, commitCount: 4, rollbackCount: 1 });
    await closeRuntime(runtime1);
    expect(runtime1.state).toBe('CLOSED');

    failing = false;
    const runtime2 = await openRuntime(directory);
    // Everything run 1 committed is in the store the new runtime opened.
    const stored = await runtime2.explorer.getJobExecution(firstId);
    expect(stored?.status).toBe('FAILED');
    expect(stored?.stepExecutions[0]?.executionContext.get(POSITION_KEY)).toBe(20);
    expect(await stagedOutput(runtime2)).toEqual(range(1, 20));

    runtime2.registry.register(buildJob());
    const secondId = await runtime2.operator.restart(firstId);
    const second = await runtime2.operator.waitFor(secondId);
    expect(second.status).toBe('COMPLETED');
    expect(second.jobInstance.id).toBe(first.jobInstance.id);
    expect(firstReads).toEqual([1, 21]);
    expect(second.stepExecutions[0]).toMatchObject({ readCount: 20, writeCount: 20, commitCount: 4, rollbackCount: 0 });
    expect(await stagedOutput(runtime2)).toEqual(range(1, 40));
    const executions = await runtime2.explorer.getJobExecutions(first.jobInstance.id);
    expect(executions.map((e) => [e.id, e.status])).toEqual([
      [secondId, 'COMPLETED'],
      [firstId, 'FAILED'],
    ]);
  });
});

// ---- launch checks ------------------------------------------------------------------------------

describe('launch checks through the runtime', () => {
  it('launching the same job and parameters after COMPLETED fails with JobInstanceAlreadyCompleteError', async () => {
    const runtime = await openRuntime();
    const done = taskletJob('onceJob', { fail: false });
    runtime.registry.register(done);
    const execution = await runtime.launcher.run(done, { day: '2024-01-01' });
    expect(execution.status).toBe('COMPLETED');
    await expect(runtime.launcher.run(done, { day: '2024-01-01' })).rejects.toMatchObject({
      name: 'JobInstanceAlreadyCompleteError',
      code: 'JOB_INSTANCE_ALREADY_COMPLETE',
      status: 'COMPLETED',
    });
    await expect(runtime.operator.start('onceJob', { day: '2024-01-01' })).rejects.toMatchObject({ code: 'JOB_INSTANCE_ALREADY_COMPLETE' });
    await expect(runtime.operator.restart(execution.id)).rejects.toMatchObject({ code: 'JOB_INSTANCE_ALREADY_COMPLETE' });
    // Other identifying parameters are another instance; a non-identifying one does not make one.
    expect((await runtime.launcher.run(done, { day: '2024-01-02' })).status).toBe('COMPLETED');
    await expect(runtime.launcher.run(done, { day: '2024-01-01', note: { value: 'x', identifying: false } })).rejects.toMatchObject({
      code: 'JOB_INSTANCE_ALREADY_COMPLETE',
    });
    expect(await runtime.explorer.getJobInstances('onceJob')).toHaveLength(2);
  });

  it('after abandon, launching the instance again fails with the same error, status ABANDONED', async () => {
    const runtime = await openRuntime();
    const outcome = { fail: true };
    const flaky = taskletJob('abandonJob', outcome);
    runtime.registry.register(flaky);
    const failed = await runtime.launcher.run(flaky, { day: 1 });
    expect(failed.status).toBe('FAILED');
    const abandoned = await runtime.operator.abandon(failed.id);
    expect(abandoned.status).toBe('ABANDONED');
    expect((await runtime.explorer.getJobExecution(failed.id))?.status).toBe('ABANDONED');
    outcome.fail = false;
    await expect(runtime.operator.restart(failed.id)).rejects.toMatchObject({
      name: 'JobInstanceAlreadyCompleteError',
      code: 'JOB_INSTANCE_ALREADY_COMPLETE',
      status: 'ABANDONED',
    });
    await expect(runtime.launcher.run(flaky, { day: 1 })).rejects.toMatchObject({ code: 'JOB_INSTANCE_ALREADY_COMPLETE', status: 'ABANDONED' });
    expect(await runtime.explorer.getJobExecutions(failed.jobInstance.id)).toHaveLength(1);
  });

  it("operator.start('nope') fails with NoSuchJobError listing the known job names", async () => {
    const runtime = await openRuntime();
    runtime.registry.register(taskletJob('beta', { fail: false }));
    runtime.registry.register(taskletJob('alpha', { fail: false }));
    const error = await runtime.operator.start('nope').catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'NoSuchJobError', code: 'NO_SUCH_JOB', jobName: 'nope', knownJobNames: ['alpha', 'beta'] });
    expect((error as Error).message).toContain("'alpha', 'beta'");
    expect(await runtime.explorer.getJobNames()).toEqual([]);
  });

  it('operator.restart(999999) fails with NoSuchJobExecutionError', async () => {
    const runtime = await openRuntime();
    await expect(runtime.operator.restart(999_999)).rejects.toMatchObject({
      name: 'NoSuchJobExecutionError',
      code: 'NO_SUCH_JOB_EXECUTION',
      executionId: 999_999,
    });
  });

  it('parameters of an unsupported type fail with JobParametersInvalidError and store nothing', async () => {
    const runtime = await openRuntime();
    const plain = taskletJob('paramsJob', { fail: false });
    runtime.registry.register(plain);
    const invalid: Array<Record<string, unknown>> = [{ when: null }, { big: 10n }, { list: [1, 2] }, { nan: Number.NaN }, { bad: new Date('nope') }];
    for (const parameters of invalid) {
      const asInput = parameters as Record<string, JobParameterInput>;
      await expect(runtime.launcher.run(plain, asInput)).rejects.toMatchObject({ name: 'JobParametersInvalidError', code: 'JOB_PARAMETERS_INVALID' });
      await expect(runtime.operator.start('paramsJob', asInput)).rejects.toMatchObject({ code: 'JOB_PARAMETERS_INVALID' });
    }
    expect(await runtime.explorer.getJobNames()).toEqual([]);
  });

  it('a job validator that throws refuses the launch with JobParametersInvalidError; no instance is stored', async () => {
    const runtime = await openRuntime();
    let ran = false;
    const validated = job('validatedJob')
      .validator((parameters) => {
        if (!parameters.has('file')) throw new Error("the parameter 'file' is required");
      })
      .start(
        step('work')
          .tasklet(() => {
            ran = true;
            return RepeatStatus.FINISHED;
          })
          .build(),
      )
      .build();
    runtime.registry.register(validated);
    const error = await runtime.launcher.run(validated, { day: 1 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'JobParametersInvalidError', code: 'JOB_PARAMETERS_INVALID', jobName: 'validatedJob' });
    expect((error as Error).message).toContain("the parameter 'file' is required");
    await expect(runtime.operator.start('validatedJob', { day: 1 })).rejects.toMatchObject({ code: 'JOB_PARAMETERS_INVALID' });
    expect(ran).toBe(false);
    expect(await runtime.explorer.getJobNames()).not.toContain('validatedJob');
    expect(await runtime.explorer.getJobInstances('validatedJob')).toEqual([]);
    // Valid parameters pass.
    expect((await runtime.launcher.run(validated, { file: 'in.csv' })).status).toBe('COMPLETED');
    expect(await runtime.explorer.getJobNames()).toEqual(['validatedJob']);
  });

  it('a preventRestart() job launched again after FAILED fails with JobRestartError', async () => {
    const runtime = await openRuntime();
    const outcome = { fail: true };
    const once = taskletJob('noRestartJob', outcome, (b) => b.preventRestart());
    expect(once.restartable).toBe(false);
    runtime.registry.register(once);
    const failed = await runtime.launcher.run(once, { day: 1 });
    expect(failed.status).toBe('FAILED');
    outcome.fail = false;
    await expect(runtime.launcher.run(once, { day: 1 })).rejects.toMatchObject({ name: 'JobRestartError', code: 'JOB_RESTART' });
    await expect(runtime.operator.restart(failed.id)).rejects.toMatchObject({ code: 'JOB_RESTART' });
    expect(await runtime.explorer.getJobExecutions(failed.jobInstance.id)).toHaveLength(1);
  });
});

// ---- step restart rules ----------------------------------------------------------------------

describe('step restart rules', () => {
  it('a step with startLimit(1) is not started again: the restarted job is FAILED naming the step', async () => {
    const runtime = await openRuntime();
    let fail = true;
    let starts = 0;
    const limited = job('startLimitJob')
      .start(
        step('limitedStep')
          .tasklet(() => {
            starts += 1;
            if (fail) throw new Error('first attempt fails');
            return RepeatStatus.FINISHED;
          })
          .startLimit(1)
          .build(),
      )
      .build();
    runtime.registry.register(limited);
    const first = await runtime.launcher.run(limited, { day: 1 });
    expect(first.status).toBe('FAILED');
    fail = false;
    const second = await runtime.operator.waitFor(await runtime.operator.restart(first.id));
    expect(second.status).toBe('FAILED');
    expect(second.exitStatus.exitCode).toBe('FAILED');
    expect(second.exitStatus.exitDescription).toContain('limitedStep');
    expect(second.exitStatus.exitDescription).toContain('StartLimitExceededError');
    expect(second.stepExecutions).toHaveLength(0);
    expect(starts).toBe(1);
  });

  for (const allow of [false, true]) {
    it(`a completed first step is ${allow ? 'run again' : 'skipped'} on restart with allowStartIfComplete(${allow})`, async () => {
      const runtime = await openRuntime();
      const runs: string[] = [];
      let failSecond = true;
      let first = step('first').tasklet(() => {
        runs.push('first');
        return RepeatStatus.FINISHED;
      });
      if (allow) first = first.allowStartIfComplete(true);
      const second = step('second').tasklet(() => {
        runs.push('second');
        if (failSecond) throw new Error('second fails');
        return RepeatStatus.FINISHED;
      });
      const twoSteps = job(`twoSteps-${allow}`).start(first.build()).next(second.build()).build();
      runtime.registry.register(twoSteps);

      const run1 = await runtime.launcher.run(twoSteps, { day: 1 });
      expect(run1.status).toBe('FAILED');
      expect(run1.stepExecutions.map((s) => `${s.stepName}:${s.status}`)).toEqual(['first:COMPLETED', 'second:FAILED']);

      failSecond = false;
      const run2 = await runtime.operator.waitFor(await runtime.operator.restart(run1.id));
      expect(run2.status).toBe('COMPLETED');
      expect(run2.stepExecutions.map((s) => s.stepName)).toEqual(allow ? ['first', 'second'] : ['second']);
      expect(runs).toEqual(allow ? ['first', 'second', 'first', 'second'] : ['first', 'second', 'second']);
    });
  }

  it('putting a Date into the execution context inside a tasklet fails the step with ExecutionContextValueError', async () => {
    const runtime = await openRuntime();
    const dated = job('dateContextJob')
      .start(
        step('putsDate')
          .tasklet((_, context) => {
            // A Date would not survive JSON; the put itself refuses it.
            context.stepContext.put('when', new Date() as unknown as string);
            return RepeatStatus.FINISHED;
          })
          .build(),
      )
      .build();
    const execution = await runtime.launcher.run(dated);
    expect(execution.status).toBe('FAILED');
    const s = execution.stepExecutions[0]!;
    expect(s.status).toBe('FAILED');
    expect(s.exitStatus.exitCode).toBe('FAILED');
    expect(s.exitStatus.exitDescription).toContain('ExecutionContextValueError');
    expect(s.exitStatus.exitDescription).toContain("'when'");
    expect(s.commitCount).toBe(0);
    expect(s.rollbackCount).toBe(1);
    const stored = await runtime.explorer.getJobExecution(execution.id);
    expect(stored?.stepExecutions[0]?.exitStatus.exitDescription).toContain('ExecutionContextValueError');
    expect(stored?.stepExecutions[0]?.executionContext.has('when')).toBe(false);
  });
});

// ---- stop ----------------------------------------------------------------------------------------

describe('stopping a running job', () => {
  it('stop: STOPPING at once, STOPPED at the next chunk boundary; the restart resumes right after the last commit', async () => {
    const runtime = await openRuntime();
    let total = 1_000_000;
    let delayMs = 1;
    const firstReads: number[] = [];
    const longJob = job('longJob')
      .start(
        step('long')
          .chunk<number, number>(10)
          .reader(() => {
            let first = true;
            return new NumberReader(
              () => total,
              (item) => {
                if (first) firstReads.push(item);
                first = false;
              },
            );
          })
          .writer(() => stagingWriter({ delayMs: () => delayMs }))
          .build(),
      )
      .build();
    runtime.registry.register(longJob);

    const id = await runtime.operator.start('longJob', { run: 1 });
    expect(runtime.operator.runningExecutionIds()).toContain(id);
    // Let a few chunks commit.
    for (let i = 0; i < 500; i++) {
      const seen = await runtime.explorer.getJobExecution(id);
      if ((seen?.stepExecutions[0]?.commitCount ?? 0) >= 5) break;
      await sleep(5);
    }
    await runtime.operator.stop(id);
    expect((await runtime.explorer.getJobExecution(id))?.status).toBe('STOPPING');
    // A second stop request while STOPPING is not an error.
    await runtime.operator.stop(id);

    const stopped = await runtime.operator.waitFor(id);
    expect(stopped.status).toBe('STOPPED');
    expect(stopped.exitStatus.exitCode).toBe('STOPPED');
    expect((await runtime.explorer.getJobExecution(id))?.exitStatus.exitCode).toBe('STOPPED');
    const stoppedStep = stopped.stepExecutions[0]!;
    expect(stoppedStep.status).toBe('STOPPED');
    expect(stoppedStep.exitStatus.exitCode).toBe('STOPPED');
    const committed = stoppedStep.commitCount * 10;
    expect(stoppedStep.commitCount).toBeGreaterThanOrEqual(5);
    expect(committed).toBeLessThan(1_000_000);
    expect(stoppedStep.writeCount).toBe(committed);
    expect(stoppedStep.readCount).toBe(committed);
    expect(stoppedStep.executionContext.get(POSITION_KEY)).toBe(committed);
    expect(await stagedOutput(runtime)).toEqual(range(1, committed));
    expect(runtime.operator.runningExecutionIds()).not.toContain(id);

    // Stopping or abandoning in the wrong status is refused.
    await expect(runtime.operator.stop(id)).rejects.toMatchObject({ name: 'JobExecutionNotRunningError', code: 'JOB_EXECUTION_NOT_RUNNING' });

    // The restart resumes right after the last committed item. To keep the test short, the input
    // now ends 35 items after that point and the writer no longer sleeps.
    total = committed + 35;
    delayMs = 0;
    const restarted = await runtime.operator.waitFor(await runtime.operator.restart(id));
    expect(restarted.status).toBe('COMPLETED');
    expect(firstReads).toEqual([1, committed + 1]);
    expect(restarted.stepExecutions[0]).toMatchObject({ readCount: 35, writeCount: 35, commitCount: 4, rollbackCount: 0 });
    expect(await stagedOutput(runtime)).toEqual(range(1, committed + 35));
  });

  it('stopping an ended execution fails with JobExecutionNotRunningError; abandoning a COMPLETED one with IllegalStatusTransitionError', async () => {
    const runtime = await openRuntime();
    const quick = taskletJob('quickJob', { fail: false });
    runtime.registry.register(quick);
    const done = await runtime.launcher.run(quick);
    expect(done.status).toBe('COMPLETED');
    await expect(runtime.operator.stop(done.id)).rejects.toMatchObject({
      name: 'JobExecutionNotRunningError',
      code: 'JOB_EXECUTION_NOT_RUNNING',
      status: 'COMPLETED',
    });
    await expect(runtime.operator.abandon(done.id)).rejects.toMatchObject({
      name: 'IllegalStatusTransitionError',
      code: 'ILLEGAL_STATUS_TRANSITION',
      from: 'COMPLETED',
    });
    expect((await runtime.explorer.getJobExecution(done.id))?.status).toBe('COMPLETED');
    await expect(runtime.operator.stop(424_242)).rejects.toMatchObject({ code: 'NO_SUCH_JOB_EXECUTION' });
  });
});
