import { InvalidConfigurationError } from '../domain/errors.js';
import type { JobExecutionListener } from '../domain/listeners.js';
import type { Step } from '../step/step.js';
import type { JobSettings } from './abstract-job.js';
import type { Decision, JobExecutionDecider } from './decider.js';
import { Flow } from './flow.js';
import { FlowBuilder, type FlowElement, type SplitOptions, type TransitionBuilder } from './flow-builder.js';
import { FlowJob } from './flow-job.js';
import type { Job, JobParametersValidator } from './job.js';
import type { JobParametersIncrementer } from './job-parameters-incrementer.js';
import { parametersValidator, type ParametersSpec } from './job-parameters-validator.js';
import { SimpleJob } from './simple-job.js';

/**
 * Starts a job definition.
 *
 * @example
 * const importJob = job('import').start(load).next(report).build();
 * const conditional = job('conditional').start(stepA).on('*').to(stepB).from(stepA).on('FAILED').to(stepC).end().build();
 */
export function job(name: string): JobBuilder {
  if (typeof name !== 'string' || name.trim() === '') throw new InvalidConfigurationError('A job needs a non-empty name.');
  return new JobBuilder(name);
}

/** The settings every job has, whatever runs inside it. */
interface JobDefinition {
  readonly name: string;
  readonly listeners: JobExecutionListener[];
  readonly validators: JobParametersValidator[];
  restartable: boolean;
  incrementer?: JobParametersIncrementer;
}

function settingsOf(definition: JobDefinition): JobSettings {
  return {
    name: definition.name,
    restartable: definition.restartable,
    listeners: [...definition.listeners],
    validators: [...definition.validators],
    incrementer: definition.incrementer,
  };
}

abstract class JobSettingsBuilder {
  protected constructor(protected readonly definition: JobDefinition) {}

  listener(listener: JobExecutionListener): this {
    this.definition.listeners.push(listener);
    return this;
  }

  /** Refuse parameters before anything is stored: throw from `validate` to reject them. */
  validator(validate: JobParametersValidator): this {
    this.definition.validators.push(validate);
    return this;
  }

  /**
   * Declares the parameters: required and optional keys (others draw a warning) and a zod schema
   * for their values. Checked at every launch, before anything is stored.
   */
  parameters(spec: ParametersSpec): this {
    this.definition.validators.push(parametersValidator(this.definition.name, spec));
    return this;
  }

  /** How `operator.startNextInstance(name)` makes the next instance's parameters, e.g. `runIdIncrementer()`. */
  incrementer(incrementer: JobParametersIncrementer): this {
    this.definition.incrementer = incrementer;
    return this;
  }

  /** An instance of this job may run only once: a second launch fails with JobRestartError instead of restarting. */
  preventRestart(): this {
    this.definition.restartable = false;
    return this;
  }
}

export class JobBuilder extends JobSettingsBuilder {
  constructor(readonly name: string) {
    super({ name, listeners: [], validators: [], restartable: true });
  }

  /** A step starts a sequential job (which turns into a flow at the first `on()`); a flow, decider or split starts a flow job. */
  start(first: Step): SimpleJobBuilder;
  start(first: Flow | Decision | JobExecutionDecider): JobFlowBuilder;
  start(first: FlowElement): SimpleJobBuilder | JobFlowBuilder {
    if (isStep(first)) return new SimpleJobBuilder(this.definition, [first]);
    return newJobFlowBuilder(this.definition).start(first);
  }
}

/** A job of steps run in order; it stops at the first step that does not complete. */
export class SimpleJobBuilder extends JobSettingsBuilder {
  /** @internal */
  constructor(
    definition: JobDefinition,
    private readonly steps: Step[],
  ) {
    super(definition);
  }

  next(step: Step): this;
  next(element: Flow | Decision | JobExecutionDecider): JobFlowBuilder;
  next(element: FlowElement): this | JobFlowBuilder {
    if (isStep(element)) {
      this.steps.push(element);
      return this;
    }
    return this.toFlow().next(element);
  }

  /** Adds a transition from the last step: the job becomes a flow job. */
  on(pattern: string): TransitionBuilder<FlowJobBuilder, Job> {
    return this.toFlow().on(pattern);
  }

  decide(decider: Decision | JobExecutionDecider): JobFlowBuilder {
    return this.toFlow().decide(decider);
  }

  split(options: SplitOptions = {}): { add: (...flows: Flow[]) => JobFlowBuilder } {
    return this.toFlow().split(options);
  }

  build(): Job {
    const names = new Set<string>();
    for (const step of this.steps) {
      if (names.has(step.name)) {
        throw new InvalidConfigurationError(`Job '${this.definition.name}': two steps are named '${step.name}'; step names must be unique within a job.`);
      }
      names.add(step.name);
    }
    return new SimpleJob(settingsOf(this.definition), [...this.steps]);
  }

  private toFlow(): JobFlowBuilder {
    const builder = newJobFlowBuilder(this.definition);
    for (const step of this.steps) builder.next(step);
    return builder;
  }
}

/** The flow of a flow job; `end()` returns the job builder, `build()` the job. */
export type JobFlowBuilder = FlowBuilder<FlowJobBuilder, Job>;

export class FlowJobBuilder extends JobSettingsBuilder {
  /** @internal */
  constructor(
    definition: JobDefinition,
    private readonly flow: Flow,
  ) {
    super(definition);
  }

  build(): Job {
    return new FlowJob(settingsOf(this.definition), this.flow);
  }
}

function newJobFlowBuilder(definition: JobDefinition): JobFlowBuilder {
  return new FlowBuilder(
    definition.name,
    (built) => new FlowJobBuilder(definition, built),
    (built) => new FlowJobBuilder(definition, built).build(),
  );
}

function isStep(element: FlowElement): element is Step {
  return typeof element === 'object' && element !== null && !(element instanceof Flow) && typeof (element as Step).execute === 'function';
}
