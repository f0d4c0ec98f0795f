import { asError } from '../domain/errors.js';
import { assertJsonValue, type JsonValue } from '../domain/execution-context.js';
import type { ExecutionOwner, OwnerHeartbeat } from '../domain/execution-owner.js';
import type { Logger } from '../domain/logger.js';
import type { WorkChunkInstanceRecord } from './records.js';
import type { WorkChunkJobDefinition, WorkChunkReducer } from './work-chunk-job.js';
import type { WorkChunkRepository } from './work-chunk-repository.js';

export interface ReducerRunnerOptions {
  readonly repository: WorkChunkRepository;
  readonly owner: ExecutionOwner;
  readonly logger: Logger;
  readonly leaseMs: number;
  readonly isOwnerGone: (owner: ExecutionOwner, heartbeat: OwnerHeartbeat | undefined) => boolean;
  readonly definitionOf: (instance: WorkChunkInstanceRecord) => WorkChunkJobDefinition<unknown> | undefined;
  readonly onEnded: (instance: WorkChunkInstanceRecord) => void;
}

/** Chunks consumed between two commits of a resumable reducer's state. */
const BATCH = 100;
const RETRY_DELAY_MS = 500;

/** Marks an error thrown by the reducer's own code, as opposed to one from the store. */
class ReducerCodeFailure extends Error {
  constructor(cause: unknown) {
    super('the reducer threw', { cause });
  }
}

/**
 * Runs the reducers of FINALIZE instances. One reducer per instance in the whole store: the
 * reducer lease is taken in a transaction, and each batch commit checks it. A reducer with an
 * `initial` state stores it with every batch it consumes, so after a crash the next runtime resumes
 * at the first chunk not yet consumed.
 */
export class ReducerRunner {
  private readonly active = new Map<string, Promise<void>>();
  private readonly retries = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly options: ReducerRunnerOptions) {}

  /** Starts the reducer of `instanceId` unless this runtime already runs it; resolves when it ends. */
  run(instanceId: string): Promise<void> {
    let running = this.active.get(instanceId);
    if (!running) {
      running = this.reduce(instanceId)
        .catch((error: unknown) => this.options.logger.error({ event: 'workchunk.reducer_crashed', instanceId, err: error }, 'Reducer could not run'))
        .finally(() => this.active.delete(instanceId));
      this.active.set(instanceId, running);
    }
    return running;
  }

  async drain(): Promise<void> {
    this.closed = true;
    for (const timer of this.retries) clearTimeout(timer);
    await Promise.all(this.active.values());
  }

  /** Runs the reduction again after a pause (the maintenance pass would too, only later). */
  private retryLater(instanceId: string): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.retries.delete(timer);
      void this.run(instanceId);
    }, RETRY_DELAY_MS);
    timer.unref();
    this.retries.add(timer);
  }

  private async reduce(instanceId: string): Promise<void> {
    const { repository, owner, leaseMs, logger: rootLogger } = this.options;
    const stored = repository.getInstance(instanceId);
    if (!stored || stored.status !== 'FINALIZE') return;
    const definition = this.options.definitionOf(stored);
    const step = definition?.steps[definition.steps.length - 1];
    if (!step || step.kind !== 'reduce') return;
    const instance = await repository.takeReducer(instanceId, owner, leaseMs, this.options.isOwnerGone);
    if (!instance) return;
    const reducer = step.reducer as WorkChunkReducer<unknown, unknown, unknown, JsonValue>;
    const logger = rootLogger.child({ definitionId: instance.definitionId, instanceId, workStep: step.id });
    const context = { parameters: instance.parameters as unknown, instanceId, logger };
    const resumable = typeof reducer.initial === 'function';
    let state: JsonValue = resumable ? (instance.reducer?.state ?? reducer.initial!(context.parameters)) : null;
    const warnings: string[] = [];
    logger.info({ event: 'workchunk.reduction_started', resumedAfter: instance.reducer?.consumed ?? 0 }, 'Reduction started');
    // The reducer's own code failing ends the instance FAILED; the store failing does not: nothing
    // of the failed transaction was written, so the reduction is simply run again later.
    const userCode = async <T>(call: () => T | PromiseLike<T>): Promise<T> => {
      try {
        return await call();
      } catch (error) {
        throw new ReducerCodeFailure(error);
      }
    };
    try {
      let after: string | undefined;
      for (;;) {
        const batch = repository.reductionBatch(instanceId, BATCH, after);
        if (batch.length === 0) break;
        for (const chunk of batch) {
          const next = await userCode(() => reducer.consume(chunk.data, state, context));
          if (next !== undefined) state = next;
        }
        after = batch[batch.length - 1]?.id;
        if (resumable) await userCode(() => assertJsonValue(`state of reducer '${step.id}'`, state));
        // Resumable: the consumed chunks and the state, together. Otherwise only the lease is renewed.
        const kept = await repository.commitReduction(instanceId, owner, resumable ? batch.map((c) => c.id) : [], resumable ? state : null, leaseMs);
        if (!kept) {
          logger.warn({ event: 'workchunk.reducer_lease_lost', instanceId }, 'Another runtime took over the reduction');
          return;
        }
        if (resumable) after = undefined;
      }
      let report: JsonValue | null = null;
      await userCode(() =>
        reducer.complete(
          {
            accept(value: unknown) {
              assertJsonValue(`report of '${step.id}'`, value);
              report = value as JsonValue;
            },
            recoveredError(message: string) {
              warnings.push(String(message));
            },
          },
          state,
          context,
        ),
      );
      const ended = await repository.endReduction(instanceId, owner, { report, warnings });
      if (ended) {
        logger.info({ event: 'workchunk.reduction_completed' }, 'Reduction completed');
        this.options.onEnded(ended);
      }
    } catch (thrown) {
      if (!(thrown instanceof ReducerCodeFailure)) {
        logger.warn({ event: 'workchunk.reduction_interrupted', err: thrown }, 'The store refused a reduction commit; the reduction runs again shortly');
        this.retryLater(instanceId);
        return;
      }
      const error = asError(thrown.cause);
      logger.error({ event: 'workchunk.reduction_failed', err: error }, 'Reduction failed');
      const ended = await repository.endReduction(instanceId, owner, { error: `${error.name}: ${error.message}` });
      if (ended) this.options.onEnded(ended);
    }
  }
}
