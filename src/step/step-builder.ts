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
import { resolveChunkOptions, resolveStartLimit, type ChunkOptions } from './step-options.js';
import { TaskletStep, type Tasklet } from './tasklet-step.js';

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

  constructor(
    name: string,
    private readonly options: ChunkOptions,
  ) {
    super(name);
  }

  reader(reader: PerExecution<ItemReader<I> & ItemStream>): this {
    this.readerSource = reader;
    return this;
  }

  /** Optional: without one, items pass through to the writer unchanged. */
  processor(processor: ItemProcessorLike<I, O>): this {
    this.processorSource = processor;
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
    });
    const readerSource = this.readerSource;
    const writerSource = this.writerSource;
    if (!readerSource) throw new InvalidConfigurationError(`Step '${this.name}': a chunk step needs a reader; call .reader(...).`);
    if (!writerSource) throw new InvalidConfigurationError(`Step '${this.name}': a chunk step needs a writer; call .writer(...).`);
    const processor = this.processorSource ? toItemProcessor(this.processorSource) : undefined;
    const listeners = [...this.listeners];
    const extraStreams = [...this.streams];
    const name = this.name;

    return new ChunkOrientedStep<I, O>({ ...resolved, name }, (stepExecution): ChunkStepParts<I, O> => {
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

function instantiate<T>(stepName: string, role: string, source: PerExecution<T>, stepExecution: StepExecution): T {
  const instance = typeof source === 'function' ? (source as (s: StepExecution) => T)(stepExecution) : source;
  if (typeof instance !== 'object' || instance === null) {
    throw new InvalidConfigurationError(`Step '${stepName}': the ${role} factory returned ${String(instance)}, not a ${role}.`);
  }
  return instance;
}

function uniqueStreams(candidates: readonly unknown[]): ItemStream[] {
  return [...new Set(candidates.filter(isItemStream))];
}
