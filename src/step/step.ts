import type { JobExecution } from '../domain/job-execution.js';
import type { BatchEventSink } from '../domain/batch-event.js';
import type { Logger } from '../domain/logger.js';
import type { StepExecution } from '../domain/step-execution.js';
import type { RemotePartitionHandler } from './partition/partition-handler.js';
import type { JobRepository } from '../repository/job-repository.js';
import type { Clock } from '../support/clock.js';
import type { FaultPoints } from '../support/fault-points.js';

/** What a running step gets from the job that runs it. */
export interface StepEnvironment {
  readonly repository: JobRepository;
  readonly jobExecution: JobExecution;
  /** Scoped to the job execution; the step adds its own name and id. */
  readonly logger: Logger;
  readonly clock: Clock;
  readonly faults: FaultPoints | undefined;
  /** Where step and chunk events go; none when absent. */
  readonly events?: BatchEventSink;
  /** Runs the partitions of steps partitioned with `remote: true`; absent when the runtime has no dispatcher. */
  readonly partitionHandler?: RemotePartitionHandler;
}

/**
 * A phase of a job. The job creates a StepExecution for each run and hands it to `execute`, which
 * drives it through its lifecycle and never throws: the outcome is in the StepExecution.
 */
export interface Step {
  readonly name: string;
  /** Run again on restart even when an earlier execution completed it. Default false. */
  readonly allowStartIfComplete: boolean;
  /** How many times the step may be started for one job instance. Default unlimited. */
  readonly startLimit: number;
  execute(stepExecution: StepExecution, environment: StepEnvironment): Promise<void>;
}
