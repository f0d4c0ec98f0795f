import type { ExecutionOwner } from '../domain/execution-owner.js';
import { isEndedInstanceStatus } from '../domain/work-chunk-status.js';
import type { JsonValue } from '../domain/execution-context.js';
import { Keys } from '../repository/keys.js';
import type { StagedWrite } from '../repository/records.js';
import { backOffDelay, type BackOffPolicy } from '../support/back-off.js';
import { FaultPoint, type FaultPoints } from '../support/fault-points.js';
import { InjectedFaultError } from '../domain/errors.js';
import { settleInstance } from './gate.js';
import type { WorkChunkInstanceRecord } from './records.js';
import type { WorkChunkTransaction } from './work-chunk-transaction.js';

/** How one run of a chunk's step ended. */
export type ChunkRunOutcome =
  | {
      readonly kind: 'succeeded';
      /** What the step emitted, in order: the next step's chunks. */
      readonly children: readonly JsonValue[];
      readonly staged: readonly StagedWrite[];
      readonly recordsProcessed: number;
      readonly warnings: readonly string[];
    }
  | { readonly kind: 'errored'; readonly message: string; readonly warnings: readonly string[] }
  | { readonly kind: 'failed'; readonly message: string; readonly warnings: readonly string[] }
  | { readonly kind: 'poll-later'; readonly delayMs: number; readonly warnings: readonly string[] };

export interface FinishedChunkRun {
  readonly instanceId: string;
  readonly chunkId: string;
  /** The attempt this run was claimed as: its fencing token. */
  readonly attempt: number;
  readonly outcome: ChunkRunOutcome;
}

export interface RetrySettings {
  readonly maxAttempts: number;
  readonly backoff: BackOffPolicy;
}

const MAX_MESSAGE = 500;
const MAX_WARNINGS = 100;

/**
 * THE work-chunk commit: everything one finished run of a chunk changes, in one transaction.
 *
 * 1. The chunk must still be IN_PROGRESS under this runtime's lease and this attempt (the fencing
 *    token): a run whose lease was taken over writes nothing.
 * 2. Its children, with ids `<chunk id>.<n>`: a parent that is run again after a crash writes the
 *    same ids, so children are never duplicated. None are written once the instance has ended
 *    (cancelled, failed): a chunk running then finishes, but starts nothing new.
 * 3. The writes its step staged (exactly once, like a chunk step's transactional writer).
 * 4. Its new status (COMPLETED, ERRORED with the retry's due time, FAILED, POLL_WAITING), with
 *    the instance's counters, and the instance's own status (gates, reducer, completion).
 *
 * Returns false when the run was fenced off. Runs inside the store's write transaction.
 */
export function writeWorkChunkCommit(
  wtx: WorkChunkTransaction,
  run: FinishedChunkRun,
  owner: ExecutionOwner,
  retry: RetrySettings,
  faults: FaultPoints | undefined,
): boolean {
  const instance = wtx.instance(run.instanceId);
  const chunk = wtx.chunk(run.instanceId, run.chunkId);
  if (!instance || !chunk || chunk.status !== 'IN_PROGRESS' || chunk.attempts !== run.attempt || chunk.lease?.owner.token !== owner.token) {
    return false;
  }
  const { outcome } = run;
  recordWarnings(instance, chunk, outcome.warnings);
  const ended = isEndedInstanceStatus(instance.status);
  switch (outcome.kind) {
    case 'succeeded': {
      if (!ended) {
        const nextStep = chunk.stepIndex + 1;
        const behindGate = instance.gated;
        outcome.children.forEach((data, sequence) => {
          const id = `${chunk.id}.${sequence}`;
          if (wtx.chunk(instance.id, id)) return;
          wtx.createChunk(instance, id, nextStep, data, behindGate);
        });
      }
      // A chunk that was running when its instance was cancelled or failed still finishes: its
      // writes are stored with it; only its children are not, since no new chunk starts.
      for (const write of outcome.staged) {
        if (write.kind === 'put') wtx.tx.put(Keys.staged(write.store, write.key), write.value);
        else wtx.tx.remove(Keys.staged(write.store, write.key));
      }
      chunk.recordsProcessed = outcome.recordsProcessed;
      instance.recordsProcessed += outcome.recordsProcessed;
      wtx.move(instance, chunk, { type: 'SUCCEED' });
      break;
    }
    case 'errored': {
      chunk.errorCount += 1;
      instance.errorCount += 1;
      chunk.errorMessage = truncate(outcome.message);
      if (chunk.errorCount >= retry.maxAttempts) {
        failChunk(wtx, instance, `Chunk ${chunk.id} of step '${stepId(instance, chunk.stepIndex)}' failed after ${chunk.errorCount} attempt(s): ${outcome.message}`);
        wtx.move(instance, chunk, { type: 'FAIL' });
      } else {
        chunk.dueAt = wtx.now + backOffDelay(retry.backoff, chunk.errorCount);
        wtx.move(instance, chunk, { type: 'ERROR' });
      }
      break;
    }
    case 'failed': {
      chunk.errorCount += 1;
      instance.errorCount += 1;
      chunk.errorMessage = truncate(outcome.message);
      failChunk(wtx, instance, `Chunk ${chunk.id} of step '${stepId(instance, chunk.stepIndex)}' failed: ${outcome.message}`);
      wtx.move(instance, chunk, { type: 'FAIL' });
      break;
    }
    case 'poll-later': {
      chunk.pollAttempts += 1;
      chunk.dueAt = wtx.now + Math.max(0, outcome.delayMs);
      wtx.move(instance, chunk, { type: 'POLL_LATER' });
      break;
    }
  }
  faults?.hit(FaultPoint.IN_CHUNK_COMMIT, (point) => new InjectedFaultError(point));
  settleInstance(wtx, instance);
  return true;
}

function failChunk(wtx: WorkChunkTransaction, instance: WorkChunkInstanceRecord, message: string): void {
  if (wtx.moveInstance(instance, { type: 'FAIL' })) instance.errorMessage = truncate(message);
}

function recordWarnings(instance: WorkChunkInstanceRecord, chunk: { warningMessage: string | null }, warnings: readonly string[]): void {
  if (warnings.length === 0) return;
  instance.errorCount += warnings.length;
  chunk.warningMessage = truncate(warnings.join('\n'), 4000);
  for (const warning of warnings) if (instance.warnings.length < MAX_WARNINGS) instance.warnings.push(truncate(warning));
}

function stepId(instance: WorkChunkInstanceRecord, index: number): string {
  return instance.steps[index]?.id ?? String(index);
}

export function truncate(message: string, max = MAX_MESSAGE): string {
  return message.length <= max ? message : `${message.slice(0, max - 1)}…`;
}
