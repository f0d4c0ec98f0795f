import { ExitStatus } from '../domain/exit-status.js';
import { InvalidConfigurationError } from '../domain/errors.js';
import type { Step } from '../step/step.js';
import { delegatingStep, type DelegatingStepOptions } from './delegating-step.js';
import type { Flow } from './flow.js';
import { toBatchStatus } from './flow-status.js';

/**
 * A step that runs a flow within the same job execution: the flow's steps get step executions of
 * their own, and this step ends with the flow's outcome (Spring Batch's FlowStep).
 */
export function flowStep(name: string, flow: Flow, options: DelegatingStepOptions = {}): Step {
  if (!flow || typeof flow.run !== 'function') throw new InvalidConfigurationError(`Flow step '${name}' needs a flow built with flow(name)...build().`);
  return delegatingStep(name, options, async (stepExecution, environment) => {
    const context = {
      execution: environment.jobExecution,
      environment,
      logger: environment.logger,
      lastStepExecution: undefined,
      exitStatus: ExitStatus.EXECUTING,
    };
    const status = await flow.run(context);
    stepExecution.exitStatus = context.exitStatus.and(ExitStatus.of(status));
    const batchStatus = toBatchStatus(status);
    if (batchStatus === 'COMPLETED') return 'COMPLETE';
    if (batchStatus === 'STOPPED') return 'HALT';
    return batchStatus === 'UNKNOWN' ? 'MARK_UNKNOWN' : 'FAIL';
  });
}
