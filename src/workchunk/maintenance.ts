import type { ExecutionOwner, OwnerHeartbeat } from '../domain/execution-owner.js';
import type { Logger } from '../domain/logger.js';
import type { Clock } from '../support/clock.js';
import type { WorkChunkInstanceRecord } from './records.js';
import type { WorkChunkRepository } from './work-chunk-repository.js';

/** What one maintenance pass did. */
export interface MaintenanceReport {
  /** Chunks whose worker was gone, made claimable again. */
  readonly reclaimedChunks: number;
  readonly activeInstances: number;
  /** Instances whose status the pass corrected (a gate, a completion that no commit made). */
  readonly settledInstances: number;
  readonly reductionsStarted: number;
  readonly purgedInstances: number;
  readonly durationMs: number;
}

export interface MaintenanceOptions {
  readonly repository: WorkChunkRepository;
  readonly owner: ExecutionOwner;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly retentionMs: number;
  readonly isOwnerGone: (owner: ExecutionOwner, heartbeat: OwnerHeartbeat | undefined) => boolean;
  /** Whether this runtime has the definition of an instance (so it can run its reducer). */
  readonly canRun: (instance: WorkChunkInstanceRecord) => boolean;
  readonly startReduction: (instanceId: string) => void;
  readonly onChanged: (changed: readonly WorkChunkInstanceRecord[], ended: readonly string[]) => void;
}

/**
 * The periodic backstop of work-chunk jobs. Commits already open gates, start reducers and end
 * instances as they happen; this pass catches what no commit could: workers that died (their
 * leases), reducers whose runtime died, and chunk data past its retention. It reads only the
 * indexes of live work (leases, active instances, ended-but-unpurged instances), so its cost
 * does not grow with the number of completed chunks.
 */
export class WorkChunkMaintenance {
  private pass: Promise<MaintenanceReport> | undefined;

  constructor(private readonly options: MaintenanceOptions) {}

  /** Runs a pass, or joins the one in progress. */
  run(): Promise<MaintenanceReport> {
    this.pass ??= this.runPass().finally(() => (this.pass = undefined));
    return this.pass;
  }

  private async runPass(): Promise<MaintenanceReport> {
    const { repository, owner, clock, logger } = this.options;
    const started = performance.now();
    const reclaimed = await repository.reclaimLeases(owner, this.options.isOwnerGone);
    for (const { instanceId, chunkId, owner: gone } of reclaimed) {
      logger.warn({ event: 'workchunk.lease_reclaimed', instanceId, chunkId, previousOwner: gone }, 'Chunk of a gone worker made claimable again');
    }
    const activeIds = repository.activeInstanceIds();
    const { changed, ended } = await repository.settle(activeIds);
    if (changed.length) this.options.onChanged(changed, ended);
    let reductionsStarted = 0;
    for (const instance of repository.readInstances(activeIds)) {
      if (instance.status !== 'FINALIZE' || !this.options.canRun(instance)) continue;
      this.options.startReduction(instance.id);
      reductionsStarted += 1;
    }
    const purged = await repository.purgeChunks(clock.now().getTime() - this.options.retentionMs);
    const report: MaintenanceReport = {
      reclaimedChunks: reclaimed.length,
      activeInstances: activeIds.length,
      settledInstances: changed.length,
      reductionsStarted,
      purgedInstances: purged.length,
      durationMs: performance.now() - started,
    };
    logger.debug({ event: 'workchunk.maintenance', ...report }, 'Work-chunk maintenance pass');
    return report;
  }
}
