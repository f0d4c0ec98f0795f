/**
 * tsbatch/dashboard: an embedded web dashboard and JSON API for a {@link BatchRuntime}'s store.
 *
 * - {@link createDashboard} builds it as a Hono app: pages (overview, executions, execution
 *   detail, work-chunk instances), the JSON API under `/api`, live updates over Server-Sent
 *   Events at `/api/events`; options `basePath`, `readOnly`, `auth`, `pollIntervalMs`.
 * - {@link serveDashboard} listens on a port (127.0.0.1 unless told otherwise).
 * - {@link dashboardRequestListener} mounts it in `http.createServer` or Express.
 *
 * `tsbatch dashboard --store <path>` runs it standalone.
 *
 * @packageDocumentation
 */
export { createDashboard } from './app.js';
export { serveDashboard, dashboardRequestListener } from './serve.js';
export type { ServeOptions, ServedDashboard } from './serve.js';
export { basicAuth } from './auth.js';
export type { DashboardOptions, DashboardAuth } from './options.js';
export { DashboardErrorCode } from './http-error.js';
export type { ErrorBody } from './http-error.js';
export type {
  ExecutionJson,
  ExecutionDetailJson,
  ExecutionActions,
  StepJson,
  StepDetailJson,
  StepProgressJson,
  JobJson,
  InstanceJson,
  ChunkJson,
  ParameterJson,
} from './model.js';
export type { LiveEvent, ExecutionEventData, ProgressEventData, InstanceEventData, StepEventData } from './live-events.js';
