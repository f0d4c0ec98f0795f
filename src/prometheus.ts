/**
 * `tsbatch/prometheus`: the runtime's metrics on a host's prom-client registry. Needs
 * `prom-client` (an optional peer dependency).
 */
export { registerPrometheus, type PrometheusRegistration } from './observe/prometheus.js';
export { METRICS, DURATION_BUCKETS, prometheusName, prometheusLabel, type MetricDefinition } from './observe/metric-catalog.js';
export type { ObservableRuntime } from './observe/metrics-recorder.js';
