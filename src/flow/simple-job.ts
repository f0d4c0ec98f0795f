import { ExitStatus } from '../domain/exit-status.js';
import type { JobExecution } from '../domain/job-execution.js';
import type { Logger } from '../domain/logger.js';
import type { StepExecution } from '../domain/step-execution.js';
import type { Step } from '../step/step.js';
import { AbstractJob, type JobOutcome, type JobSettings } from './abstract-job.js';
import type { JobEnvironment } from './job.js';
import { handleStep } from './step-handler.js';

/**
 * Runs its steps in order and stops at the first one that does not end COMPLETED; the job ends
 * with that step's status and exit status (Spring Batch's SimpleJob).
 */
export class SimpleJob extends AbstractJob {
  constructor(
    settings: JobSettings,
    readonly steps: readonly Step[],
  ) {
    super(settings);
  }

  protected async doExecute(execution: JobExecution, environment: JobEnvironment, logger: Logger): Promise<JobOutcome> {
    let last: StepExecution | undefined;
    for (const step of this.steps) {
      last = await handleStep(step, execution, environment, logger);
      if (last.status !== 'COMPLETED') break;
    }
    return last ? { status: last.status, exitStatus: last.exitStatus } : { status: 'COMPLETED', exitStatus: ExitStatus.COMPLETED };
  }
}
