import { ExitStatus } from '../domain/exit-status.js';
import type { JobExecution } from '../domain/job-execution.js';
import type { Logger } from '../domain/logger.js';
import { AbstractJob, type JobOutcome, type JobSettings } from './abstract-job.js';
import type { Flow } from './flow.js';
import { toBatchStatus } from './flow-status.js';
import type { JobEnvironment } from './job.js';

/**
 * A job that runs a flow. On restart the flow is replayed from its start: steps that completed
 * earlier are skipped with their recorded exit codes, so the same transitions are taken again up
 * to the step that did not complete.
 */
export class FlowJob extends AbstractJob {
  constructor(
    settings: JobSettings,
    readonly flow: Flow,
  ) {
    super(settings);
  }

  protected async doExecute(execution: JobExecution, environment: JobEnvironment, logger: Logger): Promise<JobOutcome> {
    const context = { execution, environment, logger, lastStepExecution: undefined, exitStatus: ExitStatus.EXECUTING };
    const status = await this.flow.run(context);
    return { status: toBatchStatus(status), exitStatus: context.exitStatus.and(ExitStatus.of(status)) };
  }
}
