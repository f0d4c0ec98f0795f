import type { ExecutionOwner } from '../domain/execution-owner.js';
import type { JsonValue } from '../domain/execution-context.js';
import type { WorkChunkInstanceStatus, WorkChunkStatus } from '../domain/work-chunk-status.js';

/** What a step of a stored instance is, so the store can gate and complete it without the definition. */
export interface StoredWorkStep {
  readonly id: string;
  readonly kind: 'first' | 'step' | 'last' | 'reduce';
}

export type ChunkCounts = Partial<Record<WorkChunkStatus, number>>;

export interface WorkChunkLease {
  readonly owner: ExecutionOwner;
  readonly expiresAt: number;
}

export interface WorkChunkRecord {
  readonly id: string;
  readonly instanceId: string;
  readonly stepIndex: number;
  status: WorkChunkStatus;
  /** Emitted by the previous step; null for the first chunk. */
  data: JsonValue;
  /** Runs started: the fencing token of the current lease. */
  attempts: number;
  errorCount: number;
  pollAttempts: number;
  /** When it may be claimed (READY, ERRORED, POLL_WAITING). */
  dueAt: number;
  lease: WorkChunkLease | null;
  createTime: number;
  startTime: number | null;
  endTime: number | null;
  recordsProcessed: number;
  errorMessage: string | null;
  warningMessage: string | null;
  /** The queue key that indexes it now, so that a transition can remove it. */
  queueKey: string | null;
}

export interface ReducerProgress {
  readonly lease: WorkChunkLease | null;
  /** The reducer's state after the chunks consumed so far (reducers with an `initial` state only). */
  readonly state: JsonValue | null;
  readonly consumed: number;
}

export interface WorkChunkInstanceRecord {
  readonly id: string;
  readonly definitionId: string;
  readonly definitionVersion: number;
  status: WorkChunkInstanceStatus;
  readonly parameters: JsonValue;
  readonly gated: boolean;
  readonly steps: readonly StoredWorkStep[];
  /** Gated jobs: the step whose chunks may run. */
  currentStep: number;
  /** Per step, how many chunks are in each status: maintained at every transition, never counted by a scan. */
  counts: ChunkCounts[];
  readonly createTime: number;
  startTime: number | null;
  endTime: number | null;
  errorCount: number;
  errorMessage: string | null;
  warnings: string[];
  recordsProcessed: number;
  report: JsonValue | null;
  reducer: ReducerProgress | null;
  chunksPurged: boolean;
  /** The highest progress shown so far (absent in records written before it existed). */
  progress?: number;
}
