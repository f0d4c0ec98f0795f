import { ExitStatus } from '../domain/exit-status.js';
import { InvalidConfigurationError } from '../domain/errors.js';
import type { StepExecution } from '../domain/step-execution.js';
import { transitionStep } from '../step/status-host.js';
import type { Step, StepEnvironment } from '../step/step.js';
import type { Flow } from './flow.js';
import type { JobEnvironment } from './job.js';
import { toBatchStatus } from './flow-status.js';

/**
 * A step that runs a flow within the same job execution: the flow's steps get step executions of
 * their own, and this step ends with the flow's outcome (Spring Batch's FlowStep).
 */
export function flowStep(name: string, flow: Flow, options: { allowStartIfComplete?: boolean; startLimit?: number } = {}): Step {
  if (!flow || typeof flow.run !== 'function') throw new InvalidConfigurationError(`Flow step '${name}' needs a flow built with flow(name)...build().`);
  return {
    name,
    allowStartIfComplete: options.allowStartIfComplete ?? false,
    startLimit: options.startLimit ?? Infinity,
    async execute(stepExecution: StepExecution, environment: StepEnvironment): Promise<void> {
      const { repository, clock } = environment;
      const logger = environment.logger.child({ stepName: name, stepExecutionId: stepExecution.id });
      await transitionStep(repository, clock, stepExecution, { type: 'START' });
      try {
        const context = {
          execution: environment.jobExecution,
          environment: asJobEnvironment(environment),
          logger: environment.logger,
          lastStepExecution: undefined,
          exitStatus: ExitStatus.EXECUTING,
        };
        const status = await flow.run(context);
        stepExecution.exitStatus = context.exitStatus.and(ExitStatus.of(status));
        const batchStatus = toBatchStatus(status);
        const event = batchStatus === 'COMPLETED' ? 'COMPLETE' : batchStatus === 'STOPPED' ? 'HALT' : batchStatus === 'UNKNOWN' ? 'MARK_UNKNOWN' : 'FAIL';
        await transitionStep(repository, clock, stepExecution, { type: event });
      } catch (error) {
        logger.error({ event: 'step.failed', err: error }, 'Flow step failed');
        stepExecution.exitStatus = (error as { code?: string }).code === 'JOB_INTERRUPTED' ? ExitStatus.STOPPED : ExitStatus.FAILED.addExitDescription(error as Error);
        await transitionStep(repository, clock, stepExecution, { type: stepExecution.exitStatus.exitCode === 'STOPPED' ? 'HALT' : 'FAIL' });
      }
    },
  };
}

/**
 * Steps of a job are run by handleStep, which hands them the job's own environment extended with
 * the job execution; a step defined here, in the flow layer, may rely on that.
 */
export function asJobEnvironment(environment: StepEnvironment): StepEnvironment & JobEnvironment {
  return environment as StepEnvironment & JobEnvironment;
}
