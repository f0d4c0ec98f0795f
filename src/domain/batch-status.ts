/**
 * The status of a job or step execution, ordered from least to most severe.
 *
 * - `COMPLETED`: finished successfully; the instance cannot be run again.
 * - `STARTING`: created, not yet running.
 * - `STARTED`: running.
 * - `STOPPING`: a stop was requested; it takes effect at the next chunk boundary.
 * - `STOPPED`: stopped on request; restartable.
 * - `FAILED`: ended with an error; restartable.
 * - `ABANDONED`: given up by an operator; never restarted.
 * - `UNKNOWN`: its final state could not be recorded; restart is refused.
 */
export const BatchStatus = {
  COMPLETED: 'COMPLETED',
  STARTING: 'STARTING',
  STARTED: 'STARTED',
  STOPPING: 'STOPPING',
  STOPPED: 'STOPPED',
  FAILED: 'FAILED',
  ABANDONED: 'ABANDONED',
  UNKNOWN: 'UNKNOWN',
} as const;

export type BatchStatus = (typeof BatchStatus)[keyof typeof BatchStatus];

const SEVERITY: readonly BatchStatus[] = [
  'COMPLETED',
  'STARTING',
  'STARTED',
  'STOPPING',
  'STOPPED',
  'FAILED',
  'ABANDONED',
  'UNKNOWN',
];

export function batchStatusSeverity(status: BatchStatus): number {
  return SEVERITY.indexOf(status);
}

export function isBatchStatus(value: unknown): value is BatchStatus {
  return typeof value === 'string' && (SEVERITY as readonly string[]).includes(value);
}

/** The more severe of two statuses. Note that `STARTED` is more severe than `COMPLETED`. */
export function maxBatchStatus(a: BatchStatus, b: BatchStatus): BatchStatus {
  return batchStatusSeverity(a) >= batchStatusSeverity(b) ? a : b;
}

/**
 * Combines a status with a later one the way Spring Batch does: among the running states and
 * COMPLETED, COMPLETED wins (a finished run upgrades a running one); once anything is worse than
 * STARTED, the more severe status wins, so a failure is never downgraded to COMPLETED.
 */
export function upgradeBatchStatus(current: BatchStatus, next: BatchStatus): BatchStatus {
  const started = batchStatusSeverity('STARTED');
  if (batchStatusSeverity(current) > started || batchStatusSeverity(next) > started) {
    return maxBatchStatus(current, next);
  }
  if (current === 'COMPLETED' || next === 'COMPLETED') return 'COMPLETED';
  return maxBatchStatus(current, next);
}

/** STARTING, STARTED and STOPPING: an execution in one of these blocks a new launch of its instance. */
export function isRunningStatus(status: BatchStatus): boolean {
  return status === 'STARTING' || status === 'STARTED' || status === 'STOPPING';
}

/** FAILED, ABANDONED and UNKNOWN. */
export function isUnsuccessfulStatus(status: BatchStatus): boolean {
  return batchStatusSeverity(status) >= batchStatusSeverity('FAILED');
}
