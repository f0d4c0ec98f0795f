import { WorkerThreadError } from './protocol.js';
import { WorkerPool } from './worker-pool.js';

export interface WorkerProcessorOptions {
  /** Threads in the pool. @default 2 */
  readonly threads?: number;
}

/** The outcome of one item processed in a worker thread: its output (null when filtered) or its error. */
export type WorkerItemOutcome<O> = { readonly output: O | null } | { readonly error: Error };

/**
 * A processor whose work runs on worker threads, for CPU-bound processing: each chunk is cut into
 * one slice per thread (a task of many items each, never one task per item). `moduleUrl` names an ES module (JavaScript, or anything the threads can load)
 * whose default export processes one item: `export default (item) => result` (null filters).
 * Per-item errors come back as errors with the original name, code, message and stack, so skip
 * and retry policies apply to them; a thread that crashes fails (or, with retry, retries) the
 * chunk and never hangs the step. The pool starts when the step opens and stops when it closes.
 *
 * @example
 * step('hash').chunk<Row, Row>(1000).reader(rows).processor(workerProcessor(new URL('./hash.mjs', import.meta.url), { threads: 2 }))
 */
export function workerProcessor<I, O>(moduleUrl: URL | string, options: WorkerProcessorOptions = {}) {
  const url = typeof moduleUrl === 'string' ? moduleUrl : moduleUrl.href;
  const threads = options.threads ?? 2;
  let pool: WorkerPool | undefined;
  // One processor may serve several step executions at once (partitions): the pool lives while any
  // of them is open.
  let openCount = 0;

  const processChunk = async (items: readonly I[]): Promise<Array<WorkerItemOutcome<O>>> => {
    const running = (pool ??= new WorkerPool(threads));
    // A chunk is cut into one slice per thread, so that one chunk keeps every thread busy; each
    // slice is still one task of many items, never one task per item.
    const sliceSize = Math.max(1, Math.ceil(items.length / threads));
    const slices: Array<readonly I[]> = [];
    for (let start = 0; start < items.length; start += sliceSize) slices.push(items.slice(start, start + sliceSize));
    const responses = await Promise.all(slices.map((slice) => running.run({ kind: 'process-chunk', moduleUrl: url, items: slice })));
    const outcomes: Array<WorkerItemOutcome<O>> = [];
    for (const response of responses) {
      const offset = outcomes.length;
      for (const output of response.outputs) outcomes.push({ output: output as O | null });
      for (const [index, error] of response.errors) outcomes[offset + index] = { error: new WorkerThreadError(error) };
    }
    return outcomes;
  };

  return {
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
