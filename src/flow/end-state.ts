import { ExitStatus } from '../domain/exit-status.js';
import { transitionStep } from '../step/status-host.js';
import type { FlowStatus } from './flow-status.js';
import type { FlowContext, State } from './state.js';

/**
 * Where a flow ends, with a status (COMPLETED, FAILED or STOPPED) and an exit code for the job.
 * End states change no step's status: a job can end COMPLETED after a FAILED step.
 *
 * A STOPPED end is special on restart: when the restarted execution reaches it before running any
 * step (the steps before it completed earlier and were skipped), it does not stop again but lets
 * the flow continue to its successor; `stopAndRestart(x)` uses this to resume at `x`. With
 * `abandon`, the step that led here is marked ABANDONED on the first run, so a restart skips it.
 */
export class EndState implements State {
  readonly isEnd = true;

  constructor(
    readonly name: string,
    readonly status: 'COMPLETED' | 'FAILED' | 'STOPPED',
    readonly exitCode: string,
    private readonly abandon = false,
  ) {}

  async handle(context: FlowContext): Promise<FlowStatus> {
    const { execution, lastStepExecution: last } = context;
    if (last?.status === 'UNKNOWN') return 'UNKNOWN';
    if (this.status === 'STOPPED') {
      const isRestart = execution.stepExecutions.length === 0 || last?.status === 'ABANDONED';
      if (isRestart) return 'COMPLETED';
      if (this.abandon && last && (last.status === 'STOPPED' || last.status === 'FAILED') && last.jobExecutionId === execution.id) {
        await transitionStep(context.environment.repository, context.environment.clock, last, { type: 'ABANDON' });
      }
    }
    context.exitStatus = context.exitStatus.and(ExitStatus.of(this.exitCode));
    return this.status;
  }
}
