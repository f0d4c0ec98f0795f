import { kill } from 'node:process';
import { durationOf, parametersOf, summarizeStep, type ParameterSummary, type StepSummary } from '../present/execution-summary.js';
import { hostname } from 'node:os';
import {
  NoSuchJobExecutionError,
  NoSuchWorkChunkInstanceError,
  isRunningStatus,
  type BatchRuntime,
  type BatchStatus,
  type JobExecution,
  type JsonValue,
  type StepExecution,
  type WorkChunkInstance,
  type WorkChunkInstanceStatus,
  type WorkChunkStatus,
  type WorkChunkView,
} from '../index.js';
import { DashboardErrorCode, HttpError } from './http-error.js';

/**
 * What the dashboard reads from the runtime, and the JSON shapes of the API. Field names are those
 * of JobExecution, StepExecution and WorkChunkInstance (and of `tsbatch show --json`); times are
 * ISO 8601 strings, durations milliseconds.
 */

/** A step as the API serves it: the same shape the command line prints with `--json`. */
export type StepJson = StepSummary;

export interface StepDetailJson extends StepJson {
  readonly jobExecutionId: number;
  readonly executionContext: Readonly<Record<string, JsonValue>>;
}

/** Which operator actions the execution's state allows (the pages show only these buttons). */
export interface ExecutionActions {
  /** STARTING or STARTED. */
  readonly stoppable: boolean;
  /** FAILED or STOPPED, the last execution of its instance, and its job is registered in this runtime. */
  readonly restartable: boolean;
  /** FAILED or STOPPED. */
  readonly abandonable: boolean;
  /** Still running in the store, not run by this runtime, and its owner is not a live process on this host. */
  readonly recoverable: boolean;
}

/** One execution in a list ("thin": no steps, but their summed counts). */
export interface ExecutionJson {
  readonly id: number;
  readonly jobName: string;
  readonly jobInstanceId: number;
  readonly status: BatchStatus;
  readonly exitCode: string;
  readonly createTime: string;
  readonly startTime: string | null;
  readonly endTime: string | null;
  readonly lastUpdated: string | null;
  readonly durationMs: number | null;
  readonly stepCount: number;
  readonly readCount: number;
  readonly writeCount: number;
  readonly skipCount: number;
}

export type ParameterJson = ParameterSummary;

export interface ExecutionDetailJson extends ExecutionJson, ExecutionActions {
  readonly exitDescription: string;
  readonly parameters: Readonly<Record<string, ParameterJson>>;
  /** The process that runs (or ran) it. */
  readonly owner: { readonly host: string; readonly pid: number } | null;
  /** Whether this runtime (the dashboard's process) runs it. */
  readonly runningHere: boolean;
  /** Whether its job is registered in this runtime (needed to restart it from here). */
  readonly jobRegistered: boolean;
  readonly executionContext: Readonly<Record<string, JsonValue>>;
  /** Every execution of its instance, newest first. */
  readonly instanceExecutionIds: readonly number[];
  readonly steps: readonly StepDetailJson[];
}

export interface JobJson {
  readonly name: string;
  /** Registered in this runtime (can be restarted from the dashboard). */
  readonly registered: boolean;
  /** Has executions in the store. */
  readonly stored: boolean;
  readonly lastExecution: ExecutionJson | null;
  readonly running: number;
}

export interface Stats {
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly stddev: number;
}

/** How a running step's completion was estimated (Spring Cloud Data Flow's StepExecutionProgressInfo). */
export type ProgressBasis = 'finished' | 'read-count' | 'duration' | 'no-history';

export interface StepProgressJson {
  readonly jobExecutionId: number;
  readonly stepExecutionId: number;
  readonly stepName: string;
  readonly status: BatchStatus;
  readonly finished: boolean;
  /** 0..1; null when there is nothing to estimate from. */
  readonly percentageComplete: number | null;
  readonly basis: ProgressBasis;
  readonly message: string;
  readonly readCount: number;
  readonly durationMs: number | null;
  /** Items read per second since the step started; null before it has run a moment. */
  readonly itemsPerSecond: number | null;
  /** From the estimate and the time taken so far; null when there is no estimate or it has ended. */
  readonly estimatedTimeRemainingMs: number | null;
  /** Completed runs of the same step in earlier instances of the job (at most 20). */
  readonly history: {
    readonly count: number;
    readonly readCount: Stats | null;
    readonly writeCount: Stats | null;
    readonly durationMs: Stats | null;
  };
}

/** A work-chunk instance as the API serves it: the runtime's view with times as ISO strings. */
export type InstanceJson = Omit<WorkChunkInstance, 'createTime' | 'startTime' | 'endTime' | 'estimatedTimeRemainingMs'> & {
  readonly createTime: string;
  readonly startTime: string | null;
  readonly endTime: string | null;
  readonly estimatedTimeRemainingMs: number | null;
  /** Not ended: can be cancelled. */
  readonly cancellable: boolean;
};

/** A chunk as the API serves it: the runtime's view with times as ISO strings. */
export type ChunkJson = Omit<WorkChunkView, 'createTime' | 'startTime' | 'endTime' | 'lease'> & {
  readonly createTime: string;
  readonly startTime: string | null;
  readonly endTime: string | null;
  readonly lease: { readonly host: string; readonly pid: number; readonly expiresAt: string } | null;
};

export interface ExecutionFilter {
  readonly job?: string | undefined;
  readonly status?: BatchStatus | undefined;
  /** Started (or, not yet started, created) at or after. */
  readonly from?: Date | undefined;
  /** Started (or created) at or before. */
  readonly to?: Date | undefined;
}

export const ACTIVE_INSTANCE_STATUSES: readonly WorkChunkInstanceStatus[] = ['QUEUED', 'IN_PROGRESS', 'ERRORED', 'FINALIZE'];

const iso = (date: Date | null | undefined): string | null => (date ? date.toISOString() : null);

export const stepJson: (step: StepExecution, now?: number) => StepJson = summarizeStep;

export function stepDetailJson(step: StepExecution, now = Date.now()): StepDetailJson {
  return { ...stepJson(step, now), jobExecutionId: step.jobExecutionId, executionContext: step.executionContext.toJSON() };
}

export function executionJson(execution: JobExecution, now = Date.now()): ExecutionJson {
  let readCount = 0;
  let writeCount = 0;
  let skipCount = 0;
  for (const step of execution.stepExecutions) {
    readCount += step.readCount;
    writeCount += step.writeCount;
    skipCount += step.skipCount;
  }
  return {
    id: execution.id,
    jobName: execution.jobName,
    jobInstanceId: execution.jobInstance.id,
    status: execution.status,
    exitCode: execution.exitStatus.exitCode,
    createTime: execution.createTime.toISOString(),
    startTime: iso(execution.startTime),
    endTime: iso(execution.endTime),
    lastUpdated: iso(execution.lastUpdated),
    durationMs: durationOf(execution.startTime, execution.endTime, now),
    stepCount: execution.stepExecutions.length,
    readCount,
    writeCount,
    skipCount,
  };
}

export const parametersJson: (execution: JobExecution) => Record<string, ParameterJson> = parametersOf;

export function instanceJson(instance: WorkChunkInstance): InstanceJson {
  return {
    ...instance,
    createTime: instance.createTime.toISOString(),
    startTime: iso(instance.startTime),
    endTime: iso(instance.endTime),
    estimatedTimeRemainingMs: instance.estimatedTimeRemainingMs ?? null,
    cancellable: ACTIVE_INSTANCE_STATUSES.includes(instance.status),
  };
}

export function chunkJson(chunk: WorkChunkView): ChunkJson {
  return {
    ...chunk,
    createTime: chunk.createTime.toISOString(),
    startTime: iso(chunk.startTime),
    endTime: iso(chunk.endTime),
    lease: chunk.lease && { host: chunk.lease.host, pid: chunk.lease.pid, expiresAt: chunk.lease.expiresAt.toISOString() },
  };
}

/** Whether a process on this host with that pid exists (EPERM means it does, owned by someone else). */
function isLocalProcessAlive(pid: number): boolean {
  try {
    kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function stats(values: readonly number[]): Stats | null {
  if (values.length === 0) return null;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
  return { min: Math.min(...values), max: Math.max(...values), mean, stddev: Math.sqrt(variance) };
}

const PAGE = 200;
const HISTORY_INSTANCES = 20;
const HISTORY_TTL_MS = 10_000;

interface HistorySample {
  readonly stepExecutionId: number;
  readonly readCount: number;
  readonly writeCount: number;
  readonly durationMs: number;
}

/** Reads for the pages, the API and the live events; one per dashboard. */
export class DashboardData {
  private readonly history = new Map<string, { at: number; samples: HistorySample[] }>();
  private readonly host = hostname();

  constructor(readonly runtime: BatchRuntime) {}

  /** Jobs in the store and jobs registered in this runtime, sorted. */
  async jobNames(): Promise<string[]> {
    const names = new Set([...(await this.runtime.explorer.getJobNames()), ...this.runtime.registry.names()]);
    return [...names].sort();
  }

  async execution(id: number): Promise<JobExecution> {
    const execution = await this.runtime.explorer.getJobExecution(id);
    if (!execution) throw new NoSuchJobExecutionError(id);
    return execution;
  }

  step(execution: JobExecution, stepId: string): StepExecution {
    const step = /^\d+$/.test(stepId) ? execution.stepExecutions.find((s) => s.id === Number(stepId)) : undefined;
    if (!step) {
      throw new HttpError(404, DashboardErrorCode.NO_SUCH_STEP_EXECUTION, `Job execution ${execution.id} has no step execution with id '${stepId}'.`);
    }
    return step;
  }

  /** Every execution of `jobName` in the store, in no particular order. */
  async executionsOf(jobName: string): Promise<JobExecution[]> {
    const executions: JobExecution[] = [];
    for (let start = 0; ; start += PAGE) {
      const instances = await this.runtime.explorer.getJobInstances(jobName, start, PAGE);
      for (const instance of instances) executions.push(...(await this.runtime.explorer.getJobExecutions(instance.id)));
      if (instances.length < PAGE) return executions;
    }
  }

  /** A page (1-based) of the executions that match, newest first, with the number that match. */
  async listExecutions(filter: ExecutionFilter, page: number, size: number): Promise<{ total: number; executions: JobExecution[] }> {
    const stored = await this.runtime.explorer.getJobNames();
    const names = filter.job === undefined ? stored : stored.filter((name) => name === filter.job);
    const all: JobExecution[] = [];
    for (const name of names) all.push(...(await this.executionsOf(name)));
    const from = filter.from?.getTime();
    const to = filter.to?.getTime();
    const matching = all.filter((e) => {
      if (filter.status !== undefined && e.status !== filter.status) return false;
      const at = (e.startTime ?? e.createTime).getTime();
      return (from === undefined || at >= from) && (to === undefined || at <= to);
    });
    matching.sort((a, b) => b.id - a.id);
    return { total: matching.length, executions: matching.slice((page - 1) * size, page * size) };
  }

  /** Every running execution (STARTING, STARTED, STOPPING) in the store, newest first. */
  async runningExecutions(): Promise<JobExecution[]> {
    const running: JobExecution[] = [];
    for (const name of await this.runtime.explorer.getJobNames()) running.push(...(await this.runtime.explorer.findRunningJobExecutions(name)));
    return running.sort((a, b) => b.id - a.id);
  }

  /** The newest execution of the job's newest instance. */
  async lastExecutionOf(jobName: string): Promise<JobExecution | undefined> {
    const [instance] = await this.runtime.explorer.getJobInstances(jobName, 0, 1);
    return instance ? this.runtime.explorer.getLastJobExecution(instance.id) : undefined;
  }

  async jobs(): Promise<JobJson[]> {
    const stored = new Set(await this.runtime.explorer.getJobNames());
    const jobs: JobJson[] = [];
    for (const name of await this.jobNames()) {
      const last = stored.has(name) ? await this.lastExecutionOf(name) : undefined;
      const running = stored.has(name) ? (await this.runtime.explorer.findRunningJobExecutions(name)).length : 0;
      jobs.push({ name, registered: this.runtime.registry.has(name), stored: stored.has(name), lastExecution: last ? executionJson(last) : null, running });
    }
    return jobs;
  }

  async isLastOfInstance(execution: JobExecution): Promise<boolean> {
    const last = await this.runtime.explorer.getLastJobExecution(execution.jobInstance.id);
    return last === undefined || last.id === execution.id;
  }

  /** What the execution's state allows; `lastOfInstance` decides whether a restart applies to it. */
  actions(execution: JobExecution, lastOfInstance: boolean): ExecutionActions {
    const status = execution.status;
    const ended = status === 'FAILED' || status === 'STOPPED';
    const runningHere = this.runtime.operator.runningExecutionIds().includes(execution.id);
    const owner = execution.owner;
    const ownerAliveHere = owner !== undefined && owner.host === this.host && isLocalProcessAlive(owner.pid);
    return {
      stoppable: status === 'STARTING' || status === 'STARTED',
      restartable: ended && lastOfInstance && this.runtime.registry.has(execution.jobName),
      abandonable: ended,
      recoverable: isRunningStatus(status) && !runningHere && !ownerAliveHere,
    };
  }

  async detail(execution: JobExecution, now = Date.now()): Promise<ExecutionDetailJson> {
    const executions = await this.runtime.explorer.getJobExecutions(execution.jobInstance.id);
    const ids = executions.map((e) => e.id).sort((a, b) => b - a);
    return {
      ...executionJson(execution, now),
      ...this.actions(execution, ids[0] === undefined || ids[0] === execution.id),
      exitDescription: execution.exitStatus.exitDescription,
      parameters: parametersJson(execution),
      owner: execution.owner ? { host: execution.owner.host, pid: execution.owner.pid } : null,
      runningHere: this.runtime.operator.runningExecutionIds().includes(execution.id),
      jobRegistered: this.runtime.registry.has(execution.jobName),
      executionContext: execution.executionContext.toJSON(),
      instanceExecutionIds: ids,
      steps: execution.stepExecutions.map((step) => stepDetailJson(step, now)),
    };
  }

  /** Completed runs of `stepName` in the newest instances of the job, other than `exclude`. */
  private async historyOf(jobName: string, stepName: string): Promise<HistorySample[]> {
    const key = `${jobName}\u0000${stepName}`;
    const cached = this.history.get(key);
    if (cached && Date.now() - cached.at < HISTORY_TTL_MS) return cached.samples;
    const samples: HistorySample[] = [];
    for (const instance of await this.runtime.explorer.getJobInstances(jobName, 0, HISTORY_INSTANCES)) {
      for (const execution of await this.runtime.explorer.getJobExecutions(instance.id)) {
        for (const step of execution.stepExecutions) {
          if (step.stepName !== stepName || step.status !== 'COMPLETED') continue;
          const durationMs = durationOf(step.startTime, step.endTime) ?? 0;
          samples.push({ stepExecutionId: step.id, readCount: step.readCount, writeCount: step.writeCount, durationMs });
        }
      }
    }
    this.history.set(key, { at: Date.now(), samples });
    return samples;
  }

  /** How far a step has got, estimated from earlier completed runs of the same step. */
  async stepProgress(step: StepExecution, now = Date.now()): Promise<StepProgressJson> {
    const samples = (await this.historyOf(step.jobName, step.stepName)).filter((s) => s.stepExecutionId !== step.id);
    const durationMs = durationOf(step.startTime, step.endTime, now);
    const finished = !isRunningStatus(step.status);
    const readStats = stats(samples.map((s) => s.readCount));
    const durationStats = stats(samples.map((s) => s.durationMs));
    let percentageComplete: number | null = null;
    let basis: ProgressBasis = 'no-history';
    if (finished) {
      percentageComplete = 1;
      basis = 'finished';
    } else if (readStats && readStats.mean > 0) {
      percentageComplete = Math.min(0.99, step.readCount / readStats.mean);
      basis = 'read-count';
    } else if (durationStats && durationStats.mean > 0 && durationMs !== null) {
      percentageComplete = Math.min(0.99, durationMs / durationStats.mean);
      basis = 'duration';
    }
    const message =
      basis === 'finished'
        ? `finished ${step.status}`
        : basis === 'no-history'
          ? 'no completed run of this step to estimate from'
          : `estimated ${(percentageComplete! * 100).toFixed(1)}% complete from the ${basis === 'read-count' ? 'read count' : 'duration'} of ${samples.length} completed run(s)`;
    return {
      jobExecutionId: step.jobExecutionId,
      stepExecutionId: step.id,
      stepName: step.stepName,
      status: step.status,
      finished,
      percentageComplete,
      basis,
      message,
      readCount: step.readCount,
      durationMs,
      itemsPerSecond: durationMs ? (step.readCount * 1000) / durationMs : null,
      estimatedTimeRemainingMs:
        !finished && percentageComplete !== null && percentageComplete > 0 && durationMs !== null
          ? Math.round((durationMs * (1 - percentageComplete)) / percentageComplete)
          : null,
      history: {
        count: samples.length,
        readCount: readStats,
        writeCount: stats(samples.map((s) => s.writeCount)),
        durationMs: durationStats,
      },
    };
  }

  /** The step an execution is at: its last running step, else its last step. */
  currentStep(execution: JobExecution): StepExecution | undefined {
    const steps = execution.stepExecutions;
    return [...steps].reverse().find((s) => isRunningStatus(s.status)) ?? steps[steps.length - 1];
  }

  async instance(id: string): Promise<WorkChunkInstance> {
    const instance = await this.runtime.workChunks.get(id);
    if (!instance) throw new NoSuchWorkChunkInstanceError(id);
    return instance;
  }
}
