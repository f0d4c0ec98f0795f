import { OptimisticLockingFailureError } from '../domain/errors.js';
import { assertContextSize } from '../domain/execution-context.js';
import type { StepExecution } from '../domain/step-execution.js';
import { FaultPoint, type FaultPoints } from '../support/fault-points.js';
import { InjectedFaultError } from '../domain/errors.js';
import { toStepExecutionRecord } from './codec.js';
import { Keys } from './keys.js';
import type { KvTransaction } from './kv-store.js';
import type { JobExecutionRecord, StagedWrite, StepExecutionRecord } from './records.js';
import type { UpdateOutcome } from './job-repository.js';

/**
 * The body of the chunk-commit transaction: everything that makes a chunk count, written together.
 *
 * 1. The stored step record must still have the version this process read (a second process that
 *    took over the step, or a stale copy, fails here and writes nothing).
 * 2. The step record (counts, commit count, version + 1) and its execution context, which holds
 *    the reader's position right after this chunk's last read and the writer's state after its write.
 * 3. The writes that transactional writers staged for this chunk.
 * 4. The job execution's stored status is read back, so a stop requested by any process is seen
 *    at this chunk boundary.
 *
 * Runs synchronously inside the store's write transaction; an exception aborts all of it.
 */
export function writeChunkCommit(
  tx: KvTransaction,
  step: StepExecution,
  staged: readonly StagedWrite[],
  faults: FaultPoints | undefined,
): UpdateOutcome {
  const stored = tx.get<StepExecutionRecord>(Keys.stepExecution(step.id));
  if (!stored || stored.version !== step.version) {
    throw new OptimisticLockingFailureError(`StepExecution ${step.id} (${step.stepName})`, step.version, stored?.version ?? -1);
  }
  const context = step.executionContext.toJSON();
  assertContextSize(context, `step context of ${step.stepName}`);
  tx.put(Keys.stepExecution(step.id), toStepExecutionRecord(step, step.version + 1));
  tx.put(Keys.stepContext(step.id), context);
  for (const write of staged) {
    if (write.kind === 'put') tx.put(Keys.staged(write.store, write.key), write.value);
    else tx.remove(Keys.staged(write.store, write.key));
  }
  faults?.hit(FaultPoint.IN_CHUNK_COMMIT, (point) => new InjectedFaultError(point));
  const job = tx.get<JobExecutionRecord>(Keys.execution(step.jobExecutionId));
  return { stopRequested: job?.status === 'STOPPING' };
}
