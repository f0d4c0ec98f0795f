import { ExitStatus } from '../domain/exit-status.js';
import { IllegalStateError, InvalidConfigurationError } from '../domain/errors.js';
import type { JsonValue } from '../domain/execution-context.js';
import { JobParameters, type StoredJobParameter } from '../domain/job-parameters.js';
import type { StepExecution } from '../domain/step-execution.js';
import type { Step } from '../step/step.js';
import { delegatingStep, type DelegatingStepOptions } from './delegating-step.js';
import type { Job } from './job.js';

/** The step context key under which a job step keeps the child job's parameters, for restarts. */
const CHILD_PARAMETERS_KEY = 'batch.jobStep.parameters';

export interface JobStepOptions extends DelegatingStepOptions {
  /**
   * The child job's parameters, from the parent's step execution (its job parameters and context).
   * Computed on the first run only; a restart reuses them, so it restarts the same child instance.
   * @default the parent job's parameters
   */
  readonly parameters?: (stepExecution: StepExecution) => JobParameters;
}

/**
 * A step that runs another job and waits for it (Spring Batch's JobStep). The step fails when the
 * child does not complete, stops when it stops, and its exit status includes the child's.
 */
export function jobStep(name: string, child: Job, options: JobStepOptions = {}): Step {
  if (!child || typeof child.execute !== 'function') throw new InvalidConfigurationError(`Job step '${name}' needs a job built with job(name)...build().`);
  return delegatingStep(name, options, async (stepExecution, environment, logger) => {
    const { runJob, repository } = environment;
    if (!runJob) throw new IllegalStateError('JobStep', 'without a launcher', `run job '${child.name}'`);
    const stored = stepExecution.executionContext.get(CHILD_PARAMETERS_KEY) as Record<string, StoredJobParameter> | undefined;
    const parameters = stored ? JobParameters.fromStored(stored) : (options.parameters?.(stepExecution) ?? stepExecution.jobParameters);
    if (!stored) {
      // Stored parameters are plain JSON by construction.
      stepExecution.executionContext.put(CHILD_PARAMETERS_KEY, parameters.toStored() as unknown as JsonValue);
      await repository.updateStepExecution(stepExecution);
    }
    const result = await runJob(child, parameters);
    stepExecution.exitStatus = stepExecution.exitStatus.and(result.exitStatus);
    logger.info({ event: 'job_step.child_ended', childJobName: child.name, childExecutionId: result.id, childStatus: result.status }, 'Child job ended');
    if (result.status === 'COMPLETED') return 'COMPLETE';
    if (result.status === 'STOPPED') return 'HALT';
    stepExecution.exitStatus = ExitStatus.FAILED.addExitDescription(`Child job '${child.name}' (execution ${result.id}) ended ${result.status}.`);
    return 'FAIL';
  });
}
