import { createExecutionLifecycle } from './execution-lifecycle.js';

/**
 * The JobExecution lifecycle: STARTING → STARTED → COMPLETED | FAILED | STOPPING → STOPPED;
 * a STARTING execution asked to stop goes straight to STOPPED; only STOPPED or FAILED executions
 * may be ABANDONED, and an ABANDONED one never runs again; UNKNOWN when the end could not be recorded.
 */
export const jobExecutionMachine = createExecutionLifecycle('jobExecution');
