import { InvalidConfigurationError } from '../domain/errors.js';
import { packValues, unpackValues } from './processor-worker.mjs';
import { WorkerThreadError, type ProcessChunkResponse } from './protocol.js';
import { WorkerPool } from './worker-pool.js';

export interface WorkerProcessorOptions {
  /** Threads in the pool. @default 2 */
  readonly threads?: number;
  /**
   * Chunks of a step handed to the threads before the first of them is back. With more than one,
   * the threads already process the next chunks while the main thread writes and commits the
   * previous one (and reads the one after), instead of waiting for it; chunks still commit one at
   * a time, in read order, as in a multi-threaded step (`taskExecutor`), whose concurrency applies
   * when it is higher. The default, 3, keeps a next task queued in every thread (two chunks) and
   * one more chunk's slices waiting in the pool for whichever thread gets ahead first, so the
   * threads do not wait for the slowest of them. 1 processes one chunk at a time. @default 3
   */
  readonly chunksInFlight?: number;
}

/** The outcome of one item processed in a worker thread: its output (null when filtered) or its error. */
export type WorkerItemOutcome<O> = { readonly output: O | null } | { readonly error: Error };

/**
 * A processor whose work runs on worker threads, for CPU-bound processing: each chunk is cut into
 * one slice per thread (a task of many items each, never one task per item), and three chunks are
 * handed over at once (`chunksInFlight`), so the threads do not wait for the main thread's reads
 * and commits. `moduleUrl` names an ES module (JavaScript, or anything the threads can load)
 * whose default export processes one item: `export default (item) => result` (null filters).
 * Items and outputs that are plain records of one shape cross the thread boundary packed as
 * columns, far cheaper than structured clone; anything else crosses as structured clone copies it.
 * Per-item errors come back as errors with the original name, code, message and stack, so skip
 * and retry policies apply to them; a thread that crashes fails (or, with retry, retries) the
 * chunks whose tasks it held, and never hangs the step. The pool starts when the step opens and stops when it closes.
 *
 * @example
 * step('hash').chunk<Row, Row>(1000).reader(rows).processor(workerProcessor(new URL('./hash.mjs', import.meta.url), { threads: 2 }))
 */
export function workerProcessor<I, O>(moduleUrl: URL | string, options: WorkerProcessorOptions = {}) {
  const url = typeof moduleUrl === 'string' ? moduleUrl : moduleUrl.href;
  const threads = options.threads ?? 2;
  const chunksInFlight = options.chunksInFlight ?? 3;
  for (const [name, value] of [['threads', threads], ['chunksInFlight', chunksInFlight]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new InvalidConfigurationError(`workerProcessor: ${name} must be an integer >= 1, got ${String(value)}.`);
  }
  let pool: WorkerPool | undefined;
  // One processor may serve several step executions at once (partitions): the pool lives while any
  // of them is open.
  let openCount = 0;

  const processChunk = async (items: readonly I[]): Promise<Array<WorkerItemOutcome<O>>> => {
    const running = (pool ??= new WorkerPool(threads));
    // A chunk is cut into one slice per thread, so that one chunk keeps every thread busy; each
    // slice is still one task of many items, never one task per item.
    const sliceSize = Math.max(1, Math.ceil(items.length / threads));
    const tasks: Array<Promise<ProcessChunkResponse>> = [];
    for (let start = 0; start < items.length; start += sliceSize) {
      tasks.push(running.run({ kind: 'process-chunk', moduleUrl: url, items: packValues(items, start, Math.min(items.length, start + sliceSize)) }));
    }
    const responses = await Promise.all(tasks);
    const outcomes = new Array<WorkerItemOutcome<O>>(items.length);
    let offset = 0;
    for (const response of responses) {
      const outputs = unpackValues(response.outputs) as Array<O | null>;
      for (let index = 0; index < outputs.length; index++) outcomes[offset + index] = { output: outputs[index] as O | null };
      for (const [index, error] of response.errors) outcomes[offset + index] = { error: new WorkerThreadError(error) };
      offset += outputs.length;
    }
    return outcomes;
  };

  return {
    /** Read by the chunk step: how many chunks it hands over before the first of them is back. */
    chunksInFlight,
    processChunk,
    /** One item on its own (used to retry a failed item); throws the item's error. */
    async process(item: I): Promise<O | null> {
      const [outcome] = await processChunk([item]);
      if (!outcome) return null;
      if ('error' in outcome) throw outcome.error;
      return outcome.output;
    },
    open(): void {
      openCount += 1;
      pool ??= new WorkerPool(threads);
    },
    async close(): Promise<void> {
      openCount = Math.max(0, openCount - 1);
      if (openCount > 0) return;
      const closing = pool;
      pool = undefined;
      await closing?.close();
    },
  };
}
