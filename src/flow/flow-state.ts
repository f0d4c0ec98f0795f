import type { Flow } from './flow.js';
import type { FlowStatus } from './flow-status.js';
import type { FlowContext, State } from './state.js';

/** A flow nested in another: its end status is matched against this state's transitions. */
export class FlowState implements State {
  readonly isEnd = false;

  constructor(
    readonly name: string,
    readonly flow: Flow,
  ) {}

  handle(context: FlowContext): Promise<FlowStatus> {
    return this.flow.run(context);
  }
}
