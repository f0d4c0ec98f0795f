/**
 * Every metric tsbatch records, in one place: the OpenTelemetry and Prometheus adapters are built
 * from it, the README's table is checked against it, and a test pins what each adapter emits to it.
 * Names follow OpenTelemetry's rules (dotted, lowercase, the unit apart); Spring Batch's set is the
 * model, with per-chunk timers where Spring times each item. Ids never appear as attributes.
 */
export interface MetricDefinition {
  readonly name: string;
  readonly kind: 'histogram' | 'counter' | 'updowncounter' | 'gauge';
  /** UCUM: `s` for durations, `{item}`-style annotations for counts. */
  readonly unit: string;
  readonly attributes: readonly string[];
  readonly description: string;
}

export const JOB_NAME = 'tsbatch.job.name';
export const JOB_STATUS = 'tsbatch.job.status';
export const LAUNCH_KIND = 'tsbatch.launch.kind';
export const STEP_NAME = 'tsbatch.step.name';
export const STEP_STATUS = 'tsbatch.step.status';
export const OUTCOME = 'tsbatch.outcome';
export const ITEM_OP = 'tsbatch.item.op';
export const SKIP_PHASE = 'tsbatch.skip.phase';
export const CHUNK_OUTCOME = 'tsbatch.chunk.outcome';
export const ERROR_TYPE = 'error.type';
export const DEFINITION = 'tsbatch.job.definition';
export const WORK_STEP = 'tsbatch.workchunk.step';
export const WORK_STATE = 'tsbatch.workchunk.state';
export const INSTANCE_STATUS = 'tsbatch.instance.status';

export const METRICS = {
  jobDuration: { name: 'tsbatch.job.duration', kind: 'histogram', unit: 's', attributes: [JOB_NAME, JOB_STATUS], description: 'Duration of job executions, by exit code' },
  jobActive: { name: 'tsbatch.job.active', kind: 'updowncounter', unit: '{execution}', attributes: [JOB_NAME], description: 'Job executions running now' },
  jobLaunches: { name: 'tsbatch.job.launches', kind: 'counter', unit: '{execution}', attributes: [JOB_NAME, LAUNCH_KIND], description: 'Job executions started (start or restart)' },
  stepDuration: { name: 'tsbatch.step.duration', kind: 'histogram', unit: 's', attributes: [JOB_NAME, STEP_NAME, STEP_STATUS], description: 'Duration of step executions, by exit code' },
  stepActive: { name: 'tsbatch.step.active', kind: 'updowncounter', unit: '{execution}', attributes: [JOB_NAME, STEP_NAME], description: 'Step executions running now' },
  chunkReadDuration: { name: 'tsbatch.chunk.read.duration', kind: 'histogram', unit: 's', attributes: [JOB_NAME, STEP_NAME, OUTCOME], description: 'Time to read one chunk' },
  chunkProcessDuration: { name: 'tsbatch.chunk.process.duration', kind: 'histogram', unit: 's', attributes: [JOB_NAME, STEP_NAME, OUTCOME], description: 'Time to process one chunk' },
  chunkWriteDuration: { name: 'tsbatch.chunk.write.duration', kind: 'histogram', unit: 's', attributes: [JOB_NAME, STEP_NAME, OUTCOME], description: 'Time to write one chunk' },
  chunkCommitDuration: { name: 'tsbatch.chunk.commit.duration', kind: 'histogram', unit: 's', attributes: [JOB_NAME, STEP_NAME], description: 'Time of the commit transaction of one chunk' },
  items: { name: 'tsbatch.items', kind: 'counter', unit: '{item}', attributes: [JOB_NAME, STEP_NAME, ITEM_OP], description: 'Items read, written and filtered (added once per chunk)' },
  itemsSkipped: { name: 'tsbatch.items.skipped', kind: 'counter', unit: '{item}', attributes: [JOB_NAME, STEP_NAME, SKIP_PHASE], description: 'Items skipped, by phase' },
  chunks: { name: 'tsbatch.chunks', kind: 'counter', unit: '{chunk}', attributes: [JOB_NAME, STEP_NAME, CHUNK_OUTCOME], description: 'Chunks committed and rolled back' },
  retries: { name: 'tsbatch.retries', kind: 'counter', unit: '{attempt}', attributes: [JOB_NAME, STEP_NAME, ERROR_TYPE], description: 'Read, process or write calls retried' },
  recoveries: { name: 'tsbatch.recoveries', kind: 'counter', unit: '{execution}', attributes: [JOB_NAME], description: 'Orphaned executions recovered' },
  workChunkRunDuration: { name: 'tsbatch.workchunk.run.duration', kind: 'histogram', unit: 's', attributes: [DEFINITION, WORK_STEP, OUTCOME], description: 'Duration of one run of a work chunk, by outcome' },
  instancesEnded: { name: 'tsbatch.instances.ended', kind: 'counter', unit: '{instance}', attributes: [DEFINITION, INSTANCE_STATUS], description: 'Work-chunk job instances ended, by status' },
  workChunkCount: { name: 'tsbatch.workchunk.count', kind: 'gauge', unit: '{chunk}', attributes: [DEFINITION, WORK_STEP, WORK_STATE], description: 'Chunks of running work-chunk instances, by step and state' },
  instanceProgress: { name: 'tsbatch.instance.progress', kind: 'gauge', unit: '1', attributes: [DEFINITION], description: 'Progress (0..1) of running work-chunk instances, the lowest per definition' },
} as const satisfies Record<string, MetricDefinition>;

/** Bucket bounds for durations from a chunk (tens of ms) to a long job (hours), in seconds. */
export const DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200, 21600];

/** The Prometheus name of a metric: dots become underscores, then the unit and counter suffixes. */
export function prometheusName(metric: MetricDefinition): string {
  const base = metric.name.replace(/\./g, '_');
  const unit = metric.unit === 's' ? '_seconds' : metric.unit === '1' ? '_ratio' : '';
  return `${base}${unit}${metric.kind === 'counter' ? '_total' : ''}`;
}

/** The Prometheus label of an attribute. */
export function prometheusLabel(attribute: string): string {
  return attribute.replace(/\./g, '_');
}
