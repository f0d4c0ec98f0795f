import { ExecutionContext } from '../domain/execution-context.js';
import { ExitStatus } from '../domain/exit-status.js';
import { JobExecution } from '../domain/job-execution.js';
import type { JobInstance } from '../domain/job-instance.js';
import { JobParameters } from '../domain/job-parameters.js';
import { StepExecution } from '../domain/step-execution.js';
import type { ContextRecord, JobExecutionRecord, JobInstanceRecord, StepExecutionRecord } from './records.js';

const time = (date: Date | undefined): number | null => (date ? date.getTime() : null);
const date = (millis: number | null): Date | undefined => (millis === null ? undefined : new Date(millis));

export function toJobInstance(record: JobInstanceRecord): JobInstance {
  return Object.freeze({ id: record.id, jobName: record.jobName, instanceKey: record.instanceKey });
}

export function toJobExecutionRecord(execution: JobExecution, version: number): JobExecutionRecord {
  return {
    id: execution.id,
    jobInstanceId: execution.jobInstance.id,
    parameters: execution.jobParameters.toStored(),
    status: execution.status,
    exitCode: execution.exitStatus.exitCode,
    exitDescription: execution.exitStatus.exitDescription,
    createTime: execution.createTime.getTime(),
    startTime: time(execution.startTime),
    endTime: time(execution.endTime),
    lastUpdated: time(execution.lastUpdated),
    version,
    owner: execution.owner ?? null,
  };
}

export function toJobExecution(record: JobExecutionRecord, instance: JobInstance, context: ContextRecord | undefined): JobExecution {
  const execution = new JobExecution({
    id: record.id,
    jobInstance: instance,
    jobParameters: JobParameters.fromStored(record.parameters),
    status: record.status,
    exitStatus: new ExitStatus(record.exitCode, record.exitDescription),
    executionContext: new ExecutionContext(context),
    createTime: new Date(record.createTime),
    version: record.version,
    owner: record.owner ?? undefined,
  });
  execution.startTime = date(record.startTime);
  execution.endTime = date(record.endTime);
  execution.lastUpdated = date(record.lastUpdated);
  return execution;
}

export function toStepExecutionRecord(step: StepExecution, version: number): StepExecutionRecord {
  return {
    id: step.id,
    stepName: step.stepName,
    jobExecutionId: step.jobExecutionId,
    jobInstanceId: step.jobInstanceId,
    status: step.status,
    exitCode: step.exitStatus.exitCode,
    exitDescription: step.exitStatus.exitDescription,
    createTime: step.createTime.getTime(),
    startTime: time(step.startTime),
    endTime: time(step.endTime),
    lastUpdated: time(step.lastUpdated),
    ...step.counts(),
    version,
  };
}

export function toStepExecution(
  record: StepExecutionRecord,
  owner: { jobName: string; jobParameters: JobParameters },
  context: ContextRecord | undefined,
): StepExecution {
  const step = new StepExecution({
    id: record.id,
    stepName: record.stepName,
    jobExecutionId: record.jobExecutionId,
    jobInstanceId: record.jobInstanceId,
    jobName: owner.jobName,
    jobParameters: owner.jobParameters,
    status: record.status,
    exitStatus: new ExitStatus(record.exitCode, record.exitDescription),
    executionContext: new ExecutionContext(context),
    createTime: new Date(record.createTime),
    version: record.version,
  });
  step.startTime = date(record.startTime);
  step.endTime = date(record.endTime);
  step.lastUpdated = date(record.lastUpdated);
  step.restoreCounts(record);
  return step;
}
