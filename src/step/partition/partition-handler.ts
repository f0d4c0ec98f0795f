import type { ExecutionContextSnapshot } from '../../domain/execution-context.js';
import type { JobExecution } from '../../domain/job-execution.js';
import type { Logger } from '../../domain/logger.js';
import type { StepExecution } from '../../domain/step-execution.js';

/** One partition to run: its step execution's name (`<step>:<partition>`) and starting context. */
export interface PartitionRequest {
  readonly stepName: string;
  readonly context: ExecutionContextSnapshot;
}

/**
 * Runs a manager step's partitions somewhere else (Spring Batch's PartitionHandler for remote
 * partitioning): other processes or hosts claim and run them; the handler resolves with their
 * step executions, read back from the repository, once every one has ended.
 */
export interface RemotePartitionHandler {
  handle(manager: StepExecution, jobExecution: JobExecution, partitions: readonly PartitionRequest[], logger: Logger): Promise<StepExecution[]>;
}
