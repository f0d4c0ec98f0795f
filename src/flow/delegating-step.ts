import { ExitStatus } from '../domain/exit-status.js';
import { isBatchError } from '../domain/errors.js';
import type { Logger } from '../domain/logger.js';
import type { StepExecution } from '../domain/step-execution.js';
import type { ExecutionEvent } from '../../machines/execution-lifecycle.js';
import { transitionStep } from '../step/status-host.js';
import type { Step, StepEnvironment } from '../step/step.js';
import type { JobEnvironment } from './job.js';

export interface DelegatingStepOptions {
  readonly allowStartIfComplete?: boolean;
  readonly startLimit?: number;
}

/** How the delegated work ended: the lifecycle event that ends the step. */
export type DelegatedOutcome = Extract<ExecutionEvent['type'], 'COMPLETE' | 'HALT' | 'FAIL' | 'MARK_UNKNOWN'>;

/**
 * A step whose work is another unit (a flow, a job): it is STARTED, runs the work, and ends with
 * the outcome the work reports; an error fails it (a stop stops it) with the error described.
 */
export function delegatingStep(
  name: string,
  options: DelegatingStepOptions,
  work: (stepExecution: StepExecution, environment: StepEnvironment & JobEnvironment, logger: Logger) => Promise<DelegatedOutcome>,
): Step {
  return {
    name,
    allowStartIfComplete: options.allowStartIfComplete ?? false,
    startLimit: options.startLimit ?? Infinity,
    async execute(stepExecution: StepExecution, environment: StepEnvironment): Promise<void> {
      const { repository, clock } = environment;
      const logger = environment.logger.child({ stepName: name, stepExecutionId: stepExecution.id });
      await transitionStep(repository, clock, stepExecution, { type: 'START' });
      let outcome: DelegatedOutcome;
      try {
        outcome = await work(stepExecution, asJobEnvironment(environment), logger);
      } catch (error) {
        logger.error({ event: 'step.failed', err: error }, 'Step failed');
        const stopped = isBatchError(error, 'JOB_INTERRUPTED');
        stepExecution.exitStatus = stopped ? ExitStatus.STOPPED : ExitStatus.FAILED.addExitDescription(error instanceof Error ? error : String(error));
        outcome = stopped ? 'HALT' : 'FAIL';
      }
      await transitionStep(repository, clock, stepExecution, { type: outcome });
    },
  };
}

/**
 * Steps of a job are run by handleStep, which hands them the job's own environment extended with
 * the job execution; a step defined in the flow layer may rely on that.
 */
export function asJobEnvironment(environment: StepEnvironment): StepEnvironment & JobEnvironment {
  return environment as StepEnvironment & JobEnvironment;
}
