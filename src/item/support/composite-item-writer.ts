import type { Chunk } from '../../domain/chunk.js';
import type { ExecutionContext } from '../../domain/execution-context.js';
import type { ItemStream } from '../item-stream.js';
import type { ChunkTransaction, ItemWriter } from '../item-writer.js';

/**
 * Writes every chunk to each writer in turn, in the chunk's transaction; if one fails, the chunk
 * rolls back for all of them. Delegates open/update/close to the writers that are streams.
 */
export class CompositeItemWriter<T> implements ItemWriter<T>, ItemStream {
  constructor(private readonly writers: readonly (ItemWriter<T> & ItemStream)[]) {}

  async write(chunk: Chunk<T>, transaction: ChunkTransaction): Promise<void> {
    for (const writer of this.writers) await writer.write(chunk, transaction);
  }

  async open(context: ExecutionContext): Promise<void> {
    for (const writer of this.writers) await writer.open?.(context);
  }

  async update(context: ExecutionContext): Promise<void> {
    for (const writer of this.writers) await writer.update?.(context);
  }

  async close(): Promise<void> {
    for (const writer of this.writers) await writer.close?.();
  }
}

export function compositeWriter<T>(...writers: (ItemWriter<T> & ItemStream)[]): CompositeItemWriter<T> {
  return new CompositeItemWriter(writers);
}
