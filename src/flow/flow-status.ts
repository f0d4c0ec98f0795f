import type { BatchStatus } from '../domain/batch-status.js';

/**
 * What a flow, a split or an end state ends with: a status name such as COMPLETED, STOPPED,
 * FAILED, UNKNOWN, or a custom name from a decider. Severity, for aggregating a split:
 * COMPLETED < STOPPED < FAILED < UNKNOWN, matched by prefix; any other name ranks as COMPLETED.
 */
export type FlowStatus = string;

const RANKED = ['COMPLETED', 'STOPPED', 'FAILED', 'UNKNOWN'] as const;

function rank(status: FlowStatus): number {
  for (let i = RANKED.length - 1; i >= 0; i--) if (status.startsWith(RANKED[i]!)) return i;
  return 0;
}

/** The worse of two flow outcomes; the first of equally severe ones. */
export function maxFlowStatus(a: FlowStatus, b: FlowStatus): FlowStatus {
  return rank(b) > rank(a) ? b : a;
}

/** The BatchStatus a job ends with when its flow ends with `status`. */
export function toBatchStatus(status: FlowStatus): BatchStatus {
  return RANKED[rank(status)]!;
}
