import { ExecutionContext } from '../../domain/execution-context.js';
import type { ItemReader } from '../item-reader.js';
import type { ItemStream } from '../item-stream.js';

/**
 * Reads the items of an array or any synchronous iterable, and restarts where its last chunk
 * committed: it saves `<name>.read.count` and, on reopen, moves past that many items (by index for
 * arrays, by iterating otherwise).
 */
export class IterableItemReader<T> implements ItemReader<T>, ItemStream {
  private iterator: Iterator<T> | undefined;
  private position = 0;
  private readonly countKey: string;

  constructor(
    private readonly source: Iterable<T> | (() => Iterable<T>),
    readonly name = 'iterableReader',
  ) {
    this.countKey = `${name}.read.count`;
  }

  open(executionContext: ExecutionContext): void {
    const start = executionContext.get<number>(this.countKey) ?? 0;
    const iterable = typeof this.source === 'function' ? this.source() : this.source;
    if (Array.isArray(iterable)) {
      this.iterator = (iterable as readonly T[]).slice(start)[Symbol.iterator]();
      this.position = start;
      return;
    }
    this.iterator = iterable[Symbol.iterator]();
    this.position = 0;
    while (this.position < start && !this.iterator.next().done) this.position++;
  }

  read(): T | undefined {
    // Used outside a step (or never opened): start from the beginning.
    if (!this.iterator) this.open(new ExecutionContext());
    const next = this.iterator!.next();
    if (next.done) return undefined;
    this.position++;
    return next.value;
  }

  update(executionContext: ExecutionContext): void {
    executionContext.put(this.countKey, this.position);
  }

  close(): void {
    this.iterator = undefined;
  }

  /** How many items this reader has handed out, counting those skipped over on restart. */
  get readCount(): number {
    return this.position;
  }
}

export function iterableReader<T>(source: Iterable<T> | (() => Iterable<T>), name?: string): IterableItemReader<T> {
  return new IterableItemReader(source, name);
}
