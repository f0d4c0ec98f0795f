import type { Awaitable } from '../support/awaitable.js';

/** The outcome of processing one item of a chunk at once: its output (null when filtered) or its error. */
export type ChunkItemOutcome<O> = { readonly output: O | null } | { readonly error: unknown };

/** Turns an item into its output; returning `null` or `undefined` filters the item out (it is counted, not written). */
export interface ItemProcessor<I, O> {
  process(item: I): Awaitable<O | null | undefined>;
  /**
   * Optional: processes a whole chunk in one call (worker threads, batched remote calls), one
   * outcome per item in order. When present the step uses it instead of `process`, and `process`
   * is used only to retry a failed item.
   */
  processChunk?(items: readonly I[]): Promise<ReadonlyArray<ChunkItemOutcome<O>>>;
}

/** What `.processor()` accepts: an ItemProcessor or a plain function `(item) => output`. */
export type ItemProcessorLike<I, O> = ItemProcessor<I, O> | ((item: I) => Awaitable<O | null | undefined>);

export function toItemProcessor<I, O>(processor: ItemProcessorLike<I, O>): ItemProcessor<I, O> {
  return typeof processor === 'function' ? { process: processor } : processor;
}
