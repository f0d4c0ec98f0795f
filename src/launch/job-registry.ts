import { DuplicateJobError, InvalidConfigurationError, NoSuchJobError } from '../domain/errors.js';
import type { Job } from '../flow/job.js';

/** The jobs a runtime can start by name (the operator, the CLI and restarts look them up here). */
export class JobRegistry {
  private readonly jobs = new Map<string, Job>();

  /** @internal */
  constructor(private readonly onRegister: (job: Job) => void = () => undefined) {}

  register(job: Job): void {
    if (!job || typeof job.execute !== 'function' || typeof job.name !== 'string') {
      throw new InvalidConfigurationError('register() needs a job built with job(name)...build().');
    }
    if (this.jobs.has(job.name)) throw new DuplicateJobError(job.name);
    this.jobs.set(job.name, job);
    this.onRegister(job);
  }

  unregister(jobName: string): boolean {
    return this.jobs.delete(jobName);
  }

  /** Throws NoSuchJobError, listing the registered names, when there is no such job. */
  get(jobName: string): Job {
    const found = this.jobs.get(jobName);
    if (!found) throw new NoSuchJobError(jobName, this.names());
    return found;
  }

  has(jobName: string): boolean {
    return this.jobs.has(jobName);
  }

  names(): string[] {
    return [...this.jobs.keys()].sort();
  }
}
