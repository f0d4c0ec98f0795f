/**
 * Test aids, published as `tsbatch/testing`: fault points to fail the runtime exactly at the
 * chunk-commit boundary, and an in-memory job repository.
 *
 * @packageDocumentation
 */
export { FaultPoints, FaultPoint } from './support/fault-points.js';
export type { FaultAction, FaultArming } from './support/fault-points.js';
export { createInMemoryJobRepository, openLmdbJobRepository, openPostgresJobRepository } from './repository/open-repository.js';
export type { JobRepository, UpdateOutcome, CreateJobExecutionRequest } from './repository/job-repository.js';
