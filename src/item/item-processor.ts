import type { Awaitable } from '../support/awaitable.js';

/** Turns an item into its output; returning `null` or `undefined` filters the item out (it is counted, not written). */
export interface ItemProcessor<I, O> {
  process(item: I): Awaitable<O | null | undefined>;
}

/** What `.processor()` accepts: an ItemProcessor or a plain function `(item) => output`. */
export type ItemProcessorLike<I, O> = ItemProcessor<I, O> | ((item: I) => Awaitable<O | null | undefined>);

export function toItemProcessor<I, O>(processor: ItemProcessorLike<I, O>): ItemProcessor<I, O> {
  return typeof processor === 'function' ? { process: processor } : processor;
}
