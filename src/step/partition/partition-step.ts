import { maxBatchStatus, type BatchStatus } from '../../domain/batch-status.js';
import { InvalidConfigurationError, JobRestartError } from '../../domain/errors.js';
import { ExecutionContext, type ExecutionContextSnapshot, type JsonValue } from '../../domain/execution-context.js';
import type { Logger } from '../../domain/logger.js';
import type { StepExecution } from '../../domain/step-execution.js';
import { mapWithConcurrency } from '../../support/concurrency.js';
import { AbstractStep, type StepRunParts } from '../abstract-step.js';
import type { Step, StepEnvironment } from '../step.js';
import type { StepListeners } from '../step-listeners.js';
import type { Partitioner } from './partitioner.js';
import type { PartitionRequest } from './partition-handler.js';

const GRID_SIZE_KEY = 'batch.partition.gridSize';
const PARTITIONS_KEY = 'batch.partition.contexts';

export interface PartitionOptions {
  /** How many partitions to ask the partitioner for; kept in the manager's context for restarts. */
  readonly gridSize: number;
  /** How many partitions run at once. @default all of them */
  readonly concurrency?: number;
  /**
   * Run the partitions on workers in other processes or hosts (`tsbatch worker`), dispatched through
   * the runtime's dispatcher, instead of in this process. The manager writes every partition and
   * its dispatch in one transaction and waits for them without holding a thread. @default false
   */
  readonly remote?: boolean;
}

/**
 * A manager step that splits its work with a partitioner and runs the worker step once per
 * partition, concurrently, each as its own step execution `<step>:<partition>` with its own context
 * (Spring Batch's PartitionStep). The partitions and gridSize of the first run are kept in the
 * manager's context, so a restart reruns exactly the partitions that did not complete, each from
 * its last commit. The manager's counts are the sums of this run's partitions; its status is the
 * worst of theirs.
 */
export class PartitionStep extends AbstractStep<StepRunParts> {
  constructor(
    settings: { readonly name: string; readonly allowStartIfComplete: boolean; readonly startLimit: number },
    private readonly partitioner: Partitioner,
    private readonly worker: Step,
    private readonly options: PartitionOptions,
    private readonly listeners: StepListeners<unknown, unknown>,
  ) {
    super(settings);
    if (!Number.isInteger(options.gridSize) || options.gridSize < 1) {
      throw new InvalidConfigurationError(`Step '${settings.name}': gridSize must be an integer >= 1, got ${String(options.gridSize)}.`);
    }
  }

  protected createParts(): StepRunParts {
    return { streams: [], listeners: this.listeners };
  }

  protected async doExecute(manager: StepExecution, _parts: StepRunParts, environment: StepEnvironment, logger: Logger): Promise<void> {
    const partitions = await this.partitionsOf(manager, environment);
    const names = Object.keys(partitions);
    logger.info({ event: 'partition.started', partitions: names.length }, 'Running partitions');
    const executions = this.options.remote
      ? await this.runRemotely(manager, partitions, environment, logger)
      : (
          await mapWithConcurrency(names, this.options.concurrency ?? names.length, (name) => this.runPartition(manager, name, partitions[name]!, environment))
        ).filter((execution): execution is StepExecution => execution !== undefined);

    let status: BatchStatus = 'COMPLETED';
    let exit = manager.exitStatus;
    const totals = manager.counts();
    const sum = { ...totals };
    for (const execution of executions) {
      status = maxBatchStatus(status, execution.status);
      exit = exit.and(execution.exitStatus);
      for (const [key, value] of Object.entries(execution.counts()) as Array<[keyof typeof sum, number]>) sum[key] += value;
    }
    manager.restoreCounts(sum);
    manager.exitStatus = exit;
    if (status === 'STOPPED' || status === 'STOPPING') {
      manager.terminateOnly = true;
      return;
    }
    if (status !== 'COMPLETED') {
      const failed = executions.filter((e) => e.status !== 'COMPLETED').map((e) => e.stepName);
      throw new Error(`Partition(s) ${failed.join(', ')} of step '${this.name}' did not complete (${status}); a restart reruns only those.`);
    }
  }

  /** The partitions of this step: from the manager's context on restart, else from the partitioner. */
  private async partitionsOf(manager: StepExecution, environment: StepEnvironment): Promise<Record<string, ExecutionContextSnapshot>> {
    const stored = manager.executionContext.get(PARTITIONS_KEY) as Record<string, ExecutionContextSnapshot> | undefined;
    if (stored) return stored;
    const gridSize = manager.executionContext.get<number>(GRID_SIZE_KEY) ?? this.options.gridSize;
    const partitions = { ...this.partitioner(gridSize) };
    manager.executionContext.put(GRID_SIZE_KEY, gridSize);
    manager.executionContext.put(PARTITIONS_KEY, partitions as unknown as JsonValue);
    await environment.repository.updateStepExecution(manager);
    return partitions;
  }

  /** Runs one partition here, unless an earlier run completed it. */
  private async runPartition(
    manager: StepExecution,
    partition: string,
    initialContext: ExecutionContextSnapshot,
    environment: StepEnvironment,
  ): Promise<StepExecution | undefined> {
    const request = await this.requestFor(manager, partition, initialContext, environment);
    if (!request) return undefined;
    const { repository, jobExecution } = environment;
    const execution = await repository.createStepExecution(jobExecution, request.stepName, new ExecutionContext(request.context));
    jobExecution.stepExecutions.push(execution);
    if (manager.terminateOnly) execution.terminateOnly = true;
    await this.worker.execute(execution, environment);
    return execution;
  }

  private async runRemotely(
    manager: StepExecution,
    partitions: Record<string, ExecutionContextSnapshot>,
    environment: StepEnvironment,
    logger: Logger,
  ): Promise<StepExecution[]> {
    const handler = environment.partitionHandler;
    if (!handler) {
      throw new InvalidConfigurationError(
        `Step '${this.name}' partitions remotely, but this runtime has no dispatcher: open it with a shared store (PostgreSQL or LMDB) and start workers with 'tsbatch worker'.`,
      );
    }
    const requests: PartitionRequest[] = [];
    for (const [name, context] of Object.entries(partitions)) {
      const request = await this.requestFor(manager, name, context, environment);
      if (request) requests.push(request);
    }
    const executions = await handler.handle(manager, environment.jobExecution, requests, logger);
    environment.jobExecution.stepExecutions.push(...executions);
    return executions;
  }

  /**
   * What a partition starts from in this run: nothing when an earlier run completed it, its last
   * committed context when an earlier run did not; refuses partitions that may still be running.
   */
  private async requestFor(
    manager: StepExecution,
    partition: string,
    initialContext: ExecutionContextSnapshot,
    environment: StepEnvironment,
  ): Promise<PartitionRequest | undefined> {
    const { repository, jobExecution } = environment;
    const stepName = `${this.name}:${partition}`;
    const last = await repository.getLastStepExecution(manager.jobInstanceId, stepName);
    if (last && last.jobExecutionId !== jobExecution.id) {
      if (last.status === 'COMPLETED' && !this.allowStartIfComplete) return undefined;
      if (last.status === 'STARTING' || last.status === 'STARTED' || last.status === 'STOPPING' || last.status === 'ABANDONED' || last.status === 'UNKNOWN') {
        throw new JobRestartError(
          `Partition '${stepName}' is ${last.status} in execution ${last.jobExecutionId}; it may still be running, or cannot be restarted.`,
          manager.jobName,
        );
      }
    }
    return { stepName, context: last && last.status !== 'COMPLETED' ? last.executionContext.toJSON() : initialContext };
  }

  /** The step each partition runs (a worker process finds it here by the manager's name). */
  get workerStep(): Step {
    return this.worker;
  }
}
