import { nextStatus, stepExecutionMachine } from '../../machines/index.js';
import { ExecutionContext } from '../domain/execution-context.js';
import type { JobExecution } from '../domain/job-execution.js';
import type { Logger } from '../domain/logger.js';
import type { StepExecution } from '../domain/step-execution.js';
import { isRunningStatus } from '../domain/batch-status.js';
import type { JobRepository } from '../repository/job-repository.js';
import { Keys } from '../repository/keys.js';
import type { KvStore, KvTransaction } from '../repository/kv-store.js';
import { writeNewStepExecution } from '../repository/kv-job-repository.js';
import type { JobExecutionRecord, StepExecutionRecord } from '../repository/records.js';
import type { PartitionRequest, RemotePartitionHandler } from '../step/partition/partition-handler.js';
import type { Clock } from '../support/clock.js';
import type { Dispatcher } from './dispatcher.js';
import { dispatchPartition } from './partition-claims.js';
import { RemoteKeys, type RemotePartitionRecord } from './remote-partition-record.js';

export interface RemotePartitionHandlerOptions {
  readonly store: KvStore;
  readonly repository: JobRepository;
  readonly dispatcher: Dispatcher;
  readonly clock: Clock;
  /** How often the manager reads its partitions' statuses back. @default 100 */
  readonly pollMs?: number;
}

/** The store's clock when it has one every host shares, else this process's. */
export function storeTime(tx: KvTransaction, clock: Clock): number {
  return tx.now?.() ?? clock.now().getTime();
}

/**
 * The manager side of remote partitioning. All partitions' step executions and their dispatches
 * are written in one transaction, so either every partition is known and queued or none is. The
 * manager then reads their statuses back on a timer (no thread waits) until every one has ended.
 * A stop of the job reaches running partitions at their next commit; partitions that no worker has
 * claimed yet are stopped here, so a stop ends even when no worker is running.
 */
export class StoreRemotePartitionHandler implements RemotePartitionHandler {
  constructor(private readonly options: RemotePartitionHandlerOptions) {}

  async handle(manager: StepExecution, jobExecution: JobExecution, partitions: readonly PartitionRequest[], logger: Logger): Promise<StepExecution[]> {
    const { store, dispatcher, clock, repository } = this.options;
    const now = clock.now();
    const created = await store.write((tx) => {
      const time = storeTime(tx, clock);
      return partitions.map((partition) => {
        const step = writeNewStepExecution(tx, jobExecution, partition.stepName, new ExecutionContext(partition.context), now);
        dispatchPartition(
          tx,
          dispatcher,
          { jobName: jobExecution.jobName, jobExecutionId: jobExecution.id, managerStepName: manager.stepName, stepExecutionId: step.id, stepName: step.stepName },
          time,
        );
        return step.id;
      });
    });
    logger.info({ event: 'partition.dispatched', partitions: created.length, dispatcher: dispatcher.name }, 'Partitions dispatched to workers');

    const pollMs = this.options.pollMs ?? 100;
    for (;;) {
      const { open, stopping } = store.read((tx) => ({
        open: created.filter((id) => isRunningStatus(tx.get<StepExecutionRecord>(Keys.stepExecution(id))?.status ?? 'UNKNOWN')),
        // A stop asked from another process shows only in the store.
        stopping: tx.get<JobExecutionRecord>(Keys.execution(jobExecution.id))?.status === 'STOPPING',
      }));
      if (open.length === 0) break;
      if (manager.terminateOnly || stopping) await store.write((tx) => stopUnclaimed(tx, open, storeTime(tx, clock)));
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
    const executions: StepExecution[] = [];
    for (const id of created) {
      const execution = await repository.getStepExecution(jobExecution.id, id);
      if (execution) executions.push(execution);
    }
    return executions;
  }
}

/** Partitions still waiting for a worker end STOPPED at once. */
function stopUnclaimed(tx: KvTransaction, ids: readonly number[], now: number): void {
  for (const id of ids) {
    const claim = tx.get<RemotePartitionRecord>(RemoteKeys.partition(id));
    const step = tx.get<StepExecutionRecord>(Keys.stepExecution(id));
    if (!claim || !step || step.status !== 'STARTING' || (claim.owner !== null && claim.leaseUntil > now)) continue;
    const result = nextStatus(stepExecutionMachine, step.status, { type: 'REQUEST_STOP' });
    if (!result.allowed) continue;
    tx.put(Keys.stepExecution(id), { ...step, status: result.status, exitCode: 'STOPPED', endTime: now, lastUpdated: now, version: step.version + 1 } satisfies StepExecutionRecord);
    tx.remove(RemoteKeys.partition(id));
  }
}
