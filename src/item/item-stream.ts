import type { ExecutionContext } from '../domain/execution-context.js';
import type { Awaitable } from '../support/awaitable.js';

/**
 * A reader, processor or writer that keeps state across restarts.
 *
 * - `open(ctx)`: before the first chunk, with the context of the step's last commit (empty on a
 *   first run); resume from what it holds.
 * - `update(ctx)`: put the current position; a reader's runs right after the last read of each
 *   chunk, a writer's right after that chunk's write. What they put is what the chunk commits.
 * - `close()`: when the step ends, whether it succeeded or not.
 */
export interface ItemStream {
  open?(executionContext: ExecutionContext): Awaitable<void>;
  update?(executionContext: ExecutionContext): Awaitable<void>;
  close?(): Awaitable<void>;
}

export function isItemStream(candidate: unknown): candidate is ItemStream {
  if (typeof candidate !== 'object' || candidate === null) return false;
  const stream = candidate as ItemStream;
  return typeof stream.open === 'function' || typeof stream.update === 'function' || typeof stream.close === 'function';
}
