import { setup } from 'xstate';
import type { BatchStatus } from '../src/domain/batch-status.js';

/**
 * The events that move a job or step execution through its documented status lifecycle.
 *
 * - `START`: the execution begins running.
 * - `REQUEST_STOP`: a stop was asked for; a running execution goes STOPPING, one not yet started goes STOPPED.
 * - `HALT`: the execution stopped at a chunk or step boundary.
 * - `COMPLETE`: the work finished.
 * - `FAIL`: the work ended with an error (or its owner died).
 * - `ABANDON`: an operator gave up on a stopped or failed execution.
 * - `MARK_UNKNOWN`: the final state could not be recorded.
 * - `RELEASE` (steps only): the worker running a remote partition let go of it before its end, by a
 *   graceful shutdown or by dying (its lease expired); the step waits for another worker, which
 *   resumes it from its last commit.
 */
export type ExecutionEvent =
  | { type: 'START' }
  | { type: 'REQUEST_STOP' }
  | { type: 'HALT' }
  | { type: 'COMPLETE' }
  | { type: 'FAIL' }
  | { type: 'ABANDON' }
  | { type: 'MARK_UNKNOWN' }
  | { type: 'RELEASE' };

export type ExecutionEventType = ExecutionEvent['type'];

/**
 * Named effects the host performs after it has stored the new status:
 * `stampStartTime`, `stampEndTime`, and `signalStop` (the running step must end at its next chunk boundary).
 */
export type ExecutionAction = 'stampStartTime' | 'stampEndTime' | 'signalStop';

const MARK_UNKNOWN = { target: 'UNKNOWN', actions: 'stampEndTime' } as const;

/**
 * Builds the lifecycle machine shared by job and step executions (DESIGN.md section 3). Actions are
 * declared by name only; the host supplies what they do, so the machine stays free of I/O.
 */
export function createExecutionLifecycle(id: string, options: { readonly releasable?: boolean } = {}) {
  return setup({
    types: { events: {} as ExecutionEvent },
    actions: {
      stampStartTime: () => undefined,
      stampEndTime: () => undefined,
      signalStop: () => undefined,
    },
  }).createMachine({
    id,
    initial: 'STARTING',
    states: {
      STARTING: {
        on: {
          START: { target: 'STARTED', actions: 'stampStartTime' },
          REQUEST_STOP: { target: 'STOPPED', actions: 'stampEndTime' },
          FAIL: { target: 'FAILED', actions: 'stampEndTime' },
        },
      },
      STARTED: {
        on: {
          ...(options.releasable ? { RELEASE: { target: 'STARTING' } } : {}),
          REQUEST_STOP: { target: 'STOPPING', actions: 'signalStop' },
          HALT: { target: 'STOPPED', actions: 'stampEndTime' },
          COMPLETE: { target: 'COMPLETED', actions: 'stampEndTime' },
          FAIL: { target: 'FAILED', actions: 'stampEndTime' },
          MARK_UNKNOWN,
        },
      },
      STOPPING: {
        on: {
          // A second stop request while stopping changes nothing and is not an error.
          REQUEST_STOP: { target: 'STOPPING' },
          HALT: { target: 'STOPPED', actions: 'stampEndTime' },
          // The work can finish before it reaches a boundary where the stop takes effect.
          COMPLETE: { target: 'COMPLETED', actions: 'stampEndTime' },
          FAIL: { target: 'FAILED', actions: 'stampEndTime' },
          MARK_UNKNOWN,
        },
      },
      STOPPED: { on: { ABANDON: { target: 'ABANDONED', actions: 'stampEndTime' }, MARK_UNKNOWN } },
      FAILED: { on: { ABANDON: { target: 'ABANDONED', actions: 'stampEndTime' }, MARK_UNKNOWN } },
      COMPLETED: { on: { MARK_UNKNOWN } },
      ABANDONED: {},
      UNKNOWN: {},
    },
  });
}

export type ExecutionLifecycleMachine = ReturnType<typeof createExecutionLifecycle>;

/** Every state of the lifecycle is a BatchStatus, and every BatchStatus is a state. */
export type ExecutionLifecycleState = BatchStatus;
