import type { BatchEventSink } from '../domain/batch-event.js';
import { asError, ExecutionContextValueError, isBatchError, NonErrorThrownError, NonRetryableError } from '../domain/errors.js';
import { assertJsonValue, type JsonValue } from '../domain/execution-context.js';
import type { ExecutionOwner } from '../domain/execution-owner.js';
import type { Logger } from '../domain/logger.js';
import type { ChunkTransaction } from '../item/item-writer.js';
import type { StagedWrite } from '../repository/records.js';
import type { ChunkRunOutcome, FinishedChunkRun, RetrySettings } from './work-chunk-commit.js';
import type { WorkChunkJobDefinition, WorkStepDefinition } from './work-chunk-job.js';
import type { ClaimedChunk, CycleResult, WorkChunkRepository } from './work-chunk-repository.js';
import type { WorkChunkInstanceRecord } from './records.js';

export interface ChunkWorkerPoolOptions {
  readonly repository: WorkChunkRepository;
  readonly owner: ExecutionOwner;
  readonly logger: Logger;
  /** Chunks run at once in this process. */
  readonly concurrency: number;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  /** How often an idle pool looks for chunks that other processes stored. */
  readonly pollIntervalMs: number;
  readonly definitionOf: (instance: WorkChunkInstanceRecord) => WorkChunkJobDefinition<unknown> | undefined;
  readonly queues: () => readonly string[];
  readonly events: BatchEventSink;
  /** Called after every transaction with what it changed. */
  readonly onCycle: (result: CycleResult) => void;
}

interface RunningChunk {
  readonly instanceId: string;
  readonly chunkId: string;
  readonly attempt: number;
}

const FALLBACK_RETRY: RetrySettings = { maxAttempts: 3, backoff: { type: 'exponential', initialMs: 1000, maxMs: 300_000 } };

/**
 * The in-process chunk workers: one loop claims due chunks (a lease each, stored before the step
 * runs), runs up to `concurrency` steps at once, and commits every run that finished since its
 * last transaction together with the next claims, in one transaction. Under load one durable sync
 * then serves many chunks; when idle the loop only reads.
 */
export class ChunkWorkerPool {
  private readonly running = new Map<string, RunningChunk>();
  private finished: FinishedChunkRun[] = [];
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly options: ChunkWorkerPoolOptions) {}

  start(): void {
    if (this.loop) return;
    this.loop = this.runLoop();
    this.heartbeat = setInterval(() => void this.renewLeases(), this.options.heartbeatMs);
    this.heartbeat.unref();
  }

  /** Looks for work now (a chunk was stored, a gate opened). */
  poke(): void {
    this.wake?.();
  }

  /** Stops claiming, lets the running steps finish, commits them, then resolves. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.heartbeat);
    this.poke();
    await this.loop;
  }

  get runningCount(): number {
    return this.running.size;
  }

  private async runLoop(): Promise<void> {
    let failures = 0;
    while (!this.stopping || this.running.size > 0 || this.finished.length > 0) {
      // One turn of the event loop per transaction: steps that end within it join the group
      // commit, and timers, I/O and signals get their turn even when every step is synchronous
      // (without it, a pool of quick steps ran on microtasks alone and starved the process).
      if (this.finished.length > 0) await new Promise((resolve) => setImmediate(resolve));
      const runs = this.finished;
      // A finished run's slot is free again: its commit and the next claim share the transaction.
      const free = this.stopping ? 0 : this.options.concurrency - (this.running.size - runs.length);
      let waitMs = this.options.pollIntervalMs;
      if (runs.length === 0) {
        if (free <= 0) {
          await this.sleep(undefined);
          continue;
        }
        const { due, nextDueAt } = this.options.repository.hasDueChunk(this.options.queues());
        if (!due) {
          if (nextDueAt !== undefined) waitMs = Math.max(1, Math.min(waitMs, nextDueAt - Date.now()));
          await this.sleep(this.stopping ? undefined : waitMs);
          continue;
        }
      }
      this.finished = [];
      let result: CycleResult;
      try {
        result = await this.options.repository.cycle(
          this.options.owner,
          runs,
          (instance) => this.options.definitionOf(instance)?.retry ?? FALLBACK_RETRY,
          free > 0 ? { queues: this.options.queues(), limit: free, leaseMs: this.options.leaseMs } : undefined,
        );
        failures = 0;
      } catch (error) {
        // The store refused the transaction: nothing of it was written. The runs are committed
        // with the next one; the chunks stay leased to this runtime meanwhile.
        this.finished.unshift(...runs);
        failures += 1;
        this.options.logger.error({ event: 'workchunk.commit_failed', err: error, runs: runs.length }, 'Work-chunk commit failed; retrying');
        await this.sleep(Math.min(5000, 50 * 2 ** Math.min(failures, 7)));
        continue;
      }
      runs.forEach((run, index) => {
        this.running.delete(`${run.instanceId}\u001f${run.chunkId}`);
        if (!result.committed[index]) {
          this.options.logger.warn(
            { event: 'workchunk.fenced', instanceId: run.instanceId, chunkId: run.chunkId, attempt: run.attempt },
            'The chunk was taken over while it ran; its outcome was discarded',
          );
        }
      });
      for (const claimed of result.claimed) this.launch(claimed);
      this.options.onCycle(result);
    }
  }

  private sleep(ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      if (ms !== undefined) timer = setTimeout(() => this.wake?.(), ms);
    });
  }

  private launch({ instance, chunk }: ClaimedChunk): void {
    const key = `${instance.id}\u001f${chunk.id}`;
    this.running.set(key, { instanceId: instance.id, chunkId: chunk.id, attempt: chunk.attempts });
    const definition = this.options.definitionOf(instance);
    const step = definition?.steps[chunk.stepIndex];
    const logger = this.options.logger.child({
      definitionId: instance.definitionId,
      instanceId: instance.id,
      chunkId: chunk.id,
      workStep: step?.id ?? instance.steps[chunk.stepIndex]?.id,
    });
    const startedAt = performance.now();
    const finish = (outcome: ChunkRunOutcome) => {
      const { events } = this.options;
      if (events.active) {
        events.publish({
          type: 'workchunk.run_ended',
          definitionId: instance.definitionId,
          instanceId: instance.id,
          chunkId: chunk.id,
          stepId: instance.steps[chunk.stepIndex]?.id ?? String(chunk.stepIndex),
          outcome: outcome.kind,
          durationMs: performance.now() - startedAt,
        });
      }
      this.finished.push({ instanceId: instance.id, chunkId: chunk.id, attempt: chunk.attempts, outcome });
      this.poke();
    };
    if (!step || step.kind === 'reduce') {
      finish({ kind: 'failed', message: `No runnable step at index ${chunk.stepIndex} of '${instance.definitionId}' version ${instance.definitionVersion}`, warnings: [] });
      return;
    }
    void runStep(step, instance, chunk.data, { id: chunk.id, instanceId: instance.id, stepId: step.id, attempt: chunk.attempts }, logger).then(finish);
  }

  private async renewLeases(): Promise<void> {
    const held = [...this.running.values()];
    if (held.length === 0) return;
    try {
      const lost = await this.options.repository.renewLeases(this.options.owner, held, this.options.leaseMs);
      if (lost.length) this.options.logger.warn({ event: 'workchunk.lease_lost', chunkIds: lost }, 'Leases taken over while their chunks ran');
    } catch (error) {
      this.options.logger.warn({ event: 'workchunk.heartbeat_failed', err: error }, 'Could not renew work-chunk leases');
    }
  }
}

/** Runs one chunk's step and turns whatever happens into an outcome; never throws. */
async function runStep(
  step: Exclude<WorkStepDefinition, { kind: 'reduce' }>,
  instance: WorkChunkInstanceRecord,
  data: JsonValue,
  chunk: { id: string; instanceId: string; stepId: string; attempt: number },
  logger: Logger,
): Promise<ChunkRunOutcome> {
  const children: JsonValue[] = [];
  const warnings: string[] = [];
  const staged: StagedWrite[] = [];
  const isLast = step.kind === 'last';
  const sink = {
    accept(value: unknown): void {
      if (isLast) throw new TypeError(`The last step '${step.id}' has no next step to emit to`);
      storable(`output of step '${step.id}'`, value);
      children.push(value as JsonValue);
    },
    recoveredError(message: string): void {
      warnings.push(String(message));
    },
  };
  const transaction: ChunkTransaction = {
    chunkKey: `${instance.id}/${chunk.id}`,
    put(store, key, value) {
      storable(`${store}/${key}`, value);
      staged.push({ kind: 'put', store, key, value });
    },
    remove(store, key) {
      staged.push({ kind: 'remove', store, key });
    },
  };
  logger.debug({ event: 'workchunk.started', attempt: chunk.attempt }, 'Work chunk started');
  try {
    const outcome = await step.run({ parameters: instance.parameters, data, chunk, logger, transaction }, sink);
    const recordsProcessed = outcome && typeof outcome.recordsProcessed === 'number' ? outcome.recordsProcessed : 0;
    logger.debug({ event: 'workchunk.completed', children: children.length, recordsProcessed }, 'Work chunk completed');
    return { kind: 'succeeded', children, staged, recordsProcessed, warnings };
  } catch (thrown) {
    const error = asError(thrown);
    if (isBatchError(error, 'RETRY_LATER')) {
      const delayMs = Number((error as unknown as { delayMs?: unknown }).delayMs) || 0;
      logger.info({ event: 'workchunk.poll_later', delayMs }, 'Work chunk asked to run again later');
      return { kind: 'poll-later', delayMs, warnings };
    }
    const fatal = isBatchError(error, 'NON_RETRYABLE') || error instanceof NonErrorThrownError;
    logger.warn({ event: fatal ? 'workchunk.failed' : 'workchunk.errored', attempt: chunk.attempt, err: error }, fatal ? 'Work chunk failed' : 'Work chunk errored');
    const message = `${error.name}: ${error.message}`;
    return fatal ? { kind: 'failed', message, warnings } : { kind: 'errored', message, warnings };
  }
}

/**
 * A value a step emits or stages must survive JSON. One that does not is a bug in the step that
 * no retry can fix, so the chunk fails at once, naming the value's path and what is wrong.
 */
function storable(path: string, value: unknown): void {
  try {
    assertJsonValue(path, value);
  } catch (error) {
    if (!(error instanceof ExecutionContextValueError)) throw error;
    throw new NonRetryableError(`The value at '${error.key}' cannot be stored: ${error.reason}; values must survive JSON`);
  }
}
