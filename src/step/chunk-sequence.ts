import type { StepExecution } from '../domain/step-execution.js';

/**
 * The number of the last chunk a step committed, kept in its context (and so carried into the
 * context of a restart): it names each chunk's staged writes, and tells a step that resumes from
 * one that starts fresh.
 */
const CHUNK_SEQUENCE_KEY = 'batch.chunk.sequence';

export function nextChunkSequence(step: StepExecution): number {
  return (step.executionContext.get<number>(CHUNK_SEQUENCE_KEY) ?? 0) + 1;
}

/** The key of the chunk about to commit; the same chunk gets the same key when a restart redoes it. */
export function nextChunkKey(step: StepExecution): string {
  return `${step.jobInstanceId}/${step.stepName}/${nextChunkSequence(step)}`;
}

/** Records in the step's context that the chunk about to commit is the next one. */
export function advanceChunkSequence(step: StepExecution): void {
  step.executionContext.put(CHUNK_SEQUENCE_KEY, nextChunkSequence(step));
}

/** True when the step resumes work committed before (by an earlier run, or an earlier holder of a partition). */
export function resumesCommittedWork(step: StepExecution): boolean {
  return step.executionContext.get(CHUNK_SEQUENCE_KEY) !== undefined;
}
