import type { JsonValue } from '../domain/execution-context.js';
import type { WorkChunkInstanceStatus, WorkChunkStatus } from '../domain/work-chunk-status.js';
import { incompleteIn } from './gate.js';
import type { WorkChunkInstanceRecord, WorkChunkRecord } from './records.js';

/** A work-chunk job instance as users see it: status, progress and the figures behind it. */
export interface WorkChunkInstance {
  readonly id: string;
  readonly definitionId: string;
  readonly definitionVersion: number;
  readonly status: WorkChunkInstanceStatus;
  readonly parameters: JsonValue;
  readonly createTime: Date;
  readonly startTime: Date | null;
  readonly endTime: Date | null;
  /** The step that runs now: for gated jobs the gate's step, otherwise the earliest step with work left. */
  readonly currentStep: string;
  /** 0..1: the mean, over steps, of each step's share of completed chunks. */
  readonly progress: number;
  /** Chunks per step, by status. */
  readonly chunkCounts: Readonly<Record<string, Readonly<Partial<Record<WorkChunkStatus, number>>>>>;
  readonly totalChunks: number;
  readonly completedChunks: number;
  /** Completed chunks per second since the instance started. */
  readonly chunksPerSecond: number;
  readonly recordsProcessed: number;
  readonly recordsPerSecond: number;
  /** From the progress so far and the time it took; undefined before any progress or after the end. */
  readonly estimatedTimeRemainingMs: number | undefined;
  /** Failed runs plus recovered errors. */
  readonly errorCount: number;
  readonly errorMessage: string | null;
  readonly warnings: readonly string[];
  /** The reducer's report, once COMPLETED. */
  readonly report: JsonValue | null;
  readonly chunksPurged: boolean;
}

/** One chunk as users see it. */
export interface WorkChunkView {
  readonly id: string;
  readonly instanceId: string;
  readonly stepId: string;
  readonly status: WorkChunkStatus;
  readonly data: JsonValue;
  readonly attempts: number;
  readonly errorCount: number;
  readonly pollAttempts: number;
  readonly createTime: Date;
  readonly startTime: Date | null;
  readonly endTime: Date | null;
  readonly recordsProcessed: number;
  readonly errorMessage: string | null;
  readonly warningMessage: string | null;
  /** Who runs it now, and until when its lease holds. */
  readonly lease: { readonly host: string; readonly pid: number; readonly expiresAt: Date } | null;
}

/**
 * The mean over steps of each step's share of COMPLETED chunks (a gated step already passed counts
 * whole). It can fall when a step emits more work than was known; the stored high-water mark
 * (`WorkChunkInstanceRecord.progress`) is what users see, so their progress never goes backwards.
 */
export function progressOf(record: WorkChunkInstanceRecord): number {
  if (record.status === 'COMPLETED') return 1;
  if (record.steps.length === 0) return 0;
  let sum = 0;
  record.steps.forEach((_step, index) => {
    const counts = record.counts[index] ?? {};
    let total = 0;
    for (const count of Object.values(counts)) total += count ?? 0;
    const passed = record.gated && index < record.currentStep;
    sum += total === 0 ? (passed ? 1 : 0) : (counts.COMPLETED ?? 0) / total;
  });
  return sum / record.steps.length;
}

/** The step that runs now: for gated jobs the gate's step, otherwise the earliest step with work left. */
export function currentStepIndexOf(record: WorkChunkInstanceRecord): number {
  if (record.gated) return record.currentStep;
  const index = record.steps.findIndex((_step, i) => incompleteIn(record.counts[i]) > 0);
  return index === -1 ? record.steps.length - 1 : index;
}

export function toWorkChunkInstance(record: WorkChunkInstanceRecord, now: number): WorkChunkInstance {
  const chunkCounts: Record<string, Partial<Record<WorkChunkStatus, number>>> = {};
  let totalChunks = 0;
  let completedChunks = 0;
  record.steps.forEach((step, index) => {
    const counts = record.counts[index] ?? {};
    chunkCounts[step.id] = counts;
    for (const count of Object.values(counts)) totalChunks += count ?? 0;
    completedChunks += counts.COMPLETED ?? 0;
  });
  const ended = record.status === 'COMPLETED' || record.status === 'FAILED' || record.status === 'CANCELLED';
  const progress = Math.max(record.progress ?? 0, progressOf(record));
  const elapsedMs = record.startTime === null ? 0 : (record.endTime ?? now) - record.startTime;
  const perSecond = (count: number) => (elapsedMs > 0 ? (count * 1000) / elapsedMs : 0);
  const currentIndex = currentStepIndexOf(record);
  return {
    id: record.id,
    definitionId: record.definitionId,
    definitionVersion: record.definitionVersion,
    status: record.status,
    parameters: record.parameters,
    createTime: new Date(record.createTime),
    startTime: record.startTime === null ? null : new Date(record.startTime),
    endTime: record.endTime === null ? null : new Date(record.endTime),
    currentStep: record.steps[currentIndex]?.id ?? '',
    progress,
    chunkCounts,
    totalChunks,
    completedChunks,
    chunksPerSecond: perSecond(completedChunks),
    recordsProcessed: record.recordsProcessed,
    recordsPerSecond: perSecond(record.recordsProcessed),
    estimatedTimeRemainingMs: ended || progress <= 0 || elapsedMs <= 0 ? undefined : Math.round((elapsedMs * (1 - progress)) / progress),
    errorCount: record.errorCount,
    errorMessage: record.errorMessage,
    warnings: record.warnings,
    report: record.report,
    chunksPurged: record.chunksPurged,
  };
}

export function toWorkChunkView(record: WorkChunkRecord, instance: WorkChunkInstanceRecord | undefined): WorkChunkView {
  return {
    id: record.id,
    instanceId: record.instanceId,
    stepId: instance?.steps[record.stepIndex]?.id ?? String(record.stepIndex),
    status: record.status,
    data: record.data,
    attempts: record.attempts,
    errorCount: record.errorCount,
    pollAttempts: record.pollAttempts,
    createTime: new Date(record.createTime),
    startTime: record.startTime === null ? null : new Date(record.startTime),
    endTime: record.endTime === null ? null : new Date(record.endTime),
    recordsProcessed: record.recordsProcessed,
    errorMessage: record.errorMessage,
    warningMessage: record.warningMessage,
    lease: record.lease ? { host: record.lease.owner.host, pid: record.lease.owner.pid, expiresAt: new Date(record.lease.expiresAt) } : null,
  };
}
