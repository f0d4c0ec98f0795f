/**
 * The JSON shapes of executions and steps that the command line prints and the dashboard serves,
 * built from the public API only, so both show the same fields under the same names.
 */
import type { BatchStatus, JobExecution, JobParameterType, StepCounts, StepExecution } from '../index.js';

/** One step execution as `--json` prints it; field names are those of StepExecution. */
export interface StepSummary extends StepCounts {
  readonly id: number;
  readonly stepName: string;
  readonly status: BatchStatus;
  readonly exitCode: string;
  readonly exitDescription: string;
  readonly skipCount: number;
  readonly startTime: string | null;
  readonly endTime: string | null;
  readonly durationMs: number | null;
}

/** One job execution as `--json` prints it; field names are those of JobExecution. */
export interface ExecutionSummary {
  readonly id: number;
  readonly jobName: string;
  readonly jobInstanceId: number;
  readonly status: BatchStatus;
  readonly exitCode: string;
  readonly exitDescription: string;
  readonly parameters: Record<string, ParameterSummary>;
  readonly createTime: string;
  readonly startTime: string | null;
  readonly endTime: string | null;
  /** From start to end, or to now while it runs; null before it started. */
  readonly durationMs: number | null;
  readonly steps: StepSummary[];
}

function iso(date: Date | null | undefined): string | null {
  return date ? date.toISOString() : null;
}

/** Milliseconds from `start` to `end` (or to `now` when it has not ended); null before it started. */
export function durationOf(start: Date | null | undefined, end: Date | null | undefined, now = Date.now()): number | null {
  if (!start) return null;
  return Math.max(0, (end ? end.getTime() : now) - start.getTime());
}

export function summarizeStep(step: StepExecution, now = Date.now()): StepSummary {
  return {
    id: step.id,
    stepName: step.stepName,
    status: step.status,
    exitCode: step.exitStatus.exitCode,
    exitDescription: step.exitStatus.exitDescription,
    ...step.counts(),
    skipCount: step.skipCount,
    startTime: iso(step.startTime),
    endTime: iso(step.endTime),
    durationMs: durationOf(step.startTime, step.endTime, now),
  };
}

/** A parameter as JSON shows it: dates as ISO strings, with their type and whether they identify the instance. */
export interface ParameterSummary {
  readonly value: string | number | boolean;
  readonly type: JobParameterType;
  readonly identifying: boolean;
}

export function parametersOf(execution: JobExecution): Record<string, ParameterSummary> {
  const parameters: Record<string, ParameterSummary> = {};
  for (const name of execution.jobParameters.names()) {
    const parameter = execution.jobParameters.getParameter(name)!;
    const value = parameter.value instanceof Date ? parameter.value.toISOString() : parameter.value;
    parameters[name] = { value, type: parameter.type, identifying: parameter.identifying };
  }
  return parameters;
}

/** The execution summary printed by `run --json`, `show --json` and the operations. */
export function summarizeExecution(execution: JobExecution, now = Date.now()): ExecutionSummary {
  return {
    id: execution.id,
    jobName: execution.jobName,
    jobInstanceId: execution.jobInstance.id,
    status: execution.status,
    exitCode: execution.exitStatus.exitCode,
    exitDescription: execution.exitStatus.exitDescription,
    parameters: parametersOf(execution),
    createTime: execution.createTime.toISOString(),
    startTime: iso(execution.startTime),
    endTime: iso(execution.endTime),
    durationMs: durationOf(execution.startTime, execution.endTime, now),
    steps: execution.stepExecutions.map((step) => summarizeStep(step, now)),
  };
}
