import type { BatchStatus } from './batch-status.js';
import { ExecutionContext } from './execution-context.js';
import { ExitStatus } from './exit-status.js';
import type { JobParameters } from './job-parameters.js';
import type { StepContribution } from './step-contribution.js';

/** The eight counters of a step execution, as Spring Batch reports them. */
export interface StepCounts {
  readonly readCount: number;
  readonly writeCount: number;
  readonly filterCount: number;
  readonly commitCount: number;
  readonly rollbackCount: number;
  readonly readSkipCount: number;
  readonly processSkipCount: number;
  readonly writeSkipCount: number;
}

export interface StepExecutionInit {
  readonly id: number;
  readonly stepName: string;
  readonly jobExecutionId: number;
  readonly jobInstanceId: number;
  readonly jobName: string;
  readonly jobParameters: JobParameters;
  readonly status?: BatchStatus;
  readonly exitStatus?: ExitStatus;
  readonly executionContext?: ExecutionContext;
  readonly createTime?: Date;
  readonly version?: number;
}

/**
 * One run of one step. The runtime owns it and updates it; user code reads it (listeners,
 * tasklets, explorer results) but should not change its fields.
 */
export class StepExecution {
  readonly id: number;
  readonly stepName: string;
  readonly jobExecutionId: number;
  readonly jobInstanceId: number;
  readonly jobName: string;
  readonly jobParameters: JobParameters;
  status: BatchStatus;
  exitStatus: ExitStatus;
  executionContext: ExecutionContext;
  readCount = 0;
  writeCount = 0;
  filterCount = 0;
  commitCount = 0;
  rollbackCount = 0;
  readSkipCount = 0;
  processSkipCount = 0;
  writeSkipCount = 0;
  createTime: Date;
  startTime: Date | undefined;
  endTime: Date | undefined;
  lastUpdated: Date | undefined;
  /** Optimistic-locking version of the stored record. */
  version: number;
  /** @internal Set when a stop was requested; the step ends at its next chunk boundary. */
  terminateOnly = false;
  /**
   * @internal Set with `terminateOnly` when the worker running a remote partition shuts down: the
   * step ends at its next chunk boundary RELEASEd (back to STARTING, for another worker), not STOPPED.
   */
  releaseOnly = false;

  constructor(init: StepExecutionInit) {
    this.id = init.id;
    this.stepName = init.stepName;
    this.jobExecutionId = init.jobExecutionId;
    this.jobInstanceId = init.jobInstanceId;
    this.jobName = init.jobName;
    this.jobParameters = init.jobParameters;
    this.status = init.status ?? 'STARTING';
    this.exitStatus = init.exitStatus ?? ExitStatus.EXECUTING;
    this.executionContext = init.executionContext ?? new ExecutionContext();
    this.createTime = init.createTime ?? new Date();
    this.version = init.version ?? 0;
  }

  get skipCount(): number {
    return this.readSkipCount + this.processSkipCount + this.writeSkipCount;
  }

  /** A copy of the eight counters. */
  counts(): StepCounts {
    return {
      readCount: this.readCount,
      writeCount: this.writeCount,
      filterCount: this.filterCount,
      commitCount: this.commitCount,
      rollbackCount: this.rollbackCount,
      readSkipCount: this.readSkipCount,
      processSkipCount: this.processSkipCount,
      writeSkipCount: this.writeSkipCount,
    };
  }

  /** @internal Sets the counters, e.g. back to the last commit's when a commit failed. */
  restoreCounts(counts: StepCounts): void {
    this.readCount = counts.readCount;
    this.writeCount = counts.writeCount;
    this.filterCount = counts.filterCount;
    this.commitCount = counts.commitCount;
    this.rollbackCount = counts.rollbackCount;
    this.readSkipCount = counts.readSkipCount;
    this.processSkipCount = counts.processSkipCount;
    this.writeSkipCount = counts.writeSkipCount;
  }

  /** @internal Adds a chunk's counts; called for committed and rolled-back chunks alike. */
  apply(contribution: StepContribution): void {
    this.readCount += contribution.readCount;
    this.writeCount += contribution.writeCount;
    this.filterCount += contribution.filterCount;
    this.readSkipCount += contribution.readSkipCount;
    this.processSkipCount += contribution.processSkipCount;
    this.writeSkipCount += contribution.writeSkipCount;
  }

  toString(): string {
    return (
      `StepExecution{id=${this.id}, step=${this.stepName}, status=${this.status}, exit=${this.exitStatus.exitCode}, ` +
      `read=${this.readCount}, write=${this.writeCount}, filter=${this.filterCount}, commit=${this.commitCount}, ` +
      `rollback=${this.rollbackCount}, skip=${this.skipCount}}`
    );
  }
}
