import type { Chunk } from '../../domain/chunk.js';
import type { JsonValue } from '../../domain/execution-context.js';
import type { ChunkTransaction, ItemWriter } from '../item-writer.js';

export interface StoreWriterOptions<T> {
  /** The named store inside the job repository (with the default runtime, the LMDB store). */
  readonly store: string;
  /** The item's key; an item written again under the same key replaces the earlier value. */
  readonly key: (item: T) => string;
  /** The value to store. @default the item itself (it must be JSON-safe) */
  readonly value?: (item: T) => JsonValue;
}

/**
 * Writes items into a named store of the job repository by staging them into the chunk's commit:
 * they become visible in the same durable transaction as the chunk's counts and reader position,
 * or not at all. Exactly once without any truncation or idempotency keys. Read them back with
 * `storeReader` or `runtime.explorer.getStagedValues(store)`.
 */
export class StoreItemWriter<T> implements ItemWriter<T> {
  constructor(private readonly options: StoreWriterOptions<T>) {}

  write(chunk: Chunk<T>, transaction: ChunkTransaction): void {
    const { store, key, value } = this.options;
    for (const item of chunk) transaction.put(store, key(item), value ? value(item) : (item as JsonValue));
  }
}

export function storeWriter<T>(options: StoreWriterOptions<T>): StoreItemWriter<T> {
  return new StoreItemWriter(options);
}
