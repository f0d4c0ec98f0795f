import type { Chunk } from './chunk.js';
import type { ExitStatus } from './exit-status.js';
import type { JobExecution } from './job-execution.js';
import type { StepExecution } from './step-execution.js';

type Awaitable<T> = T | Promise<T>;

/** Called around a job execution. `afterJob` sees the final, already stored status; its errors are logged, not raised. */
export interface JobExecutionListener {
  beforeJob?(jobExecution: JobExecution): Awaitable<void>;
  afterJob?(jobExecution: JobExecution): Awaitable<void>;
}

/**
 * Called around a step execution. `afterStep` sees the stored status and may return an ExitStatus,
 * which is combined with the step's own by `ExitStatus.and` (so it can add a custom code, but cannot
 * turn FAILED into COMPLETED).
 */
export interface StepExecutionListener {
  beforeStep?(stepExecution: StepExecution): Awaitable<void>;
  afterStep?(stepExecution: StepExecution): Awaitable<ExitStatus | void | undefined>;
}

/** Called per chunk: `afterChunk` inside the chunk's transaction, before its commit. */
export interface ChunkListener<I = unknown, O = unknown> {
  beforeChunk?(chunk: Chunk<I>): Awaitable<void>;
  afterChunk?(chunk: Chunk<O>): Awaitable<void>;
  onChunkError?(error: unknown, chunk: Chunk<O>): Awaitable<void>;
}

export interface ItemReadListener<I = unknown> {
  beforeRead?(): Awaitable<void>;
  afterRead?(item: I): Awaitable<void>;
  onReadError?(error: unknown): Awaitable<void>;
}

export interface ItemProcessListener<I = unknown, O = unknown> {
  beforeProcess?(item: I): Awaitable<void>;
  /** `result` is null when the processor filtered the item. */
  afterProcess?(item: I, result: O | null): Awaitable<void>;
  onProcessError?(item: I, error: unknown): Awaitable<void>;
}

export interface ItemWriteListener<O = unknown> {
  beforeWrite?(chunk: Chunk<O>): Awaitable<void>;
  afterWrite?(chunk: Chunk<O>): Awaitable<void>;
  onWriteError?(error: unknown, chunk: Chunk<O>): Awaitable<void>;
}

/** Called once per skipped item, after the chunk that skipped it has committed. */
export interface SkipListener<I = unknown, O = unknown> {
  onSkipInRead?(error: unknown): Awaitable<void>;
  onSkipInProcess?(item: I, error: unknown): Awaitable<void>;
  onSkipInWrite?(item: O, error: unknown): Awaitable<void>;
}

/** Anything `.listener()` on a step accepts: an object with some of these callbacks. */
export type StepListener<I = unknown, O = unknown> = StepExecutionListener &
  ChunkListener<I, O> &
  ItemReadListener<I> &
  ItemProcessListener<I, O> &
  ItemWriteListener<O> &
  SkipListener<I, O>;
