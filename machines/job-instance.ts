import { setup } from 'xstate';
import type { WorkChunkInstanceStatus } from '../src/domain/work-chunk-status.js';
import { nextState, type Transition } from './status-transition.js';

/**
 * The events that move a work-chunk job instance (batch2's StatusEnum, reference A.3):
 *
 * - `CHUNK_STARTED`: a worker claimed its first chunk.
 * - `CHUNK_ERRORED`: a chunk errored and waits for a retry; `ERRORS_CLEARED`: no chunk is ERRORED any more.
 * - `START_REDUCTION`: the last gated step is done and one reducer takes the instance.
 * - `COMPLETE`: every chunk completed (and the reducer, if any, reported).
 * - `FAIL`: a chunk failed for good, or the reducer did.
 * - `CANCEL`: an operator cancelled it; no new chunk starts.
 */
export type JobInstanceEvent =
  | { type: 'CHUNK_STARTED' }
  | { type: 'CHUNK_ERRORED' }
  | { type: 'ERRORS_CLEARED' }
  | { type: 'START_REDUCTION' }
  | { type: 'COMPLETE' }
  | { type: 'FAIL' }
  | { type: 'CANCEL' };

export type JobInstanceEventType = JobInstanceEvent['type'];

export type JobInstanceAction = 'stampStartTime' | 'stampEndTime';

const end = { actions: 'stampEndTime' } as const;
const endings = { FAIL: { target: 'FAILED', ...end }, CANCEL: { target: 'CANCELLED', ...end } } as const;

/** The work-chunk job instance lifecycle; COMPLETED, FAILED and CANCELLED accept nothing. */
export const jobInstanceMachine = setup({
  types: { events: {} as JobInstanceEvent },
  actions: { stampStartTime: () => undefined, stampEndTime: () => undefined },
}).createMachine({
  id: 'workChunkJobInstance',
  initial: 'QUEUED',
  states: {
    QUEUED: { on: { CHUNK_STARTED: { target: 'IN_PROGRESS', actions: 'stampStartTime' }, ...endings } },
    IN_PROGRESS: {
      on: { CHUNK_ERRORED: 'ERRORED', START_REDUCTION: 'FINALIZE', COMPLETE: { target: 'COMPLETED', ...end }, ...endings },
    },
    ERRORED: {
      on: { ERRORS_CLEARED: 'IN_PROGRESS', START_REDUCTION: 'FINALIZE', COMPLETE: { target: 'COMPLETED', ...end }, ...endings },
    },
    FINALIZE: { on: { COMPLETE: { target: 'COMPLETED', ...end }, ...endings } },
    COMPLETED: {},
    FAILED: {},
    CANCELLED: {},
  },
});

export type JobInstanceMachine = typeof jobInstanceMachine;

/** What `event` does to an instance stored in `from`. */
export function nextInstanceStatus(from: WorkChunkInstanceStatus, event: JobInstanceEvent): Transition<WorkChunkInstanceStatus, JobInstanceAction> {
  return nextState(jobInstanceMachine, from, event) as Transition<WorkChunkInstanceStatus, JobInstanceAction>;
}
