import { jobExecutionMachine } from '../../machines/job-execution.js';
import { stepExecutionMachine } from '../../machines/step-execution.js';
import { nextStatus } from '../../machines/status-transition.js';
import { Keys } from './keys.js';
import type { KvTransaction } from './kv-store.js';
import type { ContextRecord, JobExecutionRecord, StepExecutionRecord } from './records.js';

/** The exit code of an execution recovered because its process died. */
export const ORPHANED_EXIT_CODE = 'ORPHANED';

/**
 * Inside a write transaction: marks a running execution FAILED / ORPHANED with its running step
 * executions, and flags their contexts `batch.recovered`. Everything else they committed stays, so
 * a restart resumes at their last commit. All in the caller's one transaction, so a process killed
 * while recovering leaves either nothing changed or everything, and the next start can retry.
 */
export function writeOrphanFailure(tx: KvTransaction, execution: JobExecutionRecord, description: string, now: number): void {
  if (!nextStatus(jobExecutionMachine, execution.status, { type: 'FAIL' }).allowed) return;
  for (const { value: stepId } of tx.range<number>(Keys.stepsOfExecutionPrefix(execution.id))) {
    const step = tx.get<StepExecutionRecord>(Keys.stepExecution(stepId));
    // The lifecycle decides here too: only a running step can FAIL.
    if (!step || !nextStatus(stepExecutionMachine, step.status, { type: 'FAIL' }).allowed) continue;
    tx.put(Keys.stepExecution(stepId), {
      ...step,
      status: 'FAILED',
      exitCode: ORPHANED_EXIT_CODE,
      exitDescription: description,
      endTime: now,
      lastUpdated: now,
      version: step.version + 1,
    } satisfies StepExecutionRecord);
    const context = tx.get<ContextRecord>(Keys.stepContext(stepId)) ?? {};
    tx.put(Keys.stepContext(stepId), { ...context, 'batch.recovered': true });
  }
  tx.put(Keys.execution(execution.id), {
    ...execution,
    status: 'FAILED',
    exitCode: ORPHANED_EXIT_CODE,
    exitDescription: description,
    endTime: now,
    lastUpdated: now,
    version: execution.version + 1,
  } satisfies JobExecutionRecord);
  const jobContext = tx.get<ContextRecord>(Keys.jobContext(execution.id)) ?? {};
  tx.put(Keys.jobContext(execution.id), { ...jobContext, 'batch.recovered': true });
}
