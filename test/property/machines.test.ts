import { getShortestPaths, getSimplePaths } from '@xstate/graph';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jobExecutionMachine, nextStatus, stepExecutionMachine } from '../../machines/index.js';
import type { ExecutionAction, ExecutionEvent, ExecutionEventType, ExecutionLifecycleMachine } from '../../machines/index.js';
import type { BatchStatus } from '../../src/domain/batch-status.js';
import { IllegalStatusTransitionError, OptimisticLockingFailureError } from '../../src/domain/errors.js';
import { transitionJob, transitionStep } from '../../src/step/status-host.js';
import { createInMemoryJobRepository } from '../../src/testing.js';
import { JobParameters } from '../../src/domain/job-parameters.js';
import { ExecutionContext } from '../../src/domain/execution-context.js';
import type { Clock } from '../../src/support/clock.js';

const STATUSES: readonly BatchStatus[] = ['COMPLETED', 'STARTING', 'STARTED', 'STOPPING', 'STOPPED', 'FAILED', 'ABANDONED', 'UNKNOWN'];
const EVENTS: readonly ExecutionEventType[] = ['START', 'REQUEST_STOP', 'HALT', 'COMPLETE', 'FAIL', 'ABANDON', 'MARK_UNKNOWN'];

type Allowed = { readonly to: BatchStatus; readonly actions: readonly ExecutionAction[] };

/**
 * DESIGN.md section 3, written out: every (status, event) pair not listed is refused.
 * - STARTING: runs (START), fails before running (J2), or is asked to stop and goes straight to STOPPED.
 * - STARTED: stop request → STOPPING (the step is signalled), then HALT → STOPPED at a chunk boundary.
 * - STOPPING: a second stop request is a harmless no-op; the work may still COMPLETE or FAIL first.
 * - ABANDON only from STOPPED or FAILED; ABANDONED and UNKNOWN accept nothing.
 * - MARK_UNKNOWN once an execution has run and its end could not be recorded.
 */
const TABLE: Readonly<Record<BatchStatus, Partial<Record<ExecutionEventType, Allowed>>>> = {
  STARTING: {
    START: { to: 'STARTED', actions: ['stampStartTime'] },
    REQUEST_STOP: { to: 'STOPPED', actions: ['stampEndTime'] },
    FAIL: { to: 'FAILED', actions: ['stampEndTime'] },
  },
  STARTED: {
    REQUEST_STOP: { to: 'STOPPING', actions: ['signalStop'] },
    HALT: { to: 'STOPPED', actions: ['stampEndTime'] },
    COMPLETE: { to: 'COMPLETED', actions: ['stampEndTime'] },
    FAIL: { to: 'FAILED', actions: ['stampEndTime'] },
    MARK_UNKNOWN: { to: 'UNKNOWN', actions: ['stampEndTime'] },
  },
  STOPPING: {
    REQUEST_STOP: { to: 'STOPPING', actions: [] },
    HALT: { to: 'STOPPED', actions: ['stampEndTime'] },
    COMPLETE: { to: 'COMPLETED', actions: ['stampEndTime'] },
    FAIL: { to: 'FAILED', actions: ['stampEndTime'] },
    MARK_UNKNOWN: { to: 'UNKNOWN', actions: ['stampEndTime'] },
  },
  STOPPED: {
    ABANDON: { to: 'ABANDONED', actions: ['stampEndTime'] },
    MARK_UNKNOWN: { to: 'UNKNOWN', actions: ['stampEndTime'] },
  },
  FAILED: {
    ABANDON: { to: 'ABANDONED', actions: ['stampEndTime'] },
    MARK_UNKNOWN: { to: 'UNKNOWN', actions: ['stampEndTime'] },
  },
  COMPLETED: {
    MARK_UNKNOWN: { to: 'UNKNOWN', actions: ['stampEndTime'] },
  },
  ABANDONED: {},
  UNKNOWN: {},
};

const machines: ReadonlyArray<readonly [string, ExecutionLifecycleMachine]> = [
  ['jobExecutionMachine', jobExecutionMachine],
  ['stepExecutionMachine', stepExecutionMachine],
];

type GraphPath = ReturnType<typeof getShortestPaths<ExecutionLifecycleMachine>>[number];

/** @xstate/graph 3 starts every path with the `xstate.init` step into STARTING; the lifecycle steps follow it. */
function lifecycleSteps(path: GraphPath): GraphPath['steps'] {
  const [init, ...rest] = path.steps;
  expect(init?.event.type as string).toBe('xstate.init');
  expect(init?.state.value).toBe('STARTING');
  return rest;
}

describe.each(machines)('%s reachability (@xstate/graph)', (_name, machine) => {
  it('reaches every BatchStatus by a shortest path from STARTING, with the expected path lengths', () => {
    const paths = getShortestPaths(machine);
    const lengths = Object.fromEntries(paths.map((path) => [path.state.value as string, lifecycleSteps(path).length]));
    expect(Object.keys(lengths).sort()).toEqual([...STATUSES].sort());
    expect(lengths).toEqual({
      STARTING: 0,
      STARTED: 1,
      STOPPED: 1, // REQUEST_STOP before START goes straight to STOPPED
      FAILED: 1,
      COMPLETED: 2,
      STOPPING: 2,
      ABANDONED: 2, // FAIL then ABANDON
      UNKNOWN: 2, // START then MARK_UNKNOWN
    });
  });

  it('every shortest path, replayed through nextStatus, ends in the state the graph says', () => {
    for (const path of getShortestPaths(machine)) {
      let status: BatchStatus = 'STARTING';
      for (const step of lifecycleSteps(path)) {
        const result = nextStatus(machine, status, step.event as ExecutionEvent);
        expect(result.allowed, `${status} --${step.event.type}-->`).toBe(true);
        status = result.status;
        expect(status).toBe(step.state.value);
      }
      expect(status).toBe(path.state.value);
    }
  });

  it('simple paths reach every status too, and ABANDONED is only ever entered from STOPPED or FAILED', () => {
    const paths = getSimplePaths(machine);
    expect(new Set(paths.map((path) => path.state.value as string))).toEqual(new Set(STATUSES));
    for (const path of paths) {
      const steps = lifecycleSteps(path);
      steps.forEach((step, index) => {
        if (step.state.value !== 'ABANDONED') return;
        const before = index === 0 ? 'STARTING' : steps[index - 1]!.state.value;
        expect(['STOPPED', 'FAILED']).toContain(before);
      });
    }
  });
});

describe.each(machines)('%s transition table (nextStatus), exhaustive', (_name, machine) => {
  const cases = STATUSES.flatMap((from) => EVENTS.map((event) => [from, event] as const));

  it.each(cases)('%s + %s', (from, event) => {
    const expected = TABLE[from][event];
    const result = nextStatus(machine, from, { type: event });
    if (expected) {
      expect(result).toEqual({ allowed: true, status: expected.to, actions: expected.actions });
    } else {
      // refused: the status is reported unchanged
      expect(result).toEqual({ allowed: false, status: from });
    }
  });

  it('ABANDONED and UNKNOWN accept no event at all', () => {
    for (const from of ['ABANDONED', 'UNKNOWN'] as const) {
      for (const event of EVENTS) expect(nextStatus(machine, from, { type: event }).allowed).toBe(false);
    }
  });

  it('any event sequence from STARTING only moves along the table, and refused events change nothing (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...EVENTS), { maxLength: 12 }), (events) => {
        let status: BatchStatus = 'STARTING';
        for (const event of events) {
          const result = nextStatus(machine, status, { type: event });
          const expected = TABLE[status][event];
          expect(result.allowed).toBe(expected !== undefined);
          expect(result.status).toBe(expected ? expected.to : status);
          status = result.status;
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('the host refuses illegal transitions and stores nothing', () => {
  const fixed = new Date('2024-05-01T12:00:00.000Z');
  const clock: Clock = { now: () => fixed };

  async function launch() {
    const repository = createInMemoryJobRepository({ clock });
    const execution = await repository.createJobExecution({ jobName: 'host', parameters: JobParameters.of({ run: 1 }), restartable: true });
    return { repository, execution };
  }

  it('COMPLETE on a STARTING job execution throws ILLEGAL_STATUS_TRANSITION; memory and store keep STARTING', async () => {
    const { repository, execution } = await launch();
    const attempt = transitionJob(repository, clock, execution, { type: 'COMPLETE' });
    await expect(attempt).rejects.toBeInstanceOf(IllegalStatusTransitionError);
    await expect(attempt).rejects.toMatchObject({ code: 'ILLEGAL_STATUS_TRANSITION', from: 'STARTING', event: 'COMPLETE' });
    expect(execution.status).toBe('STARTING');
    expect(execution.endTime).toBeUndefined();
    const stored = await repository.getJobExecution(execution.id);
    expect(stored?.status).toBe('STARTING');
    expect(stored?.version).toBe(0);
  });

  it('ABANDON of a running execution is refused, then allowed once it has FAILED; an ABANDONED one accepts nothing', async () => {
    const { repository, execution } = await launch();
    await transitionJob(repository, clock, execution, { type: 'START' });
    expect(execution.startTime).toEqual(fixed);
    await expect(transitionJob(repository, clock, execution, { type: 'ABANDON' })).rejects.toMatchObject({
      code: 'ILLEGAL_STATUS_TRANSITION',
      from: 'STARTED',
    });
    expect((await repository.getJobExecution(execution.id))?.status).toBe('STARTED');

    await transitionJob(repository, clock, execution, { type: 'FAIL' });
    await transitionJob(repository, clock, execution, { type: 'ABANDON' });
    expect((await repository.getJobExecution(execution.id))?.status).toBe('ABANDONED');
    const version = execution.version;

    for (const type of EVENTS) {
      await expect(transitionJob(repository, clock, execution, { type }), type).rejects.toMatchObject({
        code: 'ILLEGAL_STATUS_TRANSITION',
        from: 'ABANDONED',
        event: type,
      });
    }
    const stored = await repository.getJobExecution(execution.id);
    expect(stored?.status).toBe('ABANDONED');
    expect(stored?.version).toBe(version);
  });

  it('a stop request on a STARTING execution stores STOPPED directly, with an end time', async () => {
    const { repository, execution } = await launch();
    await transitionJob(repository, clock, execution, { type: 'REQUEST_STOP' });
    const stored = await repository.getJobExecution(execution.id);
    expect(stored?.status).toBe('STOPPED');
    expect(stored?.endTime).toEqual(fixed);
    expect(stored?.startTime).toBeUndefined();
  });

  it('a refused step event throws and leaves the stored step unchanged', async () => {
    const { repository, execution } = await launch();
    const step = await repository.createStepExecution(execution, 'load', new ExecutionContext());
    await expect(transitionStep(repository, clock, step, { type: 'HALT' })).rejects.toMatchObject({
      code: 'ILLEGAL_STATUS_TRANSITION',
      from: 'STARTING',
      event: 'HALT',
    });
    const stored = await repository.getStepExecution(execution.id, step.id);
    expect(stored?.status).toBe('STARTING');
    expect(stored?.version).toBe(0);
  });

  it('when the write fails, the in-memory execution returns to its previous status and times', async () => {
    const { repository, execution } = await launch();
    const other = (await repository.getJobExecution(execution.id))!;
    other.status = 'FAILED';
    await repository.updateJobExecution(other);
    await expect(transitionJob(repository, clock, execution, { type: 'START' })).rejects.toBeInstanceOf(OptimisticLockingFailureError);
    expect(execution.status).toBe('STARTING');
    expect(execution.startTime).toBeUndefined();
    expect((await repository.getJobExecution(execution.id))?.status).toBe('FAILED');
  });
});

describe('RELEASE: a remote partition handed back by its worker', () => {
  it('moves a STARTED step back to STARTING with no effects, and is refused from every other status and by job executions', () => {
    for (const from of STATUSES) {
      const result = nextStatus(stepExecutionMachine, from, { type: 'RELEASE' });
      if (from === 'STARTED') expect(result).toEqual({ allowed: true, status: 'STARTING', actions: [] });
      else expect(result.allowed, `${from} --RELEASE-->`).toBe(false);
      expect(nextStatus(jobExecutionMachine, from, { type: 'RELEASE' }).allowed).toBe(false);
    }
  });
});
