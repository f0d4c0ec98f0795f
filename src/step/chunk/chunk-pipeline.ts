import { setImmediate as yieldToIo } from 'node:timers/promises';
import { Observable, concatMap, from, lastValueFrom, map, takeWhile } from 'rxjs';
import { ExecutionContext, type ExecutionContextSnapshot } from '../../domain/execution-context.js';
import type { ItemReader } from '../../item/item-reader.js';
import type { ItemStream } from '../../item/item-stream.js';
import { isPromiseLike } from '../../support/awaitable.js';
import { withTimeout } from '../../support/timeout.js';
import type { StepListeners } from '../step-listeners.js';
import type { Retrier } from './retry-policy.js';

/** The items of one chunk as read, with the reader's state right after its last read. */
export interface ReadChunk<I> {
  readonly items: I[];
  /** Set when a read failed in a way that ends the chunk; `items` holds what was read before it. */
  readonly readError?: unknown;
  /**
   * Reads that failed with an error of a skippable kind; each took a slot of the chunk and reading
   * went on. Whether each is really skipped (the skip limit) is decided when the chunk is handled,
   * in order, so read-ahead cannot change which skip exceeds the limit.
   */
  readonly readFailures: readonly ReadFailure[];
  /** True when the reader signalled the end of its data during this chunk. */
  readonly exhausted: boolean;
  /** What the reader's `update()` put after this chunk's last read; committed with this chunk. */
  readonly readerState: ExecutionContextSnapshot;
  /** How long reading this chunk took, for the step's chunk events. */
  readonly readMs: number;
}

export interface ReadFailure {
  /** How many items of the chunk were read before this failure. */
  readonly afterItems: number;
  readonly error: unknown;
}

/** What the consumer says after handling a chunk. */
export type ChunkVerdict = 'continue' | 'finish';

export interface ChunkPipelineOptions<I, P = never> {
  readonly reader: ItemReader<I> & ItemStream;
  readonly chunkSize: number;
  /** How many chunks may be read while an earlier one is still processed, written and committed. */
  readonly readAhead: number;
  readonly listeners: StepListeners<I, unknown>;
  /** Retries a failed read in place (a no-op when the step retries nothing). */
  readonly retrier: Retrier;
  /** Whether a read error is of a kind the step may skip (the limit is applied later). */
  readonly isSkippableRead: (error: unknown) => boolean;
  /**
   * The work done on a chunk before its turn to write (processing), run for up to
   * `prepareConcurrency` chunks at once as soon as they are read. Absent, each chunk is prepared
   * inside `handle`, one at a time.
   */
  readonly prepare?: (chunk: ReadChunk<I>) => Promise<P>;
  /** How many chunks may be prepared at once (the multi-threaded step's concurrency). @default 1 */
  readonly prepareConcurrency?: number;
  /** The longest the reading of one chunk may take; then the chunk fails with `onReadTimeout()`. */
  readonly readTimeoutMs?: number | undefined;
  readonly onReadTimeout?: () => Error;
  /** Handles one chunk to its commit or throws; runs for one chunk at a time, in read order. */
  readonly handle: (chunk: ReadChunk<I>, prepared: Promise<P> | undefined) => Promise<ChunkVerdict>;
}

/**
 * Runs read → prepare → handle over a reader with bounded read-ahead. Reading is pulled, not pushed
 * (RxJS offers no backpressure of its own): the producer may hold at most
 * `readAhead + prepareConcurrency` chunks that are read but not yet committed, and waits for a
 * credit, returned when a chunk is handled, before reading another. So memory holds at most
 * (readAhead + concurrency) × chunkSize items, whatever the input. Chunks are prepared concurrently
 * but handled (written and committed) strictly in read order, so the committed reader position is
 * always exact.
 *
 * Resolves when the reader is exhausted or a handler said `finish`, and only after the producer has
 * stopped reading, so the caller may close the reader safely. Rejects with the handler's error.
 */
export async function runChunkPipeline<I, P = never>(options: ChunkPipelineOptions<I, P>): Promise<void> {
  const { chunkSize, readAhead, handle, prepare } = options;
  const concurrency = prepare ? Math.max(1, options.prepareConcurrency ?? 1) : 1;
  const gate = new CreditGate(readAhead + concurrency);
  const preparing = new CreditGate(concurrency);
  const inFlight = new Set<Promise<unknown>>();
  const startPreparing = (chunk: ReadChunk<I>): Promise<P> | undefined => {
    if (!prepare) return undefined;
    const prepared = (async () => {
      await preparing.take();
      try {
        return await prepare(chunk);
      } finally {
        preparing.give();
      }
    })();
    // A chunk dropped after a failure or a stop is never handled, but it is waited for (below)
    // so that the step closes its streams only when no work on them is left; its rejection is not news.
    const settled = prepared.catch(() => undefined).finally(() => inFlight.delete(settled));
    inFlight.add(settled);
    return prepared;
  };
  let producerDone: Promise<void> = Promise.resolve();
  // Chunks read and waiting for their turn to be handled.
  let waiting = 0;

  const chunks$ = new Observable<ReadChunk<I>>((subscriber) => {
    let cancelled = false;
    const reading = new ChunkReading(options);
    producerDone = (async () => {
      while (!cancelled) {
        await gate.take();
        // With a chunk already waiting for its turn, this read is only ahead of time: it waits until
        // the chunk being handled has done its own CPU work and issued its write or commit
        // (setImmediate runs once the pending callbacks have), so that it fills the time those
        // wait for the disk instead of delaying them. On the CSV benchmark this took the main
        // thread's idle time from ~270 to ~100 ms per million lines (CPU profiles). Not when
        // chunks are prepared concurrently: there, reading ahead is what keeps the preparing busy.
        if (waiting > 0 && !prepare) await yieldToIo();
        if (cancelled) break;
        const chunk = await readWithin(reading, chunkSize, options);
        if (cancelled) break;
        waiting += 1;
        subscriber.next(chunk);
        if (chunk.exhausted || chunk.readError !== undefined) break;
      }
      subscriber.complete();
    })().catch((error: unknown) => subscriber.error(error));
    return () => {
      cancelled = true;
      gate.cancel();
    };
  });

  try {
    await lastValueFrom(
      chunks$.pipe(
        // A credit returns only when the pipeline goes on: after a failure or a finish, the
        // producer must not read again (a reader that consumes its source would lose those items).
        map((chunk) => ({ chunk, prepared: startPreparing(chunk) })),
        concatMap(({ chunk, prepared }) => {
          waiting -= 1;
          return from(
            handle(chunk, prepared).then((verdict) => {
              if (verdict === 'continue') gate.give();
              return verdict;
            }),
          );
        }),
        takeWhile((verdict) => verdict === 'continue'),
      ),
      { defaultValue: 'finish' as const },
    );
  } finally {
    await producerDone;
    await Promise.all([...inFlight]);
  }
}

/** Reads one chunk, or yields a failed chunk when reading takes longer than the read timeout. */
async function readWithin<I>(reading: ChunkReading<I>, chunkSize: number, options: Pick<ChunkPipelineOptions<I>, 'readTimeoutMs' | 'onReadTimeout'>): Promise<ReadChunk<I>> {
  const { readTimeoutMs, onReadTimeout } = options;
  if (readTimeoutMs === undefined || !onReadTimeout) return reading.next(chunkSize);
  try {
    return await withTimeout(reading.next(chunkSize), readTimeoutMs, onReadTimeout);
  } catch (error) {
    return { items: [], exhausted: false, readFailures: [], readError: error, readerState: {}, readMs: readTimeoutMs };
  }
}

/** Reads chunk after chunk, calling the read listeners and capturing the reader's state per chunk. */
class ChunkReading<I> {
  private readonly reader: ItemReader<I> & ItemStream;
  private readonly listeners: StepListeners<I, unknown>;
  private readonly withListeners: boolean;
  private readonly retrier: Retrier;
  private readonly isSkippableRead: (error: unknown) => boolean;
  private readerState: ExecutionContextSnapshot = {};

  constructor(options: Pick<ChunkPipelineOptions<I>, 'reader' | 'listeners' | 'retrier' | 'isSkippableRead'>) {
    this.reader = options.reader;
    this.listeners = options.listeners;
    this.retrier = options.retrier;
    this.isSkippableRead = options.isSkippableRead;
    this.withListeners = options.listeners.has('beforeRead') || options.listeners.has('afterRead') || options.listeners.has('onReadError');
  }

  async next(chunkSize: number): Promise<ReadChunk<I>> {
    const started = performance.now();
    const items: I[] = [];
    const readFailures: ReadFailure[] = [];
    let exhausted = false;
    let readError: unknown;
    for (let slot = 0; slot < chunkSize; slot++) {
      let item: I | null | undefined | PromiseLike<I | null | undefined>;
      try {
        if (this.withListeners) item = await this.readWithListeners();
        else {
          item = this.retrier.enabled ? this.retrier.call(() => this.reader.read()) : this.reader.read();
          // A synchronous reader fills a whole chunk without a single await.
          if (isPromiseLike(item)) item = await item;
        }
      } catch (error) {
        const failure = error ?? new Error('read() threw a nullish value');
        if (this.isSkippableRead(failure)) {
          readFailures.push({ afterItems: items.length, error: failure });
          continue;
        }
        readError = failure;
        break;
      }
      if (item === null || item === undefined) {
        exhausted = true;
        break;
      }
      items.push(item);
    }
    const readerState = await this.captureReaderState();
    const readMs = performance.now() - started;
    return readError === undefined ? { items, exhausted, readFailures, readerState, readMs } : { items, exhausted, readFailures, readError, readerState, readMs };
  }

  private async readWithListeners(): Promise<I | null | undefined> {
    await this.listeners.beforeRead();
    let item: I | null | undefined;
    try {
      item = await this.retrier.call(() => this.reader.read());
    } catch (error) {
      await this.listeners.onReadError(error);
      throw error;
    }
    if (item !== null && item !== undefined) await this.listeners.afterRead(item);
    return item;
  }

  /**
   * The reader's update() writes into a context of its own, because with read-ahead the step's
   * context still belongs to an earlier chunk. It starts from the reader's previous state, so a
   * reader that reads its own keys back sees them.
   */
  private async captureReaderState(): Promise<ExecutionContextSnapshot> {
    if (!this.reader.update) return this.readerState;
    const scratch = new ExecutionContext(this.readerState);
    const result = this.reader.update(scratch);
    if (isPromiseLike(result)) await result;
    this.readerState = scratch.toJSON();
    return this.readerState;
  }
}

/** A counting semaphore whose waiters are released in order; cancel() releases them all. */
class CreditGate {
  private waiting: Array<() => void> = [];

  constructor(private credits: number) {}

  take(): Promise<void> | void {
    if (this.credits > 0) {
      this.credits -= 1;
      return;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  give(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.credits += 1;
  }

  cancel(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}
