import { InvalidConfigurationError } from '../domain/errors.js';
import type { JobExecutionListener } from '../domain/listeners.js';
import type { Step } from '../step/step.js';
import type { Job, JobParametersValidator } from './job.js';
import { SimpleJob } from './simple-job.js';

/**
 * Starts a job definition.
 *
 * @example
 * const importJob = job('import').start(load).next(report).listener({ afterJob: (e) => notify(e) }).build();
 */
export function job(name: string): JobBuilder {
  if (typeof name !== 'string' || name.trim() === '') throw new InvalidConfigurationError('A job needs a non-empty name.');
  return new JobBuilder(name);
}

export class JobBuilder {
  private readonly listeners: JobExecutionListener[] = [];
  private readonly validators: JobParametersValidator[] = [];
  private restartable = true;

  constructor(readonly name: string) {}

  listener(listener: JobExecutionListener): this {
    this.listeners.push(listener);
    return this;
  }

  /** Refuse parameters before anything is stored: throw from `validate` to reject them. */
  validator(validate: JobParametersValidator): this {
    this.validators.push(validate);
    return this;
  }

  /** An instance of this job may run only once: a second launch fails with JobRestartError instead of restarting. */
  preventRestart(): this {
    this.restartable = false;
    return this;
  }

  start(first: Step): SimpleJobBuilder {
    return new SimpleJobBuilder(this.name, [first], { listeners: this.listeners, validators: this.validators, restartable: () => this.restartable });
  }
}

export class SimpleJobBuilder {
  constructor(
    private readonly name: string,
    private readonly steps: Step[],
    private readonly settings: { listeners: JobExecutionListener[]; validators: JobParametersValidator[]; restartable: () => boolean },
  ) {}

  next(step: Step): this {
    this.steps.push(step);
    return this;
  }

  listener(listener: JobExecutionListener): this {
    this.settings.listeners.push(listener);
    return this;
  }

  validator(validate: JobParametersValidator): this {
    this.settings.validators.push(validate);
    return this;
  }

  build(): Job {
    const names = new Set<string>();
    for (const step of this.steps) {
      if (!step || typeof step.execute !== 'function') {
        throw new InvalidConfigurationError(`Job '${this.name}': every step must be built with step(name)...build().`);
      }
      if (names.has(step.name)) {
        throw new InvalidConfigurationError(`Job '${this.name}': two steps are named '${step.name}'; step names must be unique within a job.`);
      }
      names.add(step.name);
    }
    return new SimpleJob(
      { name: this.name, restartable: this.settings.restartable(), listeners: [...this.settings.listeners], validators: [...this.settings.validators] },
      [...this.steps],
    );
  }
}
