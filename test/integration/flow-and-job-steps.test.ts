import { afterEach, describe, expect, it } from 'vitest';
import { BatchRuntime, RepeatStatus, flow, flowStep, job, jobStep, JobParameters, step, type Step } from '../../src/index.js';

let runtime: BatchRuntime;
afterEach(async () => {
  await runtime?.close();
});

function recording(name: string, log: string[], fail?: () => boolean): Step {
  return step(name)
    .tasklet(() => {
      log.push(name);
      if (fail?.()) throw new Error(`${name} failed`);
      return RepeatStatus.FINISHED;
    })
    .build();
}

describe('a step that runs a flow', () => {
  it('runs the flow inside the same job execution, each inner step with its own step execution', async () => {
    runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    const log: string[] = [];
    const inner = flow('inner').start(recording('in1', log)).next(recording('in2', log)).build();
    const outer = job('outer').start(recording('before', log)).next(flowStep('runInner', inner)).next(recording('after', log)).build();
    const execution = await runtime.launcher.run(outer);
    expect(execution.status).toBe('COMPLETED');
    expect(log).toEqual(['before', 'in1', 'in2', 'after']);
    expect(execution.stepExecutions.map((s) => `${s.stepName}:${s.status}`)).toEqual([
      'before:COMPLETED',
      'runInner:COMPLETED',
      'in1:COMPLETED',
      'in2:COMPLETED',
      'after:COMPLETED',
    ]);
  });

  it('fails when its flow fails, and a restart resumes inside the flow', async () => {
    runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    const log: string[] = [];
    let failing = true;
    const inner = flow('inner').start(recording('in1', log)).next(recording('in2', log, () => failing)).build();
    const outer = job('outer').start(flowStep('runInner', inner)).next(recording('after', log)).build();
    const first = await runtime.launcher.run(outer);
    expect(first.status).toBe('FAILED');
    expect(first.stepExecutions.find((s) => s.stepName === 'runInner')!.status).toBe('FAILED');
    failing = false;
    log.length = 0;
    const second = await runtime.launcher.run(outer);
    expect(second.status).toBe('COMPLETED');
    expect(log).toEqual(['in2', 'after']);
  });
});

describe('a step that runs a job', () => {
  it('launches the child job with parameters from the parent and takes its outcome', async () => {
    runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    const log: string[] = [];
    const child = job('child').start(recording('childStep', log)).build();
    const parent = job('parent')
      .start(jobStep('runChild', child, { parameters: (s) => JobParameters.of({ day: String(s.jobParameters.get('day')) }) }))
      .next(recording('parentAfter', log))
      .build();
    const execution = await runtime.launcher.run(parent, { day: '2024-01-01' });
    expect(execution.status).toBe('COMPLETED');
    expect(log).toEqual(['childStep', 'parentAfter']);
    const [childInstance] = await runtime.explorer.getJobInstances('child');
    const childExecution = (await runtime.explorer.getLastJobExecution(childInstance!.id))!;
    expect(childExecution.status).toBe('COMPLETED');
    expect(childExecution.jobParameters.get('day')).toBe('2024-01-01');
  });

  it('fails when the child fails, and a restart restarts the same child instance', async () => {
    runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    const log: string[] = [];
    let failing = true;
    const child = job('child').start(recording('ok', log)).next(recording('flaky', log, () => failing)).build();
    const parent = job('parent').start(jobStep('runChild', child)).build();
    const first = await runtime.launcher.run(parent, { run: 1 });
    expect(first.status).toBe('FAILED');
    expect(first.stepExecutions[0]!.exitStatus.exitDescription).toContain("Child job 'child'");
    failing = false;
    log.length = 0;
    const second = await runtime.launcher.run(parent, { run: 1 });
    expect(second.status).toBe('COMPLETED');
    expect(log).toEqual(['flaky']);
    const instances = await runtime.explorer.getJobInstances('child');
    expect(instances).toHaveLength(1);
    expect((await runtime.explorer.getJobExecutions(instances[0]!.id)).map((e) => e.status)).toEqual(['COMPLETED', 'FAILED']);
  });
});
