import { nextChunkStatus, nextInstanceStatus, type JobInstanceEvent, type WorkChunkEvent } from '../../machines/index.js';
import { IllegalStatusTransitionError, NoSuchWorkChunkInstanceError } from '../domain/errors.js';
import type { JsonValue } from '../domain/execution-context.js';
import { isEndedInstanceStatus, type WorkChunkStatus } from '../domain/work-chunk-status.js';
import type { KvTransaction } from '../repository/kv-store.js';
import { queueName, WorkChunkKeys } from './keys.js';
import { progressOf } from './work-chunk-instance.js';
import type { WorkChunkInstanceRecord, WorkChunkLease, WorkChunkRecord } from './records.js';

/**
 * One store transaction seen as work-chunk operations. Every status change goes through the
 * machines in machines/ and is refused when they refuse it; the per-step counters and the indexes
 * (queue, leases, gates, reduction, active and ended instances) follow each change here and
 * nowhere else. Instance records are read once and written back by `flush()`.
 */
export class WorkChunkTransaction {
  private readonly instances = new Map<string, WorkChunkInstanceRecord>();
  private readonly dirty = new Set<string>();
  /** Instances this transaction ended (COMPLETED, FAILED or CANCELLED): their handlers are due once it commits. */
  readonly ended = new Set<string>();

  constructor(
    readonly tx: KvTransaction,
    readonly now: number,
  ) {}

  instance(instanceId: string): WorkChunkInstanceRecord | undefined {
    let record = this.instances.get(instanceId);
    if (!record) {
      record = this.tx.get<WorkChunkInstanceRecord>(WorkChunkKeys.instance(instanceId));
      if (record) this.instances.set(instanceId, record);
    }
    return record;
  }

  requireInstance(instanceId: string): WorkChunkInstanceRecord {
    const record = this.instance(instanceId);
    if (!record) throw new NoSuchWorkChunkInstanceError(instanceId);
    return record;
  }

  chunk(instanceId: string, chunkId: string): WorkChunkRecord | undefined {
    return this.tx.get<WorkChunkRecord>(WorkChunkKeys.chunk(instanceId, chunkId));
  }

  /** Stores a new instance; its chunks are added with `createChunk`. */
  addInstance(record: WorkChunkInstanceRecord): void {
    this.instances.set(record.id, record);
    this.dirty.add(record.id);
    this.tx.put(WorkChunkKeys.instanceByCreation(record.createTime, record.id), null);
    this.tx.put(WorkChunkKeys.activeInstance(record.id), null);
  }

  /** Moves an instance through machines/job-instance.ts; false (and no change) when the machine refuses. */
  moveInstance(instance: WorkChunkInstanceRecord, event: JobInstanceEvent): boolean {
    const next = nextInstanceStatus(instance.status, event);
    if (!next.allowed) return false;
    instance.status = next.status;
    for (const action of next.actions) {
      if (action === 'stampStartTime') instance.startTime ??= this.now;
      if (action === 'stampEndTime') instance.endTime = this.now;
    }
    if (isEndedInstanceStatus(instance.status)) {
      this.ended.add(instance.id);
      this.tx.remove(WorkChunkKeys.activeInstance(instance.id));
      this.tx.put(WorkChunkKeys.endedInstance(instance.endTime ?? this.now, instance.id), null);
    }
    this.dirty.add(instance.id);
    return true;
  }

  /** Same as moveInstance, but a refusal is an error. */
  requireInstanceMove(instance: WorkChunkInstanceRecord, event: JobInstanceEvent): void {
    if (!this.moveInstance(instance, event)) {
      throw new IllegalStatusTransitionError(`Work-chunk job instance ${instance.id}`, instance.status, event.type);
    }
  }

  markDirty(instance: WorkChunkInstanceRecord): void {
    this.dirty.add(instance.id);
  }

  /** Stores a new chunk of `stepIndex`, claimable now or waiting behind its step's gate. */
  createChunk(instance: WorkChunkInstanceRecord, id: string, stepIndex: number, data: JsonValue, behindGate: boolean): WorkChunkRecord {
    const record: WorkChunkRecord = {
      id,
      instanceId: instance.id,
      stepIndex,
      status: 'READY',
      data,
      attempts: 0,
      errorCount: 0,
      pollAttempts: 0,
      dueAt: this.now,
      lease: null,
      createTime: this.now,
      startTime: null,
      endTime: null,
      recordsProcessed: 0,
      errorMessage: null,
      warningMessage: null,
      queueKey: null,
    };
    this.move(instance, record, { type: behindGate ? 'CREATE_BEHIND_GATE' : 'CREATE' }, 'NEW');
    return record;
  }

  /**
   * Moves a chunk through machines/work-chunk.ts and stores it with the counters and indexes that
   * follow from its new status. `patch` runs after the status changed and before the chunk is stored.
   */
  move(
    instance: WorkChunkInstanceRecord,
    chunk: WorkChunkRecord,
    event: WorkChunkEvent,
    from: WorkChunkStatus | 'NEW' = chunk.status,
    options: { readonly lease?: WorkChunkLease } = {},
  ): void {
    const next = nextChunkStatus(from, event);
    if (!next.allowed) throw new IllegalStatusTransitionError(`Work chunk ${chunk.id} of instance ${instance.id}`, from, event.type);
    const counts = (instance.counts[chunk.stepIndex] ??= {});
    if (from !== 'NEW') {
      const left = (counts[from] ?? 1) - 1;
      if (left > 0) counts[from] = left;
      else delete counts[from];
    }
    counts[next.status] = (counts[next.status] ?? 0) + 1;
    this.dirty.add(instance.id);

    if (chunk.queueKey) this.tx.remove(chunk.queueKey);
    chunk.queueKey = null;
    if (from === 'GATE_WAITING') this.tx.remove(WorkChunkKeys.gateWaiting(instance.id, chunk.stepIndex, chunk.id));
    if (from === 'REDUCTION_READY') this.tx.remove(WorkChunkKeys.reductionReady(instance.id, chunk.id));
    chunk.status = next.status;

    for (const action of next.actions) {
      switch (action) {
        case 'takeLease':
          chunk.lease = options.lease ?? null;
          chunk.attempts += 1;
          this.tx.put(WorkChunkKeys.lease(instance.id, chunk.id), null);
          break;
        case 'releaseLease':
          chunk.lease = null;
          this.tx.remove(WorkChunkKeys.lease(instance.id, chunk.id));
          break;
        case 'stampStartTime':
          chunk.startTime ??= this.now;
          break;
        case 'stampEndTime':
          chunk.endTime = this.now;
          break;
      }
    }
    switch (chunk.status) {
      case 'READY':
      case 'ERRORED':
      case 'POLL_WAITING':
        chunk.queueKey = WorkChunkKeys.queued(queueName(instance.definitionId, instance.definitionVersion), chunk.dueAt, instance.id, chunk.id);
        this.tx.put(chunk.queueKey, null);
        break;
      case 'GATE_WAITING':
        this.tx.put(WorkChunkKeys.gateWaiting(instance.id, chunk.stepIndex, chunk.id), null);
        break;
      case 'REDUCTION_READY':
        this.tx.put(WorkChunkKeys.reductionReady(instance.id, chunk.id), null);
        break;
      default:
        break;
    }
    this.tx.put(WorkChunkKeys.chunk(instance.id, chunk.id), chunk);
  }

  /** Writes back every instance record this transaction changed. */
  flush(): WorkChunkInstanceRecord[] {
    const changed: WorkChunkInstanceRecord[] = [];
    for (const id of this.dirty) {
      const record = this.instances.get(id);
      if (!record) continue;
      record.progress = Math.max(record.progress ?? 0, progressOf(record));
      this.tx.put(WorkChunkKeys.instance(id), record);
      changed.push(record);
    }
    this.dirty.clear();
    return changed;
  }
}
