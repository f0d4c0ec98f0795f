import { IllegalStateError } from '../domain/errors.js';
import type { Logger } from '../domain/logger.js';
import { BatchEvents } from '../observe/batch-events.js';
import { createDefaultLogger, createSilentLogger } from '../observe/pino-logger.js';
import type { JobExplorer } from '../repository/job-explorer.js';
import type { JobRepository } from '../repository/job-repository.js';
import { KvJobRepository } from '../repository/kv-job-repository.js';
import type { KvStore } from '../repository/kv-store.js';
import { MemoryKvStore } from '../repository/in-memory/memory-kv-store.js';
import { LmdbKvStore } from '../repository/lmdb/lmdb-kv-store.js';
import { PgKvStore } from '../repository/postgres/pg-kv-store.js';
import { WorkChunkCoordinator, type WorkChunkOptions } from '../workchunk/coordinator.js';
import { systemClock, type Clock } from '../support/clock.js';
import type { FaultPoints } from '../support/fault-points.js';
import { JobLauncher } from './job-launcher.js';
import { JobOperator } from './job-operator.js';
import { JobRegistry } from './job-registry.js';
import { OrphanRecovery, type RecoveryOptions, type RecoveryPolicy } from './recovery.js';
import { RunningExecutions } from './running-executions.js';
import { currentProcessIdentity } from '../support/process-identity.js';
import { InvalidConfigurationError } from '../domain/errors.js';
import type { Dispatcher } from '../remote/dispatcher.js';
import { RemotePartitioning, type RemotePartitioningOptions } from '../remote/remote-partitioning.js';
import { StoreDispatcher } from '../remote/store-dispatcher.js';
import { SkipLockedDispatcher } from '../remote/postgres/skip-locked-dispatcher.js';
import { PgBossDispatcher } from '../remote/postgres/pg-boss-dispatcher.js';

export interface BatchRuntimeOptions {
  /** The LMDB store directory, created if missing. @default './.tsbatch' */
  readonly path?: string;
  /** Keep everything in memory instead (tests, throwaway runs); `path` is then ignored. @default false */
  readonly inMemory?: boolean;
  /**
   * Keep the repository in PostgreSQL instead, shared by every process and host that opens the
   * same database (`path` is then ignored). The table is created when missing.
   */
  readonly postgres?: PostgresStoreOptions;
  /** A pino-compatible logger, or `false` for none. @default pino at `info` (or TSBATCH_LOG_LEVEL) on stderr */
  readonly logger?: Logger | false;
  /** @default the system clock */
  readonly clock?: Clock;
  /** Fault points armed for tests (see `tsbatch/testing`). */
  readonly faults?: FaultPoints;
  /** How often `operator.waitFor` polls for executions of other processes. @default 200 */
  readonly pollIntervalMs?: number;
  /**
   * What to do with running executions whose process is gone (see RecoveryPolicy): found at open,
   * whenever a job is registered, and every `recoveryIntervalMs`. @default 'restart'
   */
  readonly recovery?: RecoveryPolicy;
  /** @default 5000 */
  readonly heartbeatMs?: number;
  /** How old a heartbeat may get before a runtime on another host counts as gone. @default 30000 */
  readonly leaseMs?: number;
  /** @default 30000 */
  readonly recoveryIntervalMs?: number;
  /** Work-chunk jobs: chunk workers, leases, maintenance and retention. */
  readonly workChunks?: WorkChunkOptions;
  /** Remote partitioning: which queue carries partitions to workers, their leases, the reconciler. */
  readonly remote?: RemotePartitioningOptions;
}

export interface PostgresStoreOptions {
  /** e.g. `postgres://user:password@host:5432/database` */
  readonly connectionString: string;
  /** @default 'tsbatch_kv' */
  readonly table?: string;
  /** How long one statement may take before the store counts PostgreSQL as gone. @default 30000 */
  readonly statementTimeoutMs?: number;
}

export interface ShutdownOptions {
  /** How long to wait for running executions to stop at their next chunk boundary. @default 30000 */
  readonly timeoutMs?: number;
}

/** How a shutdown went: the executions that had not stopped by the timeout are left as orphans. */
export interface ShutdownResult {
  readonly stopped: readonly number[];
  readonly timedOut: readonly number[];
}

/**
 * The lifecycle of a runtime:
 * - `OPEN`: jobs can be launched.
 * - `CLOSING`: `close()` was called; no new launches; running executions are finishing.
 * - `CLOSED`: the store is closed; every call fails with IllegalStateError.
 */
export type BatchRuntimeState = 'OPEN' | 'CLOSING' | 'CLOSED';

/**
 * The embedded batch runtime: a job repository and everything that launches and operates jobs
 * against it.
 *
 * @example
 * const runtime = await BatchRuntime.open({ path: './.tsbatch' });
 * const execution = await runtime.launcher.run(importJob, JobParameters.of({ file: 'in.csv' }));
 * await runtime.close();
 */
export class BatchRuntime {
  readonly registry: JobRegistry;
  readonly launcher: JobLauncher;
  readonly operator: JobOperator;
  readonly explorer: JobExplorer;
  /** Work-chunk jobs (the batch2 model): register, start, get, list, cancel, waitFor. */
  readonly workChunks: WorkChunkCoordinator;
  /** Job, step, chunk and work-chunk events for metrics, tracing and dashboards: `events.subscribe(listener)`. */
  readonly events: BatchEvents;
  /**
   * Remote partitioning: `remote.startWorker({ concurrency })` runs partitions of steps partitioned
   * with `remote: true`, whichever process launched their job (what `tsbatch worker` does).
   */
  readonly remote: RemotePartitioning;
  readonly logger: Logger;
  private currentState: BatchRuntimeState = 'OPEN';
  private readonly running = new RunningExecutions();
  private readonly recovery: OrphanRecovery;
  private signalHandlers: (() => void) | undefined;

  private constructor(
    private readonly repository: JobRepository,
    logger: Logger,
    clock: Clock,
    faults: FaultPoints | undefined,
    pollIntervalMs: number,
    recoveryOptions: RecoveryOptions,
    store: KvStore,
    workChunkOptions: WorkChunkOptions | undefined,
    openDispatcher: (logger: Logger) => Promise<Dispatcher>,
    remoteOptions: RemotePartitioningOptions | undefined,
  ) {
    this.logger = logger;
    this.explorer = repository;
    this.events = new BatchEvents(logger);
    const owner = currentProcessIdentity();
    const assertOpen = (action: string) => {
      if (this.currentState !== 'OPEN') throw new IllegalStateError('BatchRuntime', this.currentState, action);
    };
    this.registry = new JobRegistry(() => {
      if (this.currentState === 'OPEN') void this.recovery.runPass();
    });
    this.remote = new RemotePartitioning(
      { store, repository, registry: this.registry, clock, logger, owner, faults, events: this.events },
      () => openDispatcher(logger),
      remoteOptions,
    );
    this.launcher = new JobLauncher({
      repository,
      logger,
      clock,
      faults,
      running: this.running,
      assertOpen,
      owner,
      isOwnerGone: () => (recoveryOptions.policy === 'none' ? undefined : this.recovery.isOwnerGone),
      events: this.events,
      partitionHandler: this.remote,
    });
    this.recovery = new OrphanRecovery(repository, this.registry, this.launcher, owner, recoveryOptions, clock, logger, this.events);
    this.operator = new JobOperator({
      repository,
      registry: this.registry,
      launcher: this.launcher,
      running: this.running,
      logger,
      clock,
      pollIntervalMs,
      isOwnerGone: (owner, heartbeat) => this.recovery.isOwnerGone(owner, heartbeat),
    });
    this.workChunks = new WorkChunkCoordinator(
      { store, clock, logger, owner, faults, events: this.events, isOwnerGone: (chunkOwner, heartbeat) => this.recovery.isOwnerGone(chunkOwner, heartbeat), assertOpen },
      workChunkOptions,
    );
  }

  /** Opens (creating if needed) the store and returns a runtime ready to launch jobs. */
  static async open(options: BatchRuntimeOptions = {}): Promise<BatchRuntime> {
    const logger = options.logger === false ? createSilentLogger() : (options.logger ?? createDefaultLogger());
    const clock = options.clock ?? systemClock;
    const repositoryOptions = { clock, ...(options.faults ? { faults: options.faults } : {}) };
    // One store holds both models, so a work-chunk commit and a job's records share its transactions.
    const store = options.inMemory
      ? new MemoryKvStore()
      : options.postgres
        ? PgKvStore.open(options.postgres.connectionString, options.postgres)
        : LmdbKvStore.open(options.path ?? './.tsbatch');
    const repository = new KvJobRepository(store, repositoryOptions);
    const runtime = new BatchRuntime(
      repository,
      logger,
      clock,
      options.faults,
      options.pollIntervalMs ?? 200,
      {
        policy: options.recovery ?? 'restart',
        heartbeatMs: options.heartbeatMs ?? 5000,
        leaseMs: options.leaseMs ?? 30_000,
        intervalMs: options.recoveryIntervalMs ?? 30_000,
      },
      store,
      options.workChunks,
      (runtimeLogger) => openDispatcher(options, store, runtimeLogger),
      options.remote,
    );
    await runtime.recovery.start();
    return runtime;
  }

  /** Looks for orphans now (it also happens at open, on register, and periodically); resolves when done. */
  recoverOrphans(): Promise<void> {
    return this.recovery.runPass();
  }

  get state(): BatchRuntimeState {
    return this.currentState;
  }

  /**
   * Refuses new launches, waits for the executions this runtime is running to end, then closes the
   * store. To end them sooner, stop them first with `operator.stop`.
   */
  async close(): Promise<void> {
    if (this.currentState !== 'OPEN') return;
    this.currentState = 'CLOSING';
    await this.remote.close();
    await Promise.all(this.running.all().map((r) => r.done));
    await this.workChunks.close();
    await this.closeStore();
  }

  /**
   * Stops every running execution (each step commits the chunk in flight and ends STOPPED), waits
   * up to `timeoutMs`, then closes the store. Executions still running at the timeout are left as
   * they are: when the process exits they become orphans, which the next start recovers from their
   * last commit.
   */
  async shutdown(options: ShutdownOptions = {}): Promise<ShutdownResult> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    if (this.currentState !== 'OPEN') return { stopped: [], timedOut: [] };
    this.currentState = 'CLOSING';
    const running = this.running.all();
    this.logger.info({ event: 'runtime.shutdown', running: running.length, timeoutMs }, 'Shutting down');
    await Promise.all(
      running.map((r) =>
        this.operator.stop(r.execution.id).catch((error: unknown) => {
          this.logger.debug({ event: 'runtime.stop_skipped', jobExecutionId: r.execution.id, err: error }, 'Execution already ending');
        }),
      ),
    );
    // Partitions running here for other processes' jobs are handed back, not stopped.
    await this.remote.close();
    const stopped: number[] = [];
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([Promise.all(running.map((r) => r.done.then(() => void stopped.push(r.execution.id)))), deadline]);
    clearTimeout(timer);
    const timedOut = running.map((r) => r.execution.id).filter((id) => !stopped.includes(id));
    // Work chunks are short by design: the ones running finish and commit, the rest stay stored.
    await this.workChunks.close();
    if (timedOut.length === 0) await this.closeStore();
    else this.logger.warn({ event: 'runtime.shutdown_timed_out', timedOut }, 'Executions did not stop in time; they will be recovered as orphans');
    return { stopped, timedOut };
  }

  /**
   * Opt-in: on SIGTERM or SIGINT, shut down gracefully and exit (0 when every execution stopped,
   * 1 otherwise); a second signal exits at once. Returns a function that removes the handlers.
   */
  installSignalHandlers(options: ShutdownOptions = {}): () => void {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) process.exit(130);
      signalled = true;
      this.logger.info({ event: 'runtime.signal', signal }, 'Signal received; stopping at the next chunk boundary');
      void this.shutdown(options).then(({ timedOut }) => process.exit(timedOut.length === 0 ? 0 : 1));
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    this.signalHandlers = () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    };
    return this.signalHandlers;
  }

  private async closeStore(): Promise<void> {
    this.signalHandlers?.();
    await this.recovery.stop();
    await this.repository.close();
    this.currentState = 'CLOSED';
  }
}

/** The dispatcher remote partitioning uses: pg-boss on PostgreSQL, the store's own key range elsewhere. */
async function openDispatcher(options: BatchRuntimeOptions, store: KvStore, logger: Logger): Promise<Dispatcher> {
  const kind = options.remote?.dispatcher ?? (options.postgres ? 'pg-boss' : 'store');
  if (kind === 'store') return new StoreDispatcher(store, logger);
  if (!options.postgres) throw new InvalidConfigurationError(`The '${kind}' dispatcher needs the PostgreSQL repository (BatchRuntime.open({ postgres })): its queue lives in the same database.`);
  const { connectionString } = options.postgres;
  const { queue, pgBossSchema } = options.remote ?? {};
  if (kind === 'skip-locked') return SkipLockedDispatcher.start({ connectionString, logger, ...(queue ? { table: queue } : {}) });
  return PgBossDispatcher.start({ connectionString, logger, ...(queue ? { queue } : {}), ...(pgBossSchema ? { schema: pgBossSchema } : {}) });
}
