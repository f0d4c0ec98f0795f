/**
 * The status of one work chunk of a work-chunk job (the batch2 model; machines/work-chunk.ts).
 *
 * - `GATE_WAITING`: created for a later step of a gated job; waits for the gate to open.
 * - `READY`: stored and claimable.
 * - `QUEUED`: handed to a dispatcher (a queue that will deliver it to a worker).
 * - `IN_PROGRESS`: a worker holds its lease and runs it.
 * - `POLL_WAITING`: its step asked to be called again later (RetryLaterError).
 * - `ERRORED`: its step failed; it is retried after a back-off.
 * - `FAILED`: its step failed for good; the instance fails with it.
 * - `COMPLETED`: done; its children (if any) were stored in the same transaction.
 * - `REDUCTION_READY`: an output of the last step, waiting for the reducer.
 */
export const WorkChunkStatus = {
  GATE_WAITING: 'GATE_WAITING',
  READY: 'READY',
  QUEUED: 'QUEUED',
  IN_PROGRESS: 'IN_PROGRESS',
  POLL_WAITING: 'POLL_WAITING',
  ERRORED: 'ERRORED',
  FAILED: 'FAILED',
  COMPLETED: 'COMPLETED',
  REDUCTION_READY: 'REDUCTION_READY',
} as const;

export type WorkChunkStatus = (typeof WorkChunkStatus)[keyof typeof WorkChunkStatus];

export const WORK_CHUNK_STATUSES: readonly WorkChunkStatus[] = Object.values(WorkChunkStatus);

/** Chunks in these statuses still have work to do: an instance with any of them is not done. */
export function isIncompleteChunkStatus(status: WorkChunkStatus): boolean {
  return status !== 'COMPLETED' && status !== 'FAILED' && status !== 'REDUCTION_READY';
}

/**
 * The status of a work-chunk job instance (machines/job-instance.ts).
 *
 * - `QUEUED`: created with its first chunk; no chunk has started yet.
 * - `IN_PROGRESS`: chunks are running.
 * - `ERRORED`: still running, but some chunk errored and waits for its retry.
 * - `FINALIZE`: the reducer is running.
 * - `COMPLETED`, `FAILED`, `CANCELLED`: ended; nothing more runs.
 */
export const WorkChunkInstanceStatus = {
  QUEUED: 'QUEUED',
  IN_PROGRESS: 'IN_PROGRESS',
  ERRORED: 'ERRORED',
  FINALIZE: 'FINALIZE',
  COMPLETED: 'COMPLETED',
  FAILED: 'FAILED',
  CANCELLED: 'CANCELLED',
} as const;

export type WorkChunkInstanceStatus = (typeof WorkChunkInstanceStatus)[keyof typeof WorkChunkInstanceStatus];

export const WORK_CHUNK_INSTANCE_STATUSES: readonly WorkChunkInstanceStatus[] = Object.values(WorkChunkInstanceStatus);

export function isEndedInstanceStatus(status: WorkChunkInstanceStatus): boolean {
  return status === 'COMPLETED' || status === 'FAILED' || status === 'CANCELLED';
}
