import type { BatchEventSink } from '../domain/batch-event.js';
import type { ExecutionOwner } from '../domain/execution-owner.js';
import type { Logger } from '../domain/logger.js';
import type { StepExecution } from '../domain/step-execution.js';
import { locateStep } from '../flow/step-locator.js';
import type { Job } from '../flow/job.js';
import type { JobRepository } from '../repository/job-repository.js';
import type { KvStore } from '../repository/kv-store.js';
import { resumesCommittedWork } from '../step/chunk-sequence.js';
import { PartitionStep } from '../step/partition/partition-step.js';
import type { Clock } from '../support/clock.js';
import type { FaultPoints } from '../support/fault-points.js';
import type { DispatchConsumer, DispatchMessage, Dispatcher } from './dispatcher.js';
import { claimPartition, releaseClaim, renewLease } from './partition-claims.js';
import { storeTime } from './remote-partition-handler.js';

export interface PartitionWorkerOptions {
  /** How many partitions this process runs at once. @default 1 */
  readonly concurrency?: number;
  /** How long a claim holds without renewal; renewed every third of it while the partition runs. @default 30000 */
  readonly leaseMs?: number;
}

/** The jobs a worker can run, by name (the runtime's registry). */
export interface JobLookup {
  has(jobName: string): boolean;
  get(jobName: string): Job;
  names(): string[];
}

export interface PartitionWorkerContext {
  readonly store: KvStore;
  readonly repository: JobRepository;
  readonly registry: JobLookup;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly owner: ExecutionOwner;
  readonly faults: FaultPoints | undefined;
  readonly events: BatchEventSink | undefined;
}

/**
 * Runs remote partitions in this process (`tsbatch worker`): takes dispatches, claims each
 * partition in the repository (the claim, not the message, decides who runs it), runs the worker
 * step of the job it finds in its own registry, renews the lease while it runs, and lets go at the
 * end. `stop` is the graceful shutdown: partitions in flight commit their current chunk, are
 * RELEASEd and dispatched again for another worker.
 */
export class PartitionWorker {
  private consumer: DispatchConsumer | undefined;
  private readonly running = new Map<number, StepExecution>();
  private stopping = false;
  private readonly leaseMs: number;

  constructor(
    private readonly context: PartitionWorkerContext,
    private readonly dispatcher: Dispatcher,
    private readonly options: PartitionWorkerOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? 30_000;
  }

  async start(): Promise<void> {
    this.consumer = await this.dispatcher.consume((message) => this.handle(message), { concurrency: this.options.concurrency ?? 1 });
    this.context.logger.info(
      { event: 'worker.started', dispatcher: this.dispatcher.name, concurrency: this.options.concurrency ?? 1, leaseMs: this.leaseMs },
      'Partition worker started',
    );
  }

  /** The partitions running here now, by step execution id. */
  get runningPartitions(): readonly number[] {
    return [...this.running.keys()];
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const step of this.running.values()) handBack(step);
    await this.consumer?.stop();
    this.context.logger.info({ event: 'worker.stopped' }, 'Partition worker stopped');
  }

  private async handle(message: DispatchMessage): Promise<void> {
    const { store, repository, clock, owner } = this.context;
    const logger = this.context.logger.child({ jobName: message.jobName, jobExecutionId: message.jobExecutionId, stepName: message.stepName, stepExecutionId: message.stepExecutionId });
    if (this.stopping || this.running.has(message.stepExecutionId)) return;
    const outcome = await store.write((tx) => claimPartition(tx, message.stepExecutionId, owner.token, this.leaseMs, storeTime(tx, clock)));
    if (outcome.kind !== 'claimed') {
      logger.debug({ event: 'partition.not_claimed', outcome: outcome.kind }, 'Partition not claimed');
      return;
    }
    const { attempt } = outcome;
    const jobExecution = await repository.getJobExecution(message.jobExecutionId);
    const step = await repository.getStepExecution(message.jobExecutionId, message.stepExecutionId);
    const manager = this.context.registry.has(message.jobName) ? locateStep(this.context.registry.get(message.jobName), message.managerStepName) : undefined;
    if (!jobExecution || !step || !(manager instanceof PartitionStep)) {
      logger.error(
        { event: 'partition.unrunnable', registered: this.context.registry.names() },
        `This worker cannot run the partition: job '${message.jobName}' with partitioned step '${message.managerStepName}' is not in its registry; it lets the partition go`,
      );
      // Hand it back after a pause, or this worker would take it again at once and spin.
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, this.leaseMs / 3)));
      await store.write((tx) => releaseClaim(tx, this.dispatcher, message.stepExecutionId, owner.token, attempt, storeTime(tx, clock)));
      return;
    }
    logger.info({ event: 'partition.claimed', attempt, resumed: resumesCommittedWork(step) }, 'Partition claimed');
    this.running.set(step.id, step);
    if (this.stopping) handBack(step);
    const renewal = setInterval(() => {
      store
        .write((tx) => renewLease(tx, step.id, owner.token, attempt, this.leaseMs, storeTime(tx, clock)))
        .then((held) => {
          if (held) return;
          logger.warn({ event: 'partition.claim_lost', attempt }, 'Lost the claim on this partition; stopping it at the next chunk boundary');
          handBack(step);
        })
        .catch((error: unknown) => logger.warn({ event: 'partition.renew_failed', err: error }, 'Could not renew the lease'));
    }, Math.max(50, Math.floor(this.leaseMs / 3)));
    try {
      await manager.workerStep.execute(step, {
        repository,
        jobExecution,
        logger: this.context.logger.child({ jobName: message.jobName, jobExecutionId: message.jobExecutionId }),
        clock,
        faults: this.context.faults,
        ...(this.context.events ? { events: this.context.events } : {}),
      });
    } finally {
      clearInterval(renewal);
      this.running.delete(step.id);
    }
    await store.write((tx) => releaseClaim(tx, this.dispatcher, step.id, owner.token, attempt, storeTime(tx, clock)));
    logger.info({ event: 'partition.finished', status: step.status, attempt }, 'Partition finished here');
  }
}

/** Ends the step at its next chunk boundary and hands it back (RELEASE), rather than stopping it. */
function handBack(step: StepExecution): void {
  step.releaseOnly = true;
  step.terminateOnly = true;
}
