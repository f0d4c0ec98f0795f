import type { BatchStatus } from '../domain/batch-status.js';
import type { ExecutionContextSnapshot, JsonValue } from '../domain/execution-context.js';
import type { ExecutionOwner } from '../domain/execution-owner.js';
import type { StoredJobParameter } from '../domain/job-parameters.js';
import type { StepCounts } from '../domain/step-execution.js';

/** The stored forms of the domain objects: plain data, times as epoch milliseconds. */

export interface JobInstanceRecord {
  readonly id: number;
  readonly jobName: string;
  readonly instanceKey: string;
  readonly createTime: number;
}

export interface JobExecutionRecord {
  readonly id: number;
  readonly jobInstanceId: number;
  readonly parameters: Readonly<Record<string, StoredJobParameter>>;
  readonly status: BatchStatus;
  readonly exitCode: string;
  readonly exitDescription: string;
  readonly createTime: number;
  readonly startTime: number | null;
  readonly endTime: number | null;
  readonly lastUpdated: number | null;
  readonly version: number;
  /** The process that runs (or ran) it; absent in records written before owners were kept. */
  readonly owner?: ExecutionOwner | null;
}


export interface StepExecutionRecord extends StepCounts {
  readonly id: number;
  readonly stepName: string;
  readonly jobExecutionId: number;
  readonly jobInstanceId: number;
  readonly status: BatchStatus;
  readonly exitCode: string;
  readonly exitDescription: string;
  readonly createTime: number;
  readonly startTime: number | null;
  readonly endTime: number | null;
  readonly lastUpdated: number | null;
  readonly version: number;
}

export type ContextRecord = ExecutionContextSnapshot;

/**
 * A write that a transactional writer staged for the current chunk: it becomes visible with the
 * chunk's commit, in the same transaction, or not at all.
 */
export type StagedWrite =
  | { readonly kind: 'put'; readonly store: string; readonly key: string; readonly value: JsonValue }
  | { readonly kind: 'remove'; readonly store: string; readonly key: string };
