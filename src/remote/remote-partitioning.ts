import { InvalidConfigurationError } from '../domain/errors.js';
import type { JobExecution } from '../domain/job-execution.js';
import type { Logger } from '../domain/logger.js';
import type { StepExecution } from '../domain/step-execution.js';
import type { PartitionRequest, RemotePartitionHandler } from '../step/partition/partition-handler.js';
import type { Dispatcher } from './dispatcher.js';
import { PartitionReconciler, type ReconcilerOptions } from './partition-reconciler.js';
import { PartitionWorker, type PartitionWorkerContext, type PartitionWorkerOptions } from './partition-worker.js';
import type { ReconcileResult } from './partition-claims.js';
import { StoreRemotePartitionHandler } from './remote-partition-handler.js';

/** Which queue carries partitions to workers. */
export type DispatcherKind = 'store' | 'pg-boss' | 'skip-locked';

export interface RemotePartitioningOptions extends ReconcilerOptions {
  /**
   * `store`: a key range of the repository itself (the default for LMDB and memory);
   * `pg-boss`: pg-boss in the same PostgreSQL database (the default for PostgreSQL);
   * `skip-locked`: a plain `FOR UPDATE SKIP LOCKED` table (PostgreSQL, for tests and comparison).
   */
  readonly dispatcher?: DispatcherKind;
  /** How long a worker's claim on a partition holds without renewal. @default 30000 */
  readonly leaseMs?: number;
  /** How often a manager reads its partitions' statuses. @default 100 */
  readonly pollMs?: number;
  /**
   * The queue's name on PostgreSQL: the pg-boss queue (default 'tsbatch-partitions'), or the
   * skip-locked table (default 'tsbatch_dispatch'). Runtimes that share a repository share it.
   */
  readonly queue?: string;
  /** pg-boss's schema. @default 'pgboss' */
  readonly pgBossSchema?: string;
}

/**
 * Everything of remote partitioning one runtime owns: the dispatcher (opened on first use, so a
 * runtime that never partitions remotely never connects a queue), the manager's partition handler,
 * the workers started here, and the reconciler, which runs wherever a manager or a worker does.
 */
export class RemotePartitioning implements RemotePartitionHandler {
  private dispatcherOpening: Promise<Dispatcher> | undefined;
  private reconciler: PartitionReconciler | undefined;
  private readonly workers = new Set<PartitionWorker>();

  constructor(
    private readonly context: PartitionWorkerContext,
    private readonly openDispatcher: () => Promise<Dispatcher>,
    private readonly options: RemotePartitioningOptions = {},
  ) {}

  async handle(manager: StepExecution, jobExecution: JobExecution, partitions: readonly PartitionRequest[], logger: Logger): Promise<StepExecution[]> {
    const dispatcher = await this.ready();
    const handler = new StoreRemotePartitionHandler({
      store: this.context.store,
      repository: this.context.repository,
      dispatcher,
      clock: this.context.clock,
      ...(this.options.pollMs !== undefined ? { pollMs: this.options.pollMs } : {}),
    });
    return handler.handle(manager, jobExecution, partitions, logger);
  }

  /** Starts a worker that runs partitions in this process; `stop()` it (or close the runtime) to let go. */
  async startWorker(options: PartitionWorkerOptions = {}): Promise<PartitionWorker> {
    const concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new InvalidConfigurationError(`Worker concurrency must be an integer >= 1, got ${String(options.concurrency)}.`);
    const dispatcher = await this.ready();
    const worker = new PartitionWorker(this.context, dispatcher, { leaseMs: this.options.leaseMs ?? 30_000, ...options });
    await worker.start();
    this.workers.add(worker);
    return worker;
  }

  /** One reconciler pass now (it also runs on a timer once a manager or a worker has started here). */
  async reconcile(): Promise<ReconcileResult | undefined> {
    await this.ready();
    return this.reconciler!.runPass();
  }

  /** Graceful: workers hand their partitions back at the next chunk boundary. */
  async close(): Promise<void> {
    await Promise.all([...this.workers].map((worker) => worker.stop()));
    this.workers.clear();
    await this.reconciler?.stop();
    if (this.dispatcherOpening) await (await this.dispatcherOpening.catch(() => undefined))?.close();
  }

  private async ready(): Promise<Dispatcher> {
    this.dispatcherOpening ??= this.openDispatcher();
    const dispatcher = await this.dispatcherOpening;
    if (!this.reconciler) {
      this.reconciler = new PartitionReconciler(this.context.store, dispatcher, this.context.clock, this.context.logger, this.options);
      this.reconciler.start();
    }
    return dispatcher;
  }
}
