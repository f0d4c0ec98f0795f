/**
 * The flow DSL as a user meets it (reference §4 and §2.3): conditional transitions, Spring's
 * dangling-state defaults, FlowBuilder `next` semantics, deciders, end/stop/fail/stopAndRestart
 * end states, splits, nested flows, loops, and restarts that replay a flow from its start.
 *
 * Every scenario records which steps ran and asserts the job's status, exit code and step
 * executions, both on the returned JobExecution and as stored in the repository.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BatchRuntime,
  ExitStatus,
  InvalidConfigurationError,
  JobInstanceAlreadyCompleteError,
  RepeatStatus,
  decision,
  flow,
  job,
  step,
  type BatchStatus,
  type ChunkContext,
  type JobExecution,
  type Step,
  type StepExecution,
} from '../../src/index.js';

// ---- helpers --------------------------------------------------------------------------------

interface StepBehaviour {
  /** Throw on this start of the step (1-based, counted over the whole test) when it returns true. */
  readonly fail?: (attempt: number) => boolean;
  /** A custom exit code, set by the tasklet on its contribution. */
  readonly exit?: string;
  /** A custom exit code returned by an afterStep listener. */
  readonly listenerExit?: string;
  readonly allowStartIfComplete?: boolean;
  readonly startLimit?: number;
  /** Runs inside the tasklet, before it fails or finishes. */
  readonly work?: (chunkContext: ChunkContext) => Promise<void> | void;
}

/** Builds tasklet steps that record, in order, every time they run. */
class Recorder {
  readonly ran: string[] = [];
  private readonly attempts = new Map<string, number>();

  step(name: string, behaviour: StepBehaviour = {}): Step {
    let builder = step(name).tasklet(async (contribution, chunkContext) => {
      const attempt = (this.attempts.get(name) ?? 0) + 1;
      this.attempts.set(name, attempt);
      this.ran.push(name);
      await behaviour.work?.(chunkContext);
      if (behaviour.fail?.(attempt)) throw new Error(`${name} failed on attempt ${attempt}`);
      if (behaviour.exit !== undefined) contribution.exitStatus = ExitStatus.of(behaviour.exit);
      return RepeatStatus.FINISHED;
    });
    if (behaviour.allowStartIfComplete) builder = builder.allowStartIfComplete(true);
    if (behaviour.startLimit !== undefined) builder = builder.startLimit(behaviour.startLimit);
    const listenerExit = behaviour.listenerExit;
    if (listenerExit !== undefined) builder = builder.listener({ afterStep: () => ExitStatus.of(listenerExit) });
    return builder.build();
  }

  /** The steps that ran since the last call. */
  take(): string[] {
    return this.ran.splice(0);
  }
}

const summarize = (stepExecutions: readonly StepExecution[]): string[] =>
  stepExecutions.map((s) => `${s.stepName}:${s.status}:${s.exitStatus.exitCode}`);

interface Expected {
  readonly status: BatchStatus;
  readonly exitCode: string;
  /** `name:status:exitCode` of each step execution of this JobExecution, in start order. */
  readonly steps: readonly string[];
  /** Compare the step executions as a set (steps of flows that run side by side). */
  readonly unordered?: boolean;
}

/** Asserts the execution as returned by the launcher and as stored in the repository. */
async function expectExecution(runtime: BatchRuntime, execution: JobExecution, expected: Expected): Promise<void> {
  const order = (list: string[]) => (expected.unordered ? [...list].sort() : list);
  const steps = order([...expected.steps]);
  expect(execution.status).toBe(expected.status);
  expect(execution.exitStatus.exitCode).toBe(expected.exitCode);
  expect(order(summarize(execution.stepExecutions))).toEqual(steps);
  const stored = await runtime.explorer.getJobExecution(execution.id);
  expect(stored, `execution ${execution.id} is stored`).toBeDefined();
  expect(stored!.status).toBe(expected.status);
  expect(stored!.exitStatus.exitCode).toBe(expected.exitCode);
  expect(order(summarize(stored!.stepExecutions))).toEqual(steps);
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Rejects when `promise` has not settled within `ms`. */
async function within(promise: Promise<void>, ms: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

let runtime: BatchRuntime;
let rec: Recorder;

beforeEach(async () => {
  runtime = await BatchRuntime.open({ inMemory: true, logger: false });
  rec = new Recorder();
});

afterEach(async () => {
  await runtime.close();
});

// ---- conditional transitions ----------------------------------------------------------------

describe('conditional transitions', () => {
  const seedJob = (aFails: boolean) => {
    const A = rec.step('A', { fail: () => aFails });
    const B = rec.step('B');
    const C = rec.step('C');
    return job('seed').start(A).on('*').to(B).from(A).on('FAILED').to(C).end().build();
  };

  it('seed: A completing goes to B through on("*")', async () => {
    const execution = await runtime.launcher.run(seedJob(false));
    expect(rec.take()).toEqual(['A', 'B']);
    await expectExecution(runtime, execution, {
      status: 'COMPLETED',
      exitCode: 'COMPLETED',
      steps: ['A:COMPLETED:COMPLETED', 'B:COMPLETED:COMPLETED'],
    });
  });

  it('seed: A failing goes to C, and the job COMPLETES although A stays FAILED', async () => {
    const seed = seedJob(true);
    const execution = await runtime.launcher.run(seed);
    expect(rec.take()).toEqual(['A', 'C']);
    await expectExecution(runtime, execution, {
      status: 'COMPLETED',
      exitCode: 'COMPLETED',
      steps: ['A:FAILED:FAILED', 'C:COMPLETED:COMPLETED'],
    });
    // The instance is COMPLETED: it cannot run again.
    await expect(runtime.launcher.run(seed)).rejects.toBeInstanceOf(JobInstanceAlreadyCompleteError);
    expect(rec.take()).toEqual([]);
  });

  it('start(a).on("FAILED").to(b): a COMPLETED ends the job COMPLETED through the dangling default * -> COMPLETED', async () => {
    const a = rec.step('a');
    const b = rec.step('b');
    const execution = await runtime.launcher.run(job('dangling').start(a).on('FAILED').to(b).end().build());
    expect(rec.take()).toEqual(['a']);
    await expectExecution(runtime, execution, { status: 'COMPLETED', exitCode: 'COMPLETED', steps: ['a:COMPLETED:COMPLETED'] });
  });

  it('start(a).on("FAILED").to(b): a FAILED goes to b, and the job COMPLETES', async () => {
    const a = rec.step('a', { fail: () => true });
    const b = rec.step('b');
    const execution = await runtime.launcher.run(job('dangling').start(a).on('FAILED').to(b).end().build());
    expect(rec.take()).toEqual(['a', 'b']);
    await expectExecution(runtime, execution, {
      status: 'COMPLETED',
      exitCode: 'COMPLETED',
      steps: ['a:FAILED:FAILED', 'b:COMPLETED:COMPLETED'],
    });
  });

  it('a state that is only a target fails the job when it fails (dangling default * -> FAILED)', async () => {
    const a = rec.step('a');
    const b = rec.step('b', { fail: () => true });
    const execution = await runtime.launcher.run(job('target-only').start(a).on('*').to(b).build());
    expect(rec.take()).toEqual(['a', 'b']);
    await expectExecution(runtime, execution, { status: 'FAILED', exitCode: 'FAILED', steps: ['a:COMPLETED:COMPLETED', 'b:FAILED:FAILED'] });
  });

  it('start(step1).next(step2).on("FAILED").to(step3): step2 COMPLETED ends the job COMPLETED with 2 step executions', async () => {
    const step1 = rec.step('step1');
    const step2 = rec.step('step2');
    const step3 = rec.step('step3');
    const execution = await runtime.launcher.run(job('two-steps').start(step1).next(step2).on('FAILED').to(step3).end().build());
    expect(rec.take()).toEqual(['step1', 'step2']);
    await expectExecution(runtime, execution, {
      status: 'COMPLETED',
      exitCode: 'COMPLETED',
      steps: ['step1:COMPLETED:COMPLETED', 'step2:COMPLETED:COMPLETED'],
    });
  });

  it('start(step1).next(step2).on("FAILED").to(step3): step2 FAILED goes on to step3', async () => {
    const step1 = rec.step('step1');
    const step2 = rec.step('step2', { fail: () => true });
    const step3 = rec.step('step3');
    const execution = await runtime.launcher.run(job('two-steps').start(step1).next(step2).on('FAILED').to(step3).end().build());
    expect(rec.take()).toEqual(['step1', 'step2', 'step3']);
    await expectExecution(runtime, execution, {
      status: 'COMPLETED',
      exitCode: 'COMPLETED',
      steps: ['step1:COMPLETED:COMPLETED', 'step2:FAILED:FAILED', 'step3:COMPLETED:COMPLETED'],
    });
  });

  it('takes the most specific matching transition, whatever the order they were declared in', async () => {
    const build = (order: 'specific-first' | 'generic-first') => {
      const A = rec.step('A', { exit: 'COMPLETED WITH SKIPS' });
      const exact = rec.step('exact');
      const prefix = rec.step('prefix');
      const any = rec.step('any');
      const b = job(`specificity-${order}`).start(A);
      return order === 'specific-first'
        ? b.on('COMPLETED WITH SKIPS').to(exact).from(A).on('COMPLETED*').to(prefix).from(A).on('*').to(any).build()
        : b.on('*').to(any).from(A).on('COMPLETED*').to(prefix).from(A).on('COMPLETED WITH SKIPS').to(exact).build();
    };
    for (const order of ['specific-first', 'generic-first'] as const) {
      const execution = await runtime.launcher.run(build(order));
      expect(rec.take()).toEqual(['A', 'exact']);
      await expectExecution(runtime, execution, {
        status: 'COMPLETED',
        exitCode: 'COMPLETED',
        steps: ['A:COMPLETED:COMPLETED WITH SKIPS', 'exact:COMPLETED:COMPLETED'],
      });
    }
  });

  it('routes by ? and * patterns on a custom exit code', async () => {
    const A = rec.step('A', { exit: 'CODE_42' });
    const digits = rec.step('digits');
    const other = rec.step('other');
    const execution = await runtime.launcher.run(job('patterns').start(A).on('CODE_??').to(digits).from(A).on('CODE_*').to(other).build());
    expect(rec.take()).toEqual(['A', 'digits']);
    await expectExecution(runtime, execution, {
      status: 'COMPLETED',
      exitCode: 'COMPLETED',
      steps: ['A:COMPLETED:CODE_42', 'digits:COMPLETED:COMPLETED'],
    });
  });
});

// ---- next() in a flow versus a simple job -----------------------------------------------------

describe('FlowBuilder next() continues on exactly COMPLETED', () => {
  it('a step with exit code "COMPLETED WITH SKIPS" followed by next(x) fails the flow, x does not run', async () => {
    const A = rec.step('A', { exit: 'COMPLETED WITH SKIPS' });
    const B = rec.step('B');
    const C = rec.step('C');
    // on() turns the job into a flow: A -COMPLETED-> B, A -*-> FAILED.
    const flowJob = job('flow-next').start(A).next(B).on('COMPLETED').to(C).build();
    const first = await runtime.launcher.run(flowJob);
    expect(rec.take()).toEqual(['A']);
    await expectExecution(runtime, first, { status: 'FAILED', exitCode: 'FAILED', steps: ['A:COMPLETED:COMPLETED WITH SKIPS'] });

    // A restart replays the flow: A is skipped with its recorded exit code, which fails the flow again.
    const second = await runtime.launcher.run(flowJob);
    expect(rec.take()).toEqual([]);
    await expectExecution(runtime, second, { status: 'FAILED', exitCode: 'FAILED', steps: [] });
  });

  it('a custom exit code returned by an afterStep listener also fails a flow at next()', async () => {
    const A = rec.step('A', { listenerExit: 'CUSTOM' });
    const B = rec.step('B');
    const sub = flow('sub').start(A).next(B).build();
    const execution = await runtime.launcher.run(job('listener-next').start(sub).end().build());
    expect(rec.take()).toEqual(['A']);
    await expectExecution(runtime, execution, { status: 'FAILED', exitCode: 'FAILED', steps: ['A:COMPLETED:CUSTOM'] });
  });

  it('a simple job (no on()) goes on after a COMPLETED step with a custom exit code', async () => {
    const A = rec.step('A', { exit: 'COMPLETED WITH SKIPS' });
    const B = rec.step('B', { listenerExit: 'CUSTOM' });
    const C = rec.step('C');
    const execution = await runtime.launcher.run(job('simple').start(A).next(B).next(C).build());
    expect(rec.take()).toEqual(['A', 'B', 'C']);
    await expectExecution(runtime, execution, {
      status: 'COMPLETED',
      exitCode: 'COMPLETED',
      steps: ['A:COMPLETED:COMPLETED WITH SKIPS', 'B:COMPLETED:CUSTOM', 'C:COMPLETED:COMPLETED'],
    });
  });

  it('a simple job ends with the exit code of its last step', async () => {
    const A = rec.step('A');
    const B = rec.step('B', { exit: 'COMPLETED WITH SKIPS' });
    const execution = await runtime.launcher.run(job('simple-last').start(A).next(B).build());
    expect(rec.take()).toEqual(['A', 'B']);
    await expectExecution(runtime, execution, {
      status: 'COMPLETED',
      exitCode: 'COMPLETED WITH SKIPS',
      steps: ['A:COMPLETED:COMPLETED', 'B:COMPLETED:COMPLETED WITH SKIPS'],
    });
  });
});

// ---- deciders -----------------------------------------------------------------------------------

describe('deciders', () => {
  // FlowJobBuilderTests#testBuildWithDeciderPriority*: the decider answers COMPLETED_PARTIALLY (or
  // CONTINUABLE); the more specific pattern ends the job, the less specific one would fail it.
  const priorityCases = [
    { answer: 'COMPLETED_PARTIALLY', winner: '**', loser: '*' },
    { answer: 'COMPLETED_PARTIALLY', winner: 'COMPLETED*', loser: '*' },
    { answer: 'COMPLETED_PARTIALLY', winner: 'COMPLETED_PARTIALLY', loser: 'COMPLETED*' },
    { answer: 'COMPLETED_PARTIALLY', winner: 'COMPLETED_?ARTIALLY', loser: 'COMPLETED_*ARTIALLY' },
    { answer: 'CONTINUABLE', winner: 'CONTINUABLE', loser: 'CONTIN*' },
  ];

  it.each(priorityCases)('decider answering $answer: on("$winner") beats on("$loser")', async ({ answer, winner, loser }) => {
    let decided = 0;
    const decider = () => {
      decided++;
      return answer;
    };
    const winnerFirst = job('priority-1').start(decider).on(winner).end().on(loser).fail().build();
    const loserFirst = job('priority-2').start(decider).on(loser).fail().on(winner).end('WINNER').build();

    const a = await runtime.launcher.run(winnerFirst);
    // No step ran, so the COMPLETED job's exit code is NOOP (reference §1.3 J10).
    await expectExecution(runtime, a, { status: 'COMPLETED', exitCode: 'NOOP', steps: [] });
    const b = await runtime.launcher.run(loserFirst);
    await expectExecution(runtime, b, { status: 'COMPLETED', exitCode: 'WINNER', steps: [] });
    expect(decided).toBe(2);
  });

  it('receives the JobExecution and the last StepExecution, creates no StepExecution, and routes by its answer', async () => {
    const seen: Array<{ jobExecutionId: number; last: string | undefined; lastStatus: string | undefined }> = [];
    const A = rec.step('A');
    const B = rec.step('B');
    const C = rec.step('C');
    const check = decision('check', (jobExecution, last) => {
      seen.push({ jobExecutionId: jobExecution.id, last: last?.stepName, lastStatus: last?.status });
      return last?.exitStatus.exitCode === 'COMPLETED' ? 'GO' : 'NO_GO';
    });
    const execution = await runtime.launcher.run(job('decide').start(A).next(check).on('GO').to(B).from(check).on('NO_GO').to(C).build());
    expect(rec.take()).toEqual(['A', 'B']);
    expect(seen).toEqual([{ jobExecutionId: execution.id, last: 'A', lastStatus: 'COMPLETED' }]);
    await expectExecution(runtime, execution, {
      status: 'COMPLETED',
      exitCode: 'COMPLETED',
      steps: ['A:COMPLETED:COMPLETED', 'B:COMPLETED:COMPLETED'],
    });
  });

  it('sees no last StepExecution when it starts the job', async () => {
    let last: StepExecution | undefined | null = null;
    const B = rec.step('B');
    const first = decision('first', (_, lastStepExecution) => {
      last = lastStepExecution;
      return 'ONWARD';
    });
    const execution = await runtime.launcher.run(job('decider-first').start(first).on('ONWARD').to(B).build());
    expect(last).toBeUndefined();
    expect(rec.take()).toEqual(['B']);
    await expectExecution(runtime, execution, { status: 'COMPLETED', exitCode: 'COMPLETED', steps: ['B:COMPLETED:COMPLETED'] });
  });

  it('decision(name, fn) and a plain function both let from() add more branches', async () => {
    for (const named of [true, false]) {
      const answer = named ? 'RIGHT' : 'LEFT';
      const fn = () => answer;
      const decider = named ? decision('pick', fn) : fn;
      const A = rec.step('A');
      const left = rec.step('left');
      const right = rec.step('right');
      const built = job(`branches-${named}`).start(A).next(decider).on('LEFT').to(left).from(decider).on('RIGHT').to(right).build();
      const execution = await runtime.launcher.run(built);
      const target = named ? 'right' : 'left';
      expect(rec.take()).toEqual(['A', target]);
      await expectExecution(runtime, execution, {
        status: 'COMPLETED',
        exitCode: 'COMPLETED',
        steps: ['A:COMPLETED:COMPLETED', `${target}:COMPLETED:COMPLETED`],
      });
    }
  });

  it('is evaluated again on restart, with the skipped step execution of the earlier run as the last one', async () => {
    const calls: Array<{ jobExecutionId: number; last: string | undefined; lastJobExecutionId: number | undefined }> = [];
    const A = rec.step('A');
    const B = rec.step('B', { fail: () => true });
    const C = rec.step('C');
    const route = decision('route', (jobExecution, last) => {
      calls.push({ jobExecutionId: jobExecution.id, last: last?.stepName, lastJobExecutionId: last?.jobExecutionId });
      return calls.length === 1 ? 'FIRST' : 'SECOND';
    });
    const replay = job('re-decide').start(A).next(route).on('FIRST').to(B).from(route).on('SECOND').to(C).build();

    const first = await runtime.launcher.run(replay);
    expect(rec.take()).toEqual(['A', 'B']);
    await expectExecution(runtime, first, { status: 'FAILED', exitCode: 'FAILED', steps: ['A:COMPLETED:COMPLETED', 'B:FAILED:FAILED'] });

    const second = await runtime.launcher.run(replay);
    expect(rec.take()).toEqual(['C']);
    await expectExecution(runtime, second, { status: 'COMPLETED', exitCode: 'COMPLETED', steps: ['C:COMPLETED:COMPLETED'] });
    expect(calls).toEqual([
      { jobExecutionId: first.id, last: 'A', lastJobExecutionId: first.id },
      { jobExecutionId: second.id, last: 'A', lastJobExecutionId: first.id },
    ]);
  });
});

// ---- end states -----------------------------------------------------------------------------------

describe('end states', () => {
  it('on("COMPLETED").end("FOO") ends the job COMPLETED with exit code FOO; the instance cannot run again', async () => {
    const step1 = rec.step('step1');
    const endJob = job('end-foo').start(step1).on('COMPLETED').end('FOO').build();
    const execution = await runtime.launcher.run(endJob);
    expect(rec.take()).toEqual(['step1']);
    await expectExecution(runtime, execution, { status: 'COMPLETED', exitCode: 'FOO', steps: ['step1:COMPLETED:COMPLETED'] });
    await expect(runtime.launcher.run(endJob)).rejects.toBeInstanceOf(JobInstanceAlreadyCompleteError);
    expect(rec.take()).toEqual([]);
  });

  it('on("FAILED").end() completes the job and leaves the failed step FAILED', async () => {
    const step1 = rec.step('step1', { fail: () => true });
    const execution = await runtime.launcher.run(job('end-after-failure').start(step1).on('FAILED').end().build());
    expect(rec.take()).toEqual(['step1']);
    await expectExecution(runtime, execution, { status: 'COMPLETED', exitCode: 'COMPLETED', steps: ['step1:FAILED:FAILED'] });
  });

  it('on("COMPLETED").stop() stops the job; a restart skips the completed step and completes', async () => {
    const step1 = rec.step('step1');
    const stopJob = job('stop').start(step1).on('COMPLETED').stop().build();
    const first = await runtime.launcher.run(stopJob);
    expect(rec.take()).toEqual(['step1']);
    await expectExecution(runtime, first, { status: 'STOPPED', exitCode: 'STOPPED', steps: ['step1:COMPLETED:COMPLETED'] });

    const second = await runtime.launcher.run(stopJob);
    expect(rec.take()).toEqual([]);
    // No step ran in this execution: COMPLETED with exit code NOOP (reference §1.3 J10).
    await expectExecution(runtime, second, { status: 'COMPLETED', exitCode: 'NOOP', steps: [] });
    await expect(runtime.launcher.run(stopJob)).rejects.toBeInstanceOf(JobInstanceAlreadyCompleteError);
  });

  it('on(p).stop() stops again on restart when the step runs again and again exits with p', async () => {
    const step1 = rec.step('step1', { allowStartIfComplete: true });
    const stopJob = job('stop-again').start(step1).on('COMPLETED').stop().build();
    const first = await runtime.launcher.run(stopJob);
    await expectExecution(runtime, first, { status: 'STOPPED', exitCode: 'STOPPED', steps: ['step1:COMPLETED:COMPLETED'] });
    const second = await runtime.launcher.run(stopJob);
    await expectExecution(runtime, second, { status: 'STOPPED', exitCode: 'STOPPED', steps: ['step1:COMPLETED:COMPLETED'] });
    expect(rec.take()).toEqual(['step1', 'step1']);
  });

  it('on("FAILED").fail() fails the job; a restart resumes at the failed step', async () => {
    const A = rec.step('A');
    const B = rec.step('B', { fail: (attempt) => attempt === 1 });
    const C = rec.step('C');
    const failJob = job('fail').start(A).next(B).on('FAILED').fail().from(B).on('COMPLETED').to(C).build();

    const first = await runtime.launcher.run(failJob);
    expect(rec.take()).toEqual(['A', 'B']);
    await expectExecution(runtime, first, { status: 'FAILED', exitCode: 'FAILED', steps: ['A:COMPLETED:COMPLETED', 'B:FAILED:FAILED'] });

    const second = await runtime.launcher.run(failJob);
    expect(rec.take()).toEqual(['B', 'C']);
    await expectExecution(runtime, second, {
      status: 'COMPLETED',
      exitCode: 'COMPLETED',
      steps: ['B:COMPLETED:COMPLETED', 'C:COMPLETED:COMPLETED'],
    });
  });

  it('on("COMPLETED").fail() fails the job although its step COMPLETED', async () => {
    const step1 = rec.step('step1');
    const execution = await runtime.launcher.run(job('fail-on-completed').start(step1).on('COMPLETED').fail().build());
    await expectExecution(runtime, execution, { status: 'FAILED', exitCode: 'FAILED', steps: ['step1:COMPLETED:COMPLETED'] });
  });
});

// ---- stopAndRestart ---------------------------------------------------------------------------

describe('stopAndRestart', () => {
  it('FlowJobBuilderTests#testBuildWithStopAndRestart: STOPPED with the failed step ABANDONED, then COMPLETED with only step2', async () => {
    const fails = rec.step('fails', { fail: () => true });
    const step2 = rec.step('step2');
    const stopAndRestartJob = job('flow').start(fails).on('FAILED').stopAndRestart(step2).build();

    const first = await runtime.launcher.run(stopAndRestartJob);
    expect(rec.take()).toEqual(['fails']);
    await expectExecution(runtime, first, { status: 'STOPPED', exitCode: 'STOPPED', steps: ['fails:ABANDONED:FAILED'] });

    const second = await runtime.launcher.run(stopAndRestartJob);
    expect(rec.take()).toEqual(['step2']);
    await expectExecution(runtime, second, { status: 'COMPLETED', exitCode: 'COMPLETED', steps: ['step2:COMPLETED:COMPLETED'] });
    expect(second.stepExecutions.map((s) => s.stepName)).toEqual(['step2']);
  });

  it('restarts through the operator at the target step, skipping the completed and the abandoned steps', async () => {
    const step1 = rec.step('step1');
    const step2 = rec.step('step2', { fail: () => true });
    const step3 = rec.step('step3');
    const sar = job('stop-and-restart')
      .start(step1)
      .on('COMPLETED')
      .to(step2)
      .on('FAILED')
      .stopAndRestart(step3)
      .from(step2)
      .on('COMPLETED')
      .to(step3)
      .build();
    runtime.registry.register(sar);

    const firstId = await runtime.operator.start('stop-and-restart', { day: '2024-01-01' });
    const first = await runtime.operator.waitFor(firstId);
    expect(rec.take()).toEqual(['step1', 'step2']);
    await expectExecution(runtime, first, {
      status: 'STOPPED',
      exitCode: 'STOPPED',
      steps: ['step1:COMPLETED:COMPLETED', 'step2:ABANDONED:FAILED'],
    });

    const secondId = await runtime.operator.restart(firstId);
    const second = await runtime.operator.waitFor(secondId);
    expect(rec.take()).toEqual(['step3']);
    await expectExecution(runtime, second, { status: 'COMPLETED', exitCode: 'COMPLETED', steps: ['step3:COMPLETED:COMPLETED'] });
    expect(second.jobInstance.id).toBe(first.jobInstance.id);
  });
});

// ---- splits -----------------------------------------------------------------------------------

describe('splits', () => {
  it('runs the flows of a split side by side and waits for all of them before going on', async () => {
    const aStarted = deferred();
    const bStarted = deferred();
    const ended: string[] = [];
    const pre = rec.step('pre');
    // Each first step waits for the other flow's first step to start: this only completes when
    // the two flows really run at the same time (a sequential run times out and fails A1).
    const A1 = rec.step('A1', {
      work: async () => {
        aStarted.resolve();
        await within(bStarted.promise, 1_000, 'A1 waited for B1 to start');
        ended.push('A1');
      },
    });
    const A2 = rec.step('A2', { work: () => void ended.push('A2') });
    const B1 = rec.step('B1', {
      work: async () => {
        bStarted.resolve();
        await within(aStarted.promise, 1_000, 'B1 waited for A1 to start');
        await sleep(60); // the slower flow: post must still wait for it
        ended.push('B1');
      },
    });
    const post = rec.step('post', { work: () => void ended.push('post') });
    const flowA = flow('flowA').start(A1).next(A2).build();
    const flowB = flow('flowB').start(B1).build();
    const splitJob = job('split').start(pre).split({ concurrency: 2 }).add(flowA, flowB).next(post).build();

    const execution = await runtime.launcher.run(splitJob);
    const ran = rec.take();
    expect(ran[0]).toBe('pre');
    expect(ran.at(-1)).toBe('post');
    expect([...ran].sort()).toEqual(['A1', 'A2', 'B1', 'post', 'pre']);
    // post starts only once both flows are done, the slower B1 included.
    expect(ended.at(-1)).toBe('post');
    expect([...ended].sort()).toEqual(['A1', 'A2', 'B1', 'post']);
    await expectExecution(runtime, execution, {
      status: 'COMPLETED',
      exitCode: 'COMPLETED',
      steps: ['pre:COMPLETED:COMPLETED', 'A1:COMPLETED:COMPLETED', 'A2:COMPLETED:COMPLETED', 'B1:COMPLETED:COMPLETED', 'post:COMPLETED:COMPLETED'],
      unordered: true,
    });
    const byName = new Map(execution.stepExecutions.map((s) => [s.stepName, s]));
    expect(byName.get('post')!.startTime!.getTime()).toBeGreaterThanOrEqual(byName.get('B1')!.endTime!.getTime());
  });

  it('runs at most `concurrency` flows at once', async () => {
    let active = 0;
    let maxActive = 0;
    const busy = (name: string) =>
      rec.step(name, {
        work: async () => {
          active++;
          maxActive = Math.max(maxActive, active);
          await sleep(25);
          active--;
        },
      });
    const flows = ['x', 'y', 'z'].map((n) => flow(`flow-${n}`).start(busy(n)).build());
    const execution = await runtime.launcher.run(job('bounded').start(rec.step('pre')).split({ concurrency: 2 }).add(...flows).build());
    expect(maxActive).toBe(2);
    expect([...rec.take()].sort()).toEqual(['pre', 'x', 'y', 'z']);
    await expectExecution(runtime, execution, {
      status: 'COMPLETED',
      exitCode: 'COMPLETED',
      steps: ['pre:COMPLETED:COMPLETED', 'x:COMPLETED:COMPLETED', 'y:COMPLETED:COMPLETED', 'z:COMPLETED:COMPLETED'],
      unordered: true,
    });
  });

  it('takes the worst status of its flows: one flow FAILED fails the job, post does not run; a restart re-runs only the failed step', async () => {
    const pre = rec.step('pre');
    const A1 = rec.step('A1');
    const A2 = rec.step('A2');
    const B1 = rec.step('B1', { fail: (attempt) => attempt === 1 });
    const post = rec.step('post');
    const flowA = flow('flowA').start(A1).next(A2).build();
    const flowB = flow('flowB').start(B1).build();
    const splitJob = job('split-failure').start(pre).split({ concurrency: 2 }).add(flowA, flowB).next(post).build();

    const first = await runtime.launcher.run(splitJob);
    expect([...rec.take()].sort()).toEqual(['A1', 'A2', 'B1', 'pre']);
    await expectExecution(runtime, first, {
      status: 'FAILED',
      exitCode: 'FAILED',
      steps: ['pre:COMPLETED:COMPLETED', 'A1:COMPLETED:COMPLETED', 'A2:COMPLETED:COMPLETED', 'B1:FAILED:FAILED'],
      unordered: true,
    });

    const second = await runtime.launcher.run(splitJob);
    expect(rec.take()).toEqual(['B1', 'post']);
    await expectExecution(runtime, second, {
      status: 'COMPLETED',
      exitCode: 'COMPLETED',
      steps: ['B1:COMPLETED:COMPLETED', 'post:COMPLETED:COMPLETED'],
    });
  });

  it("matches the split's own transitions against the worst status: COMPLETED + STOPPED is STOPPED", async () => {
    const A1 = rec.step('A1');
    const B1 = rec.step('B1');
    const after = rec.step('after');
    const flowA = flow('flowA').start(A1).build();
    const flowB = flow('flowB').start(B1).on('COMPLETED').stop().build();
    const splitJob = job('split-stopped')
      .start(rec.step('pre'))
      .split({ concurrency: 2 })
      .add(flowA, flowB)
      .on('STOPPED')
      .end('SPLIT_STOPPED')
      .on('COMPLETED')
      .to(after)
      .build();
    const execution = await runtime.launcher.run(splitJob);
    expect([...rec.take()].sort()).toEqual(['A1', 'B1', 'pre']);
    await expectExecution(runtime, execution, {
      status: 'COMPLETED',
      exitCode: 'SPLIT_STOPPED',
      steps: ['pre:COMPLETED:COMPLETED', 'A1:COMPLETED:COMPLETED', 'B1:COMPLETED:COMPLETED'],
      unordered: true,
    });
  });
});

// ---- nested flows -----------------------------------------------------------------------------

describe('nested flows', () => {
  it('one flow(name)...build() can be used in two different jobs', async () => {
    const shared = flow('shared').start(rec.step('S1')).next(rec.step('S2')).build();
    const job1 = job('job1').start(rec.step('pre1')).next(shared).build();
    const job2 = job('job2').start(shared).next(rec.step('post2')).build();

    const first = await runtime.launcher.run(job1);
    expect(rec.take()).toEqual(['pre1', 'S1', 'S2']);
    await expectExecution(runtime, first, {
      status: 'COMPLETED',
      exitCode: 'COMPLETED',
      steps: ['pre1:COMPLETED:COMPLETED', 'S1:COMPLETED:COMPLETED', 'S2:COMPLETED:COMPLETED'],
    });

    const second = await runtime.launcher.run(job2);
    expect(rec.take()).toEqual(['S1', 'S2', 'post2']);
    await expectExecution(runtime, second, {
      status: 'COMPLETED',
      exitCode: 'COMPLETED',
      steps: ['S1:COMPLETED:COMPLETED', 'S2:COMPLETED:COMPLETED', 'post2:COMPLETED:COMPLETED'],
    });
  });

  it('a flow used inside another flow runs in place', async () => {
    const inner = flow('inner').start(rec.step('I1')).next(rec.step('I2')).build();
    const outer = flow('outer').start(rec.step('O1')).next(inner).next(rec.step('O2')).build();
    const execution = await runtime.launcher.run(job('nested').start(outer).build());
    expect(rec.take()).toEqual(['O1', 'I1', 'I2', 'O2']);
    await expectExecution(runtime, execution, {
      status: 'COMPLETED',
      exitCode: 'COMPLETED',
      steps: ['O1:COMPLETED:COMPLETED', 'I1:COMPLETED:COMPLETED', 'I2:COMPLETED:COMPLETED', 'O2:COMPLETED:COMPLETED'],
    });
  });

  it("a nested flow's end status drives the outer flow's transitions", async () => {
    const inner = flow('inner').start(rec.step('I1', { fail: () => true })).build();
    const outer = flow('outer').start(inner).on('FAILED').to(rec.step('recover')).from(inner).on('COMPLETED').to(rec.step('O2')).build();
    const execution = await runtime.launcher.run(job('nested-branch').start(outer).build());
    expect(rec.take()).toEqual(['I1', 'recover']);
    // The job COMPLETES, but the inner flow's FAILED end added its code to the job's exit status,
    // as Spring's shared JobFlowExecutor does (exit = EXECUTING.and(every end code).and(status)).
    await expectExecution(runtime, execution, {
      status: 'COMPLETED',
      exitCode: 'FAILED',
      steps: ['I1:FAILED:FAILED', 'recover:COMPLETED:COMPLETED'],
    });
  });

  it('a failure inside a nested flow fails the job; a restart resumes inside the nested flow', async () => {
    const inner = flow('inner').start(rec.step('I1')).next(rec.step('I2', { fail: (attempt) => attempt === 1 })).build();
    const nested = job('nested-restart').start(rec.step('O1')).next(inner).next(rec.step('O2')).build();
    const first = await runtime.launcher.run(nested);
    expect(rec.take()).toEqual(['O1', 'I1', 'I2']);
    await expectExecution(runtime, first, {
      status: 'FAILED',
      exitCode: 'FAILED',
      steps: ['O1:COMPLETED:COMPLETED', 'I1:COMPLETED:COMPLETED', 'I2:FAILED:FAILED'],
    });
    const second = await runtime.launcher.run(nested);
    expect(rec.take()).toEqual(['I2', 'O2']);
    await expectExecution(runtime, second, { status: 'COMPLETED', exitCode: 'COMPLETED', steps: ['I2:COMPLETED:COMPLETED', 'O2:COMPLETED:COMPLETED'] });
  });
});

// ---- no matching transition ---------------------------------------------------------------------

describe('no matching transition', () => {
  it('with only on("A")/on("B") branches, the dangling default * -> FAILED ends an unexpected answer', async () => {
    const pick = decision('pick', () => 'C');
    const built = job('defaults').start(rec.step('first')).next(pick).on('A').to(rec.step('x')).from(pick).on('B').to(rec.step('y')).build();
    const execution = await runtime.launcher.run(built);
    expect(rec.take()).toEqual(['first']);
    await expectExecution(runtime, execution, { status: 'FAILED', exitCode: 'FAILED', steps: ['first:COMPLETED:COMPLETED'] });
    expect(execution.exitStatus.exitDescription).not.toContain('Next state not found');
  });

  it('a decision whose answer no transition matches fails the job with a FlowExecutionError naming the flow, the state and the code', async () => {
    // Both COMPLETED and FAILED are matched, so build() adds no default for the decision.
    const pick = decision('pick', () => 'WEIRD');
    const built = job('no-match')
      .start(rec.step('first'))
      .next(pick)
      .on('COMPLETED')
      .to(rec.step('x'))
      .from(pick)
      .on('FAILED')
      .to(rec.step('y'))
      .build();
    const execution = await runtime.launcher.run(built);
    expect(rec.take()).toEqual(['first']);
    await expectExecution(runtime, execution, { status: 'FAILED', exitCode: 'FAILED', steps: ['first:COMPLETED:COMPLETED'] });
    const description = execution.exitStatus.exitDescription;
    expect(description).toContain('FlowExecutionError');
    expect(description).toContain("flow 'no-match'");
    expect(description).toContain("state 'pick'");
    expect(description).toContain("'WEIRD'");
    const stored = await runtime.explorer.getJobExecution(execution.id);
    expect(stored!.exitStatus.exitDescription).toContain("'WEIRD'");
  });

  it('a step whose custom exit code no transition matches fails the job the same way', async () => {
    const odd = rec.step('odd', { exit: 'ODD' });
    const built = job('no-match-step').start(odd).on('*ED').to(rec.step('x')).build();
    const execution = await runtime.launcher.run(built);
    expect(rec.take()).toEqual(['odd']);
    await expectExecution(runtime, execution, { status: 'FAILED', exitCode: 'FAILED', steps: ['odd:COMPLETED:ODD'] });
    expect(execution.exitStatus.exitDescription).toContain("flow 'no-match-step'");
    expect(execution.exitStatus.exitDescription).toContain("state 'odd'");
    expect(execution.exitStatus.exitDescription).toContain("'ODD'");
  });

  // Reference §4.2: "exit code PENDING also matches transitions whose pattern matches STOPPED"
  // (SimpleFlow#nextState). tsbatch matches PENDING only literally, so on('*') wins here.
  it('the exit code PENDING also takes a transition whose pattern matches STOPPED', async () => {
    const pending = decision('pending', () => 'PENDING');
    const execution = await runtime.launcher.run(job('pending').start(pending).on('STOPPED').end('VIA_STOPPED').on('*').fail().build());
    expect(execution.status).toBe('COMPLETED');
    expect(execution.exitStatus.exitCode).toBe('VIA_STOPPED');
  });
});

// ---- loops -------------------------------------------------------------------------------------

describe('loops', () => {
  const counting = (chunkContext: ChunkContext) => {
    chunkContext.jobContext.put('count', (chunkContext.jobContext.get<number>('count') ?? 0) + 1);
  };
  const countOf = (jobExecution: JobExecution) => jobExecution.executionContext.get<number>('count') ?? 0;

  it('a decider routing back to an allowStartIfComplete step runs it 9 times, then completes', async () => {
    const init = rec.step('init');
    const body = rec.step('body', { allowStartIfComplete: true, work: counting });
    const limit = decision('limit', (jobExecution) => (countOf(jobExecution) < 9 ? 'CONTINUE' : 'COMPLETED'));
    const loop = job('loop').start(init).next(body).next(limit).on('CONTINUE').to(body).from(limit).on('COMPLETED').end().build();

    const execution = await runtime.launcher.run(loop);
    expect(rec.take()).toEqual(['init', ...Array<string>(9).fill('body')]);
    await expectExecution(runtime, execution, {
      status: 'COMPLETED',
      exitCode: 'COMPLETED',
      steps: ['init:COMPLETED:COMPLETED', ...Array<string>(9).fill('body:COMPLETED:COMPLETED')],
    });
    expect(countOf(execution)).toBe(9);
    const stored = await runtime.explorer.getJobExecution(execution.id);
    expect(countOf(stored!)).toBe(9);
  });

  it('on restart the allowStartIfComplete loop step runs again, and the job context carries the counter over', async () => {
    const init = rec.step('init');
    const body = rec.step('body', { allowStartIfComplete: true, work: counting });
    const gate = rec.step('gate', { fail: (attempt) => attempt === 1 });
    const limit = decision('limit', (jobExecution) => (countOf(jobExecution) < 9 ? 'CONTINUE' : 'DONE'));
    const loop = job('loop-restart').start(init).next(body).next(limit).on('CONTINUE').to(body).from(limit).on('DONE').to(gate).build();

    const first = await runtime.launcher.run(loop);
    expect(rec.take()).toEqual(['init', ...Array<string>(9).fill('body'), 'gate']);
    expect(first.status).toBe('FAILED');
    expect(first.stepExecutions).toHaveLength(11);

    const second = await runtime.launcher.run(loop);
    expect(rec.take()).toEqual(['body', 'gate']);
    await expectExecution(runtime, second, {
      status: 'COMPLETED',
      exitCode: 'COMPLETED',
      steps: ['body:COMPLETED:COMPLETED', 'gate:COMPLETED:COMPLETED'],
    });
    expect(countOf(second)).toBe(10);
  });

  it('a step met twice in one execution runs again even without allowStartIfComplete', async () => {
    const body = rec.step('body', { work: counting });
    const limit = decision('limit', (jobExecution) => (countOf(jobExecution) < 3 ? 'AGAIN' : 'ENOUGH'));
    const loop = job('loop-plain').start(body).next(limit).on('AGAIN').to(body).from(limit).on('ENOUGH').end().build();
    const execution = await runtime.launcher.run(loop);
    expect(rec.take()).toEqual(['body', 'body', 'body']);
    await expectExecution(runtime, execution, {
      status: 'COMPLETED',
      exitCode: 'COMPLETED',
      steps: ['body:COMPLETED:COMPLETED', 'body:COMPLETED:COMPLETED', 'body:COMPLETED:COMPLETED'],
    });
  });

  // Reference §2.3 (SimpleStepHandler): a step met again in the same execution is handled as if it
  // had no last execution, but shouldStart still compares getStepExecutionCount(instance, step) with
  // the startLimit. tsbatch skips the start-limit check for a step that already ran in this execution.
  it('a loop cannot start a step more than its startLimit', async () => {
    const body = rec.step('limited', { startLimit: 3, work: counting });
    const limit = decision('limit', (jobExecution) => (countOf(jobExecution) < 5 ? 'AGAIN' : 'ENOUGH'));
    const loop = job('loop-limit').start(body).next(limit).on('AGAIN').to(body).from(limit).on('ENOUGH').end().build();
    const execution = await runtime.launcher.run(loop);
    expect(rec.take()).toEqual(['limited', 'limited', 'limited']);
    expect(execution.status).toBe('FAILED');
    expect(execution.stepExecutions).toHaveLength(3);
  });
});

// ---- restart replays the flow ---------------------------------------------------------------------

describe('restart of a flow job', () => {
  const replayJob = () => {
    const A = rec.step('A', { exit: 'CUSTOM' });
    const B = rec.step('B', { fail: (attempt) => attempt === 1 });
    const D = rec.step('D');
    // Routing by the BatchStatus (COMPLETED) instead of the recorded exit code would reach D.
    return job('replay').start(A).on('CUSTOM').to(B).from(A).on('COMPLETED').to(D).build();
  };

  it('replays transitions from the start, skipping COMPLETED steps with their recorded exit codes', async () => {
    const replay = replayJob();
    const first = await runtime.launcher.run(replay);
    expect(rec.take()).toEqual(['A', 'B']);
    await expectExecution(runtime, first, { status: 'FAILED', exitCode: 'FAILED', steps: ['A:COMPLETED:CUSTOM', 'B:FAILED:FAILED'] });

    const second = await runtime.launcher.run(replay);
    expect(rec.take()).toEqual(['B']);
    await expectExecution(runtime, second, { status: 'COMPLETED', exitCode: 'COMPLETED', steps: ['B:COMPLETED:COMPLETED'] });
    const instanceExecutions = await runtime.explorer.getJobExecutions(first.jobInstance.id);
    expect(instanceExecutions.map((e) => e.id)).toEqual([second.id, first.id]);
  });

  it('replays the same way across runtimes on an LMDB store (restart through the operator)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsbatch-flows-'));
    try {
      const replay = replayJob();
      const before = await BatchRuntime.open({ path: dir, logger: false });
      let first: JobExecution;
      try {
        first = await before.launcher.run(replay, { batch: 7 });
        expect(rec.take()).toEqual(['A', 'B']);
        await expectExecution(before, first, { status: 'FAILED', exitCode: 'FAILED', steps: ['A:COMPLETED:CUSTOM', 'B:FAILED:FAILED'] });
      } finally {
        await before.close();
      }

      const after = await BatchRuntime.open({ path: dir, logger: false });
      try {
        after.registry.register(replay);
        const secondId = await after.operator.restart(first.id);
        const second = await after.operator.waitFor(secondId);
        expect(rec.take()).toEqual(['B']);
        await expectExecution(after, second, { status: 'COMPLETED', exitCode: 'COMPLETED', steps: ['B:COMPLETED:COMPLETED'] });
        expect(second.jobInstance.id).toBe(first.jobInstance.id);
        await expect(after.launcher.run(replay, { batch: 7 })).rejects.toBeInstanceOf(JobInstanceAlreadyCompleteError);
      } finally {
        await after.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---- builder errors -----------------------------------------------------------------------------

describe('builder errors', () => {
  it('from(x) for an element not in the flow is an InvalidConfigurationError', () => {
    const A = rec.step('A');
    const B = rec.step('B');
    const stranger = rec.step('stranger');
    expect(() => job('j').start(A).on('*').to(B).from(stranger)).toThrow(InvalidConfigurationError);
    expect(() => flow('f').start(A).next(B).from(stranger)).toThrow(InvalidConfigurationError);
    expect(() => flow('f').start(A).from(decision('never-added', () => 'X'))).toThrow(InvalidConfigurationError);
  });

  it('two different steps with the same name in one flow are an InvalidConfigurationError', () => {
    const first = rec.step('same');
    const second = rec.step('same');
    expect(() => flow('f').start(first).next(second)).toThrow(InvalidConfigurationError);
    expect(() => job('j').start(first).on('*').to(second)).toThrow(InvalidConfigurationError);
    expect(() => job('j').start(first).next(second).build()).toThrow(InvalidConfigurationError);
  });

  it('the same step object reached twice is one state, not a duplicate', async () => {
    const A = rec.step('A', { exit: 'LEFT' });
    const shared = rec.step('shared');
    const execution = await runtime.launcher.run(job('reuse').start(A).on('LEFT').to(shared).from(A).on('RIGHT').to(shared).build());
    expect(rec.take()).toEqual(['A', 'shared']);
    await expectExecution(runtime, execution, { status: 'COMPLETED', exitCode: 'COMPLETED', steps: ['A:COMPLETED:LEFT', 'shared:COMPLETED:COMPLETED'] });
  });
});
