import type { BatchStatus } from './batch-status.js';
import type { StepCounts } from './step-execution.js';
import type { WorkChunkInstanceStatus } from './work-chunk-status.js';

/**
 * What the runtime tells observers (metrics, tracing, dashboards): at most one event per job, step,
 * chunk or work-chunk run, never one per item, so observing costs nothing measurable. Ids are for
 * spans and logs; metric adapters use only names, statuses and codes as attributes.
 */
export type BatchEvent =
  | JobStartedEvent
  | JobEndedEvent
  | StepStartedEvent
  | StepEndedEvent
  | ChunkEndedEvent
  | ItemRetriedEvent
  | OrphanRecoveredEvent
  | WorkChunkRunEndedEvent
  | WorkChunkInstanceEndedEvent;

export interface JobScope {
  readonly jobName: string;
  readonly jobInstanceId: number;
  readonly jobExecutionId: number;
}

export interface StepScope extends JobScope {
  readonly stepName: string;
  readonly stepExecutionId: number;
}

export interface JobStartedEvent extends JobScope {
  readonly type: 'job.started';
  /** True when an earlier execution of the same instance exists (a restart). */
  readonly restart: boolean;
  readonly startTime: Date;
}

export interface JobEndedEvent extends JobScope {
  readonly type: 'job.ended';
  readonly status: BatchStatus;
  readonly exitCode: string;
  readonly exitDescription: string;
  readonly durationMs: number;
}

export interface StepStartedEvent extends StepScope {
  readonly type: 'step.started';
  readonly startTime: Date;
}

export interface StepEndedEvent extends StepScope {
  readonly type: 'step.ended';
  readonly status: BatchStatus;
  readonly exitCode: string;
  readonly exitDescription: string;
  readonly durationMs: number;
  readonly counts: StepCounts;
}

/** One chunk of a chunk-oriented step, committed or rolled back, with what it did and how long each phase took. */
export interface ChunkEndedEvent extends StepScope {
  readonly type: 'chunk.ended';
  readonly outcome: 'committed' | 'rolled_back';
  readonly read: number;
  readonly written: number;
  readonly filtered: number;
  readonly readSkips: number;
  readonly processSkips: number;
  readonly writeSkips: number;
  readonly readMs: number;
  readonly processMs: number;
  readonly writeMs: number;
  readonly commitMs: number;
}

export interface ItemRetriedEvent extends StepScope {
  readonly type: 'item.retried';
  /** The error's `code` when it has one, else its name. */
  readonly errorType: string;
}

export interface OrphanRecoveredEvent extends JobScope {
  readonly type: 'job.orphan_recovered';
}

export interface WorkChunkRunEndedEvent {
  readonly type: 'workchunk.run_ended';
  readonly definitionId: string;
  readonly instanceId: string;
  readonly chunkId: string;
  readonly stepId: string;
  readonly outcome: 'succeeded' | 'errored' | 'failed' | 'poll-later';
  readonly durationMs: number;
}

export interface WorkChunkInstanceEndedEvent {
  readonly type: 'workchunk.instance_ended';
  readonly definitionId: string;
  readonly instanceId: string;
  readonly status: WorkChunkInstanceStatus;
  readonly durationMs: number;
}

export type BatchEventType = BatchEvent['type'];

/** Receives events; must not throw (a throw is logged and ignored) and should not block. */
export type BatchEventListener = (event: BatchEvent) => void;

/** Where the runtime's parts publish their events. */
export interface BatchEventSink {
  /** False when nobody listens: callers skip building events then. */
  readonly active: boolean;
  publish(event: BatchEvent): void;
}

export const NO_EVENTS: BatchEventSink = { active: false, publish: () => undefined };
