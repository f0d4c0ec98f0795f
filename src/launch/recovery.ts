import { isRunningStatus } from '../domain/batch-status.js';
import { describeOwner, type ExecutionOwner, type OwnerHeartbeat } from '../domain/execution-owner.js';
import type { BatchEventSink } from '../domain/batch-event.js';
import type { Logger } from '../domain/logger.js';
import type { JobRepository } from '../repository/job-repository.js';
import type { Clock } from '../support/clock.js';
import { isOwnerAlive } from './owner-liveness.js';
import type { JobLauncher } from './job-launcher.js';
import type { JobRegistry } from './job-registry.js';

/**
 * What to do with orphans, running executions whose process is gone:
 * - `restart`: mark them FAILED (exit code ORPHANED), then restart them from their last commit
 *   as soon as their job is registered in this runtime;
 * - `fail`: only mark them FAILED, for an operator or a later launch to restart;
 * - `none`: leave them alone (they keep blocking a relaunch of their instance).
 */
export type RecoveryPolicy = 'restart' | 'fail' | 'none';

export interface RecoveryOptions {
  readonly policy: RecoveryPolicy;
  /** How often this runtime tells the store it is alive. */
  readonly heartbeatMs: number;
  /** A heartbeat older than this makes the executions of a runtime on another host orphans. */
  readonly leaseMs: number;
  /** How often to look for orphans after the first pass at open. */
  readonly intervalMs: number;
}

/**
 * Keeps this runtime's heartbeat and finds and recovers orphans: at open, whenever a job is
 * registered, and periodically. Executions of live owners are never touched, and each recovery is
 * one transaction that re-checks the execution, so two runtimes recovering at once cannot both act.
 */
export class OrphanRecovery {
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private passTimer: NodeJS.Timeout | undefined;
  private pass: Promise<void> = Promise.resolve();

  constructor(
    private readonly repository: JobRepository,
    private readonly registry: JobRegistry,
    private readonly launcher: JobLauncher,
    private readonly owner: ExecutionOwner,
    private readonly options: RecoveryOptions,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly events: BatchEventSink,
  ) {}

  /** The check the launcher hands to the repository, so a launch can take over an orphaned instance. */
  readonly isOwnerGone = (owner: ExecutionOwner | null | undefined, heartbeat: OwnerHeartbeat | undefined): boolean =>
    !isOwnerAlive(owner, heartbeat, { self: this.owner, leaseMs: this.options.leaseMs, now: this.clock.now().getTime() });

  async start(): Promise<void> {
    await this.repository.heartbeat(this.owner, this.clock.now().getTime());
    this.heartbeatTimer = setInterval(() => {
      this.repository.heartbeat(this.owner, this.clock.now().getTime()).catch((error: unknown) => {
        this.logger.warn({ event: 'runtime.heartbeat_failed', err: error }, 'Could not record the heartbeat');
      });
    }, this.options.heartbeatMs);
    this.heartbeatTimer.unref();
    if (this.options.policy === 'none') return;
    this.passTimer = setInterval(() => void this.runPass(), this.options.intervalMs);
    this.passTimer.unref();
    await this.runPass();
  }

  /** Runs a recovery pass after any pass in progress; resolves when it is done. */
  runPass(): Promise<void> {
    if (this.options.policy === 'none') return Promise.resolve();
    this.pass = this.pass.then(() => this.recoverOrphans()).catch((error: unknown) => {
      this.logger.error({ event: 'recovery.failed', err: error }, 'Orphan recovery pass failed');
    });
    return this.pass;
  }

  async stop(): Promise<void> {
    clearInterval(this.heartbeatTimer);
    clearInterval(this.passTimer);
    await this.pass;
  }

  private async recoverOrphans(): Promise<void> {
    for (const jobName of await this.repository.getJobNames()) {
      // Under `restart`, an orphan is left for later when its job is not registered here: once
      // marked FAILED nobody would restart it automatically.
      if (this.options.policy === 'restart' && !this.registry.has(jobName)) continue;
      for (const execution of await this.repository.findRunningJobExecutions(jobName)) {
        const owner = execution.owner;
        if (!owner) continue;
        const heartbeat = await this.repository.getHeartbeat(owner.token);
        if (!this.isOwnerGone(owner, heartbeat)) continue;
        const description = `Orphaned: its owner, ${describeOwner(owner)}, is gone. Recovered by ${describeOwner(this.owner)}.`;
        if (!(await this.repository.failOrphan(execution.id, execution.version, description))) continue;
        this.logger.warn({ event: 'job.orphan_recovered', jobName, jobExecutionId: execution.id, owner }, 'Orphaned execution marked FAILED');
        if (this.events.active) this.events.publish({ type: 'job.orphan_recovered', jobName, jobInstanceId: execution.jobInstance.id, jobExecutionId: execution.id });
        if (this.options.policy !== 'restart') continue;
        const restarted = await this.restart(jobName, execution.id);
        if (restarted !== undefined) {
          this.logger.info({ event: 'job.orphan_restarted', jobName, previousExecutionId: execution.id, jobExecutionId: restarted }, 'Orphan restarted');
        }
      }
    }
  }

  private async restart(jobName: string, executionId: number): Promise<number | undefined> {
    const previous = await this.repository.getJobExecution(executionId);
    if (!previous || isRunningStatus(previous.status)) return undefined;
    try {
      const { execution } = await this.launcher.launch(this.registry.get(jobName), previous.jobParameters);
      return execution.id;
    } catch (error) {
      this.logger.warn({ event: 'job.orphan_restart_refused', jobName, jobExecutionId: executionId, err: error }, 'Could not restart an orphan');
      return undefined;
    }
  }
}
