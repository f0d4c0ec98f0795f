import type { Awaitable } from '../support/awaitable.js';

/**
 * Supplies items one at a time; `null` or `undefined` means there are no more. Called from one
 * place at a time, so a reader need not be safe for concurrent use.
 */
export interface ItemReader<T> {
  read(): Awaitable<T | null | undefined>;
}
