import { IllegalStateError } from '../domain/errors.js';
import type { Logger } from '../domain/logger.js';
import { createDefaultLogger, createSilentLogger } from '../observe/pino-logger.js';
import type { JobExplorer } from '../repository/job-explorer.js';
import type { JobRepository } from '../repository/job-repository.js';
import { createInMemoryJobRepository, openLmdbJobRepository } from '../repository/open-repository.js';
import { systemClock, type Clock } from '../support/clock.js';
import type { FaultPoints } from '../support/fault-points.js';
import { JobLauncher } from './job-launcher.js';
import { JobOperator } from './job-operator.js';
import { JobRegistry } from './job-registry.js';
import { RunningExecutions } from './running-executions.js';

export interface BatchRuntimeOptions {
  /** The LMDB store directory, created if missing. @default './.tsbatch' */
  readonly path?: string;
  /** Keep everything in memory instead (tests, throwaway runs); `path` is then ignored. @default false */
  readonly inMemory?: boolean;
  /** A pino-compatible logger, or `false` for none. @default pino at `info` (or TSBATCH_LOG_LEVEL) on stderr */
  readonly logger?: Logger | false;
  /** @default the system clock */
  readonly clock?: Clock;
  /** Fault points armed for tests (see `tsbatch/testing`). */
  readonly faults?: FaultPoints;
  /** How often `operator.waitFor` polls for executions of other processes. @default 200 */
  readonly pollIntervalMs?: number;
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
  readonly registry = new JobRegistry();
  readonly launcher: JobLauncher;
  readonly operator: JobOperator;
  readonly explorer: JobExplorer;
  readonly logger: Logger;
  private currentState: BatchRuntimeState = 'OPEN';
  private readonly running = new RunningExecutions();

  private constructor(
    private readonly repository: JobRepository,
    logger: Logger,
    clock: Clock,
    faults: FaultPoints | undefined,
    pollIntervalMs: number,
  ) {
    this.logger = logger;
    this.explorer = repository;
    const assertOpen = (action: string) => {
      if (this.currentState !== 'OPEN') throw new IllegalStateError('BatchRuntime', this.currentState, action);
    };
    this.launcher = new JobLauncher({ repository, logger, clock, faults, running: this.running, assertOpen });
    this.operator = new JobOperator({
      repository,
      registry: this.registry,
      launcher: this.launcher,
      running: this.running,
      logger,
      clock,
      pollIntervalMs,
    });
  }

  /** Opens (creating if needed) the store and returns a runtime ready to launch jobs. */
  static async open(options: BatchRuntimeOptions = {}): Promise<BatchRuntime> {
    const logger = options.logger === false ? createSilentLogger() : (options.logger ?? createDefaultLogger());
    const clock = options.clock ?? systemClock;
    const repositoryOptions = { clock, ...(options.faults ? { faults: options.faults } : {}) };
    const repository = options.inMemory
      ? createInMemoryJobRepository(repositoryOptions)
      : openLmdbJobRepository(options.path ?? './.tsbatch', repositoryOptions);
    return new BatchRuntime(repository, logger, clock, options.faults, options.pollIntervalMs ?? 200);
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
    await Promise.all(this.running.all().map((r) => r.done));
    await this.repository.close();
    this.currentState = 'CLOSED';
  }
}
