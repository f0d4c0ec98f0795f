import { asError } from '../domain/errors.js';
import { ExitStatus } from '../domain/exit-status.js';
import type { ExecutionContext } from '../domain/execution-context.js';
import type { Logger } from '../domain/logger.js';
import type { StepExecution } from '../domain/step-execution.js';
import type { ItemStream } from '../item/item-stream.js';
import { isPromiseLike } from '../support/awaitable.js';
import { resumesCommittedWork } from './chunk-sequence.js';
import { transitionStep } from './status-host.js';
import type { Step, StepEnvironment } from './step.js';
import type { StepListeners } from './step-listeners.js';

export interface StepSettings {
  readonly name: string;
  readonly allowStartIfComplete: boolean;
  readonly startLimit: number;
}

/** The streams and listeners of one step run, built fresh for each StepExecution. */
export interface StepRunParts {
  readonly streams: readonly ItemStream[];
  readonly listeners: StepListeners<unknown, unknown>;
}

/**
 * The lifecycle every step shares (Spring Batch's AbstractStep): STARTED is stored before
 * `beforeStep`; streams open with the step's context; the work runs; the final status is stored
 * before `afterStep`, whose ExitStatus is merged with `and` and stored again; streams close last,
 * whatever happened. `execute` never throws: the outcome is recorded on the StepExecution.
 */
export abstract class AbstractStep<Parts extends StepRunParts> implements Step {
  readonly name: string;
  readonly allowStartIfComplete: boolean;
  readonly startLimit: number;

  protected constructor(settings: StepSettings) {
    this.name = settings.name;
    this.allowStartIfComplete = settings.allowStartIfComplete;
    this.startLimit = settings.startLimit;
  }

  /** Builds this run's reader, writer, streams and listeners (factories are called here). */
  protected abstract createParts(stepExecution: StepExecution): Parts;

  /** The step's work; returns normally when done or stopped (check `stepExecution.terminateOnly`). */
  protected abstract doExecute(stepExecution: StepExecution, parts: Parts, environment: StepEnvironment, logger: Logger): Promise<void>;

  async execute(stepExecution: StepExecution, environment: StepEnvironment): Promise<void> {
    const { repository, clock } = environment;
    const logger = environment.logger.child({ stepName: this.name, stepExecutionId: stepExecution.id });
    await transitionStep(repository, clock, stepExecution, { type: 'START' });
    logger.info({ event: 'step.started', restart: resumesCommittedWork(stepExecution) }, 'Step started');
    const events = environment.events;
    const scope = {
      jobName: environment.jobExecution.jobName,
      jobInstanceId: environment.jobExecution.jobInstance.id,
      jobExecutionId: environment.jobExecution.id,
      stepName: stepExecution.stepName,
      stepExecutionId: stepExecution.id,
    };
    if (events?.active) events.publish({ type: 'step.started', ...scope, startTime: stepExecution.startTime ?? clock.now() });

    let parts: Parts | undefined;
    let opened: ItemStream[] = [];
    try {
      parts = this.createParts(stepExecution);
      await parts.listeners.beforeStep(stepExecution);
      opened = await openStreams(parts.streams, stepExecution.executionContext);
      await this.doExecute(stepExecution, parts, environment, logger);
      if (stepExecution.terminateOnly && stepExecution.releaseOnly && stepExecution.status === 'STARTED') {
        await transitionStep(repository, clock, stepExecution, { type: 'RELEASE' });
      } else if (stepExecution.terminateOnly) {
        stepExecution.exitStatus = stepExecution.exitStatus.and(ExitStatus.STOPPED);
        await transitionStep(repository, clock, stepExecution, { type: 'HALT' });
      } else {
        stepExecution.exitStatus = ExitStatus.EXECUTING.and(ExitStatus.COMPLETED).and(stepExecution.exitStatus);
        await transitionStep(repository, clock, stepExecution, { type: 'COMPLETE' });
      }
    } catch (error) {
      await this.recordFailure(stepExecution, environment, logger, error);
    }

    if (parts) await this.runAfterStep(stepExecution, parts, environment, logger);
    await closeStreams(opened, logger);
    if (events?.active) {
      events.publish({
        type: 'step.ended',
        ...scope,
        status: stepExecution.status,
        exitCode: stepExecution.exitStatus.exitCode,
        exitDescription: stepExecution.exitStatus.exitDescription,
        durationMs: durationOf(stepExecution) ?? 0,
        counts: stepExecution.counts(),
      });
    }
    logger.info(
      {
        event: 'step.ended',
        status: stepExecution.status,
        exitCode: stepExecution.exitStatus.exitCode,
        readCount: stepExecution.readCount,
        writeCount: stepExecution.writeCount,
        filterCount: stepExecution.filterCount,
        commitCount: stepExecution.commitCount,
        rollbackCount: stepExecution.rollbackCount,
        skipCount: stepExecution.skipCount,
        durationMs: durationOf(stepExecution),
      },
      'Step ended',
    );
  }

  private async recordFailure(stepExecution: StepExecution, environment: StepEnvironment, logger: Logger, error: unknown): Promise<void> {
    const { repository, clock } = environment;
    logger.error({ event: 'step.failed', err: error }, 'Step failed');
    stepExecution.exitStatus = ExitStatus.FAILED.addExitDescription(asError(error));
    try {
      if (stepExecution.status === 'STARTED' || stepExecution.status === 'STOPPING') {
        await transitionStep(repository, clock, stepExecution, { type: 'FAIL' });
      } else {
        // The error came from storing the final status itself: what is stored is not known.
        await this.markUnknown(stepExecution, environment, logger);
      }
    } catch (storeError) {
      logger.error({ event: 'step.status_unrecorded', err: storeError }, 'Could not record the step failure');
      await this.markUnknown(stepExecution, environment, logger);
    }
  }

  private async markUnknown(stepExecution: StepExecution, environment: StepEnvironment, logger: Logger): Promise<void> {
    stepExecution.exitStatus = stepExecution.exitStatus.and(ExitStatus.UNKNOWN);
    try {
      await transitionStep(environment.repository, environment.clock, stepExecution, { type: 'MARK_UNKNOWN' });
    } catch (error) {
      stepExecution.status = 'UNKNOWN';
      logger.error({ event: 'step.status_unrecorded', err: error }, 'Could not record the step status; it is UNKNOWN');
    }
  }

  private async runAfterStep(stepExecution: StepExecution, parts: Parts, environment: StepEnvironment, logger: Logger): Promise<void> {
    try {
      const results = await parts.listeners.afterStep(stepExecution);
      if (results.length === 0) return;
      const merged = results.reduce((exit, result) => exit.and(result), stepExecution.exitStatus);
      if (merged.equals(stepExecution.exitStatus)) return;
      stepExecution.exitStatus = merged;
      await environment.repository.updateStepExecution(stepExecution);
    } catch (error) {
      logger.error({ event: 'step.listener_failed', err: error }, 'afterStep failed; the step keeps its status');
    }
  }
}

async function openStreams(streams: readonly ItemStream[], context: ExecutionContext): Promise<ItemStream[]> {
  const opened: ItemStream[] = [];
  for (const stream of streams) {
    opened.push(stream);
    const result = stream.open?.(context);
    if (isPromiseLike(result)) await result;
  }
  return opened;
}

async function closeStreams(streams: readonly ItemStream[], logger: Logger): Promise<void> {
  for (const stream of streams) {
    try {
      await stream.close?.();
    } catch (error) {
      logger.warn({ event: 'stream.close_failed', err: error }, 'An item stream failed to close');
    }
  }
}

function durationOf(stepExecution: StepExecution): number | undefined {
  return stepExecution.startTime && stepExecution.endTime ? stepExecution.endTime.getTime() - stepExecution.startTime.getTime() : undefined;
}
