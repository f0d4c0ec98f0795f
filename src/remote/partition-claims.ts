import { nextStatus, stepExecutionMachine } from '../../machines/index.js';
import type { ExecutionEvent } from '../../machines/index.js';
import { isRunningStatus } from '../domain/batch-status.js';
import { Keys } from '../repository/keys.js';
import type { KvTransaction } from '../repository/kv-store.js';
import type { JobExecutionRecord, StepExecutionRecord } from '../repository/records.js';
import type { DispatchMessage, Dispatcher } from './dispatcher.js';
import { RemoteKeys, type RemotePartitionRecord } from './remote-partition-record.js';

/**
 * The transaction bodies of remote partitioning: dispatch, claim, renew, release and reconcile.
 * Each runs synchronously inside one write transaction of the repository's store, so the claim
 * (the fencing token), the step execution's status and the queue's message change together.
 */

/** What a worker learned from trying to claim a partition. */
export type ClaimOutcome =
  | { readonly kind: 'claimed'; readonly attempt: number }
  /** Another live worker holds it. */
  | { readonly kind: 'held'; readonly owner: string; readonly leaseUntil: number }
  /** It ended (or was stopped on the way); nothing to run. */
  | { readonly kind: 'finished' };

export function dispatchPartition(tx: KvTransaction, dispatcher: Dispatcher, message: DispatchMessage, now: number): void {
  tx.put(RemoteKeys.partition(message.stepExecutionId), { message, attempt: 0, owner: null, leaseUntil: 0, dispatchedAt: now } satisfies RemotePartitionRecord);
  dispatcher.enqueue(tx, message);
}

/**
 * Takes a partition for `owner` when nobody holds it or the holder's lease has expired. A partition
 * whose holder died while running is RELEASEd back to STARTING and resumes from its last commit; one
 * that was stopping, or whose job is being stopped, ends STOPPED here instead of running again.
 */
export function claimPartition(tx: KvTransaction, stepExecutionId: number, owner: string, leaseMs: number, now: number): ClaimOutcome {
  const claim = tx.get<RemotePartitionRecord>(RemoteKeys.partition(stepExecutionId));
  const step = tx.get<StepExecutionRecord>(Keys.stepExecution(stepExecutionId));
  if (!claim || !step || !isRunningStatus(step.status)) {
    if (claim) tx.remove(RemoteKeys.partition(stepExecutionId));
    return { kind: 'finished' };
  }
  // Held by anyone, this worker included: a second delivery must not take it from the run in flight.
  if (claim.owner !== null && claim.leaseUntil > now) return { kind: 'held', owner: claim.owner, leaseUntil: claim.leaseUntil };

  const job = tx.get<JobExecutionRecord>(Keys.execution(step.jobExecutionId));
  const stopping = step.status === 'STOPPING' || job?.status === 'STOPPING' || job?.status === 'STOPPED';
  let status = step.status;
  let ended = false;
  const apply = (event: ExecutionEvent) => {
    const result = nextStatus(stepExecutionMachine, status, event);
    if (!result.allowed) return;
    status = result.status;
    ended ||= result.actions.includes('stampEndTime');
  };
  if (stopping) {
    // A stop wins over a resume: a STARTING partition goes straight to STOPPED, a running one HALTs.
    apply({ type: 'REQUEST_STOP' });
    apply({ type: 'HALT' });
  } else if (status === 'STARTED') {
    apply({ type: 'RELEASE' });
  }
  const time = ended ? now : step.endTime;
  tx.put(Keys.stepExecution(stepExecutionId), {
    ...step,
    status,
    ...(status === 'STOPPED' ? { exitCode: 'STOPPED' } : {}),
    endTime: time,
    lastUpdated: now,
    version: step.version + 1,
  } satisfies StepExecutionRecord);
  if (!isRunningStatus(status)) {
    tx.remove(RemoteKeys.partition(stepExecutionId));
    return { kind: 'finished' };
  }
  const attempt = claim.attempt + 1;
  tx.put(RemoteKeys.partition(stepExecutionId), { ...claim, attempt, owner, leaseUntil: now + leaseMs } satisfies RemotePartitionRecord);
  return { kind: 'claimed', attempt };
}

/** Extends the lease; false when the claim is no longer this worker's (it must stop writing). */
export function renewLease(tx: KvTransaction, stepExecutionId: number, owner: string, attempt: number, leaseMs: number, now: number): boolean {
  const claim = tx.get<RemotePartitionRecord>(RemoteKeys.partition(stepExecutionId));
  if (!claim || claim.owner !== owner || claim.attempt !== attempt) return false;
  tx.put(RemoteKeys.partition(stepExecutionId), { ...claim, leaseUntil: now + leaseMs } satisfies RemotePartitionRecord);
  return true;
}

/**
 * After the worker step returned: an ended partition's record goes; a RELEASEd one (the worker is
 * shutting down) is dispatched again in the same transaction, for another worker to resume.
 */
export function releaseClaim(tx: KvTransaction, dispatcher: Dispatcher, stepExecutionId: number, owner: string, attempt: number, now: number): void {
  const claim = tx.get<RemotePartitionRecord>(RemoteKeys.partition(stepExecutionId));
  if (!claim || claim.owner !== owner || claim.attempt !== attempt) return;
  const step = tx.get<StepExecutionRecord>(Keys.stepExecution(stepExecutionId));
  if (!step || !isRunningStatus(step.status)) {
    tx.remove(RemoteKeys.partition(stepExecutionId));
    return;
  }
  if (step.status === 'STARTING') {
    tx.put(RemoteKeys.partition(stepExecutionId), { ...claim, owner: null, leaseUntil: 0, dispatchedAt: now } satisfies RemotePartitionRecord);
    dispatcher.enqueue(tx, claim.message);
  }
  // Still STARTED or STOPPING: its end could not be stored; the lease runs out and another worker settles it.
}

export interface ReconcileResult {
  /** Partitions dispatched again: their holder's lease expired, or the queue had lost their message. */
  readonly redispatched: readonly number[];
  /** Records of partitions that had ended, removed. */
  readonly settled: number;
  /** Partitions still waiting or running. */
  readonly open: number;
}

/**
 * Re-derives from the repository alone what must be in the queue. `pending` is what the queue holds
 * (read just before this transaction); a message enqueued within `graceMs` counts as in flight even
 * when the queue has not shown it yet.
 */
export function reconcilePartitions(tx: KvTransaction, dispatcher: Dispatcher, pending: ReadonlySet<number>, now: number, graceMs: number): ReconcileResult {
  const redispatched: number[] = [];
  let settled = 0;
  let open = 0;
  for (const { key, value: claim } of tx.range<RemotePartitionRecord>(RemoteKeys.partitionsPrefix)) {
    const id = claim.message.stepExecutionId;
    const step = tx.get<StepExecutionRecord>(Keys.stepExecution(id));
    if (!step || !isRunningStatus(step.status)) {
      tx.remove(key);
      settled++;
      continue;
    }
    open++;
    const held = claim.owner !== null;
    const expired = held && claim.leaseUntil <= now;
    const lost = !held && !pending.has(id) && now - claim.dispatchedAt >= graceMs;
    if (!expired && !lost) continue;
    // The holder is gone: the claim stays until another worker takes it over (bumping the token),
    // but it no longer counts as held, so the next pass looks only at whether the queue has it.
    tx.put(key, { ...claim, owner: null, leaseUntil: 0, dispatchedAt: now } satisfies RemotePartitionRecord);
    dispatcher.enqueue(tx, claim.message);
    redispatched.push(id);
  }
  return { redispatched, settled, open };
}
