import type { BatchStatus } from '../domain/batch-status.js';
import { ExitStatus } from '../domain/exit-status.js';
import { JobParametersInvalidError, asError, isBatchError } from '../domain/errors.js';
import type { JobExecution } from '../domain/job-execution.js';
import type { JobParameters } from '../domain/job-parameters.js';
import type { JobExecutionListener } from '../domain/listeners.js';
import type { Logger } from '../domain/logger.js';
import { transitionJob } from '../step/status-host.js';
import type { Job, JobEnvironment, JobParametersValidator } from './job.js';
import type { JobParametersIncrementer } from './job-parameters-incrementer.js';

export interface JobSettings {
  readonly name: string;
  readonly restartable: boolean;
  readonly listeners: readonly JobExecutionListener[];
  readonly validators: readonly JobParametersValidator[];
  readonly incrementer?: JobParametersIncrementer | undefined;
}

/** How the job's own work ended: the status and exit status it ends with. */
export interface JobOutcome {
  readonly status: BatchStatus;
  readonly exitStatus: ExitStatus;
}

const NOOP_DESCRIPTION = 'All steps already completed or no steps configured for this job.';

/**
 * The lifecycle every job shares (Spring Batch's AbstractJob): STARTED is stored before
 * `beforeJob`; the final status is stored before `afterJob`, and stored again after it.
 * A stop ends the job STOPPED; any error ends it FAILED with the error in its exit description.
 */
export abstract class AbstractJob implements Job {
  readonly name: string;
  readonly restartable: boolean;
  readonly incrementer: JobParametersIncrementer | undefined;

  protected constructor(private readonly settings: JobSettings) {
    this.name = settings.name;
    this.restartable = settings.restartable;
    this.incrementer = settings.incrementer;
  }

  protected abstract doExecute(execution: JobExecution, environment: JobEnvironment, logger: Logger): Promise<JobOutcome>;

  validateParameters(parameters: JobParameters): string[] {
    const warnings: string[] = [];
    for (const validate of this.settings.validators) {
      try {
        warnings.push(...(validate(parameters) ?? []));
      } catch (error) {
        if (isBatchError(error, 'JOB_PARAMETERS_INVALID')) throw error;
        throw new JobParametersInvalidError(
          `Job '${this.name}' refused its parameters: ${error instanceof Error ? error.message : String(error)}`,
          this.name,
          { cause: error },
        );
      }
    }
    return warnings;
  }

  async execute(execution: JobExecution, environment: JobEnvironment): Promise<void> {
    const { repository, clock } = environment;
    const logger = environment.logger.child({ jobName: this.name, jobInstanceId: execution.jobInstance.id, jobExecutionId: execution.id });
    // Stopped while it was still STARTING: nothing ran, and nothing will.
    if (execution.status !== 'STARTING') {
      environment.onStarted?.(execution);
      return;
    }
    await transitionJob(repository, clock, execution, { type: 'START' });
    environment.onStarted?.(execution);
    logger.info({ event: 'job.started', parameters: execution.jobParameters.toRecord() }, 'Job started');
    const events = environment.events;
    const scope = { jobName: this.name, jobInstanceId: execution.jobInstance.id, jobExecutionId: execution.id };
    if (events?.active) {
      const restart = (await repository.getJobExecutions(execution.jobInstance.id)).length > 1;
      events.publish({ type: 'job.started', ...scope, restart, startTime: execution.startTime ?? clock.now() });
    }

    try {
      for (const listener of this.settings.listeners) await listener.beforeJob?.(execution);
      const { status, exitStatus } = await this.doExecute(execution, environment, logger);
      execution.exitStatus = exitStatus;
      if (status === 'COMPLETED') await transitionJob(repository, clock, execution, { type: 'COMPLETE' });
      else if (status === 'STOPPED' || status === 'STOPPING') await transitionJob(repository, clock, execution, { type: 'HALT' });
      else if (status === 'UNKNOWN') await transitionJob(repository, clock, execution, { type: 'MARK_UNKNOWN' });
      else await transitionJob(repository, clock, execution, { type: 'FAIL' });
    } catch (error) {
      await this.recordAbnormalEnd(execution, environment, logger, error);
    }

    const endStatus = execution.status as BatchStatus;
    if (execution.stepExecutions.length === 0 && endStatus !== 'FAILED' && endStatus !== 'UNKNOWN') {
      execution.exitStatus = execution.exitStatus.and(ExitStatus.NOOP.addExitDescription(NOOP_DESCRIPTION));
      await this.store(execution, environment, logger);
    }
    for (const listener of [...this.settings.listeners].reverse()) {
      try {
        await listener.afterJob?.(execution);
      } catch (error) {
        logger.error({ event: 'job.listener_failed', err: error }, 'afterJob failed; the job keeps its status');
      }
    }
    await this.store(execution, environment, logger);
    if (events?.active) {
      events.publish({
        type: 'job.ended',
        ...scope,
        status: execution.status,
        exitCode: execution.exitStatus.exitCode,
        exitDescription: execution.exitStatus.exitDescription,
        durationMs: execution.startTime && execution.endTime ? execution.endTime.getTime() - execution.startTime.getTime() : 0,
      });
    }
    logger.info(
      {
        event: 'job.ended',
        status: execution.status,
        exitCode: execution.exitStatus.exitCode,
        durationMs: execution.startTime && execution.endTime ? execution.endTime.getTime() - execution.startTime.getTime() : undefined,
      },
      'Job ended',
    );
  }

  private async recordAbnormalEnd(execution: JobExecution, environment: JobEnvironment, logger: Logger, error: unknown): Promise<void> {
    const { repository, clock } = environment;
    try {
      if (isBatchError(error, 'JOB_INTERRUPTED')) {
        logger.info({ event: 'job.stopping' }, 'Job stopped at a step boundary');
        // Set, not merged: a fresh execution's exit code is UNKNOWN, which would outrank STOPPED.
        execution.exitStatus = ExitStatus.STOPPED.addExitDescription(error.message);
        await transitionJob(repository, clock, execution, { type: 'HALT' });
        return;
      }
      logger.error({ event: 'job.failed', err: error }, 'Job failed');
      execution.exitStatus = ExitStatus.FAILED.addExitDescription(asError(error));
      await transitionJob(repository, clock, execution, { type: 'FAIL' });
    } catch (storeError) {
      logger.error({ event: 'job.status_unrecorded', err: storeError }, 'Could not record how the job ended; it is UNKNOWN');
      execution.status = 'UNKNOWN';
      execution.exitStatus = execution.exitStatus.and(ExitStatus.UNKNOWN);
    }
  }

  private async store(execution: JobExecution, environment: JobEnvironment, logger: Logger): Promise<void> {
    try {
      await environment.repository.updateJobExecution(execution);
    } catch (error) {
      logger.error({ event: 'job.status_unrecorded', err: error }, 'Could not store the job execution');
    }
  }
}
