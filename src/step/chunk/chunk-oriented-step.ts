import { Chunk } from '../../domain/chunk.js';
import { ExitStatus } from '../../domain/exit-status.js';
import {
  ChunkTimeoutError,
  InjectedFaultError,
  NonSkippableProcessError,
  NonSkippableReadError,
  NonSkippableWriteError,
} from '../../domain/errors.js';
import type { ExecutionContextSnapshot, JsonValue } from '../../domain/execution-context.js';
import type { Logger } from '../../domain/logger.js';
import { StepContribution } from '../../domain/step-contribution.js';
import type { StepExecution } from '../../domain/step-execution.js';
import type { ItemProcessor } from '../../item/item-processor.js';
import type { ItemReader } from '../../item/item-reader.js';
import type { ItemStream } from '../../item/item-stream.js';
import type { ChunkTransaction, ItemWriter } from '../../item/item-writer.js';
import type { StagedWrite } from '../../repository/records.js';
import { isPromiseLike } from '../../support/awaitable.js';
import { mapWithConcurrency } from '../../support/concurrency.js';
import { withTimeout } from '../../support/timeout.js';
import { FaultPoint } from '../../support/fault-points.js';
import { AbstractStep, type StepRunParts } from '../abstract-step.js';
import { advanceChunkSequence, nextChunkKey } from '../chunk-sequence.js';
import type { StepEnvironment } from '../step.js';
import type { StepListeners } from '../step-listeners.js';
import { NOT_FAULT_TOLERANT, type ResolvedChunkOptions, type ResolvedFaultTolerance } from '../step-options.js';
import { runChunkPipeline, type ChunkVerdict, type ReadChunk } from './chunk-pipeline.js';
import { Retrier } from './retry-policy.js';
import type { SkipPolicy } from './skip-policy.js';

/** The reader, processor, writer and listeners of one run of a chunk step. */
export interface ChunkStepParts<I, O> extends StepRunParts {
  readonly reader: ItemReader<I> & ItemStream;
  readonly processor: (ItemProcessor<I, O> & ItemStream) | undefined;
  readonly writer: ItemWriter<O> & ItemStream;
  readonly listeners: StepListeners<I, O>;
}

export type ChunkStepPartsFactory<I, O> = (stepExecution: StepExecution) => ChunkStepParts<I, O>;

/**
 * The chunk-oriented step, and the one place where a chunk commits.
 *
 * For each chunk: read up to chunkSize items (read ahead, see chunk-pipeline.ts), process each
 * (null filters it), write the survivors in one call, then commit in ONE durable transaction:
 * the counts, the step's execution context (the reader's state after this chunk's last read, the
 * processor's and writer's after this chunk's write) and the writes staged by transactional
 * writers. A failure anywhere before the commit rolls the chunk back: its counts are kept (as
 * Spring Batch keeps them), nothing of it is stored, and the step fails; a restart resumes from
 * the context of the last commit.
 *
 * Fault tolerance follows Spring Batch 6's chunk-oriented step: failed reads, processes and writes
 * are retried in place; read and process failures the skip policy accepts are skipped without a
 * rollback; a skippable write failure rolls the chunk's write back and writes its processed items
 * again one at a time (a scan), skipping those that fail. Unlike Spring, the scan's successful
 * items commit together with the chunk's reader state, so a crash during a scan cannot write an
 * item twice.
 */
export class ChunkOrientedStep<I, O> extends AbstractStep<ChunkStepParts<I, O>> {
  constructor(
    private readonly options: ResolvedChunkOptions & { readonly name: string; readonly faultTolerance: ResolvedFaultTolerance },
    private readonly partsFactory: ChunkStepPartsFactory<I, O>,
  ) {
    super(options);
  }

  get chunkSize(): number {
    return this.options.chunkSize;
  }

  protected createParts(stepExecution: StepExecution): ChunkStepParts<I, O> {
    return this.partsFactory(stepExecution);
  }

  protected async doExecute(stepExecution: StepExecution, parts: ChunkStepParts<I, O>, environment: StepEnvironment, logger: Logger): Promise<void> {
    if (stepExecution.terminateOnly) return;
    const { skipPolicy, retry } = this.options.faultTolerance;
    const retrier = new Retrier(retry, (error, attempt) => {
      logger.warn({ event: 'item.retried', attempt, err: error }, 'Retrying a failed item operation');
      const events = environment.events;
      if (events?.active) {
        const job = environment.jobExecution;
        const errorType = (error as { code?: unknown } | null)?.code;
        events.publish({
          type: 'item.retried',
          jobName: job.jobName,
          jobInstanceId: job.jobInstance.id,
          jobExecutionId: job.id,
          stepName: stepExecution.stepName,
          stepExecutionId: stepExecution.id,
          errorType: typeof errorType === 'string' ? errorType : error instanceof Error ? error.name : typeof error,
        });
      }
    });
    const faultTolerant = this.options.faultTolerance !== NOT_FAULT_TOLERANT;
    const { processorConcurrency } = this.options;
    const { chunkTimeoutMs } = this.options;
    const concurrency = Math.max(this.options.concurrency, chunksInFlightOf(parts.processor));
    const committer = new ChunkCommitter(stepExecution, parts, environment, logger, skipPolicy, retrier, faultTolerant, processorConcurrency, chunkTimeoutMs);
    await runChunkPipeline<I, ProcessOutcome<I, O>[]>({
      reader: parts.reader,
      chunkSize: this.options.chunkSize,
      readAhead: this.options.readAhead,
      listeners: parts.listeners as StepListeners<I, unknown>,
      retrier,
      isSkippableRead: (error) => isSkippableKind(skipPolicy, error),
      readTimeoutMs: chunkTimeoutMs,
      onReadTimeout: () => new ChunkTimeoutError(this.name, 'read', chunkTimeoutMs ?? 0),
      // Multi-threaded (or a processor that asks for it): up to `concurrency` chunks are processed at
      // once as soon as they are read; writes and commits still happen one chunk at a time, in read order.
      ...(concurrency > 1 ? { prepare: (chunk: ReadChunk<I>) => committer.prepare(chunk), prepareConcurrency: concurrency } : {}),
      handle: (chunk, prepared) => committer.handle(chunk, prepared),
    });
    if (stepExecution.skipCount > 0) stepExecution.exitStatus = stepExecution.exitStatus.and(ExitStatus.COMPLETED_WITH_SKIPS);
  }
}

/**
 * Commits one chunk's (or one tasklet iteration's) work: applies its counts, adds the commit, and
 * stores it all with the staged writes in one durable transaction. If the transaction fails,
 * nothing was stored, so the in-memory counts and context go back to the last commit and the chunk
 * counts as rolled back. A stop requested by anyone is noticed here, at the chunk boundary.
 */
export async function commitContribution(
  step: StepExecution,
  contribution: StepContribution,
  staged: readonly StagedWrite[],
  committedContext: ExecutionContextSnapshot,
  environment: StepEnvironment,
  logger: Logger,
  countAsCommit = true,
): Promise<void> {
  const before = step.counts();
  advanceChunkSequence(step);
  step.apply(contribution);
  if (countAsCommit) step.commitCount += 1;
  let outcome;
  try {
    outcome = await environment.repository.commitChunk(step, staged);
  } catch (error) {
    step.restoreCounts(before);
    step.executionContext.restore(committedContext);
    step.rollbackCount += 1;
    throw error;
  }
  environment.faults?.hit(FaultPoint.AFTER_CHUNK_COMMIT, faultError);
  if (outcome.stopRequested) step.terminateOnly = true;
  if (logger.isLevelEnabled?.('debug') ?? true) {
    logger.debug(
      { event: 'chunk.committed', commitCount: step.commitCount, readCount: step.readCount, writeCount: step.writeCount, skipCount: step.skipCount },
      'Chunk committed',
    );
  }
}

/** A skip decided in a chunk, told to the skip listeners once that chunk has committed. */
type SkipEvent<I, O> =
  | { readonly phase: 'read'; readonly error: unknown }
  | { readonly phase: 'process'; readonly item: I; readonly error: unknown }
  | { readonly phase: 'write'; readonly item: O; readonly error: unknown };

/** What processing one item came to: its output (null when filtered) or its error. */
export type ProcessOutcome<I, O> = { readonly item: I; readonly output: O | null } | { readonly item: I; readonly error: unknown };

/** Everything one chunk accumulates until it commits or rolls back. */
interface ChunkWork<I, O> {
  readonly contribution: StepContribution;
  readonly staged: StagedWrite[];
  readonly skips: SkipEvent<I, O>[];
  /** False when a write scan ended with a skipped item: Spring Batch counts no commit then. */
  countAsCommit: boolean;
}

/** Processes, writes and commits the chunks of one step run, one at a time, in read order. */
class ChunkCommitter<I, O> {
  private readonly processListeners: boolean;

  constructor(
    private readonly step: StepExecution,
    private readonly parts: ChunkStepParts<I, O>,
    private readonly environment: StepEnvironment,
    private readonly logger: Logger,
    private readonly skipPolicy: SkipPolicy,
    private readonly retrier: Retrier,
    private readonly faultTolerant: boolean,
    private readonly processorConcurrency: number,
    private readonly chunkTimeoutMs: number | undefined,
  ) {
    const { listeners } = parts;
    this.processListeners = listeners.has('beforeProcess') || listeners.has('afterProcess') || listeners.has('onProcessError');
  }

  /**
   * Processes a chunk ahead of its turn (multi-threaded step): every item's outcome, in order, with
   * retries and process listeners done; whether failures are skipped is decided later, in `handle`,
   * in read order, so concurrency cannot change the counts.
   */
  async prepare(read: ReadChunk<I>): Promise<ProcessOutcome<I, O>[]> {
    // The empty chunk that only finds the end of the data is never handled (see handle).
    if (isEndOfData(read)) return [];
    await this.parts.listeners.beforeChunk(new Chunk(read.items));
    return this.processConcurrently(read.items);
  }

  async handle(read: ReadChunk<I>, prepared?: Promise<ProcessOutcome<I, O>[]>): Promise<ChunkVerdict> {
    // A stop seen at the last commit ends the step here; a chunk read ahead is dropped uncounted
    // and, as its reader state was never committed, read again on restart.
    if (this.step.terminateOnly) return 'finish';
    if (isEndOfData(read)) return 'finish';

    const { listeners } = this.parts;
    const work: ChunkWork<I, O> = { contribution: new StepContribution(), staged: [], skips: [], countAsCommit: true };
    const committedContext = this.step.executionContext.toJSON();
    let output = new Chunk<O>([]);
    // Set when the chunk timed out: work still running in the background must not touch the
    // step's context afterwards (the failed step stores it, and a restart resumes from it).
    let abandoned = false;
    const timing = { started: performance.now(), writeStarted: 0, writeEnded: 0 };
    const processAndWrite = async (): Promise<void> => {
      this.applyReads(read, work);
      if (prepared) output = new Chunk(this.applyOutcomes(await prepared, work));
      else {
        await listeners.beforeChunk(new Chunk(read.items));
        output = new Chunk(
          this.processorConcurrency > 1 || this.parts.processor?.processChunk
            ? this.applyOutcomes(await this.processConcurrently(read.items), work)
            : await this.process(read.items, work),
        );
      }
      this.environment.faults?.hit(FaultPoint.BEFORE_WRITE, faultError);
      if (abandoned) return;
      timing.writeStarted = performance.now();
      if (output.size > 0) await this.write(output, work);
      timing.writeEnded = performance.now();
      this.environment.faults?.hit(FaultPoint.AFTER_WRITE, faultError);
      if (abandoned) return;
      await listeners.afterChunk(output);
      if (abandoned) return;
      await this.updateContext(read);
    };
    try {
      if (this.chunkTimeoutMs === undefined) await processAndWrite();
      else {
        const timeoutMs = this.chunkTimeoutMs;
        await withTimeout(processAndWrite(), timeoutMs, () => new ChunkTimeoutError(this.step.stepName, 'process and write', timeoutMs));
      }
    } catch (error) {
      abandoned = true;
      this.step.executionContext.restore(committedContext);
      this.step.apply(work.contribution);
      this.step.rollbackCount += 1;
      this.logger.debug({ event: 'chunk.rolled_back', readCount: work.contribution.readCount, err: error }, 'Chunk rolled back');
      this.publishChunkEnded('rolled_back', read, work, timing, 0);
      await listeners.onChunkError(error, output);
      throw error;
    }
    // A chunk whose every read was skipped still commits the reader's position, but Spring Batch
    // does not count it as a commit.
    const countAsCommit = work.countAsCommit && read.items.length > 0;
    const commitStarted = performance.now();
    try {
      await commitContribution(this.step, work.contribution, work.staged, committedContext, this.environment, this.logger, countAsCommit);
    } catch (error) {
      this.publishChunkEnded('rolled_back', read, work, timing, performance.now() - commitStarted);
      throw error;
    }
    this.publishChunkEnded('committed', read, work, timing, performance.now() - commitStarted);
    await this.notifySkips(work.skips);
    return read.exhausted ? 'finish' : 'continue';
  }

  /** One event per chunk, with its counts and the time of each phase; nothing when nobody listens. */
  private publishChunkEnded(
    outcome: 'committed' | 'rolled_back',
    read: ReadChunk<I>,
    work: ChunkWork<I, O>,
    timing: { readonly started: number; readonly writeStarted: number; readonly writeEnded: number },
    commitMs: number,
  ): void {
    const events = this.environment.events;
    if (!events?.active) return;
    const { contribution } = work;
    const job = this.environment.jobExecution;
    const now = performance.now();
    const processEnded = timing.writeStarted || now;
    events.publish({
      type: 'chunk.ended',
      jobName: job.jobName,
      jobInstanceId: job.jobInstance.id,
      jobExecutionId: job.id,
      stepName: this.step.stepName,
      stepExecutionId: this.step.id,
      outcome,
      read: contribution.readCount,
      written: contribution.writeCount,
      filtered: contribution.filterCount,
      readSkips: contribution.readSkipCount,
      processSkips: contribution.processSkipCount,
      writeSkips: contribution.writeSkipCount,
      readMs: read.readMs,
      processMs: processEnded - timing.started,
      writeMs: timing.writeStarted ? (timing.writeEnded || now) - timing.writeStarted : 0,
      commitMs,
    });
  }

  /** Counts the chunk's reads and decides, in read order, which failed reads are skipped. */
  private applyReads(read: ReadChunk<I>, work: ChunkWork<I, O>): void {
    const { contribution } = work;
    for (const failure of read.readFailures) {
      let skip: boolean;
      try {
        skip = this.skipPolicy(failure.error, this.step.skipCount + contribution.skipCount);
      } catch (limitError) {
        contribution.incrementReadCount(failure.afterItems);
        throw limitError;
      }
      if (!skip) {
        contribution.incrementReadCount(failure.afterItems);
        throw this.nonSkippable(failure.error, NonSkippableReadError);
      }
      contribution.readSkipCount += 1;
      work.skips.push({ phase: 'read', error: failure.error });
    }
    contribution.incrementReadCount(read.items.length);
    if (read.readError !== undefined) throw this.nonSkippable(read.readError, NonSkippableReadError);
  }

  private async process(items: readonly I[], work: ChunkWork<I, O>): Promise<O[]> {
    const processor = this.parts.processor;
    if (!processor) return items as unknown as O[];
    const outputs: O[] = [];
    const { listeners } = this.parts;
    const { contribution } = work;
    for (const item of items) {
      let result: O | null | undefined | PromiseLike<O | null | undefined>;
      try {
        if (this.processListeners) await listeners.beforeProcess(item);
        result = this.retrier.enabled ? this.retrier.call(() => processor.process(item)) : processor.process(item);
        if (isPromiseLike(result)) result = await result;
        if (this.processListeners) await listeners.afterProcess(item, result ?? null);
      } catch (error) {
        if (this.processListeners) await listeners.onProcessError(item, error);
        if (!this.shouldSkip(error, contribution)) throw this.nonSkippable(error, NonSkippableProcessError);
        contribution.processSkipCount += 1;
        work.skips.push({ phase: 'process', item, error });
        continue;
      }
      if (result === null || result === undefined) contribution.incrementFilterCount();
      else outputs.push(result);
    }
    return outputs;
  }

  /** Processes items with up to `processorConcurrency` calls in flight (async processors), keeping their order. */
  private async processConcurrently(items: readonly I[]): Promise<ProcessOutcome<I, O>[]> {
    const processor = this.parts.processor;
    if (!processor) return items.map((item) => ({ item, output: item as unknown as O }));
    if (processor.processChunk) return this.processWholeChunk(items, processor);
    if (this.processorConcurrency <= 1) return this.processInOrder(items, processor);
    return mapWithConcurrency(items, this.processorConcurrency, async (item) => this.processOne(item, processor));
  }

  /** One item after the other, awaiting only what returns a promise: a synchronous processor pays nothing per item. */
  private async processInOrder(items: readonly I[], processor: ItemProcessor<I, O>): Promise<ProcessOutcome<I, O>[]> {
    const outcomes = new Array<ProcessOutcome<I, O>>(items.length);
    for (let index = 0; index < items.length; index++) {
      const outcome = this.processOne(items[index] as I, processor);
      outcomes[index] = isPromiseLike(outcome) ? await outcome : outcome;
    }
    return outcomes;
  }

  /** One item's outcome; synchronous when the processor is and nobody listens to processing. */
  private processOne(item: I, processor: ItemProcessor<I, O>): ProcessOutcome<I, O> | Promise<ProcessOutcome<I, O>> {
    if (this.processListeners) return this.processOneWithListeners(item, processor);
    try {
      const result = this.retrier.enabled ? this.retrier.call(() => processor.process(item)) : processor.process(item);
      if (!isPromiseLike(result)) return { item, output: result ?? null };
      return Promise.resolve(result).then(
        (output): ProcessOutcome<I, O> => ({ item, output: output ?? null }),
        (error: unknown): ProcessOutcome<I, O> => ({ item, error }),
      );
    } catch (error) {
      return { item, error };
    }
  }

  private async processOneWithListeners(item: I, processor: ItemProcessor<I, O>): Promise<ProcessOutcome<I, O>> {
    const { listeners } = this.parts;
    try {
      await listeners.beforeProcess(item);
      const output = (await this.retrier.call(() => processor.process(item))) ?? null;
      await listeners.afterProcess(item, output);
      return { item, output };
    } catch (error) {
      await listeners.onProcessError(item, error);
      return { item, error };
    }
  }

  /**
   * A processor that takes whole chunks (worker threads): one call per chunk; items that failed
   * are retried one by one through `process` when the retry policy says so.
   */
  private async processWholeChunk(items: readonly I[], processor: ItemProcessor<I, O> & ItemStream): Promise<ProcessOutcome<I, O>[]> {
    const { listeners } = this.parts;
    if (this.processListeners) for (const item of items) await listeners.beforeProcess(item);
    // A thread that died rejects the whole chunk's task; the retry policy decides whether to try again.
    const outcomes = await this.retrier.call(() => processor.processChunk!(items));
    // The common case, nothing failed and nobody listens: no promise per item.
    if (!this.processListeners && outcomes.every((outcome) => !('error' in outcome))) {
      return items.map((item, index) => ({ item, output: (outcomes[index] as { output: O | null } | undefined)?.output ?? null }));
    }
    return mapWithConcurrency(items, this.processorConcurrency, async (item, index): Promise<ProcessOutcome<I, O>> => {
      let outcome = outcomes[index] ?? { error: new Error(`processChunk returned no outcome for item ${index}`) };
      if ('error' in outcome && this.retrier.enabled && this.retrier.isRetryable(outcome.error)) {
        const firstError = outcome.error;
        try {
          outcome = { output: (await this.retrier.retryAfter(() => processor.process(item), firstError)) ?? null };
        } catch (error) {
          outcome = { error };
        }
      }
      if ('error' in outcome) {
        if (this.processListeners) await listeners.onProcessError(item, outcome.error);
        return { item, error: outcome.error };
      }
      if (this.processListeners) await listeners.afterProcess(item, outcome.output);
      return { item, output: outcome.output };
    });
  }

  /** Turns outcomes into the chunk's output, deciding filters and skips in item order. */
  private applyOutcomes(outcomes: readonly ProcessOutcome<I, O>[], work: ChunkWork<I, O>): O[] {
    const outputs: O[] = [];
    const { contribution } = work;
    for (const outcome of outcomes) {
      if ('error' in outcome) {
        if (!this.shouldSkip(outcome.error, contribution)) throw this.nonSkippable(outcome.error, NonSkippableProcessError);
        contribution.processSkipCount += 1;
        work.skips.push({ phase: 'process', item: outcome.item, error: outcome.error });
      } else if (outcome.output === null) contribution.incrementFilterCount();
      else outputs.push(outcome.output);
    }
    return outputs;
  }

  /**
   * Writes the chunk in one call. If that fails with an error of a skippable kind, the write is
   * rolled back (its staged puts dropped, one rollback counted) and the items are written again
   * one by one, each in its own attempt: those that fail again are skipped.
   */
  private async write(chunk: Chunk<O>, work: ChunkWork<I, O>): Promise<void> {
    const attempt: StagedWrite[] = [];
    try {
      await this.writeOnce(chunk, attempt);
      appendAll(work.staged, attempt);
      work.contribution.incrementWriteCount(chunk.size);
      return;
    } catch (error) {
      if (!isSkippableKind(this.skipPolicy, error)) throw error;
      this.step.rollbackCount += 1;
      this.logger.debug({ event: 'chunk.scan_started', items: chunk.size, err: error }, 'Write failed; writing the items one by one');
    }
    await this.scan(chunk, work);
  }

  private async scan(chunk: Chunk<O>, work: ChunkWork<I, O>): Promise<void> {
    const { contribution } = work;
    let lastSucceeded = false;
    for (const item of chunk.items) {
      const attempt: StagedWrite[] = [];
      const single = new Chunk([item]);
      try {
        await this.writeOnce(single, attempt, false);
      } catch (error) {
        if (!this.shouldSkip(error, contribution)) {
          await this.parts.listeners.onWriteError(error, single);
          throw this.nonSkippable(error, NonSkippableWriteError);
        }
        contribution.writeSkipCount += 1;
        this.step.rollbackCount += 1;
        work.skips.push({ phase: 'write', item, error });
        lastSucceeded = false;
        continue;
      }
      appendAll(work.staged, attempt);
      contribution.incrementWriteCount(1);
      lastSucceeded = true;
    }
    work.countAsCommit = lastSucceeded;
  }

  /** One write attempt; `reportError` false leaves onWriteError to the caller (a scan reports only items it does not skip). */
  private async writeOnce(chunk: Chunk<O>, staged: StagedWrite[], reportError = true): Promise<void> {
    const { listeners, writer } = this.parts;
    const transaction = this.transactionFor(staged);
    await listeners.beforeWrite(chunk);
    try {
      const result = this.retrier.enabled
        ? this.retrier.call(() => {
            staged.length = 0;
            return writer.write(chunk, transaction);
          })
        : writer.write(chunk, transaction);
      if (isPromiseLike(result)) await result;
    } catch (error) {
      staged.length = 0;
      if (reportError) await listeners.onWriteError(error, chunk);
      throw error;
    }
    await listeners.afterWrite(chunk);
  }

  /** In a fault-tolerant step the error says it was not skippable; otherwise it stays the user's own. */
  private nonSkippable(error: unknown, As: new (stepName: string, options: { cause: unknown }) => Error): unknown {
    return this.faultTolerant ? new As(this.step.stepName, { cause: error }) : error;
  }

  /** The policy's verdict with the skips so far; a limit error propagates and fails the step. */
  private shouldSkip(error: unknown, contribution: StepContribution): boolean {
    return this.skipPolicy(error, this.step.skipCount + contribution.skipCount);
  }

  /** The reader's state as of this chunk's last read, then the processor's and writer's after the write. */
  private async updateContext(read: ReadChunk<I>): Promise<void> {
    const context = this.step.executionContext;
    for (const [key, value] of Object.entries(read.readerState)) context.put(key, value);
    for (const stream of this.parts.streams) {
      if (stream === this.parts.reader) continue;
      const result = stream.update?.(context);
      if (isPromiseLike(result)) await result;
    }
  }

  private async notifySkips(skips: readonly SkipEvent<I, O>[]): Promise<void> {
    if (skips.length === 0) return;
    const { listeners } = this.parts;
    this.logger.warn({ event: 'item.skipped', skipped: skips.length, skipCount: this.step.skipCount }, 'Items skipped in a committed chunk');
    for (const skip of skips) {
      try {
        if (skip.phase === 'read') await listeners.onSkipInRead(skip.error);
        else if (skip.phase === 'process') await listeners.onSkipInProcess(skip.item, skip.error);
        else await listeners.onSkipInWrite(skip.item, skip.error);
      } catch (error) {
        // The chunk has committed; a failing listener cannot undo it, so it is reported and ignored.
        this.logger.error({ event: 'skip_listener.failed', err: error }, 'A skip listener failed');
      }
    }
  }

  private transactionFor(staged: StagedWrite[]): ChunkTransaction {
    return {
      chunkKey: nextChunkKey(this.step),
      put: (store: string, key: string, value: JsonValue) => void staged.push({ kind: 'put', store, key, value }),
      remove: (store: string, key: string) => void staged.push({ kind: 'remove', store, key }),
    };
  }
}

/**
 * How many chunks a processor wants processed at once, whatever the step's `taskExecutor`: a
 * processor whose work runs elsewhere (worker threads) keeps those threads busy with the next chunk
 * while the main thread reads and commits. Chunks still commit one at a time, in read order.
 */
interface ChunksInFlightHint {
  readonly chunksInFlight?: number;
}

function chunksInFlightOf(processor: object | undefined): number {
  const wanted = (processor as ChunksInFlightHint | undefined)?.chunksInFlight;
  return typeof wanted === 'number' && Number.isInteger(wanted) && wanted > 1 ? wanted : 1;
}

/** A chunk with nothing in it: the reader found the end of its data at the chunk's first read. */
function isEndOfData(read: ReadChunk<unknown>): boolean {
  return read.items.length === 0 && read.readError === undefined && read.readFailures.length === 0;
}

/** The skip policy asked only about the kind of error; a policy that throws counts as "no". */
function isSkippableKind(policy: SkipPolicy, error: unknown): boolean {
  try {
    return policy(error, -1);
  } catch {
    return false;
  }
}

/** Appends without spreading: a chunk may stage more writes than a call can take as arguments. */
function appendAll<T>(target: T[], source: readonly T[]): void {
  for (const element of source) target.push(element);
}

function faultError(point: string): Error {
  return new InjectedFaultError(point);
}
