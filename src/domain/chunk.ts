/**
 * The items of one chunk, handed to the writer (and to chunk listeners) in read order.
 * Iterable, so `for (const item of chunk)` works as well as `chunk.items`.
 */
export class Chunk<T> implements Iterable<T> {
  readonly items: readonly T[];

  constructor(items: readonly T[]) {
    this.items = items;
  }

  get size(): number {
    return this.items.length;
  }

  isEmpty(): boolean {
    return this.items.length === 0;
  }

  [Symbol.iterator](): Iterator<T> {
    return this.items[Symbol.iterator]();
  }
}
