import { InvalidConfigurationError } from '../domain/errors.js';
import type { Step } from '../step/step.js';
import { DecisionState, type Decision, type JobExecutionDecider } from './decider.js';
import { EndState } from './end-state.js';
import { Flow } from './flow.js';
import { FlowState } from './flow-state.js';
import { SplitState } from './split-state.js';
import type { State } from './state.js';
import { StepState } from './step-state.js';
import { matchesPattern, type Transition } from './transition.js';

/** Flows that run side by side, built with `split()` or `FlowBuilder.split()`. */
export interface Split {
  readonly kind: 'split';
  readonly name: string;
  readonly flows: readonly Flow[];
  readonly concurrency: number;
}

export interface SplitOptions {
  /** How many of the flows run at once. @default all of them */
  readonly concurrency?: number;
  readonly name?: string;
}

/** Anything a flow can go to: a step, a decider (or a named decision), a nested flow, or a split. */
export type FlowElement = Step | Flow | Decision | JobExecutionDecider | Split;

/**
 * Starts a reusable flow.
 *
 * @example
 * const loadAll = flow('loadAll').start(loadCustomers).next(loadOrders).build();
 * const nightly = job('nightly').start(prepare).next(loadAll).end().build();
 */
export function flow(name: string): FlowBuilder<Flow, Flow> {
  if (typeof name !== 'string' || name.trim() === '') throw new InvalidConfigurationError('A flow needs a non-empty name.');
  return new FlowBuilder(name, (built) => built, (built) => built);
}

/** Flows to run side by side: `split({ concurrency: 2 }).add(flowA, flowB).build()`. */
export function split(options: SplitOptions = {}): { add(...flows: Flow[]): { build(): Split } } {
  return {
    add: (...flows: Flow[]) => ({
      build: () => ({ kind: 'split', name: options.name ?? `split(${flows.map((f) => f.name).join(',')})`, flows, concurrency: options.concurrency ?? flows.length }),
    }),
  };
}

/**
 * Builds a flow as Spring Batch's FlowBuilder does. `next(x)` continues on COMPLETED only (any other
 * exit code fails the flow); `on(pattern)` adds a transition from the current state; `from(x)`
 * makes an existing state current again. `build()` (or `end()`) adds Spring's defaults for states
 * left without a way on: a state that is only a target ends COMPLETED on COMPLETED and FAILED
 * otherwise; a source state with no transition matching FAILED fails on `*`, and one with none
 * matching COMPLETED completes on `*`.
 */
export class FlowBuilder<R, B = R> {
  private readonly states = new Map<string, State>();
  private readonly names = new Map<unknown, string>();
  private readonly transitions: Transition[] = [];
  private startName: string | undefined;
  private currentName: string | undefined;
  private counter = 0;

  /** @internal */
  constructor(
    readonly name: string,
    private readonly finish: (flow: Flow) => R,
    private readonly complete: (flow: Flow) => B,
  ) {}

  start(element: FlowElement): this {
    if (this.startName !== undefined) throw new InvalidConfigurationError(`Flow '${this.name}': start() was already called.`);
    this.startName = this.currentName = this.stateFor(element);
    return this;
  }

  /** Goes on to `element` when the current state's exit code is exactly COMPLETED; anything else fails the flow. */
  next(element: FlowElement): this {
    if (this.currentName === undefined) return this.start(element);
    const target = this.stateFor(element);
    this.addTransition('COMPLETED', target);
    this.addTransition('*', this.builtInEnd('FAILED'));
    this.currentName = target;
    return this;
  }

  /** Routes by a decider's answer; add `on(...)` transitions for the names it returns. */
  decide(decider: Decision | JobExecutionDecider): this {
    return this.next(decider);
  }

  /** Runs flows side by side after the current state (or first). */
  split(options: SplitOptions = {}): { add: (...flows: Flow[]) => FlowBuilder<R, B> } {
    return { add: (...flows: Flow[]) => this.next(split(options).add(...flows).build()) };
  }

  on(pattern: string): TransitionBuilder<R, B> {
    if (this.currentName === undefined) throw new InvalidConfigurationError(`Flow '${this.name}': call start() before on('${pattern}').`);
    return new TransitionBuilder(this, pattern);
  }

  /** Makes an element already in the flow the current state, to add more transitions from it. */
  from(element: FlowElement): this {
    const name = this.names.get(element);
    if (name === undefined) {
      throw new InvalidConfigurationError(`Flow '${this.name}': from() names something not yet in the flow; add it with start(), next() or to() first.`);
    }
    this.currentName = name;
    return this;
  }

  /** Finishes the flow: for a job, returns the job builder; for `flow(name)`, the flow. */
  end(): R {
    return this.finish(this.toFlow());
  }

  /** Finishes the flow and builds what it is for: the job, or for `flow(name)` the flow. */
  build(): B {
    return this.complete(this.toFlow());
  }

  private toFlow(): Flow {
    if (this.startName === undefined) throw new InvalidConfigurationError(`Flow '${this.name}' is empty; call start().`);
    this.addDanglingDefaults();
    return new Flow(this.name, this.states, this.startName, this.transitions);
  }

  /** @internal */
  addTransitionFromCurrent(pattern: string, target: string): void {
    this.addTransition(pattern, target);
  }

  /** @internal */
  current(): string {
    return this.currentName!;
  }

  /** @internal */
  setCurrent(name: string): void {
    this.currentName = name;
  }

  /** @internal */
  stateFor(element: FlowElement): string {
    const known = this.names.get(element);
    if (known !== undefined) return known;
    const state = this.createState(element);
    if (this.states.has(state.name)) {
      throw new InvalidConfigurationError(`Flow '${this.name}': two different elements are named '${state.name}'; names must be unique in a flow.`);
    }
    this.states.set(state.name, state);
    this.names.set(element, state.name);
    return state.name;
  }

  /** @internal The flow's shared COMPLETED, FAILED or STOPPED end. */
  builtInEnd(status: 'COMPLETED' | 'FAILED' | 'STOPPED'): string {
    const name = `${this.name}.${status}`;
    if (!this.states.has(name)) this.states.set(name, new EndState(name, status, status));
    return name;
  }

  /** @internal An end of its own, with a custom exit code or the abandon flag of stopAndRestart. */
  customEnd(status: 'COMPLETED' | 'STOPPED', exitCode: string, abandon: boolean): string {
    const name = `${this.name}.${status === 'STOPPED' ? 'stop' : 'end'}${this.counter++}`;
    this.states.set(name, new EndState(name, status, exitCode, abandon));
    return name;
  }

  private addTransition(pattern: string, target: string): void {
    this.transitions.push({ from: this.currentName!, pattern, to: target });
  }

  private createState(element: FlowElement): State {
    if (typeof element === 'function') return new DecisionState(`${this.name}.decision${this.counter++}`, element);
    if (element instanceof Flow) return new FlowState(element.name, element);
    if ('kind' in element && element.kind === 'decision') return new DecisionState(element.name, element.decide);
    if ('kind' in element && element.kind === 'split') return new SplitState(element.name, element.flows, element.concurrency);
    if (typeof (element as Step).execute === 'function') return new StepState(element as Step);
    throw new InvalidConfigurationError(`Flow '${this.name}': ${String(element)} is not a step, flow, decider or split.`);
  }

  private addDanglingDefaults(): void {
    for (const [name, state] of this.states) {
      if (state.isEnd) continue;
      this.currentName = name;
      const outgoing = () => this.transitions.filter((t) => t.from === name);
      if (outgoing().length === 0) {
        this.addTransition('COMPLETED', this.builtInEnd('COMPLETED'));
        this.addTransition('*', this.builtInEnd('FAILED'));
        continue;
      }
      if (!outgoing().some((t) => matchesPattern(t.pattern, 'FAILED'))) this.addTransition('*', this.builtInEnd('FAILED'));
      if (!outgoing().some((t) => matchesPattern(t.pattern, 'COMPLETED'))) this.addTransition('*', this.builtInEnd('COMPLETED'));
    }
  }
}

/** The ways on from one state for exit codes matching one pattern. */
export class TransitionBuilder<R, B = R> {
  constructor(
    private readonly parent: FlowBuilder<R, B>,
    private readonly pattern: string,
  ) {}

  /** Goes to `element`, which becomes the current state. */
  to(element: FlowElement): FlowBuilder<R, B> {
    const target = this.parent.stateFor(element);
    this.parent.addTransitionFromCurrent(this.pattern, target);
    this.parent.setCurrent(target);
    return this.parent;
  }

  /** Ends the flow COMPLETED (the job instance cannot run again), with `exitCode` as the job's exit code. */
  end(exitCode = 'COMPLETED'): FlowBuilder<R, B> {
    const target = exitCode === 'COMPLETED' ? this.parent.builtInEnd('COMPLETED') : this.parent.customEnd('COMPLETED', exitCode, false);
    this.parent.addTransitionFromCurrent(this.pattern, target);
    return this.parent;
  }

  /** Ends the flow FAILED; a restart resumes at the state that failed. */
  fail(): FlowBuilder<R, B> {
    this.parent.addTransitionFromCurrent(this.pattern, this.parent.builtInEnd('FAILED'));
    return this.parent;
  }

  /** Ends the flow STOPPED; a restart replays the flow. */
  stop(): FlowBuilder<R, B> {
    this.parent.addTransitionFromCurrent(this.pattern, this.parent.builtInEnd('STOPPED'));
    return this.parent;
  }

  /** Ends the flow STOPPED; a restart resumes at `element` (the step that led here is abandoned). */
  stopAndRestart(element: FlowElement): FlowBuilder<R, B> {
    const resume = this.parent.stateFor(element);
    const stop = this.parent.customEnd('STOPPED', 'STOPPED', true);
    this.parent.addTransitionFromCurrent(this.pattern, stop);
    const current = this.parent.current();
    this.parent.setCurrent(stop);
    this.parent.addTransitionFromCurrent('*', resume);
    this.parent.setCurrent(current);
    return this.parent;
  }
}
