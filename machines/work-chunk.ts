import { setup } from 'xstate';
import type { WorkChunkStatus } from '../src/domain/work-chunk-status.js';
import { nextState, type Transition } from './status-transition.js';

/**
 * The events that move a work chunk (batch2 model, reference A.4, plus leases):
 *
 * - `CREATE` / `CREATE_BEHIND_GATE`: the chunk is stored, claimable or waiting for its step's gate.
 * - `ENQUEUE`: a dispatcher took it (the in-process pool claims READY chunks directly).
 * - `CLAIM`: a worker took its lease and runs it; an ERRORED chunk is claimed again for its retry.
 * - `SUCCEED`, `ERROR` (retryable), `FAIL` (for good), `POLL_LATER` (RetryLaterError): the step's outcome.
 * - `POLL_DUE`: its poll time has come.
 * - `LEASE_EXPIRED`: its worker is gone (process dead, lease not renewed); another may claim it.
 * - `OPEN_GATE` / `OPEN_GATE_FOR_REDUCTION`: every chunk of the previous step completed.
 * - `REDUCED` / `REDUCTION_ABORTED`: the reducer consumed it, or failed.
 */
export type WorkChunkEvent =
  | { type: 'CREATE' }
  | { type: 'CREATE_BEHIND_GATE' }
  | { type: 'ENQUEUE' }
  | { type: 'CLAIM' }
  | { type: 'SUCCEED' }
  | { type: 'ERROR' }
  | { type: 'FAIL' }
  | { type: 'POLL_LATER' }
  | { type: 'POLL_DUE' }
  | { type: 'LEASE_EXPIRED' }
  | { type: 'OPEN_GATE' }
  | { type: 'OPEN_GATE_FOR_REDUCTION' }
  | { type: 'REDUCED' }
  | { type: 'REDUCTION_ABORTED' };

export type WorkChunkEventType = WorkChunkEvent['type'];

/** `stampStartTime` when a run starts, `stampEndTime` when the chunk ends, `takeLease`/`releaseLease` around a run. */
export type WorkChunkAction = 'stampStartTime' | 'stampEndTime' | 'takeLease' | 'releaseLease';

const done = { actions: ['releaseLease', 'stampEndTime'] } as const;

/**
 * The work-chunk lifecycle. `NEW` is the one state that is never stored: the chunk before the
 * transaction that creates it.
 */
export const workChunkMachine = setup({
  types: { events: {} as WorkChunkEvent },
  actions: {
    stampStartTime: () => undefined,
    stampEndTime: () => undefined,
    takeLease: () => undefined,
    releaseLease: () => undefined,
  },
}).createMachine({
  id: 'workChunk',
  initial: 'NEW',
  states: {
    NEW: { on: { CREATE: 'READY', CREATE_BEHIND_GATE: 'GATE_WAITING' } },
    GATE_WAITING: { on: { OPEN_GATE: 'READY', OPEN_GATE_FOR_REDUCTION: 'REDUCTION_READY' } },
    READY: {
      on: {
        ENQUEUE: 'QUEUED',
        CLAIM: { target: 'IN_PROGRESS', actions: ['takeLease', 'stampStartTime'] },
      },
    },
    QUEUED: {
      on: {
        CLAIM: { target: 'IN_PROGRESS', actions: ['takeLease', 'stampStartTime'] },
        // The queue lost it (purged, expired): the store alone makes it claimable again.
        LEASE_EXPIRED: 'READY',
      },
    },
    IN_PROGRESS: {
      on: {
        SUCCEED: { target: 'COMPLETED', ...done },
        ERROR: { target: 'ERRORED', actions: 'releaseLease' },
        FAIL: { target: 'FAILED', ...done },
        POLL_LATER: { target: 'POLL_WAITING', actions: 'releaseLease' },
        LEASE_EXPIRED: { target: 'READY', actions: 'releaseLease' },
      },
    },
    ERRORED: { on: { CLAIM: { target: 'IN_PROGRESS', actions: ['takeLease', 'stampStartTime'] } } },
    POLL_WAITING: { on: { POLL_DUE: 'READY' } },
    REDUCTION_READY: {
      on: {
        REDUCED: { target: 'COMPLETED', actions: 'stampEndTime' },
        REDUCTION_ABORTED: { target: 'FAILED', actions: 'stampEndTime' },
      },
    },
    COMPLETED: {},
    FAILED: {},
  },
});

export type WorkChunkMachine = typeof workChunkMachine;

/** What `event` does to a chunk stored in `from` (or about to be created, `NEW`). */
export function nextChunkStatus(from: WorkChunkStatus | 'NEW', event: WorkChunkEvent): Transition<WorkChunkStatus, WorkChunkAction> {
  return nextState(workChunkMachine, from, event) as Transition<WorkChunkStatus, WorkChunkAction>;
}
