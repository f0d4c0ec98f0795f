/**
 * `tsbatch/otel`: OpenTelemetry metrics and traces for a runtime. Needs `@opentelemetry/api`
 * (an optional peer dependency); the host brings the SDK and exporters.
 */
export { instrumentOpenTelemetry, type OpenTelemetryOptions, type Instrumentation } from './observe/open-telemetry.js';
export { METRICS, DURATION_BUCKETS, type MetricDefinition } from './observe/metric-catalog.js';
export type { ObservableRuntime } from './observe/metrics-recorder.js';
