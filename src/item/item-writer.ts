import type { Chunk } from '../domain/chunk.js';
import type { JsonValue } from '../domain/execution-context.js';
import type { Awaitable } from '../support/awaitable.js';

/**
 * The chunk's transaction, as a writer sees it. Puts staged here are written in the same durable
 * transaction as the chunk's commit, so they happen exactly once: after a crash, a chunk that did
 * not commit left none of them behind.
 */
export interface ChunkTransaction {
  /** Stable across restarts: `<jobInstanceId>/<stepName>/<chunk sequence>`. Key external writes with it to make them idempotent. */
  readonly chunkKey: string;
  put(store: string, key: string, value: JsonValue): void;
  remove(store: string, key: string): void;
}

/** Writes the processed items of one chunk in one call. Throwing rolls the chunk back. */
export interface ItemWriter<T> {
  write(chunk: Chunk<T>, transaction: ChunkTransaction): Awaitable<void>;
}
