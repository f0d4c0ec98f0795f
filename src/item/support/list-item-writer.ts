import type { Chunk } from '../../domain/chunk.js';
import type { ItemWriter } from '../item-writer.js';

/** Collects every written item in memory, for tests and examples. Not restartable across processes. */
export class ListItemWriter<T> implements ItemWriter<T> {
  readonly written: T[] = [];
  readonly chunks: T[][] = [];

  write(chunk: Chunk<T>): void {
    for (const item of chunk.items) this.written.push(item);
    this.chunks.push([...chunk.items]);
  }
}

export function listWriter<T>(): ListItemWriter<T> {
  return new ListItemWriter<T>();
}
