import { Chunk } from '../../domain/chunk.js';
import { InjectedFaultError } from '../../domain/errors.js';
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
import { FaultPoint, type FaultPoints } from '../../support/fault-points.js';
import { AbstractStep, type StepRunParts } from '../abstract-step.js';
import type { StepEnvironment } from '../step.js';
import type { StepListeners } from '../step-listeners.js';
import type { ResolvedChunkOptions } from '../step-options.js';
import { runChunkPipeline, type ChunkVerdict, type ReadChunk } from './chunk-pipeline.js';

/** The reader, processor, writer and listeners of one run of a chunk step. */
export interface ChunkStepParts<I, O> extends StepRunParts {
  readonly reader: ItemReader<I> & ItemStream;
  readonly processor: (ItemProcessor<I, O> & ItemStream) | undefined;
  readonly writer: ItemWriter<O> & ItemStream;
  readonly listeners: StepListeners<I, O>;
}

export type ChunkStepPartsFactory<I, O> = (stepExecution: StepExecution) => ChunkStepParts<I, O>;

/** The step context key of the number of chunks this step has committed for its job instance. */
const CHUNK_SEQUENCE_KEY = 'batch.chunk.sequence';

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
 */
export class ChunkOrientedStep<I, O> extends AbstractStep<ChunkStepParts<I, O>> {
  constructor(
    private readonly options: ResolvedChunkOptions & { readonly name: string },
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
    const commit = new ChunkCommitter(stepExecution, parts, environment, logger);
    await runChunkPipeline<I>({
      reader: parts.reader,
      chunkSize: this.options.chunkSize,
      readAhead: this.options.readAhead,
      listeners: parts.listeners as StepListeners<I, unknown>,
      handle: (chunk) => commit.handle(chunk),
    });
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
): Promise<void> {
  const before = countsOf(step);
  step.executionContext.put(CHUNK_SEQUENCE_KEY, nextChunkSequence(step));
  step.apply(contribution);
  step.commitCount += 1;
  let outcome;
  try {
    outcome = await environment.repository.commitChunk(step, staged);
  } catch (error) {
    Object.assign(step, before);
    step.executionContext.restore(committedContext);
    step.rollbackCount += 1;
    throw error;
  }
  environment.faults?.hit(FaultPoint.AFTER_CHUNK_COMMIT, faultError);
  if (outcome.stopRequested) step.terminateOnly = true;
  if (logger.isLevelEnabled?.('debug') ?? true) {
    logger.debug(
      { event: 'chunk.committed', commitCount: step.commitCount, readCount: step.readCount, writeCount: step.writeCount },
      'Chunk committed',
    );
  }
}

/** Processes, writes and commits the chunks of one step run, one at a time, in read order. */
class ChunkCommitter<I, O> {
  private readonly processListeners: boolean;
  private readonly faults: FaultPoints | undefined;

  constructor(
    private readonly step: StepExecution,
    private readonly parts: ChunkStepParts<I, O>,
    private readonly environment: StepEnvironment,
    private readonly logger: Logger,
  ) {
    const { listeners } = parts;
    this.processListeners = listeners.has('beforeProcess') || listeners.has('afterProcess') || listeners.has('onProcessError');
    this.faults = environment.faults;
  }

  async handle(read: ReadChunk<I>): Promise<ChunkVerdict> {
    // A stop seen at the last commit ends the step here; a chunk read ahead is dropped uncounted
    // and, as its reader state was never committed, read again on restart.
    if (this.step.terminateOnly) return 'finish';
    if (read.items.length === 0 && read.readError === undefined) return 'finish';

    const { listeners } = this.parts;
    const contribution = new StepContribution();
    contribution.incrementReadCount(read.items.length);
    const staged: StagedWrite[] = [];
    const committedContext = this.step.executionContext.toJSON();
    let output = new Chunk<O>([]);
    try {
      if (read.readError !== undefined) throw read.readError;
      await listeners.beforeChunk(new Chunk(read.items));
      output = new Chunk(await this.process(read.items, contribution));
      this.faults?.hit(FaultPoint.BEFORE_WRITE, faultError);
      if (output.size > 0) await this.write(output, this.transactionFor(staged));
      contribution.incrementWriteCount(output.size);
      this.faults?.hit(FaultPoint.AFTER_WRITE, faultError);
      await listeners.afterChunk(output);
      await this.updateContext(read);
    } catch (error) {
      this.step.executionContext.restore(committedContext);
      this.step.apply(contribution);
      this.step.rollbackCount += 1;
      this.logger.debug({ event: 'chunk.rolled_back', readCount: contribution.readCount, err: error }, 'Chunk rolled back');
      await listeners.onChunkError(error, output);
      throw error;
    }
    await commitContribution(this.step, contribution, staged, committedContext, this.environment, this.logger);
    return read.exhausted ? 'finish' : 'continue';
  }

  private async process(items: readonly I[], contribution: StepContribution): Promise<O[]> {
    const processor = this.parts.processor;
    if (!processor) return items as unknown as O[];
    const outputs: O[] = [];
    const listeners = this.parts.listeners;
    for (const item of items) {
      let result: O | null | undefined | PromiseLike<O | null | undefined>;
      if (this.processListeners) {
        await listeners.beforeProcess(item);
        try {
          result = await processor.process(item);
        } catch (error) {
          await listeners.onProcessError(item, error);
          throw error;
        }
        await listeners.afterProcess(item, result ?? null);
      } else {
        result = processor.process(item);
        if (isPromiseLike(result)) result = await result;
      }
      if (result === null || result === undefined) contribution.incrementFilterCount();
      else outputs.push(result);
    }
    return outputs;
  }

  private async write(chunk: Chunk<O>, transaction: ChunkTransaction): Promise<void> {
    const listeners = this.parts.listeners;
    await listeners.beforeWrite(chunk);
    try {
      const result = this.parts.writer.write(chunk, transaction);
      if (isPromiseLike(result)) await result;
    } catch (error) {
      await listeners.onWriteError(error, chunk);
      throw error;
    }
    await listeners.afterWrite(chunk);
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

  private transactionFor(staged: StagedWrite[]): ChunkTransaction {
    return {
      chunkKey: nextChunkKey(this.step),
      put: (store: string, key: string, value: JsonValue) => void staged.push({ kind: 'put', store, key, value }),
      remove: (store: string, key: string) => void staged.push({ kind: 'remove', store, key }),
    };
  }
}

function nextChunkSequence(step: StepExecution): number {
  return (step.executionContext.get<number>(CHUNK_SEQUENCE_KEY) ?? 0) + 1;
}

/** The key of the chunk about to commit; the same chunk gets the same key when a restart redoes it. */
export function nextChunkKey(step: StepExecution): string {
  return `${step.jobInstanceId}/${step.stepName}/${nextChunkSequence(step)}`;
}

function countsOf(step: StepExecution) {
  return {
    readCount: step.readCount,
    writeCount: step.writeCount,
    filterCount: step.filterCount,
    commitCount: step.commitCount,
    rollbackCount: step.rollbackCount,
    readSkipCount: step.readSkipCount,
    processSkipCount: step.processSkipCount,
    writeSkipCount: step.writeSkipCount,
  };
}

function faultError(point: string): Error {
  return new InjectedFaultError(point);
}

