import type { Step } from '../step/step.js';
import type { FlowStatus } from './flow-status.js';
import type { FlowContext, State } from './state.js';
import { handleStep } from './step-handler.js';

/** Runs a step (or, on restart, skips it when it already completed) and yields its exit code. */
export class StepState implements State {
  readonly isEnd = false;

  constructor(readonly step: Step) {}

  get name(): string {
    return this.step.name;
  }

  async handle(context: FlowContext): Promise<FlowStatus> {
    const stepExecution = await handleStep(this.step, context.execution, context.environment, context.logger);
    context.lastStepExecution = stepExecution;
    return stepExecution.exitStatus.exitCode;
  }
}
