import { InvalidConfigurationError } from '../../domain/errors.js';
import type { JsonValue } from '../../domain/execution-context.js';
import {
  AbstractFileItemReader,
  type ByteSink,
  type EntryEmitter,
  type FileReaderOptions,
  type ResumePoint,
} from './abstract-file-item-reader.js';
import { excerpt, rejectionReason } from './rejection-reason.js';

/** Turns a line's JSON value into an item, validating it; a throw becomes a ParseError naming the file and line. */
export type NdjsonValueMapper<T> = (value: JsonValue, lineNumber: number) => T;

export interface NdjsonReaderOptions<T> extends FileReaderOptions {
  /**
   * Turns each JSON value into an item; the place to validate (`(v) => Order.parse(v)` with zod).
   * Without it the items are the parsed values. A throw rejects that line only.
   */
  readonly map?: NdjsonValueMapper<T>;
}

const NEWLINE = 0x0a;

/**
 * Reads newline-delimited JSON (one JSON value per line; blank lines ignored; CRLF and a UTF-8 BOM
 * accepted) and restarts by byte offset, like {@link CsvItemReader}: a restart parses only what
 * follows the last committed line.
 *
 * A line that is not JSON, or that `map` rejects, makes `read()` throw a ParseError naming the
 * file, the line and the reason, and the next `read()` goes on with the following line.
 *
 * Prefer {@link ndjsonReader}, whose overloads demand a `map` whenever the item type is not a
 * plain JSON value.
 *
 * @example
 * const orders = ndjsonReader({ path: 'orders.ndjson', map: (v) => Order.parse(v) });
 */
export class NdjsonItemReader<T> extends AbstractFileItemReader<string, T> {
  private readonly map: NdjsonValueMapper<T> | undefined;

  constructor(options: NdjsonReaderOptions<T>) {
    super(options, 'ndjsonReader', 'NDJSON input');
    if (options.map !== undefined && typeof options.map !== 'function') {
      throw new InvalidConfigurationError(`NDJSON reader '${options.path}': 'map' must be a function (value, lineNumber) => item.`);
    }
    this.map = options.map;
  }

  protected createSink(start: ResumePoint, emit: EntryEmitter<string>): ByteSink {
    return new LineSplitter(start, emit);
  }

  protected convert(text: string, line: number): T {
    let value: JsonValue;
    try {
      value = JSON.parse(text) as JsonValue;
    } catch (error) {
      throw this.parseError(line, `not valid JSON: ${rejectionReason(error)}`, excerpt(text.trimEnd()), error);
    }
    const map = this.map;
    if (map === undefined) return value as unknown as T;
    try {
      return map(value, line);
    } catch (error) {
      throw this.parseError(line, `map() rejected the value: ${rejectionReason(error)}`, excerpt(text.trimEnd()), error);
    }
  }
}

/**
 * Splits the byte stream at '\n' and emits each non-blank line with the byte position after it.
 * Lines are decoded whole, so a multi-byte character split between two file chunks stays intact.
 * JSON.parse is left to `read()`, so a line costs nothing until it is read.
 */
class LineSplitter implements ByteSink {
  /** Pieces of a line that spans file chunks. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Byte position of the first byte not yet part of an emitted line. */
  private offset: number;
  private line: number;
  private atFileStart: boolean;

  constructor(
    start: ResumePoint,
    private readonly emit: EntryEmitter<string>,
  ) {
    this.offset = start.offset;
    this.line = start.line;
    this.atFileStart = start.offset === 0;
  }

  write(chunk: Buffer): void {
    let from = 0;
    if (this.atFileStart) {
      this.atFileStart = false;
      if (chunk.length >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) {
        from = 3;
        this.offset += 3;
      }
    }
    for (let newline = chunk.indexOf(NEWLINE, from); newline !== -1; newline = chunk.indexOf(NEWLINE, from)) {
      let text: string;
      let bytes = newline - from + 1;
      if (this.pendingBytes > 0) {
        this.pending.push(chunk.subarray(from, newline));
        text = Buffer.concat(this.pending).toString('utf8');
        bytes += this.pendingBytes;
        this.pending = [];
        this.pendingBytes = 0;
      } else {
        text = chunk.toString('utf8', from, newline);
      }
      this.lineEnded(text, bytes);
      from = newline + 1;
    }
    if (from < chunk.length) {
      this.pending.push(chunk.subarray(from));
      this.pendingBytes += chunk.length - from;
    }
  }

  end(): void {
    if (this.pendingBytes > 0) {
      const text = Buffer.concat(this.pending).toString('utf8');
      const bytes = this.pendingBytes;
      this.pending = [];
      this.pendingBytes = 0;
      this.lineEnded(text, bytes);
    }
    this.emit.end();
  }

  destroy(): void {
    this.pending = [];
    this.pendingBytes = 0;
  }

  private lineEnded(text: string, bytes: number): void {
    this.offset += bytes;
    this.line += 1;
    if (isBlank(text)) return;
    this.emit.push({ kind: 'record', value: text, line: this.line, endLine: this.line, end: this.offset });
  }
}

function isBlank(text: string): boolean {
  if (text.length === 0) return true;
  const first = text.charCodeAt(0);
  // JSON values start with a non-space character; only then is a full trim worth it.
  return (first === 0x20 || first === 0x09 || first === 0x0d) && text.trim() === '';
}

/**
 * A {@link NdjsonItemReader}. With `map`, items are what it returns; without, the parsed JSON values.
 *
 * @example
 * const events = ndjsonReader({ path: 'events.ndjson', map: (v, line) => Event.parse(v) });
 */
export function ndjsonReader<T>(options: NdjsonReaderOptions<T> & { readonly map: NdjsonValueMapper<T> }): NdjsonItemReader<T>;
export function ndjsonReader(options: NdjsonReaderOptions<JsonValue> & { readonly map?: undefined }): NdjsonItemReader<JsonValue>;
export function ndjsonReader<T>(options: NdjsonReaderOptions<T>): NdjsonItemReader<T> {
  return new NdjsonItemReader<T>(options);
}
