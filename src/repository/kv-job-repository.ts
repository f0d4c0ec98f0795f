import { isRunningStatus } from '../domain/batch-status.js';
import {
  JobExecutionAlreadyRunningError,
  JobInstanceAlreadyCompleteError,
  JobRestartError,
  NoSuchJobExecutionError,
  OptimisticLockingFailureError,
} from '../domain/errors.js';
import type { ExecutionContext, JsonValue } from '../domain/execution-context.js';
import { JobExecution } from '../domain/job-execution.js';
import type { JobInstance } from '../domain/job-instance.js';
import type { JobParameters } from '../domain/job-parameters.js';
import { StepExecution } from '../domain/step-execution.js';
import type { Clock } from '../support/clock.js';
import { systemClock } from '../support/clock.js';
import type { FaultPoints } from '../support/fault-points.js';
import { writeChunkCommit } from './chunk-commit.js';
import {
  toJobExecution,
  toJobExecutionRecord,
  toJobInstance,
  toStepExecution,
  toStepExecutionRecord,
} from './codec.js';
import type { CreateJobExecutionRequest, JobRepository, UpdateOutcome } from './job-repository.js';
import { Keys } from './keys.js';
import type { KvReader, KvStore, KvTransaction } from './kv-store.js';
import type { ContextRecord, JobExecutionRecord, JobInstanceRecord, StagedWrite, StepExecutionRecord } from './records.js';
import { reconcileStatus } from './status-sync.js';
import { writeOrphanFailure } from './orphan-recovery.js';
import { describeOwner, type ExecutionOwner, type OwnerHeartbeat } from '../domain/execution-owner.js';

export interface KvJobRepositoryOptions {
  readonly clock?: Clock;
  readonly faults?: FaultPoints;
}

/**
 * The JobRepository of the embedded stores (LMDB and memory), written once against `KvStore`.
 */
export class KvJobRepository implements JobRepository {
  private readonly clock: Clock;
  private readonly faults: FaultPoints | undefined;

  constructor(
    private readonly store: KvStore,
    options: KvJobRepositoryOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.faults = options.faults;
  }

  // ---- writes -------------------------------------------------------------------------------

  async createJobExecution(request: CreateJobExecutionRequest): Promise<JobExecution> {
    const { jobName, parameters, restartable, owner, isOwnerGone } = request;
    const instanceKey = parameters.instanceKey();
    const now = this.clock.now().getTime();
    const { record, instance, context } = await this.store.write((tx) => {
      let instanceRecord: JobInstanceRecord | undefined;
      let previousContext: ContextRecord | undefined;
      const existingId = tx.get<number>(Keys.instanceByKey(jobName, instanceKey));
      if (existingId !== undefined) {
        instanceRecord = tx.get<JobInstanceRecord>(Keys.instance(existingId))!;
        if (isOwnerGone) this.recoverOrphansOf(tx, existingId, isOwnerGone, now);
        const executions = this.executionRecordsOf(tx, existingId);
        checkLaunchable(jobName, instanceRecord, executions, restartable);
        const last = executions[0];
        if (last) previousContext = tx.get<ContextRecord>(Keys.jobContext(last.id));
      } else {
        instanceRecord = { id: nextId(tx, 'jobInstance'), jobName, instanceKey, createTime: now };
        tx.put(Keys.instance(instanceRecord.id), instanceRecord);
        tx.put(Keys.instanceByKey(jobName, instanceKey), instanceRecord.id);
        tx.put(Keys.instanceOfJob(jobName, instanceRecord.id), instanceRecord.id);
        tx.put(Keys.jobName(jobName), true);
      }
      const executionRecord: JobExecutionRecord = {
        id: nextId(tx, 'jobExecution'),
        jobInstanceId: instanceRecord.id,
        parameters: parameters.toStored(),
        status: 'STARTING',
        exitCode: 'UNKNOWN',
        exitDescription: '',
        createTime: now,
        startTime: null,
        endTime: null,
        lastUpdated: now,
        version: 0,
        owner: owner ?? null,
      };
      tx.put(Keys.execution(executionRecord.id), executionRecord);
      tx.put(Keys.executionOfInstance(instanceRecord.id, executionRecord.id), executionRecord.id);
      const context = previousContext ?? {};
      tx.put(Keys.jobContext(executionRecord.id), context);
      return { record: executionRecord, instance: toJobInstance(instanceRecord), context };
    });
    return toJobExecution(record, instance, context);
  }

  async updateJobExecution(execution: JobExecution): Promise<UpdateOutcome> {
    execution.lastUpdated = this.clock.now();
    const outcome = await this.store.write((tx) => {
      const stored = tx.get<JobExecutionRecord>(Keys.execution(execution.id));
      if (!stored) throw new NoSuchJobExecutionError(execution.id);
      let stopRequested = false;
      if (stored.version !== execution.version) {
        const merged = reconcileStatus(execution.status, stored.status);
        if (!merged) throw new OptimisticLockingFailureError(`JobExecution ${execution.id}`, execution.version, stored.version);
        execution.status = merged.status;
        stopRequested = merged.stopRequested;
      }
      const version = stored.version + 1;
      tx.put(Keys.execution(execution.id), toJobExecutionRecord(execution, version));
      tx.put(Keys.jobContext(execution.id), execution.executionContext.toJSON());
      return { version, stopRequested: stopRequested || execution.status === 'STOPPING' };
    });
    execution.version = outcome.version;
    execution.executionContext.clearDirty();
    return { stopRequested: outcome.stopRequested };
  }

  async updateJobExecutionContext(execution: JobExecution): Promise<void> {
    await this.store.write((tx) => tx.put(Keys.jobContext(execution.id), execution.executionContext.toJSON()));
    execution.executionContext.clearDirty();
  }

  async createStepExecution(jobExecution: JobExecution, stepName: string, executionContext: ExecutionContext): Promise<StepExecution> {
    const now = this.clock.now();
    const step = await this.store.write((tx) => writeNewStepExecution(tx, jobExecution, stepName, executionContext, now));
    executionContext.clearDirty();
    return step;
  }


  async updateStepExecution(step: StepExecution): Promise<UpdateOutcome> {
    step.lastUpdated = this.clock.now();
    const outcome = await this.store.write((tx) => {
      const stored = tx.get<StepExecutionRecord>(Keys.stepExecution(step.id));
      if (!stored || stored.version !== step.version) {
        throw new OptimisticLockingFailureError(`StepExecution ${step.id} (${step.stepName})`, step.version, stored?.version ?? -1);
      }
      tx.put(Keys.stepExecution(step.id), toStepExecutionRecord(step, step.version + 1));
      tx.put(Keys.stepContext(step.id), step.executionContext.toJSON());
      return { stopRequested: tx.get<JobExecutionRecord>(Keys.execution(step.jobExecutionId))?.status === 'STOPPING' };
    });
    step.version += 1;
    step.executionContext.clearDirty();
    return outcome;
  }

  async commitChunk(step: StepExecution, staged: readonly StagedWrite[]): Promise<UpdateOutcome> {
    step.lastUpdated = this.clock.now();
    const outcome = await this.store.write((tx) => writeChunkCommit(tx, step, staged, this.faults));
    step.version += 1;
    step.executionContext.clearDirty();
    return outcome;
  }

  async heartbeat(owner: ExecutionOwner, at: number): Promise<void> {
    await this.store.write((tx) => tx.put(Keys.heartbeat(owner.token), { owner, at } satisfies OwnerHeartbeat));
  }

  async getHeartbeat(token: string): Promise<OwnerHeartbeat | undefined> {
    return this.store.read((tx) => tx.get<OwnerHeartbeat>(Keys.heartbeat(token)));
  }

  async failOrphan(executionId: number, expectedVersion: number, description: string): Promise<boolean> {
    const now = this.clock.now().getTime();
    return this.store.write((tx) => {
      const record = tx.get<JobExecutionRecord>(Keys.execution(executionId));
      if (!record || record.version !== expectedVersion || !isRunningStatus(record.status)) return false;
      writeOrphanFailure(tx, record, description, now);
      return true;
    });
  }

  async close(): Promise<void> {
    await this.store.close();
  }

  // ---- reads --------------------------------------------------------------------------------

  async getJobNames(): Promise<string[]> {
    return this.store.read((tx) => tx.range<boolean>(Keys.jobNamesPrefix).map(({ key }) => key.slice(Keys.jobNamesPrefix.length)));
  }

  async getJobInstance(instanceId: number): Promise<JobInstance | undefined> {
    const record = this.store.read((tx) => tx.get<JobInstanceRecord>(Keys.instance(instanceId)));
    return record ? toJobInstance(record) : undefined;
  }

  async findJobInstance(jobName: string, parameters: JobParameters): Promise<JobInstance | undefined> {
    return this.store.read((tx) => {
      const id = tx.get<number>(Keys.instanceByKey(jobName, parameters.instanceKey()));
      const record = id === undefined ? undefined : tx.get<JobInstanceRecord>(Keys.instance(id));
      return record ? toJobInstance(record) : undefined;
    });
  }

  async getJobInstances(jobName: string, start = 0, count = 20): Promise<JobInstance[]> {
    return this.store.read((tx) =>
      tx
        .range<number>(Keys.instancesOfJobPrefix(jobName), { reverse: true, limit: start + count })
        .slice(start)
        .map(({ value }) => toJobInstance(tx.get<JobInstanceRecord>(Keys.instance(value))!)),
    );
  }

  async getJobExecution(executionId: number): Promise<JobExecution | undefined> {
    return this.store.read((tx) => this.loadExecution(tx, executionId));
  }

  async getJobExecutions(instanceId: number): Promise<JobExecution[]> {
    return this.store.read((tx) =>
      this.executionRecordsOf(tx, instanceId).map((record) => this.loadExecution(tx, record.id)!),
    );
  }

  async getLastJobExecution(instanceId: number): Promise<JobExecution | undefined> {
    return this.store.read((tx) => {
      const last = tx.range<number>(Keys.executionsOfInstancePrefix(instanceId), { reverse: true, limit: 1 })[0];
      return last ? this.loadExecution(tx, last.value) : undefined;
    });
  }

  async findRunningJobExecutions(jobName: string): Promise<JobExecution[]> {
    return this.store.read((tx) => {
      const running: JobExecution[] = [];
      for (const { value: instanceId } of tx.range<number>(Keys.instancesOfJobPrefix(jobName), { reverse: true })) {
        for (const record of this.executionRecordsOf(tx, instanceId)) {
          if (isRunningStatus(record.status)) running.push(this.loadExecution(tx, record.id)!);
        }
      }
      return running;
    });
  }

  async getStepExecution(jobExecutionId: number, stepExecutionId: number): Promise<StepExecution | undefined> {
    return this.store.read((tx) => {
      const record = tx.get<StepExecutionRecord>(Keys.stepExecution(stepExecutionId));
      if (!record || record.jobExecutionId !== jobExecutionId) return undefined;
      return this.loadStep(tx, record);
    });
  }

  async getLastStepExecution(instanceId: number, stepName: string): Promise<StepExecution | undefined> {
    return this.store.read((tx) => {
      const last = tx.range<number>(Keys.stepsOfInstancePrefix(instanceId, stepName), { reverse: true, limit: 1 })[0];
      if (!last) return undefined;
      return this.loadStep(tx, tx.get<StepExecutionRecord>(Keys.stepExecution(last.value))!);
    });
  }

  async getStepExecutionCount(instanceId: number, stepName: string): Promise<number> {
    return this.store.read((tx) => tx.range<number>(Keys.stepsOfInstancePrefix(instanceId, stepName)).length);
  }

  async getStagedValue(store: string, key: string): Promise<JsonValue | undefined> {
    return this.store.read((tx) => tx.get<JsonValue>(Keys.staged(store, key)));
  }

  async getStagedValues(store: string): Promise<Array<{ key: string; value: JsonValue }>> {
    const prefix = Keys.stagedPrefix(store);
    return this.store.read((tx) => tx.range<JsonValue>(prefix).map(({ key, value }) => ({ key: key.slice(prefix.length), value })));
  }

  async getStagedPage(store: string, options: { readonly after?: string; readonly limit: number }): Promise<Array<{ key: string; value: JsonValue }>> {
    const prefix = Keys.stagedPrefix(store);
    const { after, limit } = options;
    return this.store.read((tx) => {
      const page = tx.range<JsonValue>(prefix, {
        limit: limit + (after === undefined ? 0 : 1),
        ...(after === undefined ? {} : { start: Keys.staged(store, after) }),
      });
      const entries = page.map(({ key, value }) => ({ key: key.slice(prefix.length), value }));
      return (after !== undefined && entries[0]?.key === after ? entries.slice(1) : entries).slice(0, limit);
    });
  }

  // ---- helpers ------------------------------------------------------------------------------

  /** Recovers, inside a launch's transaction, the running executions of an instance whose owner is gone. */
  private recoverOrphansOf(
    tx: KvTransaction,
    instanceId: number,
    isOwnerGone: NonNullable<CreateJobExecutionRequest['isOwnerGone']>,
    now: number,
  ): void {
    for (const record of this.executionRecordsOf(tx, instanceId)) {
      if (!isRunningStatus(record.status) || !record.owner) continue;
      const heartbeat = tx.get<OwnerHeartbeat>(Keys.heartbeat(record.owner.token));
      if (!isOwnerGone(record.owner, heartbeat)) continue;
      writeOrphanFailure(tx, record, `Orphaned: its owner, ${describeOwner(record.owner)}, is gone. Recovered at launch.`, now);
    }
  }

  /** Newest first. */
  private executionRecordsOf(tx: KvReader, instanceId: number): JobExecutionRecord[] {
    return tx
      .range<number>(Keys.executionsOfInstancePrefix(instanceId), { reverse: true })
      .map(({ value }) => tx.get<JobExecutionRecord>(Keys.execution(value))!);
  }

  private loadExecution(tx: KvReader, executionId: number): JobExecution | undefined {
    const record = tx.get<JobExecutionRecord>(Keys.execution(executionId));
    if (!record) return undefined;
    const instance = toJobInstance(tx.get<JobInstanceRecord>(Keys.instance(record.jobInstanceId))!);
    const execution = toJobExecution(record, instance, tx.get<ContextRecord>(Keys.jobContext(executionId)));
    execution.stepExecutions = tx
      .range<number>(Keys.stepsOfExecutionPrefix(executionId))
      .map(({ value }) => this.loadStep(tx, tx.get<StepExecutionRecord>(Keys.stepExecution(value))!, execution));
    return execution;
  }

  private loadStep(tx: KvReader, record: StepExecutionRecord, owner?: JobExecution): StepExecution {
    let jobName = owner?.jobName;
    let jobParameters = owner?.jobParameters;
    if (!owner) {
      const job = tx.get<JobExecutionRecord>(Keys.execution(record.jobExecutionId))!;
      const instance = tx.get<JobInstanceRecord>(Keys.instance(job.jobInstanceId))!;
      jobName = instance.jobName;
      jobParameters = toJobExecution(job, toJobInstance(instance), undefined).jobParameters;
    }
    return toStepExecution(record, { jobName: jobName!, jobParameters: jobParameters! }, tx.get<ContextRecord>(Keys.stepContext(record.id)));
  }
}

function nextId(tx: KvTransaction, sequence: string): number {
  const next = (tx.get<number>(Keys.sequence(sequence)) ?? 0) + 1;
  tx.put(Keys.sequence(sequence), next);
  return next;
}

/** Spring Batch's launch checks, in its order, over every execution of the instance (newest first). */
function checkLaunchable(jobName: string, instance: JobInstanceRecord, executions: readonly JobExecutionRecord[], restartable: boolean): void {
  const running = executions.find((e) => isRunningStatus(e.status));
  if (running) throw new JobExecutionAlreadyRunningError(jobName, running.id, running.status);
  const unknown = executions.find((e) => e.status === 'UNKNOWN');
  if (unknown) {
    throw new JobRestartError(
      `Cannot restart job '${jobName}' (instance ${instance.id}): execution ${unknown.id} ended UNKNOWN, so it is not known what it ` +
        `committed. Inspect it and abandon the instance, or launch with new identifying parameters.`,
      jobName,
    );
  }
  const finished = executions.find((e) => e.status === 'COMPLETED' || e.status === 'ABANDONED');
  if (finished) throw new JobInstanceAlreadyCompleteError(jobName, instance.id, finished.status);
  if (!restartable && executions.length > 0) {
    throw new JobRestartError(
      `Job '${jobName}' is not restartable (built with preventRestart()) and instance ${instance.id} already has an execution. ` +
        `Launch with new identifying parameters.`,
      jobName,
    );
  }
}

/**
 * Writes a new STARTING step execution of `jobExecution` with its context and indexes, inside the
 * caller's transaction (a remote partition's manager writes all of its partitions in one).
 */
export function writeNewStepExecution(tx: KvTransaction, jobExecution: JobExecution, stepName: string, executionContext: ExecutionContext, now: Date): StepExecution {
  const created = new StepExecution({
    id: nextId(tx, 'stepExecution'),
    stepName,
    jobExecutionId: jobExecution.id,
    jobInstanceId: jobExecution.jobInstance.id,
    jobName: jobExecution.jobName,
    jobParameters: jobExecution.jobParameters,
    executionContext,
    createTime: now,
  });
  created.lastUpdated = now;
  tx.put(Keys.stepExecution(created.id), toStepExecutionRecord(created, 0));
  tx.put(Keys.stepContext(created.id), executionContext.toJSON());
  tx.put(Keys.stepOfExecution(jobExecution.id, created.id), created.id);
  tx.put(Keys.stepOfInstance(jobExecution.jobInstance.id, stepName, created.id), created.id);
  return created;
}
