import type { ExitStatus } from '../domain/exit-status.js';
import type { JobExecution } from '../domain/job-execution.js';
import type { Logger } from '../domain/logger.js';
import type { StepExecution } from '../domain/step-execution.js';
import type { FlowStatus } from './flow-status.js';
import type { JobEnvironment } from './job.js';

/** What the states of a running flow share: the job execution and where the flow stands. */
export interface FlowContext {
  readonly execution: JobExecution;
  readonly environment: JobEnvironment;
  readonly logger: Logger;
  /** The step execution that ran (or was skipped) last, for deciders and end states. */
  lastStepExecution: StepExecution | undefined;
  /** The job's exit status as the flow builds it, starting at EXECUTING; end states add their codes. */
  exitStatus: ExitStatus;
}

/** A node of a flow. Handling it yields the status name its outgoing transitions are matched against. */
export interface State {
  readonly name: string;
  /** End states finish the flow (unless a stop end state resumes on restart, see EndState). */
  readonly isEnd: boolean;
  handle(context: FlowContext): Promise<FlowStatus>;
}
