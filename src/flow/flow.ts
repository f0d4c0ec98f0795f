import { InvalidConfigurationError } from '../domain/errors.js';
import { FlowExecutionError } from './flow-execution-error.js';
import type { FlowStatus } from './flow-status.js';
import type { FlowContext, State } from './state.js';
import { compareSpecificity, matchesPattern, type Transition } from './transition.js';

/**
 * A reusable graph of states (steps, decisions, splits, nested flows, ends) and the transitions
 * between them, built with `flow(name)` or as part of a job. Running it starts at its first state
 * and follows the most specific transition that matches each state's exit code until an end.
 */
export class Flow {
  private readonly transitionsByState: ReadonlyMap<string, readonly Transition[]>;

  /** @internal Use `flow(name)...build()`. */
  constructor(
    readonly name: string,
    private readonly states: ReadonlyMap<string, State>,
    private readonly startState: string,
    transitions: readonly Transition[],
  ) {
    const byState = new Map<string, Transition[]>();
    for (const transition of transitions) {
      if (!states.has(transition.to)) throw new InvalidConfigurationError(`Flow '${name}': transition to a missing state '${transition.to}'.`);
      let list = byState.get(transition.from);
      if (!list) byState.set(transition.from, (list = []));
      list.push(transition);
    }
    for (const list of byState.values()) list.sort((a, b) => compareSpecificity(a.pattern, b.pattern));
    this.transitionsByState = byState;
  }

  /** The names of the flow's states, for tests and tooling. */
  stateNames(): string[] {
    return [...this.states.keys()];
  }

  /** @internal The flow's states, for finding its steps by name. */
  allStates(): readonly State[] {
    return [...this.states.values()];
  }

  /** Runs the flow to an end state and returns the status it ended with. */
  async run(context: FlowContext): Promise<FlowStatus> {
    let state = this.states.get(this.startState)!;
    for (;;) {
      const status = await state.handle(context);
      // An end state ends the flow, except that a stop end state that resumes on restart yields
      // COMPLETED and then follows its transition (stopAndRestart).
      if (state.isEnd && (status !== 'COMPLETED' || !this.transitionsByState.has(state.name))) return status;
      state = this.next(state, status);
    }
  }

  private next(state: State, status: FlowStatus): State {
    const transitions = this.transitionsByState.get(state.name);
    if (!transitions || transitions.length === 0) {
      throw new FlowExecutionError(this.name, state.name, status, `No transitions found in flow '${this.name}' for state '${state.name}'.`);
    }
    // As in Spring Batch, PENDING also takes a transition meant for STOPPED.
    const match = transitions.find((t) => matchesPattern(t.pattern, status) || (status === 'PENDING' && matchesPattern(t.pattern, 'STOPPED')));
    if (!match) {
      throw new FlowExecutionError(
        this.name,
        state.name,
        status,
        `Next state not found in flow '${this.name}' for state '${state.name}' with exit status '${status}'. ` +
          `Add a transition for it, e.g. .from(${state.name}).on('${status}').to(...) or .on('*').`,
      );
    }
    return this.states.get(match.to)!;
  }
}
