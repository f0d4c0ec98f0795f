import { InvalidConfigurationError, ItemStreamError } from '../../domain/errors.js';
import { AbstractFileItemWriter, type FileWriterOptions } from './abstract-file-item-writer.js';
import { messageOf } from './file-access.js';
import { Utf8LineBuffer } from './utf8-line-buffer.js';

export interface NdjsonWriterOptions<T> extends FileWriterOptions {
  /** Turns an item into the value to write as JSON (drop fields, rename, flatten). @default the item itself */
  readonly map?: (item: T) => unknown;
  /**
   * A text written once, when a first run starts an empty file. Note that a header that is not a
   * JSON value makes the file unreadable by plain NDJSON readers.
   */
  readonly header?: () => string;
}

/**
 * Writes one JSON value per line, exactly once across crashes and restarts (see
 * {@link AbstractFileItemWriter}). An item JSON cannot represent (a BigInt, a cycle, undefined)
 * fails the chunk with an ItemStreamError naming its position, before anything is written.
 *
 * @example
 * const out = ndjsonWriter<Order>({ path: 'orders.ndjson' });
 */
export class NdjsonItemWriter<T> extends AbstractFileItemWriter<T> {
  private readonly map: ((item: T) => unknown) | undefined;
  private readonly header: (() => string) | undefined;
  private readonly lines = new Utf8LineBuffer();

  constructor(options: NdjsonWriterOptions<T>) {
    super(options, 'ndjsonWriter', 'NDJSON output');
    if (options.map !== undefined && typeof options.map !== 'function') {
      throw new InvalidConfigurationError(`NDJSON writer '${options.path}': 'map' must be a function (item) => value.`);
    }
    if (options.header !== undefined && typeof options.header !== 'function') {
      throw new InvalidConfigurationError(`NDJSON writer '${options.path}': 'header' must be a function returning the header text.`);
    }
    this.map = options.map;
    this.header = options.header;
  }

  protected override headerText(): string | undefined {
    const header = this.header?.();
    return header === undefined || header === '' ? undefined : this.endLine(header);
  }

  protected format(items: readonly T[]): Uint8Array {
    const map = this.map;
    const lines = this.lines;
    lines.clear();
    for (let index = 0; index < items.length; index++) {
      const item = items[index] as T;
      let json: string | undefined;
      try {
        json = JSON.stringify(map === undefined ? item : map(item));
      } catch (error) {
        throw this.itemError(index, items.length, messageOf(error), error);
      }
      if (json === undefined) throw this.itemError(index, items.length, 'it is not a JSON value (undefined, a function or a symbol)');
      lines.appendLine(json);
    }
    return lines.bytes();
  }

  private itemError(index: number, size: number, reason: string, cause?: unknown): ItemStreamError {
    return new ItemStreamError(
      this.path,
      `NDJSON output '${this.path}': item ${index + 1} of a chunk of ${size} cannot be written as JSON: ${reason}`,
      cause === undefined ? undefined : { cause },
    );
  }
}

/**
 * A {@link NdjsonItemWriter}.
 *
 * @example
 * const out = ndjsonWriter<Order>({ path: 'orders.ndjson', map: (o) => ({ id: o.id, total: o.total }) });
 */
export function ndjsonWriter<T>(options: NdjsonWriterOptions<T>): NdjsonItemWriter<T> {
  return new NdjsonItemWriter<T>(options);
}
