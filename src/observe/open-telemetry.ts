import {
  context,
  metrics,
  SpanStatusCode,
  trace,
  type Attributes,
  type Counter,
  type Histogram,
  type Meter,
  type MeterProvider,
  type Span,
  type Tracer,
  type TracerProvider,
  type UpDownCounter,
} from '@opentelemetry/api';
import type { BatchEvent } from '../domain/batch-event.js';
import { DURATION_BUCKETS, METRICS, type MetricDefinition } from './metric-catalog.js';
import { readWorkChunkGauges, recordEvent, type MetricSink, type ObservableRuntime } from './metrics-recorder.js';

export interface OpenTelemetryOptions {
  /** @default the global provider (`metrics.getMeterProvider()`): a no-op until the host registers an SDK */
  readonly meterProvider?: MeterProvider;
  /** @default the global provider */
  readonly tracerProvider?: TracerProvider;
  /** One span per work-chunk run as well (children of nothing; they can be many). @default false */
  readonly workChunkSpans?: boolean;
}

export interface Instrumentation {
  /** Stops listening; instruments already created stay with their provider. */
  stop(): void;
}

const SCOPE = 'tsbatch';

/**
 * Records the runtime's metrics (METRICS in metric-catalog.ts) on an OpenTelemetry meter and traces
 * each job execution as a span with one child span per step. Uses only `@opentelemetry/api`: the
 * host owns the SDK and exporters; without one every call is a no-op.
 *
 * @example
 * import { instrumentOpenTelemetry } from 'tsbatch/otel';
 * const instrumentation = instrumentOpenTelemetry(runtime);
 */
export function instrumentOpenTelemetry(runtime: ObservableRuntime, options: OpenTelemetryOptions = {}): Instrumentation {
  const meter: Meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(SCOPE);
  const tracer: Tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(SCOPE);
  const instruments = new Map<string, Histogram | Counter | UpDownCounter>();
  const instrument = (metric: MetricDefinition) => {
    let created = instruments.get(metric.name);
    if (!created) {
      const common = { unit: metric.unit, description: metric.description };
      created =
        metric.kind === 'histogram'
          ? meter.createHistogram(metric.name, { ...common, advice: { explicitBucketBoundaries: [...DURATION_BUCKETS] } })
          : metric.kind === 'counter'
            ? meter.createCounter(metric.name, common)
            : meter.createUpDownCounter(metric.name, common);
      instruments.set(metric.name, created);
    }
    return created;
  };
  const sink: MetricSink = {
    record: (metric, value, attributes) => (instrument(metric) as Histogram).record(value, attributes),
    add: (metric, delta, attributes) => (instrument(metric) as Counter).add(delta, attributes),
  };

  const workChunkCount = meter.createObservableGauge(METRICS.workChunkCount.name, { unit: METRICS.workChunkCount.unit, description: METRICS.workChunkCount.description });
  const instanceProgress = meter.createObservableGauge(METRICS.instanceProgress.name, { unit: METRICS.instanceProgress.unit, description: METRICS.instanceProgress.description });
  const collect = async (result: { observe(gauge: typeof workChunkCount, value: number, attributes?: Attributes): void }) => {
    for (const reading of await readWorkChunkGauges(runtime.workChunks)) {
      result.observe(reading.metric === METRICS.workChunkCount ? workChunkCount : instanceProgress, reading.value, reading.attributes);
    }
  };
  meter.addBatchObservableCallback(collect, [workChunkCount, instanceProgress]);

  const jobSpans = new Map<number, Span>();
  const stepSpans = new Map<number, Span>();
  const end = (span: Span | undefined, status: string, description: string) => {
    if (!span) return;
    span.setAttribute('tsbatch.status', status);
    if (status === 'FAILED' || status === 'UNKNOWN') span.setStatus({ code: SpanStatusCode.ERROR, message: description.slice(0, 500) });
    span.end();
  };
  const onEvent = (event: BatchEvent) => {
    recordEvent(event, sink);
    switch (event.type) {
      case 'job.started':
        jobSpans.set(
          event.jobExecutionId,
          tracer.startSpan(`tsbatch.job ${event.jobName}`, {
            startTime: event.startTime,
            attributes: { 'tsbatch.job.name': event.jobName, 'tsbatch.job.execution_id': event.jobExecutionId, 'tsbatch.job.instance_id': event.jobInstanceId, 'tsbatch.job.restart': event.restart },
          }),
        );
        return;
      case 'step.started': {
        const parent = jobSpans.get(event.jobExecutionId);
        const parentContext = parent ? trace.setSpan(context.active(), parent) : context.active();
        stepSpans.set(
          event.stepExecutionId,
          tracer.startSpan(`tsbatch.step ${event.stepName}`, { startTime: event.startTime, attributes: { 'tsbatch.job.name': event.jobName, 'tsbatch.step.name': event.stepName, 'tsbatch.step.execution_id': event.stepExecutionId } }, parentContext),
        );
        return;
      }
      case 'step.ended': {
        const span = stepSpans.get(event.stepExecutionId);
        stepSpans.delete(event.stepExecutionId);
        span?.setAttributes({ 'tsbatch.step.read_count': event.counts.readCount, 'tsbatch.step.write_count': event.counts.writeCount, 'tsbatch.step.commit_count': event.counts.commitCount });
        end(span, event.status, event.exitDescription);
        return;
      }
      case 'job.ended':
        end(jobSpans.get(event.jobExecutionId), event.status, event.exitDescription);
        jobSpans.delete(event.jobExecutionId);
        return;
      case 'workchunk.run_ended':
        if (!options.workChunkSpans) return;
        tracer
          .startSpan(`tsbatch.workchunk ${event.stepId}`, {
            startTime: Date.now() - event.durationMs,
            attributes: { 'tsbatch.job.definition': event.definitionId, 'tsbatch.instance.id': event.instanceId, 'tsbatch.workchunk.id': event.chunkId, 'tsbatch.outcome': event.outcome },
          })
          .end();
        return;
      default:
        return;
    }
  };
  const unsubscribe = runtime.events.subscribe(onEvent);
  return {
    stop() {
      unsubscribe();
      meter.removeBatchObservableCallback(collect, [workChunkCount, instanceProgress]);
    },
  };
}
