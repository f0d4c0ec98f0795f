import type { JobExecution } from '../domain/job-execution.js';
import type { StepExecution } from '../domain/step-execution.js';
import type { Awaitable } from '../support/awaitable.js';
import type { FlowStatus } from './flow-status.js';
import type { FlowContext, State } from './state.js';

/**
 * Chooses the way on through a flow: returns a status name that the decision's transitions are
 * matched against. Evaluated again on every run, restarts included; it creates no step execution.
 */
export type JobExecutionDecider = (jobExecution: JobExecution, lastStepExecution: StepExecution | undefined) => Awaitable<FlowStatus>;

/** A decider placed in a flow. */
export interface Decision {
  readonly kind: 'decision';
  readonly name: string;
  readonly decide: JobExecutionDecider;
}

/** Names a decider so that `from(decision)` can refer to it again; a plain function works too. */
export function decision(name: string, decide: JobExecutionDecider): Decision {
  return { kind: 'decision', name, decide };
}

export class DecisionState implements State {
  readonly isEnd = false;

  constructor(
    readonly name: string,
    private readonly decide: JobExecutionDecider,
  ) {}

  async handle(context: FlowContext): Promise<FlowStatus> {
    const status = await this.decide(context.execution, context.lastStepExecution);
    context.logger.debug({ event: 'flow.decided', decision: this.name, status }, 'Decision made');
    return status;
  }
}
