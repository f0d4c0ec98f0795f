import type { Logger } from '../domain/logger.js';
import { isSqlTransaction, type KvStore, type KvTransaction } from '../repository/kv-store.js';
import type { Clock } from '../support/clock.js';
import type { Dispatcher } from './dispatcher.js';
import { reconcilePartitions, type ReconcileResult } from './partition-claims.js';
import { storeTime } from './remote-partition-handler.js';

export interface ReconcilerOptions {
  /** @default 2000 */
  readonly intervalMs?: number;
  /** How old an unclaimed dispatch must be before a queue that does not show it counts as having lost it. @default 2 × intervalMs */
  readonly graceMs?: number;
}

/**
 * Every few seconds, whichever process wins the lock re-derives from the repository what the queue
 * must hold: partitions whose worker's lease expired, and partitions the queue lost (purged,
 * expired, dead-lettered), are dispatched again. With it, a queue that loses messages delays a job
 * but never stalls it (HAPI FHIR's #4212).
 */
export class PartitionReconciler {
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<unknown> = Promise.resolve();
  private readonly intervalMs: number;

  constructor(
    private readonly store: KvStore,
    private readonly dispatcher: Dispatcher,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: ReconcilerOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 2000;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.runPass(), this.intervalMs);
    this.timer.unref();
  }

  /** One pass now; undefined when another process holds the lock. */
  runPass(): Promise<ReconcileResult | undefined> {
    const next = this.pass.then(() => this.reconcile());
    this.pass = next.catch(() => undefined);
    return next;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.pass;
  }

  private async reconcile(): Promise<ReconcileResult | undefined> {
    try {
      const pending = await this.dispatcher.pendingStepExecutionIds();
      const result = await this.store.write((tx) =>
        wonLock(tx) ? reconcilePartitions(tx, this.dispatcher, pending, storeTime(tx, this.clock), this.options.graceMs ?? 2 * this.intervalMs) : undefined,
      );
      if (result && result.redispatched.length > 0) {
        this.logger.warn({ event: 'partition.redispatched', stepExecutionIds: result.redispatched, open: result.open }, 'Partitions dispatched again (lease expired or message lost)');
      }
      return result;
    } catch (error) {
      this.logger.warn({ event: 'partition.reconcile_failed', err: error }, 'Reconciler pass failed; the next one tries again');
      return undefined;
    }
  }
}

/** On PostgreSQL, one process per pass; LMDB and memory transactions are exclusive anyway. */
function wonLock(tx: KvTransaction): boolean {
  if (!isSqlTransaction(tx)) return true;
  const [row] = tx.sql<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked', ['tsbatch partition reconciler']);
  return row?.locked === true;
}
