import type { JobExecution } from '../domain/job-execution.js';
import type { StepExecution } from '../domain/step-execution.js';

/** A job execution running in this process: the live objects that a stop must reach. */
export interface RunningExecution {
  readonly execution: JobExecution;
  /** The step executions now running (several at once once splits and partitions run). */
  readonly activeSteps: Set<StepExecution>;
  readonly done: Promise<JobExecution>;
}

/** The executions this runtime is running, by id. */
export class RunningExecutions {
  private readonly byId = new Map<number, RunningExecution>();

  add(running: RunningExecution): void {
    this.byId.set(running.execution.id, running);
  }

  remove(executionId: number): void {
    this.byId.delete(executionId);
  }

  get(executionId: number): RunningExecution | undefined {
    return this.byId.get(executionId);
  }

  all(): RunningExecution[] {
    return [...this.byId.values()];
  }

  get size(): number {
    return this.byId.size;
  }
}
