import type { BatchEvent } from '../domain/batch-event.js';
import {
  CHUNK_OUTCOME,
  DEFINITION,
  ERROR_TYPE,
  INSTANCE_STATUS,
  ITEM_OP,
  JOB_NAME,
  JOB_STATUS,
  LAUNCH_KIND,
  METRICS,
  OUTCOME,
  SKIP_PHASE,
  STEP_NAME,
  STEP_STATUS,
  WORK_STATE,
  WORK_STEP,
  type MetricDefinition,
} from './metric-catalog.js';

export type MetricAttributes = Readonly<Record<string, string>>;

/** What a metrics backend offers the recorder: histograms, counters and up-down counters by definition. */
export interface MetricSink {
  record(metric: MetricDefinition, value: number, attributes: MetricAttributes): void;
  add(metric: MetricDefinition, delta: number, attributes: MetricAttributes): void;
}

/** What the gauges read: the running work-chunk instances (runtime.workChunks fits). */
export interface WorkChunkSource {
  list(query: { readonly status: readonly ('QUEUED' | 'IN_PROGRESS' | 'ERRORED' | 'FINALIZE')[] }): Promise<
    ReadonlyArray<{ readonly definitionId: string; readonly progress: number; readonly chunkCounts: Readonly<Record<string, Readonly<Partial<Record<string, number>>>>> }>
  >;
}

/** What the adapters need of a runtime: its events and its work-chunk instances. */
export interface ObservableRuntime {
  readonly events: { subscribe(listener: (event: BatchEvent) => void): () => void };
  readonly workChunks: WorkChunkSource;
}

const seconds = (ms: number) => ms / 1000;

/**
 * Turns one event into measurements, the same for every backend. A chunk event adds its counts
 * once (never one call per item); a job or step end records its duration under its exit code.
 */
export function recordEvent(event: BatchEvent, sink: MetricSink): void {
  switch (event.type) {
    case 'job.started':
      sink.add(METRICS.jobActive, 1, { [JOB_NAME]: event.jobName });
      sink.add(METRICS.jobLaunches, 1, { [JOB_NAME]: event.jobName, [LAUNCH_KIND]: event.restart ? 'restart' : 'start' });
      return;
    case 'job.ended':
      sink.add(METRICS.jobActive, -1, { [JOB_NAME]: event.jobName });
      sink.record(METRICS.jobDuration, seconds(event.durationMs), { [JOB_NAME]: event.jobName, [JOB_STATUS]: event.exitCode });
      return;
    case 'step.started':
      sink.add(METRICS.stepActive, 1, { [JOB_NAME]: event.jobName, [STEP_NAME]: event.stepName });
      return;
    case 'step.ended':
      sink.add(METRICS.stepActive, -1, { [JOB_NAME]: event.jobName, [STEP_NAME]: event.stepName });
      sink.record(METRICS.stepDuration, seconds(event.durationMs), { [JOB_NAME]: event.jobName, [STEP_NAME]: event.stepName, [STEP_STATUS]: event.exitCode });
      return;
    case 'chunk.ended': {
      const step = { [JOB_NAME]: event.jobName, [STEP_NAME]: event.stepName };
      const outcome = { ...step, [OUTCOME]: event.outcome === 'committed' ? 'success' : 'failure' };
      sink.record(METRICS.chunkReadDuration, seconds(event.readMs), outcome);
      sink.record(METRICS.chunkProcessDuration, seconds(event.processMs), outcome);
      sink.record(METRICS.chunkWriteDuration, seconds(event.writeMs), outcome);
      sink.add(METRICS.chunks, 1, { ...step, [CHUNK_OUTCOME]: event.outcome });
      if (event.outcome !== 'committed') return;
      sink.record(METRICS.chunkCommitDuration, seconds(event.commitMs), step);
      const counts: Array<[string, number]> = [['read', event.read], ['written', event.written], ['filtered', event.filtered]];
      for (const [op, n] of counts) if (n > 0) sink.add(METRICS.items, n, { ...step, [ITEM_OP]: op });
      const skips: Array<[string, number]> = [['read', event.readSkips], ['process', event.processSkips], ['write', event.writeSkips]];
      for (const [phase, n] of skips) if (n > 0) sink.add(METRICS.itemsSkipped, n, { ...step, [SKIP_PHASE]: phase });
      return;
    }
    case 'item.retried':
      sink.add(METRICS.retries, 1, { [JOB_NAME]: event.jobName, [STEP_NAME]: event.stepName, [ERROR_TYPE]: event.errorType });
      return;
    case 'job.orphan_recovered':
      sink.add(METRICS.recoveries, 1, { [JOB_NAME]: event.jobName });
      return;
    case 'workchunk.run_ended':
      sink.record(METRICS.workChunkRunDuration, seconds(event.durationMs), { [DEFINITION]: event.definitionId, [WORK_STEP]: event.stepId, [OUTCOME]: event.outcome });
      return;
    case 'workchunk.instance_ended':
      sink.add(METRICS.instancesEnded, 1, { [DEFINITION]: event.definitionId, [INSTANCE_STATUS]: event.status });
      return;
  }
}

export interface GaugeReading {
  readonly metric: MetricDefinition;
  readonly value: number;
  readonly attributes: MetricAttributes;
}

/** The gauges' current values, read from the store when a backend collects. */
export async function readWorkChunkGauges(source: WorkChunkSource): Promise<GaugeReading[]> {
  const instances = await source.list({ status: ['QUEUED', 'IN_PROGRESS', 'ERRORED', 'FINALIZE'] });
  const counts = new Map<string, GaugeReading>();
  const progress = new Map<string, number>();
  for (const instance of instances) {
    progress.set(instance.definitionId, Math.min(progress.get(instance.definitionId) ?? 1, instance.progress));
    for (const [step, byState] of Object.entries(instance.chunkCounts)) {
      for (const [state, n] of Object.entries(byState)) {
        const attributes = { [DEFINITION]: instance.definitionId, [WORK_STEP]: step, [WORK_STATE]: state };
        const key = JSON.stringify(attributes);
        counts.set(key, { metric: METRICS.workChunkCount, value: (counts.get(key)?.value ?? 0) + (n ?? 0), attributes });
      }
    }
  }
  return [
    ...counts.values(),
    ...[...progress].map(([definitionId, value]) => ({ metric: METRICS.instanceProgress, value, attributes: { [DEFINITION]: definitionId } })),
  ];
}
