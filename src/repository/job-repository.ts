import type { ExecutionContext } from '../domain/execution-context.js';
import type { ExecutionOwner, OwnerHeartbeat } from '../domain/execution-owner.js';
import type { JobExecution } from '../domain/job-execution.js';
import type { JobParameters } from '../domain/job-parameters.js';
import type { StepExecution } from '../domain/step-execution.js';
import type { JobExplorer } from './job-explorer.js';
import type { StagedWrite } from './records.js';

export interface CreateJobExecutionRequest {
  readonly jobName: string;
  readonly parameters: JobParameters;
  /** False when the job was built with `preventRestart()`: an existing instance cannot run again. */
  readonly restartable: boolean;
  /** The process that will run the execution. */
  readonly owner?: ExecutionOwner;
  /**
   * Tells whether the owner of a running execution of the instance is gone. When it is, that
   * execution is recovered as an orphan (FAILED, exit code ORPHANED) in the same transaction and
   * the launch proceeds as a restart, instead of failing with JobExecutionAlreadyRunningError.
   */
  readonly isOwnerGone?: (owner: ExecutionOwner | null | undefined, heartbeat: OwnerHeartbeat | undefined) => boolean;
}

/** What a write tells the running step about the world outside it. */
export interface UpdateOutcome {
  /** Someone (this process or another) asked the job execution to stop. */
  readonly stopRequested: boolean;
}

/**
 * Where executions are remembered, so that a failed job resumes at its last commit.
 *
 * Every method that writes is one durable transaction. Updates are optimistic: each record carries
 * a version, and a write based on a stale copy fails with `OptimisticLockingFailureError`, except
 * that a stop request written by an operator is merged into the running execution's next update.
 *
 * @remarks The contract leaves out: deleting history, schema migrations, and which storage engine
 * is used; implementations are proven by one conformance suite.
 */
export interface JobRepository extends JobExplorer {
  /**
   * Runs the launch checks and creates the execution in one transaction, so two launches of one
   * instance, in one process or several, cannot both start. Throws the launch errors in Spring
   * Batch's order: already running, UNKNOWN, already complete or abandoned, not restartable.
   * A restart's execution starts with the job execution context of the previous execution.
   */
  createJobExecution(request: CreateJobExecutionRequest): Promise<JobExecution>;
  updateJobExecution(execution: JobExecution): Promise<UpdateOutcome>;
  updateJobExecutionContext(execution: JobExecution): Promise<void>;
  createStepExecution(jobExecution: JobExecution, stepName: string, executionContext: ExecutionContext): Promise<StepExecution>;
  /** Stores the step's status, times, counts and execution context. */
  updateStepExecution(stepExecution: StepExecution): Promise<UpdateOutcome>;
  /**
   * THE chunk commit: the step's counts and version, its execution context, and the writes staged
   * by transactional writers, in one durable transaction. Nothing of a chunk is visible before it.
   */
  commitChunk(stepExecution: StepExecution, staged: readonly StagedWrite[]): Promise<UpdateOutcome>;
  /** Records that `owner` is alive now (one small write; other hosts judge orphans by it). */
  heartbeat(owner: ExecutionOwner, at: number): Promise<void>;
  getHeartbeat(token: string): Promise<OwnerHeartbeat | undefined>;
  /**
   * Marks a running execution whose owner is gone FAILED with exit code ORPHANED, together with
   * its running step executions, in one transaction. Does nothing (returns false) when the
   * execution has changed since `expectedVersion` or is no longer running: someone else got there first.
   */
  failOrphan(executionId: number, expectedVersion: number, description: string): Promise<boolean>;
  close(): Promise<void>;
}
