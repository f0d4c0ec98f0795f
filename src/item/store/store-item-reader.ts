import type { ExecutionContext, JsonValue } from '../../domain/execution-context.js';
import type { ItemReader } from '../item-reader.js';
import type { ItemStream } from '../item-stream.js';

/** The part of the job explorer a store reader needs. */
export interface StagedValueSource {
  getStagedPage(store: string, options: { readonly after?: string; readonly limit: number }): Promise<Array<{ key: string; value: JsonValue }>>;
}

export interface StoreReaderOptions<T> {
  /** Usually `runtime.explorer`. */
  readonly source: StagedValueSource;
  readonly store: string;
  /** Keys read per page. @default 1000 */
  readonly pageSize?: number;
  /** Read only keys below this one (exclusive). */
  readonly endBefore?: string;
  /** Turns an entry into an item. @default the entry `{ key, value }` */
  readonly map?: (entry: { key: string; value: JsonValue }) => T;
  /** Prefix of the execution-context keys. @default 'storeReader' */
  readonly name?: string;
}

/**
 * Reads the committed values of a named store in key order, a page at a time, and restarts
 * right after the last key of the last committed chunk: it saves `<name>.lastKey`.
 */
export class StoreItemReader<T = { key: string; value: JsonValue }> implements ItemReader<T>, ItemStream {
  private page: Array<{ key: string; value: JsonValue }> = [];
  private index = 0;
  private lastKey: string | undefined;
  private done = false;
  private readonly lastKeyName: string;

  constructor(private readonly options: StoreReaderOptions<T>) {
    this.lastKeyName = `${options.name ?? 'storeReader'}.lastKey`;
  }

  open(context: ExecutionContext): void {
    this.lastKey = context.get<string>(this.lastKeyName);
    this.page = [];
    this.index = 0;
    this.done = false;
  }

  read(): T | undefined | Promise<T | undefined> {
    if (this.index < this.page.length) return this.next();
    if (this.done) return undefined;
    return this.fetch().then(() => (this.index < this.page.length ? this.next() : undefined));
  }

  update(context: ExecutionContext): void {
    if (this.lastKey !== undefined) context.put(this.lastKeyName, this.lastKey);
  }

  private next(): T {
    const entry = this.page[this.index++]!;
    this.lastKey = entry.key;
    return this.options.map ? this.options.map(entry) : (entry as unknown as T);
  }

  private async fetch(): Promise<void> {
    const limit = this.options.pageSize ?? 1000;
    const page = await this.options.source.getStagedPage(this.options.store, {
      limit,
      ...(this.lastKey === undefined ? {} : { after: this.lastKey }),
    });
    const end = this.options.endBefore;
    this.page = end === undefined ? page : page.filter((entry) => entry.key < end);
    this.index = 0;
    if (page.length < limit || this.page.length < page.length) this.done = true;
  }
}

export function storeReader<T = { key: string; value: JsonValue }>(options: StoreReaderOptions<T>): StoreItemReader<T> {
  return new StoreItemReader(options);
}
