import { InvalidConfigurationError } from '../domain/errors.js';
import type { StepListener } from '../domain/listeners.js';
import type { StepExecution } from '../domain/step-execution.js';
import { toItemProcessor, type ItemProcessorLike } from '../item/item-processor.js';
import type { ItemReader } from '../item/item-reader.js';
import { isItemStream, type ItemStream } from '../item/item-stream.js';
import type { ItemWriter } from '../item/item-writer.js';
import { ChunkOrientedStep, type ChunkStepParts } from './chunk/chunk-oriented-step.js';
import type { Step } from './step.js';
import { StepListeners } from './step-listeners.js';
import type { BackOffPolicy } from './chunk/retry-policy.js';
import type { ErrorClass, SkipPolicy } from './chunk/skip-policy.js';
import {
  NOT_FAULT_TOLERANT,
  resolveChunkOptions,
  resolveFaultTolerance,
  resolveStartLimit,
  type ChunkOptions,
  type FaultToleranceOptions,
} from './step-options.js';
import { TaskletStep, type Tasklet } from './tasklet-step.js';
import { PartitionStep, type PartitionOptions } from './partition/partition-step.js';
import type { Partitioner } from './partition/partitioner.js';

/** An instance, or a factory called once per StepExecution so that no state leaks between runs. */
export type PerExecution<T> = T | ((stepExecution: StepExecution) => T);

/**
 * Starts a step definition.
 *
 * @example
 * const load = step('load').chunk<number, number>(100).reader(reader).processor((n) => n * 2).writer(writer).build();
 * const report = step('report').tasklet(async () => RepeatStatus.FINISHED).build();
 */
export function step(name: string): StepBuilder {
  if (typeof name !== 'string' || name.trim() === '') throw new InvalidConfigurationError('A step needs a non-empty name.');
  return new StepBuilder(name);
}

export class StepBuilder {
  constructor(private readonly name: string) {}

  /** A chunk-oriented step: `chunk(100)` or `chunk({ chunkSize: 100, readAhead: 2 })`. */
  chunk<I, O = I>(sizeOrOptions: number | ChunkOptions): ChunkStepBuilder<I, O> {
    const options = typeof sizeOrOptions === 'number' ? { chunkSize: sizeOrOptions } : sizeOrOptions;
    return new ChunkStepBuilder<I, O>(this.name, options);
  }

  /**
   * A partitioned step: the partitioner splits the work into contexts, and `.step(worker)` runs
   * once per partition, concurrently, as `<name>:<partition>`.
   */
  partitioner(partitioner: Partitioner, options: PartitionOptions): PartitionStepBuilder {
    if (typeof partitioner !== 'function') throw new InvalidConfigurationError(`Step '${this.name}': partitioner() needs a function (gridSize) => contexts.`);
    return new PartitionStepBuilder(this.name, partitioner, options);
  }

  tasklet(tasklet: Tasklet): TaskletStepBuilder {
    if (typeof tasklet !== 'function') throw new InvalidConfigurationError(`Step '${this.name}': tasklet() needs a function.`);
    return new TaskletStepBuilder(this.name, tasklet);
  }
}

/** What every step builder shares: restart settings, listeners and extra streams. */
abstract class CommonStepBuilder<I, O> {
  protected allowRestartWhenComplete = false;
  protected limit = Infinity;
  protected readonly listeners: Partial<StepListener<I, O>>[] = [];
  protected readonly streams: ItemStream[] = [];

  constructor(protected readonly name: string) {}

  /** Run this step again on restart even when it completed before (for steps that must always run). */
  allowStartIfComplete(allow = true): this {
    this.allowRestartWhenComplete = allow;
    return this;
  }

  /** Fail the job instead of starting this step more than `limit` times for one job instance. */
  startLimit(limit: number): this {
    this.limit = resolveStartLimit(this.name, limit);
    return this;
  }

  /** Any object with some of the step, chunk, read, process, write and skip listener callbacks. */
  listener(listener: Partial<StepListener<I, O>>): this {
    if (typeof listener !== 'object' || listener === null) {
      throw new InvalidConfigurationError(`Step '${this.name}': listener() needs an object with listener callbacks.`);
    }
    this.listeners.push(listener);
    return this;
  }

  /** An extra ItemStream opened, updated at every commit, and closed with the step. */
  stream(stream: ItemStream): this {
    this.streams.push(stream);
    return this;
  }
}

export class ChunkStepBuilder<I, O> extends CommonStepBuilder<I, O> {
  private readerSource: PerExecution<ItemReader<I> & ItemStream> | undefined;
  private processorSource: ItemProcessorLike<I, O> | undefined;
  private writerSource: PerExecution<ItemWriter<O> & ItemStream> | undefined;
  private aheadChunks: number | undefined;
  private processorConcurrency: number | undefined;
  private chunkConcurrency: number | undefined;
  private timeoutMs: number | undefined;
  private faultToleranceEnabled = false;
  private readonly tolerance: {
    skippable: ErrorClass[];
    notSkippable: ErrorClass[];
    skipLimit?: number;
    skipPolicy?: SkipPolicy;
    retryable: ErrorClass[];
    notRetryable: ErrorClass[];
    retryLimit?: number;
    backOff?: BackOffPolicy;
  } = { skippable: [], notSkippable: [], retryable: [], notRetryable: [] };
  private toleranceTouched: string | undefined;

  constructor(
    name: string,
    private readonly options: ChunkOptions,
  ) {
    super(name);
  }

  /** Enables skip and retry; without it every failure fails the chunk and the step. */
  faultTolerant(): this {
    this.faultToleranceEnabled = true;
    return this;
  }

  /** Skip items whose error, or an error in its cause chain, is one of these classes. Adds to earlier calls. */
  skip(...errorClasses: ErrorClass[]): this {
    this.tolerance.skippable.push(...checkClasses(this.name, 'skip', errorClasses));
    return this.touched('skip');
  }

  /** Never skip these classes, even when a broader class is skippable (the closer class decides). */
  noSkip(...errorClasses: ErrorClass[]): this {
    this.tolerance.notSkippable.push(...checkClasses(this.name, 'noSkip', errorClasses));
    return this.touched('noSkip');
  }

  /** How many items the step may skip; the next skippable failure fails the step. Default 10. */
  skipLimit(limit: number): this {
    this.tolerance.skipLimit = limit;
    return this.touched('skipLimit');
  }

  /** Decide skips yourself; replaces skip(), noSkip() and skipLimit(). */
  skipPolicy(policy: SkipPolicy): this {
    if (typeof policy !== 'function') throw new InvalidConfigurationError(`Step '${this.name}': skipPolicy() needs a function (error, skipCount) => boolean.`);
    this.tolerance.skipPolicy = policy;
    return this.touched('skipPolicy');
  }

  /** Retry failed reads, processes and writes whose error (or a cause) is one of these classes. Adds to earlier calls. */
  retry(...errorClasses: ErrorClass[]): this {
    this.tolerance.retryable.push(...checkClasses(this.name, 'retry', errorClasses));
    return this.touched('retry');
  }

  /** Never retry these classes. */
  noRetry(...errorClasses: ErrorClass[]): this {
    this.tolerance.notRetryable.push(...checkClasses(this.name, 'noRetry', errorClasses));
    return this.touched('noRetry');
  }

  /** Retries after the first attempt (3 means up to 4 attempts). Alone, it retries any error. */
  retryLimit(limit: number): this {
    this.tolerance.retryLimit = limit;
    return this.touched('retryLimit');
  }

  /** The wait before each retry: none (default), fixed, or exponential with jitter and a cap. */
  backOff(policy: BackOffPolicy): this {
    this.tolerance.backOff = policy;
    return this.touched('backOff');
  }

  private touched(setting: string): this {
    this.toleranceTouched ??= setting;
    return this;
  }

  reader(reader: PerExecution<ItemReader<I> & ItemStream>): this {
    this.readerSource = reader;
    return this;
  }

  /**
   * Optional: without one, items pass through to the writer unchanged. With `concurrency`, up to
   * that many items of a chunk are processed at once (for processors that wait on I/O); their
   * order, skips, retries and listeners stay exact.
   */
  processor(processor: ItemProcessorLike<I, O>, options: { readonly concurrency?: number } = {}): this {
    this.processorSource = processor;
    this.processorConcurrency = options.concurrency;
    return this;
  }

  /** Fail a chunk (rolled back, step FAILED) that takes longer than `ms` to read, or to process and write. */
  chunkTimeout(ms: number): this {
    this.timeoutMs = ms;
    return this;
  }

  /**
   * A multi-threaded step that stays restartable: up to `concurrency` chunks are processed at once
   * over the one reader (reads stay serial), and they are written and committed in read order.
   */
  taskExecutor(options: { readonly concurrency: number }): this {
    this.chunkConcurrency = options.concurrency;
    return this;
  }

  writer(writer: PerExecution<ItemWriter<O> & ItemStream>): this {
    this.writerSource = writer;
    return this;
  }

  /** Chunks read ahead while an earlier one is being written and committed (default 1; 0 reads only on demand). */
  readAhead(chunks: number): this {
    this.aheadChunks = chunks;
    return this;
  }

  build(): Step {
    const resolved = resolveChunkOptions(this.name, {
      ...this.options,
      allowStartIfComplete: this.options.allowStartIfComplete ?? this.allowRestartWhenComplete,
      startLimit: this.options.startLimit ?? this.limit,
      ...(this.aheadChunks !== undefined ? { readAhead: this.aheadChunks } : {}),
      ...(this.processorConcurrency !== undefined ? { processorConcurrency: this.processorConcurrency } : {}),
      ...(this.chunkConcurrency !== undefined ? { concurrency: this.chunkConcurrency } : {}),
      ...(this.timeoutMs !== undefined ? { chunkTimeoutMs: this.timeoutMs } : {}),
    });
    const readerSource = this.readerSource;
    const writerSource = this.writerSource;
    if (!readerSource) throw new InvalidConfigurationError(`Step '${this.name}': a chunk step needs a reader; call .reader(...).`);
    if (!writerSource) throw new InvalidConfigurationError(`Step '${this.name}': a chunk step needs a writer; call .writer(...).`);
    if (this.toleranceTouched && !this.faultToleranceEnabled) {
      throw new InvalidConfigurationError(
        `Step '${this.name}': ${this.toleranceTouched}() takes effect only in a fault-tolerant step; call .faultTolerant() first.`,
      );
    }
    const faultTolerance = this.faultToleranceEnabled
      ? resolveFaultTolerance(this.name, this.tolerance as FaultToleranceOptions)
      : NOT_FAULT_TOLERANT;
    const processor = this.processorSource ? toItemProcessor(this.processorSource) : undefined;
    const listeners = [...this.listeners];
    const extraStreams = [...this.streams];
    const name = this.name;

    return new ChunkOrientedStep<I, O>({ ...resolved, name, faultTolerance }, (stepExecution): ChunkStepParts<I, O> => {
      const reader = instantiate(name, 'reader', readerSource, stepExecution);
      const writer = instantiate(name, 'writer', writerSource, stepExecution);
      if (typeof reader.read !== 'function') throw new InvalidConfigurationError(`Step '${name}': the reader has no read() method.`);
      if (typeof writer.write !== 'function') throw new InvalidConfigurationError(`Step '${name}': the writer has no write() method.`);
      return {
        reader,
        processor,
        writer,
        // The reader's state is captured per chunk by the pipeline; the processor and writer update at commit.
        streams: uniqueStreams([reader, processor, writer, ...extraStreams]),
        listeners: new StepListeners<I, O>(listeners),
      };
    });
  }
}

export class TaskletStepBuilder extends CommonStepBuilder<unknown, unknown> {
  constructor(
    name: string,
    private readonly work: Tasklet,
  ) {
    super(name);
  }

  build(): Step {
    const listeners = new StepListeners<unknown, unknown>([...this.listeners]);
    const streams = uniqueStreams([this.work, ...this.streams]);
    const work = this.work;
    return new TaskletStep({ name: this.name, allowStartIfComplete: this.allowRestartWhenComplete, startLimit: this.limit }, () => ({
      tasklet: work,
      listeners,
      streams,
    }));
  }
}

export class PartitionStepBuilder extends CommonStepBuilder<unknown, unknown> {
  private worker: Step | undefined;

  constructor(
    name: string,
    private readonly partitioner: Partitioner,
    private readonly options: PartitionOptions,
  ) {
    super(name);
  }

  /** The step each partition runs (built with step(...)...build()); its readers see the partition's context. */
  step(worker: Step): this {
    this.worker = worker;
    return this;
  }

  build(): Step {
    if (!this.worker || typeof this.worker.execute !== 'function') {
      throw new InvalidConfigurationError(`Step '${this.name}': a partitioned step needs a worker step; call .step(worker).`);
    }
    return new PartitionStep(
      { name: this.name, allowStartIfComplete: this.allowRestartWhenComplete, startLimit: this.limit },
      this.partitioner,
      this.worker,
      this.options,
      new StepListeners<unknown, unknown>([...this.listeners]),
    );
  }
}

function instantiate<T>(stepName: string, role: string, source: PerExecution<T>, stepExecution: StepExecution): T {
  const instance = typeof source === 'function' ? (source as (s: StepExecution) => T)(stepExecution) : source;
  if (typeof instance !== 'object' || instance === null) {
    throw new InvalidConfigurationError(`Step '${stepName}': the ${role} factory returned ${String(instance)}, not a ${role}.`);
  }
  return instance;
}

function checkClasses(stepName: string, method: string, classes: readonly ErrorClass[]): ErrorClass[] {
  for (const candidate of classes) {
    if (typeof candidate !== 'function' || !(candidate.prototype instanceof Error || candidate === Error)) {
      throw new InvalidConfigurationError(`Step '${stepName}': ${method}() takes error classes (subclasses of Error), got ${String(candidate)}.`);
    }
  }
  return [...classes];
}

function uniqueStreams(candidates: readonly unknown[]): ItemStream[] {
  return [...new Set(candidates.filter(isItemStream))];
}
