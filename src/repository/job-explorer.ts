import type { JsonValue } from '../domain/execution-context.js';
import type { JobExecution } from '../domain/job-execution.js';
import type { JobInstance } from '../domain/job-instance.js';
import type { JobParameters } from '../domain/job-parameters.js';
import type { StepExecution } from '../domain/step-execution.js';

/**
 * Read-only queries over the job repository, for operators, dashboards and tests.
 * Every result is a fresh copy read from the store: it reflects what was committed, including
 * what other processes sharing the store committed.
 *
 * @remarks Lists are newest first. Nothing here exposes the storage engine.
 */
export interface JobExplorer {
  getJobNames(): Promise<string[]>;
  getJobInstance(instanceId: number): Promise<JobInstance | undefined>;
  findJobInstance(jobName: string, parameters: JobParameters): Promise<JobInstance | undefined>;
  getJobInstances(jobName: string, start?: number, count?: number): Promise<JobInstance[]>;
  /** The execution with its step executions (in start order) and execution contexts. */
  getJobExecution(executionId: number): Promise<JobExecution | undefined>;
  getJobExecutions(instanceId: number): Promise<JobExecution[]>;
  getLastJobExecution(instanceId: number): Promise<JobExecution | undefined>;
  findRunningJobExecutions(jobName: string): Promise<JobExecution[]>;
  getStepExecution(jobExecutionId: number, stepExecutionId: number): Promise<StepExecution | undefined>;
  getLastStepExecution(instanceId: number, stepName: string): Promise<StepExecution | undefined>;
  getStepExecutionCount(instanceId: number, stepName: string): Promise<number>;
  /** A value that a transactional writer staged into `store` and that a chunk commit made visible. */
  getStagedValue(store: string, key: string): Promise<JsonValue | undefined>;
  /** Every committed value of `store`, in key order. */
  getStagedValues(store: string): Promise<Array<{ key: string; value: JsonValue }>>;
  /** A page of committed values of `store` in key order, after `after` (exclusive) when given. */
  getStagedPage(store: string, options: { readonly after?: string; readonly limit: number }): Promise<Array<{ key: string; value: JsonValue }>>;
}
