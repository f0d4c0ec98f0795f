import type { BatchEventSink } from '../domain/batch-event.js';
import { JobParameters, type JobParameterInput } from '../domain/job-parameters.js';
import type { JobExecution } from '../domain/job-execution.js';
import type { Logger } from '../domain/logger.js';
import type { StepExecution } from '../domain/step-execution.js';
import type { Job, JobEnvironment } from '../flow/job.js';
import type { ExecutionOwner } from '../domain/execution-owner.js';
import type { CreateJobExecutionRequest, JobRepository } from '../repository/job-repository.js';
import type { Clock } from '../support/clock.js';
import type { FaultPoints } from '../support/fault-points.js';
import type { RemotePartitionHandler } from '../step/partition/partition-handler.js';
import type { RunningExecution, RunningExecutions } from './running-executions.js';

/** A launched execution: the execution once it has started, and a promise of its end. */
export interface Launch {
  readonly execution: JobExecution;
  readonly done: Promise<JobExecution>;
}

/** @internal What the launcher needs from its runtime. */
export interface LaunchContext {
  readonly repository: JobRepository;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly faults: FaultPoints | undefined;
  readonly running: RunningExecutions;
  readonly assertOpen: (action: string) => void;
  /** This runtime's process, recorded as the owner of every execution it launches. */
  readonly owner: ExecutionOwner;
  /** How to tell that another execution's owner is gone; absent when orphans are left alone. */
  readonly isOwnerGone: () => CreateJobExecutionRequest['isOwnerGone'];
  readonly events: BatchEventSink;
  /** Runs the partitions of steps partitioned with `remote: true`. */
  readonly partitionHandler: RemotePartitionHandler;
}

/**
 * Launches jobs. `run` waits for the end; `launch` returns once the execution has started.
 * Both refuse, before anything runs, with the launch errors: invalid parameters, already running,
 * UNKNOWN, already complete or abandoned, not restartable.
 */
export class JobLauncher {
  /** @internal */
  constructor(private readonly context: LaunchContext) {}

  /** Runs `job` and resolves with its execution when it ends (COMPLETED, FAILED, STOPPED, ...). */
  async run(job: Job, parameters: JobParameters | Readonly<Record<string, JobParameterInput>> = JobParameters.EMPTY): Promise<JobExecution> {
    const { done } = await this.launch(job, parameters);
    return done;
  }

  /** Starts `job` in the background; resolves once its execution is STARTED and stored. */
  async launch(job: Job, parameters: JobParameters | Readonly<Record<string, JobParameterInput>> = JobParameters.EMPTY): Promise<Launch> {
    const { repository, running, assertOpen } = this.context;
    assertOpen('launch a job');
    const jobParameters = parameters instanceof JobParameters ? parameters : JobParameters.of(parameters);
    for (const warning of job.validateParameters(jobParameters)) this.context.logger.warn({ event: 'job.parameters_warning', jobName: job.name }, warning);
    const isOwnerGone = this.context.isOwnerGone();
    const execution = await repository.createJobExecution({
      jobName: job.name,
      parameters: jobParameters,
      restartable: job.restartable,
      owner: this.context.owner,
      ...(isOwnerGone ? { isOwnerGone } : {}),
    });

    let started!: () => void;
    const hasStarted = new Promise<void>((resolve) => (started = resolve));
    const activeSteps = new Set<StepExecution>();
    const environment: JobEnvironment = {
      repository,
      logger: this.context.logger,
      clock: this.context.clock,
      faults: this.context.faults,
      events: this.context.events,
      partitionHandler: this.context.partitionHandler,
      onStarted: () => started(),
      runJob: (child, childParameters) => this.run(child, childParameters),
      onStepStarted: (_, stepExecution) => {
        // Finished steps are dropped lazily: a stop only needs the ones still running.
        for (const step of activeSteps) if (step.endTime) activeSteps.delete(step);
        activeSteps.add(stepExecution);
      },
    };
    const done = job
      .execute(execution, environment)
      .catch((error: unknown) => {
        this.context.logger.error({ event: 'job.crashed', jobName: job.name, jobExecutionId: execution.id, err: error }, 'Job execution crashed');
      })
      .then(() => {
        running.remove(execution.id);
        started();
        return execution;
      });
    const entry: RunningExecution = { execution, activeSteps, done };
    running.add(entry);
    await hasStarted;
    return { execution, done };
  }
}
