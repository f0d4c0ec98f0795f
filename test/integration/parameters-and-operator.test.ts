import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  BatchRuntime,
  ExitStatus,
  JobParameters,
  RepeatStatus,
  job,
  runIdIncrementer,
  step,
  type Job,
} from '../../src/index.js';
import { openLmdbJobRepository } from '../../src/testing.js';

let runtime: BatchRuntime;
afterEach(async () => {
  await runtime?.close();
});

async function open(): Promise<BatchRuntime> {
  runtime = await BatchRuntime.open({ inMemory: true, logger: false });
  return runtime;
}

const noop = () => step('noop').tasklet(() => RepeatStatus.FINISHED).build();

describe('job parameters validation', () => {
  it('refuses a launch without the required keys, naming them, and stores nothing', async () => {
    await open();
    const validated = job('validated').parameters({ required: ['file', 'date'], optional: ['limit'] }).start(noop()).build();
    await expect(runtime.launcher.run(validated, { file: 'a.csv' })).rejects.toMatchObject({
      code: 'JOB_PARAMETERS_INVALID',
      message: expect.stringContaining('required keys: date'),
    });
    expect(await runtime.explorer.getJobNames()).toEqual([]);
    const ok = await runtime.launcher.run(validated, { file: 'a.csv', date: '2024-01-01', limit: 3 });
    expect(ok.status).toBe('COMPLETED');
  });

  it('warns about keys that are neither required nor optional, without refusing them', async () => {
    const warnings: string[] = [];
    const logger = {
      trace() {},
      debug() {},
      info() {},
      error() {},
      fatal() {},
      warn(fields: object | string, message?: string) {
        warnings.push(typeof fields === 'string' ? fields : (message ?? ''));
      },
      child() {
        return logger;
      },
    };
    runtime = await BatchRuntime.open({ inMemory: true, logger });
    const validated = job('validated').parameters({ required: ['file'], optional: [] }).start(noop()).build();
    const execution = await runtime.launcher.run(validated, { file: 'a.csv', extra: 1 });
    expect(execution.status).toBe('COMPLETED');
    expect(warnings.some((w) => w.includes("'extra' is neither required nor optional"))).toBe(true);
  });

  it('checks values against a zod schema and reports every issue by field', async () => {
    await open();
    const schema = z.object({ file: z.string().endsWith('.csv'), limit: z.number().int().positive() });
    const validated = job('schema').parameters({ schema }).start(noop()).build();
    await expect(runtime.launcher.run(validated, { file: 'a.txt', limit: -1 })).rejects.toMatchObject({
      code: 'JOB_PARAMETERS_INVALID',
      message: expect.stringMatching(/file: .*limit: /),
    });
    expect((await runtime.launcher.run(validated, { file: 'a.csv', limit: 5 })).status).toBe('COMPLETED');
  });

  it('rejects a key that is both required and optional when the job is defined', () => {
    expect(() => job('bad').parameters({ required: ['a'], optional: ['a'] })).toThrowError(/both required and optional/);
  });
});

describe('incrementer and startNextInstance', () => {
  it('starts a new instance each time, with run.id 1, 2, 3 and the other parameters carried over', async () => {
    await open();
    const nightly = job('nightly').incrementer(runIdIncrementer()).start(noop()).build();
    runtime.registry.register(nightly);
    await runtime.launcher.run(nightly, { region: 'eu', 'run.id': 0 });
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) ids.push(await runtime.operator.startNextInstance('nightly'));
    const executions = await Promise.all(ids.map((id) => runtime.operator.waitFor(id)));
    expect(executions.map((e) => e.jobParameters.get('run.id'))).toEqual([1, 2, 3]);
    expect(executions.every((e) => e.jobParameters.get('region') === 'eu' && e.status === 'COMPLETED')).toBe(true);
    expect(new Set(executions.map((e) => e.jobInstance.id)).size).toBe(3);
  });

  it('starts at run.id 1 for a job that never ran, and refuses a job without an incrementer', async () => {
    await open();
    runtime.registry.register(job('first').incrementer(runIdIncrementer('seq')).start(noop()).build());
    runtime.registry.register(job('plain').start(noop()).build());
    const execution = await runtime.operator.waitFor(await runtime.operator.startNextInstance('first'));
    expect(execution.jobParameters.toRecord()).toEqual({ seq: 1 });
    await expect(runtime.operator.startNextInstance('plain')).rejects.toMatchObject({ code: 'JOB_PARAMETERS_INVALID' });
  });
});

describe('operator queries and recovery', () => {
  function slowJob(name: string, gate: Promise<void>): Job {
    return job(name)
      .start(
        step('wait')
          .tasklet(async () => {
            await gate;
            return RepeatStatus.FINISHED;
          })
          .build(),
      )
      .build();
  }

  it('lists running executions of a job and summarises an execution', async () => {
    await open();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    runtime.registry.register(slowJob('slow', gate));
    const id = await runtime.operator.start('slow', { n: 1 });
    expect((await runtime.operator.getRunningExecutions('slow')).map((e) => e.id)).toEqual([id]);
    await expect(runtime.operator.getRunningExecutions('missing')).rejects.toMatchObject({ code: 'NO_SUCH_JOB' });
    release();
    await runtime.operator.waitFor(id);
    expect(await runtime.operator.getRunningExecutions('slow')).toEqual([]);
    const summary = await runtime.operator.getSummary(id);
    expect(summary).toContain(`id=${id}`);
    expect(summary).toContain('status=COMPLETED');
    expect(summary).toContain('step=wait');
  });

  it('recovers an execution whose process is gone: FAILED, marked recovered, and restartable', async () => {
    // A dead owner's leftovers: an execution and its step stored as STARTED, run by nobody.
    const directory = mkdtempSync(join(tmpdir(), 'tsbatch-recover-'));
    const repository = openLmdbJobRepository(directory);
    const orphan = await repository.createJobExecution({ jobName: 'work', parameters: JobParameters.of({ day: 1 }), restartable: true });
    orphan.status = 'STARTED';
    await repository.updateJobExecution(orphan);
    const orphanStep = await repository.createStepExecution(orphan, 'only', orphan.executionContext.copy());
    orphanStep.status = 'STARTED';
    await repository.updateStepExecution(orphanStep);
    await repository.close();

    runtime = await BatchRuntime.open({ path: directory, logger: false });
    const work = job('work')
      .start(step('only').tasklet(() => RepeatStatus.FINISHED).build())
      .build();
    runtime.registry.register(work);
    await expect(runtime.launcher.run(work, { day: 1 })).rejects.toMatchObject({ code: 'JOB_EXECUTION_ALREADY_RUNNING' });
    const recovered = await runtime.operator.recover(orphan.id);
    expect(recovered.status).toBe('FAILED');
    expect(recovered.endTime).toBeInstanceOf(Date);
    expect(recovered.executionContext.get('batch.recovered')).toBe(true);
    expect(recovered.stepExecutions[0]).toMatchObject({ status: 'FAILED' });
    expect(recovered.stepExecutions[0]!.exitStatus.exitCode).toBe(ExitStatus.FAILED.exitCode);

    const restarted = await runtime.operator.waitFor(await runtime.operator.restart(orphan.id));
    expect(restarted.status).toBe('COMPLETED');
    expect(restarted.jobInstance.id).toBe(orphan.jobInstance.id);
    await runtime.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('refuses to recover an execution this runtime is running, and leaves a COMPLETED one alone', async () => {
    await open();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    runtime.registry.register(slowJob('slow', gate));
    const id = await runtime.operator.start('slow');
    await expect(runtime.operator.recover(id)).rejects.toMatchObject({ code: 'JOB_EXECUTION_ALREADY_RUNNING' });
    release();
    await runtime.operator.waitFor(id);
    expect((await runtime.operator.recover(id)).status).toBe('COMPLETED');
  });
});
