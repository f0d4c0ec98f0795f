import { randomUUID } from 'node:crypto';
import type { ExecutionOwner, OwnerHeartbeat } from '../domain/execution-owner.js';
import { isEndedInstanceStatus, type WorkChunkInstanceStatus, type WorkChunkStatus } from '../domain/work-chunk-status.js';
import type { JsonValue } from '../domain/execution-context.js';
import { InjectedFaultError, WorkChunkInstanceEndedError, NoSuchWorkChunkInstanceError } from '../domain/errors.js';
import { Keys } from '../repository/keys.js';
import type { KvStore } from '../repository/kv-store.js';
import type { Clock } from '../support/clock.js';
import { FaultPoint, type FaultPoints } from '../support/fault-points.js';
import { settleInstance } from './gate.js';
import { parseQueueKey, WorkChunkKeys } from './keys.js';
import type { StoredWorkStep, WorkChunkInstanceRecord, WorkChunkLease, WorkChunkRecord } from './records.js';
import { currentStepIndexOf } from './work-chunk-instance.js';
import { truncate, writeWorkChunkCommit, type FinishedChunkRun, type RetrySettings } from './work-chunk-commit.js';
import { WorkChunkTransaction } from './work-chunk-transaction.js';

/** A chunk this runtime now holds the lease of, with what its step needs. */
export interface ClaimedChunk {
  readonly instance: WorkChunkInstanceRecord;
  readonly chunk: WorkChunkRecord;
}

export interface ClaimRequest {
  /** Queue names (`<definition>@<version>`) this runtime can run, with how many chunks it takes from each at most. */
  readonly queues: readonly string[];
  readonly limit: number;
  readonly leaseMs: number;
}

export interface CycleResult {
  /** Per finished run: false when it was fenced off (its lease had been taken over). */
  readonly committed: readonly boolean[];
  readonly claimed: readonly ClaimedChunk[];
  /** Every instance the transaction changed, as stored. */
  readonly changed: readonly WorkChunkInstanceRecord[];
  /** Ids of the instances this transaction ended. */
  readonly ended: readonly string[];
  /** When the next queued chunk of these queues falls due, if any is queued. */
  readonly nextDueAt: number | undefined;
}

export interface NewInstance {
  readonly definitionId: string;
  readonly definitionVersion: number;
  readonly parameters: JsonValue;
  readonly gated: boolean;
  readonly steps: readonly StoredWorkStep[];
}

export interface InstanceQuery {
  readonly definitionId?: string;
  readonly status?: WorkChunkInstanceStatus | readonly WorkChunkInstanceStatus[];
  /** @default 100 */
  readonly limit?: number;
}

/**
 * The stored side of work-chunk jobs, on the same transactional key/value store as the job
 * repository. Every method is one transaction; claims and commits of many chunks share one
 * transaction (a group commit), so a durable store pays one sync for all of them.
 */
export class WorkChunkRepository {
  constructor(
    private readonly store: KvStore,
    private readonly clock: Clock,
    private readonly faults: FaultPoints | undefined,
  ) {}

  private now(): number {
    return this.clock.now().getTime();
  }

  /** The instance and its first chunk, in one transaction. */
  async createInstance(request: NewInstance): Promise<WorkChunkInstanceRecord> {
    const id = randomUUID();
    return this.store.write((tx) => {
      const wtx = new WorkChunkTransaction(tx, this.now());
      const instance: WorkChunkInstanceRecord = {
        id,
        definitionId: request.definitionId,
        definitionVersion: request.definitionVersion,
        status: 'QUEUED',
        parameters: request.parameters,
        gated: request.gated,
        steps: request.steps,
        currentStep: 0,
        counts: request.steps.map(() => ({})),
        createTime: wtx.now,
        startTime: null,
        endTime: null,
        errorCount: 0,
        errorMessage: null,
        warnings: [],
        recordsProcessed: 0,
        report: null,
        reducer: null,
        chunksPurged: false,
      };
      wtx.addInstance(instance);
      wtx.createChunk(instance, '0', 0, null, false);
      wtx.flush();
      return instance;
    });
  }

  /** True when some queue holds a chunk due now: a read, so an idle runtime does not write. */
  hasDueChunk(queues: readonly string[]): { due: boolean; nextDueAt: number | undefined } {
    const now = this.now();
    return this.store.read((tx) => {
      let nextDueAt: number | undefined;
      for (const queue of queues) {
        const [first] = tx.range<null>(WorkChunkKeys.queuePrefix(queue), { limit: 1 });
        if (!first) continue;
        const { dueAt } = parseQueueKey(first.key);
        if (dueAt <= now) return { due: true, nextDueAt: dueAt };
        nextDueAt = Math.min(nextDueAt ?? dueAt, dueAt);
      }
      return { due: false, nextDueAt };
    });
  }

  /**
   * Commits finished runs, then claims up to `claim.limit` due chunks, all in one transaction. A
   * claimed chunk is stored IN_PROGRESS under this runtime's lease before its step runs.
   */
  async cycle(
    owner: ExecutionOwner,
    runs: readonly FinishedChunkRun[],
    retryOf: (instance: WorkChunkInstanceRecord) => RetrySettings,
    claim: ClaimRequest | undefined,
  ): Promise<CycleResult> {
    return this.store.write((tx) => {
      const wtx = new WorkChunkTransaction(tx, this.now());
      const committed = runs.map((run) => {
        const instance = wtx.instance(run.instanceId);
        return instance !== undefined && writeWorkChunkCommit(wtx, run, owner, retryOf(instance), this.faults);
      });
      const claimed: ClaimedChunk[] = [];
      let nextDueAt: number | undefined;
      if (claim && claim.limit > 0) {
        const lease: WorkChunkLease = { owner, expiresAt: wtx.now + claim.leaseMs };
        for (const queue of claim.queues) {
          while (claimed.length < claim.limit) {
            const entries = tx.range<null>(WorkChunkKeys.queuePrefix(queue), { limit: claim.limit - claimed.length });
            if (entries.length === 0) break;
            let progressed = false;
            for (const { key } of entries) {
              const { dueAt, instanceId, chunkId } = parseQueueKey(key);
              if (dueAt > wtx.now) {
                nextDueAt = Math.min(nextDueAt ?? dueAt, dueAt);
                break;
              }
              progressed = true;
              const instance = wtx.instance(instanceId);
              const chunk = wtx.chunk(instanceId, chunkId);
              if (!instance || !chunk || chunk.queueKey !== key || isEndedInstanceStatus(instance.status)) {
                // An entry of an ended instance, or a stale one: nothing will ever run it.
                tx.remove(key);
                if (chunk && chunk.queueKey === key) tx.put(WorkChunkKeys.chunk(instanceId, chunkId), { ...chunk, queueKey: null });
                continue;
              }
              if (chunk.status === 'POLL_WAITING') wtx.move(instance, chunk, { type: 'POLL_DUE' });
              wtx.move(instance, chunk, { type: 'CLAIM' }, chunk.status, { lease });
              wtx.moveInstance(instance, { type: 'CHUNK_STARTED' });
              claimed.push({ instance, chunk });
            }
            if (!progressed) break;
          }
          if (claimed.length >= claim.limit) break;
        }
      }
      const changed = wtx.flush();
      return { committed, claimed, changed, ended: [...wtx.ended], nextDueAt };
    });
  }

  /** Extends the leases of the chunks this runtime runs; returns the ids of chunks it no longer holds. */
  async renewLeases(owner: ExecutionOwner, chunks: ReadonlyArray<{ instanceId: string; chunkId: string; attempt: number }>, leaseMs: number): Promise<string[]> {
    if (chunks.length === 0) return [];
    return this.store.write((tx) => {
      const lost: string[] = [];
      const expiresAt = this.now() + leaseMs;
      for (const { instanceId, chunkId, attempt } of chunks) {
        const chunk = tx.get<WorkChunkRecord>(WorkChunkKeys.chunk(instanceId, chunkId));
        if (!chunk || chunk.status !== 'IN_PROGRESS' || chunk.attempts !== attempt || chunk.lease?.owner.token !== owner.token) {
          lost.push(chunkId);
          continue;
        }
        tx.put(WorkChunkKeys.chunk(instanceId, chunkId), { ...chunk, lease: { owner, expiresAt } });
      }
      return lost;
    });
  }

  /**
   * Makes claimable again every IN_PROGRESS chunk whose worker is gone: its lease expired, or its
   * process is known to be dead. Looks only at chunks that hold a lease.
   */
  async reclaimLeases(
    self: ExecutionOwner,
    isOwnerGone: (owner: ExecutionOwner, heartbeat: OwnerHeartbeat | undefined) => boolean,
  ): Promise<Array<{ instanceId: string; chunkId: string; owner: ExecutionOwner }>> {
    const now = this.now();
    const candidates = this.store.read((tx) => {
      const found: Array<{ instanceId: string; chunkId: string }> = [];
      for (const { key } of tx.range<null>(WorkChunkKeys.leasesPrefix)) {
        const [instanceId = '', chunkId = ''] = key.slice(WorkChunkKeys.leasesPrefix.length).split('\u001f');
        const chunk = tx.get<WorkChunkRecord>(WorkChunkKeys.chunk(instanceId, chunkId));
        const lease = chunk?.lease;
        if (!lease || lease.owner.token === self.token) continue;
        if (lease.expiresAt < now || isOwnerGone(lease.owner, tx.get<OwnerHeartbeat>(Keys.heartbeat(lease.owner.token)))) found.push({ instanceId, chunkId });
      }
      return found;
    });
    if (candidates.length === 0) return [];
    return this.store.write((tx) => {
      const wtx = new WorkChunkTransaction(tx, this.now());
      const reclaimed: Array<{ instanceId: string; chunkId: string; owner: ExecutionOwner }> = [];
      for (const { instanceId, chunkId } of candidates) {
        const instance = wtx.instance(instanceId);
        const chunk = wtx.chunk(instanceId, chunkId);
        const owner = chunk?.lease?.owner;
        // Checked again inside the write: the owner may have committed since the read.
        if (!instance || !chunk || chunk.status !== 'IN_PROGRESS' || !owner || owner.token === self.token) continue;
        chunk.dueAt = wtx.now;
        wtx.move(instance, chunk, { type: 'LEASE_EXPIRED' });
        reclaimed.push({ instanceId, chunkId, owner });
      }
      wtx.flush();
      return reclaimed;
    });
  }

  /** CANCELLED now: no chunk of it starts any more; chunks already running finish. */
  async cancel(instanceId: string): Promise<WorkChunkInstanceRecord> {
    return this.store.write((tx) => {
      const wtx = new WorkChunkTransaction(tx, this.now());
      const instance = wtx.requireInstance(instanceId);
      if (!wtx.moveInstance(instance, { type: 'CANCEL' })) throw new WorkChunkInstanceEndedError(instanceId, instance.status, 'cancelled');
      const running = instance.counts.reduce((sum, counts) => sum + (counts?.IN_PROGRESS ?? 0), 0);
      const step = instance.steps[currentStepIndexOf(instance)]?.id ?? '?';
      instance.errorMessage ??= `Cancelled while step '${step}' ran${running ? ` (${running} chunk(s) in progress finish)` : ''}`;
      wtx.flush();
      return instance;
    });
  }

  /**
   * Re-derives the status of active instances from their counters (maintenance's backstop), in one
   * transaction; returns those whose status changed and the ids of those it ended.
   */
  async settle(instanceIds: readonly string[]): Promise<{ changed: WorkChunkInstanceRecord[]; ended: string[] }> {
    if (instanceIds.length === 0) return { changed: [], ended: [] };
    return this.store.write((tx) => {
      const wtx = new WorkChunkTransaction(tx, this.now());
      const changed: WorkChunkInstanceRecord[] = [];
      for (const id of instanceIds) {
        const instance = wtx.instance(id);
        if (!instance) continue;
        const before = `${instance.status}/${instance.currentStep}`;
        settleInstance(wtx, instance);
        if (`${instance.status}/${instance.currentStep}` !== before) changed.push(instance);
      }
      wtx.flush();
      return { changed, ended: [...wtx.ended] };
    });
  }

  /** The statuses of instances, read together (maintenance decides from them whether to write). */
  readInstances(instanceIds: readonly string[]): WorkChunkInstanceRecord[] {
    return this.store.read((tx) =>
      instanceIds.map((id) => tx.get<WorkChunkInstanceRecord>(WorkChunkKeys.instance(id))).filter((r): r is WorkChunkInstanceRecord => r !== undefined),
    );
  }

  // ---- the reducer ------------------------------------------------------------------------

  /** Takes the one reducer lease of a FINALIZE instance, unless a live reducer holds it. */
  async takeReducer(
    instanceId: string,
    owner: ExecutionOwner,
    leaseMs: number,
    isOwnerGone: (owner: ExecutionOwner, heartbeat: OwnerHeartbeat | undefined) => boolean,
  ): Promise<WorkChunkInstanceRecord | undefined> {
    return this.store.write((tx) => {
      const wtx = new WorkChunkTransaction(tx, this.now());
      const instance = wtx.instance(instanceId);
      if (!instance || instance.status !== 'FINALIZE') return undefined;
      const held = instance.reducer?.lease;
      if (held && held.owner.token !== owner.token && held.expiresAt >= wtx.now && !isOwnerGone(held.owner, tx.get<OwnerHeartbeat>(Keys.heartbeat(held.owner.token)))) {
        return undefined;
      }
      instance.reducer = { state: instance.reducer?.state ?? null, consumed: instance.reducer?.consumed ?? 0, lease: { owner, expiresAt: wtx.now + leaseMs } };
      wtx.markDirty(instance);
      wtx.flush();
      return instance;
    });
  }

  /** The next chunks the reducer has to consume, in chunk order, after `afterChunkId` when given. */
  reductionBatch(instanceId: string, limit: number, afterChunkId?: string): WorkChunkRecord[] {
    return this.store.read((tx) => {
      const prefix = WorkChunkKeys.reductionReadyPrefix(instanceId);
      const options = afterChunkId === undefined ? { limit } : { limit: limit + 1, start: WorkChunkKeys.reductionReady(instanceId, afterChunkId) };
      const entries = tx.range<null>(prefix, options).filter(({ key }) => afterChunkId === undefined || key !== WorkChunkKeys.reductionReady(instanceId, afterChunkId));
      return entries
        .slice(0, limit)
        .map(({ key }) => tx.get<WorkChunkRecord>(WorkChunkKeys.chunk(instanceId, key.slice(prefix.length))))
        .filter((chunk): chunk is WorkChunkRecord => chunk !== undefined);
    });
  }

  /**
   * Records consumed chunks (REDUCED) with the reducer's state in one transaction, while this
   * runtime still holds the reducer lease; false when it lost it.
   */
  async commitReduction(instanceId: string, owner: ExecutionOwner, chunkIds: readonly string[], state: JsonValue | null, leaseMs: number): Promise<boolean> {
    return this.store.write((tx) => {
      const wtx = new WorkChunkTransaction(tx, this.now());
      const instance = wtx.instance(instanceId);
      if (!instance || instance.status !== 'FINALIZE' || instance.reducer?.lease?.owner.token !== owner.token) return false;
      for (const chunkId of chunkIds) {
        const chunk = wtx.chunk(instanceId, chunkId);
        if (chunk?.status === 'REDUCTION_READY') wtx.move(instance, chunk, { type: 'REDUCED' });
      }
      instance.reducer = { state, consumed: instance.reducer.consumed + chunkIds.length, lease: { owner, expiresAt: wtx.now + leaseMs } };
      // The reducer's commits are chunk commits too: crash tests can land in the middle of a reduction.
      this.faults?.hit(FaultPoint.IN_CHUNK_COMMIT, (point) => new InjectedFaultError(point));
      wtx.flush();
      return true;
    });
  }

  /** Ends the reduction: the report and COMPLETED, or FAILED with the remaining chunks aborted. */
  async endReduction(
    instanceId: string,
    owner: ExecutionOwner,
    outcome: { readonly report: JsonValue | null; readonly warnings: readonly string[] } | { readonly error: string },
  ): Promise<WorkChunkInstanceRecord | undefined> {
    return this.store.write((tx) => {
      const wtx = new WorkChunkTransaction(tx, this.now());
      const instance = wtx.instance(instanceId);
      if (!instance || instance.status !== 'FINALIZE' || instance.reducer?.lease?.owner.token !== owner.token) return undefined;
      if ('error' in outcome) {
        for (const { key } of tx.range<null>(WorkChunkKeys.reductionReadyPrefix(instanceId))) {
          const chunk = wtx.chunk(instanceId, key.slice(WorkChunkKeys.reductionReadyPrefix(instanceId).length));
          if (chunk) wtx.move(instance, chunk, { type: 'REDUCTION_ABORTED' });
        }
        instance.errorCount += 1;
        instance.errorMessage = truncate(`The reducer '${instance.steps[instance.steps.length - 1]?.id ?? '?'}' failed: ${outcome.error}`);
        wtx.requireInstanceMove(instance, { type: 'FAIL' });
      } else {
        // A reducer without a stored state consumes everything before it commits anything.
        for (const { key } of tx.range<null>(WorkChunkKeys.reductionReadyPrefix(instanceId))) {
          const chunk = wtx.chunk(instanceId, key.slice(WorkChunkKeys.reductionReadyPrefix(instanceId).length));
          if (chunk) wtx.move(instance, chunk, { type: 'REDUCED' });
        }
        instance.report = outcome.report;
        instance.errorCount += outcome.warnings.length;
        for (const warning of outcome.warnings) instance.warnings.push(truncate(warning));
        wtx.requireInstanceMove(instance, { type: 'COMPLETE' });
      }
      instance.reducer = { ...instance.reducer, lease: null };
      wtx.flush();
      return instance;
    });
  }

  // ---- maintenance and queries ------------------------------------------------------------

  activeInstanceIds(): string[] {
    return this.store.read((tx) => tx.range<null>(WorkChunkKeys.activeInstancesPrefix).map(({ key }) => key.slice(WorkChunkKeys.activeInstancesPrefix.length)));
  }

  /** Deletes the chunks of instances that ended before `endedBefore`; the instance records stay. */
  async purgeChunks(endedBefore: number, maxInstances = 10): Promise<string[]> {
    const due = this.store.read((tx) =>
      tx
        .range<null>(WorkChunkKeys.endedInstancesPrefix, { limit: maxInstances })
        .map(({ key }) => key)
        .filter((key) => Number(key.slice(WorkChunkKeys.endedInstancesPrefix.length).split('\u001f')[0]) < endedBefore),
    );
    const purged: string[] = [];
    for (const endedKey of due) {
      const instanceId = endedKey.split('\u001f')[1] ?? '';
      await this.store.write((tx) => {
        for (const { key, value } of tx.range<WorkChunkRecord>(WorkChunkKeys.chunksOfInstancePrefix(instanceId))) {
          if (value.queueKey) tx.remove(value.queueKey);
          tx.remove(WorkChunkKeys.lease(instanceId, value.id));
          tx.remove(WorkChunkKeys.gateWaiting(instanceId, value.stepIndex, value.id));
          tx.remove(WorkChunkKeys.reductionReady(instanceId, value.id));
          tx.remove(key);
        }
        const instance = tx.get<WorkChunkInstanceRecord>(WorkChunkKeys.instance(instanceId));
        if (instance) tx.put(WorkChunkKeys.instance(instanceId), { ...instance, chunksPurged: true });
        tx.remove(endedKey);
      });
      purged.push(instanceId);
    }
    return purged;
  }

  getInstance(instanceId: string): WorkChunkInstanceRecord | undefined {
    return this.store.read((tx) => tx.get<WorkChunkInstanceRecord>(WorkChunkKeys.instance(instanceId)));
  }

  requireInstance(instanceId: string): WorkChunkInstanceRecord {
    const instance = this.getInstance(instanceId);
    if (!instance) throw new NoSuchWorkChunkInstanceError(instanceId);
    return instance;
  }

  /** Newest first. */
  listInstances(query: InstanceQuery = {}): WorkChunkInstanceRecord[] {
    const limit = query.limit ?? 100;
    const statuses = query.status === undefined ? undefined : new Set(typeof query.status === 'string' ? [query.status] : query.status);
    return this.store.read((tx) => {
      const found: WorkChunkInstanceRecord[] = [];
      for (const { key } of tx.range<null>(WorkChunkKeys.instancesByCreationPrefix, { reverse: true })) {
        const instance = tx.get<WorkChunkInstanceRecord>(WorkChunkKeys.instance(key.split('\u001f')[1] ?? ''));
        if (!instance) continue;
        if (query.definitionId !== undefined && instance.definitionId !== query.definitionId) continue;
        if (statuses && !statuses.has(instance.status)) continue;
        found.push(instance);
        if (found.length >= limit) break;
      }
      return found;
    });
  }

  listChunks(instanceId: string, filter: { status?: WorkChunkStatus; stepId?: string; limit?: number } = {}): WorkChunkRecord[] {
    return this.store.read((tx) => {
      const instance = tx.get<WorkChunkInstanceRecord>(WorkChunkKeys.instance(instanceId));
      const stepIndex = filter.stepId === undefined ? undefined : (instance?.steps.findIndex((s) => s.id === filter.stepId) ?? -1);
      const found: WorkChunkRecord[] = [];
      for (const { value } of tx.range<WorkChunkRecord>(WorkChunkKeys.chunksOfInstancePrefix(instanceId))) {
        if (filter.status !== undefined && value.status !== filter.status) continue;
        if (stepIndex !== undefined && value.stepIndex !== stepIndex) continue;
        found.push(value);
        if (filter.limit !== undefined && found.length >= filter.limit) break;
      }
      return found;
    });
  }
}
