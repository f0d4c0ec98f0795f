import type { JobExecution } from '../domain/job-execution.js';
import type { BatchEventSink } from '../domain/batch-event.js';
import type { JobParameters } from '../domain/job-parameters.js';
import type { Logger } from '../domain/logger.js';
import type { StepExecution } from '../domain/step-execution.js';
import type { JobRepository } from '../repository/job-repository.js';
import type { Clock } from '../support/clock.js';
import type { FaultPoints } from '../support/fault-points.js';
import type { RemotePartitionHandler } from '../step/partition/partition-handler.js';
import type { JobParametersIncrementer } from './job-parameters-incrementer.js';

/** What a running job gets from the runtime that launched it. */
export interface JobEnvironment {
  readonly repository: JobRepository;
  /** The runtime's logger; the job adds its name and ids. */
  readonly logger: Logger;
  readonly clock: Clock;
  readonly faults: FaultPoints | undefined;
  /** Told once the execution is STARTED and stored, so a background launch can report its id. */
  readonly onStarted?: (execution: JobExecution) => void;
  /** Launches another job (for a step that runs a job) and resolves when it ends. */
  readonly runJob?: (job: Job, parameters: JobParameters) => Promise<JobExecution>;
  /** Told when a step execution begins, so an operator's stop can reach it. */
  readonly onStepStarted?: (execution: JobExecution, stepExecution: StepExecution) => void;
  /** Where job, step and chunk events go (metrics, tracing, dashboards). */
  readonly events?: BatchEventSink;
  /** Runs the partitions of steps partitioned with `remote: true` on workers elsewhere. */
  readonly partitionHandler?: RemotePartitionHandler;
}

/**
 * Checks parameters before anything is stored: throw (JobParametersInvalidError or any error) to
 * refuse them; return warnings to have them logged.
 */
export type JobParametersValidator = (parameters: JobParameters) => readonly string[] | void;

/** A batch job: a name, restart rules, and the steps it runs. Built with `job(name)`. */
export interface Job {
  readonly name: string;
  /** False when built with `preventRestart()`. */
  readonly restartable: boolean;
  /** Makes the next instance's parameters for `startNextInstance`; absent when the job has none. */
  readonly incrementer: JobParametersIncrementer | undefined;
  /** Throws JobParametersInvalidError when the parameters are not acceptable; returns warnings. */
  validateParameters(parameters: JobParameters): string[];
  /** Runs the execution through its lifecycle; never throws, the outcome is on the execution. */
  execute(execution: JobExecution, environment: JobEnvironment): Promise<void>;
}
