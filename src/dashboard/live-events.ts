import type { JobExecution, WorkChunkInstance } from '../index.js';
import { formatCount, formatDuration, formatPercent, formatRate, formatTime } from './format.js';
import {
  executionJson,
  instanceJson,
  stepJson,
  type DashboardData,
  type ExecutionActions,
  type ExecutionJson,
  type InstanceJson,
  type ProgressBasis,
  type StepJson,
} from './model.js';

/**
 * The live events (SSE `event:` types and `/api/snapshot` entries). Each carries the raw values
 * and a `text` map of display strings: the page script writes `text[name]` into the elements
 * marked `data-field="name"` (`data-step-field` for step rows) inside the element of that
 * execution, step or instance, so the script formats nothing itself.
 */

/** An execution whose status, exit code or times changed (or that is new). */
export interface ExecutionEventData extends ExecutionJson, ExecutionActions {
  readonly text: Readonly<Record<string, string>>;
}

export interface StepEventData extends StepJson {
  readonly text: Readonly<Record<string, string>>;
}

/** The counts of a running execution's steps changed. */
export interface ProgressEventData {
  readonly executionId: number;
  readonly jobName: string;
  readonly status: ExecutionJson['status'];
  /** The step it is at. */
  readonly stepName: string | null;
  readonly stepExecutionId: number | null;
  /** 0..1 for the current step; null when unknown (no earlier run to compare with). */
  readonly percentageComplete: number | null;
  readonly basis: ProgressBasis | null;
  readonly readCount: number;
  readonly writeCount: number;
  readonly skipCount: number;
  /** The current step's items read per second. */
  readonly itemsPerSecond: number | null;
  /** The current step's estimated time left. */
  readonly estimatedTimeRemainingMs: number | null;
  readonly text: Readonly<Record<string, string>>;
  readonly steps: readonly StepEventData[];
}

/** A work-chunk instance changed. */
export interface InstanceEventData extends InstanceJson {
  readonly text: Readonly<Record<string, string>>;
}

export type LiveEvent =
  | { readonly type: 'execution'; readonly data: ExecutionEventData }
  | { readonly type: 'progress'; readonly data: ProgressEventData }
  | { readonly type: 'instance'; readonly data: InstanceEventData };

export async function executionEvent(data: DashboardData, execution: JobExecution, now = Date.now()): Promise<LiveEvent> {
  const json = executionJson(execution, now);
  const actions = data.actions(execution, await data.isLastOfInstance(execution));
  return {
    type: 'execution',
    data: {
      ...json,
      ...actions,
      text: {
        status: json.status,
        exitCode: json.exitCode,
        startTime: formatTime(json.startTime),
        endTime: formatTime(json.endTime),
        duration: formatDuration(json.durationMs),
      },
    },
  };
}

export function stepText(step: StepJson): Record<string, string> {
  return {
    status: step.status,
    exitCode: step.exitCode,
    readCount: formatCount(step.readCount),
    writeCount: formatCount(step.writeCount),
    filterCount: formatCount(step.filterCount),
    commitCount: formatCount(step.commitCount),
    rollbackCount: formatCount(step.rollbackCount),
    readSkipCount: formatCount(step.readSkipCount),
    processSkipCount: formatCount(step.processSkipCount),
    writeSkipCount: formatCount(step.writeSkipCount),
    skipCount: formatCount(step.skipCount),
    startTime: formatTime(step.startTime),
    endTime: formatTime(step.endTime),
    duration: formatDuration(step.durationMs),
  };
}

export async function progressEvent(data: DashboardData, execution: JobExecution, now = Date.now()): Promise<LiveEvent> {
  const json = executionJson(execution, now);
  const current = data.currentStep(execution);
  const estimate = current ? await data.stepProgress(current, now) : undefined;
  const steps = execution.stepExecutions.map((step) => {
    const s = stepJson(step, now);
    return { ...s, text: stepText(s) };
  });
  return {
    type: 'progress',
    data: {
      executionId: execution.id,
      jobName: execution.jobName,
      status: execution.status,
      stepName: current?.stepName ?? null,
      stepExecutionId: current?.id ?? null,
      percentageComplete: estimate?.percentageComplete ?? null,
      basis: estimate?.basis ?? null,
      readCount: json.readCount,
      writeCount: json.writeCount,
      skipCount: json.skipCount,
      itemsPerSecond: estimate?.itemsPerSecond ?? null,
      estimatedTimeRemainingMs: estimate?.estimatedTimeRemainingMs ?? null,
      text: {
        stepName: current?.stepName ?? '-',
        percent: formatPercent(estimate?.percentageComplete),
        rate: formatRate(estimate?.itemsPerSecond),
        eta: formatDuration(estimate?.estimatedTimeRemainingMs),
        readCount: formatCount(json.readCount),
        writeCount: formatCount(json.writeCount),
        skipCount: formatCount(json.skipCount),
        duration: formatDuration(json.durationMs),
      },
      steps,
    },
  };
}

export function instanceText(instance: InstanceJson): Record<string, string> {
  return {
    status: instance.status,
    progress: formatPercent(instance.progress),
    currentStep: instance.currentStep || '-',
    completedChunks: formatCount(instance.completedChunks),
    totalChunks: formatCount(instance.totalChunks),
    chunks: `${formatCount(instance.completedChunks)} / ${formatCount(instance.totalChunks)}`,
    errorCount: formatCount(instance.errorCount),
    recordsProcessed: formatCount(instance.recordsProcessed),
    recordsPerSecond: instance.recordsPerSecond.toFixed(1),
    chunksPerSecond: instance.chunksPerSecond.toFixed(2),
    eta: formatDuration(instance.estimatedTimeRemainingMs),
    startTime: formatTime(instance.startTime),
    endTime: formatTime(instance.endTime),
  };
}

export function instanceEvent(instance: WorkChunkInstance): LiveEvent {
  const json = instanceJson(instance);
  return { type: 'instance', data: { ...json, text: instanceText(json) } };
}

/** `execution:12,instance:ab-cd` (commas or spaces) → the ids to include in a snapshot. */
export function parseWatch(value: string | undefined): { executions: number[]; instances: string[] } {
  const executions = new Set<number>();
  const instances = new Set<string>();
  for (const token of (value ?? '').split(/[\s,]+/).slice(0, 200)) {
    const [kind, id] = token.split(':', 2);
    if (!id) continue;
    if (kind === 'execution' && /^\d{1,15}$/.test(id)) executions.add(Number(id));
    else if (kind === 'instance' && /^[A-Za-z0-9_-]{1,100}$/.test(id)) instances.add(id);
  }
  return { executions: [...executions], instances: [...instances] };
}
