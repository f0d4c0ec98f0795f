import type { BatchStatus } from './batch-status.js';
import { ExecutionContext } from './execution-context.js';
import type { ExecutionOwner } from './execution-owner.js';
import { ExitStatus } from './exit-status.js';
import type { JobInstance } from './job-instance.js';
import type { JobParameters } from './job-parameters.js';
import type { StepExecution } from './step-execution.js';

export interface JobExecutionInit {
  readonly id: number;
  readonly jobInstance: JobInstance;
  readonly jobParameters: JobParameters;
  readonly status?: BatchStatus;
  readonly exitStatus?: ExitStatus;
  readonly executionContext?: ExecutionContext;
  readonly createTime?: Date;
  readonly version?: number;
  readonly owner?: ExecutionOwner | undefined;
}

/**
 * One attempt to run a job instance. The runtime owns it; user code reads it.
 * `stepExecutions` lists the steps this execution ran, in the order they started; steps skipped
 * because an earlier execution completed them are not listed (as in Spring Batch).
 */
export class JobExecution {
  readonly id: number;
  readonly jobInstance: JobInstance;
  readonly jobParameters: JobParameters;
  status: BatchStatus;
  exitStatus: ExitStatus;
  executionContext: ExecutionContext;
  stepExecutions: StepExecution[] = [];
  createTime: Date;
  startTime: Date | undefined;
  endTime: Date | undefined;
  lastUpdated: Date | undefined;
  version: number;
  /** The process running this execution (host, pid, runtime token); orphan recovery checks it. */
  readonly owner: ExecutionOwner | undefined;

  constructor(init: JobExecutionInit) {
    this.id = init.id;
    this.jobInstance = init.jobInstance;
    this.jobParameters = init.jobParameters;
    this.status = init.status ?? 'STARTING';
    this.exitStatus = init.exitStatus ?? ExitStatus.UNKNOWN;
    this.executionContext = init.executionContext ?? new ExecutionContext();
    this.createTime = init.createTime ?? new Date();
    this.version = init.version ?? 0;
    this.owner = init.owner;
  }

  get jobName(): string {
    return this.jobInstance.jobName;
  }

  toString(): string {
    return `JobExecution{id=${this.id}, job=${this.jobName}, instance=${this.jobInstance.id}, status=${this.status}, exit=${this.exitStatus.exitCode}}`;
  }
}
