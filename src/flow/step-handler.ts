import type { BatchStatus } from '../domain/batch-status.js';
import { JobInterruptedError, JobRestartError, StartLimitExceededError } from '../domain/errors.js';
import { ExecutionContext } from '../domain/execution-context.js';
import type { JobExecution } from '../domain/job-execution.js';
import type { Logger } from '../domain/logger.js';
import type { StepExecution } from '../domain/step-execution.js';
import type { Step } from '../step/step.js';
import type { JobEnvironment } from './job.js';

/**
 * Runs one step of a job execution, deciding first whether it should run at all (Spring Batch's
 * SimpleStepHandler): on restart a COMPLETED step is skipped unless it allows a start when complete,
 * an ABANDONED one is skipped, an UNKNOWN one refuses the restart, and a step started `startLimit`
 * times fails the job. A step that runs again after FAILED or STOPPED starts from the execution
 * context of its last commit, with its counters at zero.
 *
 * Returns the step execution that decides what comes next: the new one, or the earlier one whose
 * outcome stands when the step is skipped.
 */
export async function handleStep(step: Step, execution: JobExecution, environment: JobEnvironment, logger: Logger): Promise<StepExecution> {
  if (execution.status === 'STOPPING') throw new JobInterruptedError(`Job '${execution.jobName}' was asked to stop before step '${step.name}'.`);
  const { repository } = environment;
  const last = await repository.getLastStepExecution(execution.jobInstance.id, step.name);

  if (last && last.jobExecutionId !== execution.id) {
    if (last.status === 'UNKNOWN') {
      throw new JobRestartError(
        `Cannot restart step '${step.name}' of job '${execution.jobName}': its last execution (${last.id}) ended UNKNOWN. ` +
          `Inspect it and abandon the job instance.`,
        execution.jobName,
      );
    }
    if ((last.status === 'COMPLETED' && !step.allowStartIfComplete) || last.status === 'ABANDONED') {
      logger.info({ event: 'step.skipped', stepName: step.name, previousStatus: last.status }, 'Step already ended in an earlier execution; not run again');
      return last;
    }
  }
  // Counted over the whole instance, including earlier starts in this execution (a loop).
  if (step.startLimit !== Infinity) {
    const starts = await repository.getStepExecutionCount(execution.jobInstance.id, step.name);
    if (starts >= step.startLimit) throw new StartLimitExceededError(step.name, step.startLimit);
  }

  const resumeFrom = last && last.jobExecutionId !== execution.id && last.status !== 'COMPLETED' ? last.executionContext.toJSON() : undefined;
  const stepExecution = await repository.createStepExecution(execution, step.name, new ExecutionContext(resumeFrom));
  execution.stepExecutions.push(stepExecution);
  environment.onStepStarted?.(execution, stepExecution);
  // A stop that arrived while the step execution was being created must still reach it.
  if ((execution.status as BatchStatus) === 'STOPPING') stepExecution.terminateOnly = true;
  await step.execute(stepExecution, { ...environment, jobExecution: execution, logger });
  await repository.updateJobExecutionContext(execution);

  if (stepExecution.status === 'STOPPED' || stepExecution.status === 'STOPPING') {
    throw new JobInterruptedError(`Step '${step.name}' stopped; job '${execution.jobName}' stops with it.`);
  }
  return stepExecution;
}
