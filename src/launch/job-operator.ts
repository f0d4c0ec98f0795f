import { jobExecutionMachine } from '../../machines/job-execution.js';
import { isRunningStatus } from '../domain/batch-status.js';
import {
  JobExecutionAlreadyRunningError,
  JobExecutionNotRunningError,
  JobParametersInvalidError,
  NoSuchJobError,
  NoSuchJobExecutionError,
  isBatchError,
} from '../domain/errors.js';
import { ExitStatus } from '../domain/exit-status.js';
import { describeOwner, type ExecutionOwner, type OwnerHeartbeat } from '../domain/execution-owner.js';
import type { JobExecution } from '../domain/job-execution.js';
import { JobParameters, type JobParameterInput } from '../domain/job-parameters.js';
import type { Logger } from '../domain/logger.js';
import type { JobRepository } from '../repository/job-repository.js';
import { assertTransition, transitionJob, transitionStep } from '../step/status-host.js';
import type { Clock } from '../support/clock.js';
import type { JobLauncher } from './job-launcher.js';
import type { JobRegistry } from './job-registry.js';
import type { RunningExecutions } from './running-executions.js';

/** @internal */
export interface OperatorContext {
  readonly repository: JobRepository;
  readonly registry: JobRegistry;
  readonly launcher: JobLauncher;
  readonly running: RunningExecutions;
  readonly logger: Logger;
  readonly clock: Clock;
  /** How often `waitFor` polls the store for an execution another process runs. */
  readonly pollIntervalMs: number;
  /** Whether the owner of an execution is gone (see orphan recovery). */
  readonly isOwnerGone: (owner: ExecutionOwner | null | undefined, heartbeat: OwnerHeartbeat | undefined) => boolean;
}

/**
 * Operates jobs by name and executions by id: start, restart, stop, abandon, wait. Works on
 * executions of this process directly and on those of other processes through the shared store.
 */
export class JobOperator {
  /** @internal */
  constructor(private readonly context: OperatorContext) {}

  /**
   * Starts the registered job `jobName`; resolves with the new execution's id once it has started,
   * while the job runs on in the background (see `waitFor`).
   */
  async start(jobName: string, parameters: JobParameters | Readonly<Record<string, JobParameterInput>> = JobParameters.EMPTY): Promise<number> {
    const job = this.context.registry.get(jobName);
    const { execution } = await this.context.launcher.launch(job, parameters);
    return execution.id;
  }

  /**
   * Starts the next instance of a job that has an incrementer: its parameters are the
   * incrementer's answer to the parameters of the job's last instance (or to none).
   */
  async startNextInstance(jobName: string): Promise<number> {
    const job = this.context.registry.get(jobName);
    if (!job.incrementer) {
      throw new JobParametersInvalidError(`Job '${jobName}' has no incrementer; give it one with .incrementer(runIdIncrementer()).`, jobName);
    }
    const [lastInstance] = await this.context.repository.getJobInstances(jobName, 0, 1);
    const lastExecution = lastInstance ? await this.context.repository.getLastJobExecution(lastInstance.id) : undefined;
    const { execution } = await this.context.launcher.launch(job, job.incrementer(lastExecution?.jobParameters));
    return execution.id;
  }

  /**
   * Starts a new execution of the instance of `executionId` with the same parameters, resuming at
   * the last commit of the step that did not complete. Resolves with the new execution's id.
   * The launch errors apply: a COMPLETED or ABANDONED instance cannot be restarted.
   */
  async restart(executionId: number): Promise<number> {
    const previous = await this.load(executionId);
    const job = this.context.registry.get(previous.jobName);
    const { execution } = await this.context.launcher.launch(job, previous.jobParameters);
    this.context.logger.info({ event: 'job.restarted', jobName: job.name, previousExecutionId: executionId, jobExecutionId: execution.id }, 'Job restarted');
    return execution.id;
  }

  /**
   * Asks a running execution to stop: it is STOPPING at once and STOPPED at its next chunk
   * boundary, after the chunk in flight has committed. One still STARTING stops at once.
   * Throws JobExecutionNotRunningError when the execution has already ended.
   */
  async stop(executionId: number): Promise<void> {
    const { repository, clock, running } = this.context;
    const live = running.get(executionId);
    if (live) {
      const { execution } = live;
      if (!isRunningStatus(execution.status)) throw new JobExecutionNotRunningError(executionId, execution.status);
      if (execution.status !== 'STOPPING') await transitionJob(repository, clock, execution, { type: 'REQUEST_STOP' });
      for (const step of live.activeSteps) step.terminateOnly = true;
      this.context.logger.info({ event: 'job.stop_requested', jobName: execution.jobName, jobExecutionId: executionId }, 'Stop requested');
      return;
    }
    // Run by another process: store the request; that process sees it at its next commit.
    for (let attempt = 0; ; attempt++) {
      const execution = await this.load(executionId);
      if (!isRunningStatus(execution.status)) throw new JobExecutionNotRunningError(executionId, execution.status);
      if (execution.status === 'STOPPING') return;
      try {
        await transitionJob(repository, clock, execution, { type: 'REQUEST_STOP' });
        this.context.logger.info({ event: 'job.stop_requested', jobName: execution.jobName, jobExecutionId: executionId }, 'Stop requested');
        return;
      } catch (error) {
        // The owner wrote in between; read again and retry with the fresh version.
        if (!isBatchError(error, 'OPTIMISTIC_LOCKING_FAILURE') || attempt >= 5) throw error;
      }
    }
  }

  /**
   * Marks a STOPPED or FAILED execution ABANDONED: its instance will never run again.
   * Any other status is refused with IllegalStatusTransitionError.
   */
  async abandon(executionId: number): Promise<JobExecution> {
    const execution = await this.load(executionId);
    assertTransition(
      jobExecutionMachine,
      `JobExecution ${executionId} (${execution.jobName})`,
      execution,
      { type: 'ABANDON' },
      'Only STOPPED or FAILED executions can be abandoned; stop a running one first.',
    );
    await transitionJob(this.context.repository, this.context.clock, execution, { type: 'ABANDON' });
    this.context.logger.info({ event: 'job.abandoned', jobName: execution.jobName, jobExecutionId: executionId }, 'Job execution abandoned');
    return execution;
  }

  /**
   * Marks an execution whose process is gone FAILED, so that it can be restarted (Spring Batch 6's
   * `recover`): its running step executions and the execution itself end FAILED, and its context
   * records `batch.recovered`. Refused for an execution this runtime is running, and for one whose
   * recorded owner is still alive (unless `force`, for an owner known to be hung); a no-op for one
   * that has already ended COMPLETED, ABANDONED or UNKNOWN.
   */
  async recover(executionId: number, options: { readonly force?: boolean } = {}): Promise<JobExecution> {
    const { repository, clock, running } = this.context;
    if (running.get(executionId)) {
      throw new JobExecutionAlreadyRunningError((await this.load(executionId)).jobName, executionId, 'running in this process');
    }
    const execution = await this.load(executionId);
    const owner = execution.owner;
    if (owner && !options.force && isRunningStatus(execution.status)) {
      const heartbeat = await repository.getHeartbeat(owner.token);
      if (!this.context.isOwnerGone(owner, heartbeat)) {
        throw new JobExecutionAlreadyRunningError(execution.jobName, executionId, `${execution.status}, and its owner, ${describeOwner(owner)}, is alive`);
      }
    }
    if (execution.status === 'COMPLETED' || execution.status === 'ABANDONED' || execution.status === 'UNKNOWN') return execution;
    const description = 'Recovered: marked FAILED by an operator because its process is gone.';
    for (const step of execution.stepExecutions) {
      if (!isRunningStatus(step.status)) continue;
      step.exitStatus = ExitStatus.FAILED.addExitDescription(description);
      step.executionContext.put('batch.recovered', true);
      await transitionStep(repository, clock, step, { type: 'FAIL' });
    }
    if (isRunningStatus(execution.status)) {
      execution.exitStatus = ExitStatus.FAILED.addExitDescription(description);
      execution.executionContext.put('batch.recovered', true);
      await transitionJob(repository, clock, execution, { type: 'FAIL' });
      this.context.logger.warn({ event: 'job.recovered', jobName: execution.jobName, jobExecutionId: executionId }, 'Job execution recovered');
    }
    return this.load(executionId);
  }

  /** The running executions of a job, in this process or any other sharing the store. */
  async getRunningExecutions(jobName: string): Promise<JobExecution[]> {
    const running = await this.context.repository.findRunningJobExecutions(jobName);
    if (running.length === 0 && !this.context.registry.has(jobName) && !(await this.context.repository.getJobNames()).includes(jobName)) {
      throw new NoSuchJobError(jobName, this.context.registry.names());
    }
    return running;
  }

  /** A one-line-per-step summary of an execution, for logs and terminals. */
  async getSummary(executionId: number): Promise<string> {
    const execution = await this.load(executionId);
    return [execution.toString(), ...execution.stepExecutions.map((step) => `  ${step.toString()}`)].join('\n');
  }

  /** Resolves with the execution once it has ended, whichever process runs it. */
  async waitFor(executionId: number): Promise<JobExecution> {
    const live = this.context.running.get(executionId);
    // The live object is the truth at its end, and stays readable after a shutdown closed the store.
    if (live) return live.done;
    for (;;) {
      const execution = await this.load(executionId);
      if (!isRunningStatus(execution.status)) return execution;
      await new Promise((resolve) => setTimeout(resolve, this.context.pollIntervalMs));
    }
  }

  /** Ids of the executions this runtime is running now. */
  runningExecutionIds(): number[] {
    return this.context.running.all().map((r) => r.execution.id);
  }

  private async load(executionId: number): Promise<JobExecution> {
    const execution = await this.context.repository.getJobExecution(executionId);
    if (!execution) throw new NoSuchJobExecutionError(executionId);
    return execution;
  }
}
