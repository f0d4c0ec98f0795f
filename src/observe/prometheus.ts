import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { DURATION_BUCKETS, METRICS, prometheusLabel, prometheusName, type MetricDefinition } from './metric-catalog.js';
import { readWorkChunkGauges, recordEvent, type MetricAttributes, type MetricSink, type ObservableRuntime } from './metrics-recorder.js';

export interface PrometheusRegistration {
  /** Stops listening and removes tsbatch's metrics from the registry. */
  stop(): void;
}

type PromMetric = Histogram<string> | Counter<string> | Gauge<string>;

const labelsOf = (attributes: MetricAttributes) => Object.fromEntries(Object.entries(attributes).map(([key, value]) => [prometheusLabel(key), value]));

/**
 * Registers tsbatch's metrics (METRICS in metric-catalog.ts, with Prometheus names: `tsbatch_job_duration_seconds`,
 * `tsbatch_items_total`, ...) on the host's own prom-client `registry`. Never on prom-client's
 * global registry: a library's metrics there are often never scraped. Work-chunk gauges are read
 * from the store at each scrape, so they show instances that other processes run too.
 *
 * @example
 * import { Registry } from 'prom-client';
 * import { registerPrometheus } from 'tsbatch/prometheus';
 * const registry = new Registry();
 * registerPrometheus(registry, runtime);
 */
export function registerPrometheus(registry: Registry, runtime: ObservableRuntime): PrometheusRegistration {
  const created = new Map<string, PromMetric>();
  const create = (metric: MetricDefinition): PromMetric => {
    const common = { name: prometheusName(metric), help: metric.description, labelNames: metric.attributes.map(prometheusLabel), registers: [registry] };
    if (metric.kind === 'histogram') return new Histogram({ ...common, buckets: [...DURATION_BUCKETS] });
    if (metric.kind === 'counter') return new Counter(common);
    return new Gauge(common);
  };
  for (const metric of Object.values(METRICS)) {
    if (metric === METRICS.workChunkCount || metric === METRICS.instanceProgress) continue;
    created.set(metric.name, create(metric));
  }
  const counts = new Gauge({
    name: prometheusName(METRICS.workChunkCount),
    help: METRICS.workChunkCount.description,
    labelNames: METRICS.workChunkCount.attributes.map(prometheusLabel),
    registers: [registry],
    async collect() {
      this.reset();
      for (const reading of await readWorkChunkGauges(runtime.workChunks)) {
        if (reading.metric === METRICS.workChunkCount) this.set(labelsOf(reading.attributes), reading.value);
      }
    },
  });
  const progress = new Gauge({
    name: prometheusName(METRICS.instanceProgress),
    help: METRICS.instanceProgress.description,
    labelNames: METRICS.instanceProgress.attributes.map(prometheusLabel),
    registers: [registry],
    async collect() {
      this.reset();
      for (const reading of await readWorkChunkGauges(runtime.workChunks)) {
        if (reading.metric === METRICS.instanceProgress) this.set(labelsOf(reading.attributes), reading.value);
      }
    },
  });
  const sink: MetricSink = {
    record: (metric, value, attributes) => (created.get(metric.name) as Histogram<string>).observe(labelsOf(attributes), value),
    add: (metric, delta, attributes) => {
      const target = created.get(metric.name);
      if (target instanceof Gauge) target.inc(labelsOf(attributes), delta);
      else (target as Counter<string>).inc(labelsOf(attributes), delta);
    },
  };
  const unsubscribe = runtime.events.subscribe((event) => recordEvent(event, sink));
  return {
    stop() {
      unsubscribe();
      for (const metric of [...created.values(), counts, progress]) registry.removeSingleMetric((metric as unknown as { name: string }).name);
    },
  };
}
