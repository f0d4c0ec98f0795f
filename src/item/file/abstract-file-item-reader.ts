import type { ReadStream } from 'node:fs';
import { InvalidConfigurationError, ItemStreamError, ParseError } from '../../domain/errors.js';
import { ExecutionContext } from '../../domain/execution-context.js';
import type { ItemReader } from '../item-reader.js';
import type { ItemStream } from '../item-stream.js';
import { messageOf, openInputFile } from './file-access.js';
import { RecordBuffer } from './record-buffer.js';

/** What every file reader accepts. */
export interface FileReaderOptions {
  /** The file to read. */
  readonly path: string;
  /**
   * Prefix of this reader's keys in the step's ExecutionContext. Give each reader of one step its
   * own name, or their positions overwrite each other.
   */
  readonly name?: string;
  /**
   * How many parsed records may wait for `read()` before the file stream is paused.
   * @default 1024
   */
  readonly bufferSize?: number;
}

/** Where reading resumes: right after the last record handed out. Part of the contract with a format's parser. */
export interface ResumePoint {
  /** Byte position in the file just after the last record handed out (its line terminator included). */
  readonly offset: number;
  /** The 1-based line on which that record ended; 0 before the first. */
  readonly line: number;
  /** Malformed stretches already reported after `offset`; parsing from `offset` meets them again first. */
  readonly errors: number;
}

/** One unit of input, in file order: a record to convert, or a malformed stretch to report (see `errors` in {@link ResumePoint}). */
export type InputEntry<R> =
  | {
      readonly kind: 'record';
      readonly value: R;
      /** 1-based line on which the record starts (for messages and `map`). */
      readonly line: number;
      /** 1-based line on which it ends. */
      readonly endLine: number;
      /** Byte position just after it; read only when the position is saved, so a parser may work it out lazily. */
      readonly end: number;
    }
  | {
      readonly kind: 'error';
      readonly line: number;
      readonly reason: string;
      readonly input?: string;
      readonly cause?: unknown;
    };

/** Where a format's parser delivers its entries, synchronously and in file order. */
export interface EntryEmitter<R> {
  push(entry: InputEntry<R>): void;
  end(): void;
  fail(error: Error): void;
}

/** A format's parser, fed the file's bytes from the resume point on; it must count lines and byte positions from there. */
export interface ByteSink {
  write(chunk: Buffer): void;
  end(): void;
  destroy(): void;
}

type ReaderState = 'new' | 'open' | 'closed';

const DEFAULT_BUFFER_SIZE = 1024;
const READ_CHUNK_BYTES = 64 * 1024;

/**
 * The restart and buffering machinery shared by the line- and record-oriented file readers.
 *
 * Restart is by byte offset, not by record count: `update()` stores the byte position just after
 * the last record handed out, and `open()` starts the file stream there, so resuming at record
 * 9,000,000 of 10,000,000 parses only the last million. Alongside the offset it stores the line
 * number (so messages stay right after a restart) and how many malformed stretches after that
 * offset were already reported (so a skipped bad record is not reported, and skipped, twice).
 *
 * Parsing runs ahead of `read()` into a bounded buffer; `read()` returns the item itself when one
 * is buffered and a Promise only when it has to wait for the disk.
 *
 * Context keys, all prefixed with the reader's `name`: `.offset`, `.line`, `.errors`, `.count`
 * (records handed out so far, restarts included), and any a format adds.
 */
export abstract class AbstractFileItemReader<R, T> implements ItemReader<T>, ItemStream {
  readonly path: string;
  readonly name: string;
  private readonly bufferSize: number;
  private state: ReaderState = 'new';
  private buffer: RecordBuffer<InputEntry<R>> | undefined;
  private stream: ReadStream | undefined;
  private sink: ByteSink | undefined;
  private offset = 0;
  /** The last record handed out, whose end becomes `offset` when the position is saved. */
  private lastRecord: { readonly end: number } | undefined;
  private line = 0;
  private errors = 0;
  private count = 0;
  private parsed = 0;
  private opening: Promise<void> | undefined;

  protected constructor(
    options: FileReaderOptions,
    defaultName: string,
    /** Names the input in messages: "CSV input". */
    protected readonly kind: string,
  ) {
    if (typeof options.path !== 'string' || options.path === '') {
      throw new InvalidConfigurationError(`A ${kind} reader needs a non-empty 'path'.`);
    }
    const bufferSize = options.bufferSize ?? DEFAULT_BUFFER_SIZE;
    if (!Number.isInteger(bufferSize) || bufferSize < 1) {
      throw new InvalidConfigurationError(`${kind} reader '${options.path}': bufferSize must be an integer >= 1, got ${String(bufferSize)}.`);
    }
    this.path = options.path;
    this.name = options.name ?? defaultName;
    this.bufferSize = bufferSize;
  }

  /** Builds the format's parser for a run starting at `start`; it pushes entries into `emit`. */
  protected abstract createSink(start: ResumePoint, emit: EntryEmitter<R>): ByteSink;

  /** Turns a record into an item; throws a ParseError (see {@link parseError}) when it cannot. */
  protected abstract convert(value: R, line: number): T;

  /** Reads a format's own keys from the context, before the sink is created. */
  protected restoreState(_context: ExecutionContext, _start: ResumePoint): void {}

  /** Puts a format's own keys into the context. */
  protected saveState(_context: ExecutionContext): void {}

  /**
   * Opens the file and resumes after the last record the context records (from the start when it
   * records none). Throws ItemStreamError when the file is missing, a directory, unreadable, or
   * shorter than the recorded offset (replaced or truncated since the last commit).
   */
  async open(executionContext: ExecutionContext): Promise<void> {
    await this.close();
    const start: ResumePoint = {
      offset: this.positionValue(executionContext, 'offset'),
      line: this.positionValue(executionContext, 'line'),
      errors: this.positionValue(executionContext, 'errors'),
    };
    this.count = this.positionValue(executionContext, 'count');
    this.restoreState(executionContext, start);
    const { handle, size } = await openInputFile(this.path, this.kind);
    if (start.offset > size) {
      await handle.close().catch(() => undefined);
      throw new ItemStreamError(
        this.path,
        `${this.kind} '${this.path}' is ${size} bytes long, but the step's last commit had read it up to byte ${start.offset}: ` +
          `the file was replaced or truncated since. Restore the original file to resume, or start a new job instance.`,
      );
    }
    this.offset = start.offset;
    this.lastRecord = undefined;
    this.line = start.line;
    this.errors = start.errors;
    this.parsed = 0;

    const stream = handle.createReadStream({ start: start.offset, highWaterMark: READ_CHUNK_BYTES });
    const buffer = new RecordBuffer<InputEntry<R>>(this.bufferSize, stream);
    let alreadyReported = start.errors;
    const emit: EntryEmitter<R> = {
      push: (entry) => {
        this.parsed += 1;
        // Parsing from the offset meets the malformed stretches reported before the restart again.
        if (entry.kind === 'error' && alreadyReported > 0) {
          alreadyReported -= 1;
          return;
        }
        buffer.push(entry);
      },
      end: () => buffer.end(),
      fail: (error) => buffer.fail(error),
    };
    let sink: ByteSink;
    try {
      sink = this.createSink(start, emit);
    } catch (error) {
      stream.destroy();
      throw this.streamError(error);
    }
    stream.on('data', (chunk: Buffer | string) => {
      try {
        sink.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      } catch (error) {
        buffer.fail(this.streamError(error));
        stream.destroy();
      }
    });
    stream.on('end', () => {
      try {
        sink.end();
      } catch (error) {
        buffer.fail(this.streamError(error));
      }
    });
    stream.on('error', (error) => buffer.fail(this.streamError(error)));
    this.stream = stream;
    this.sink = sink;
    this.buffer = buffer;
    this.state = 'open';
  }

  /**
   * The next item, `null` at the end of the file. Synchronous when a record is buffered. A
   * malformed record throws a {@link ParseError} naming the file and line; the next call reads on
   * after it, so a step that skips parse errors loses only the bad record.
   */
  read(): T | null | Promise<T | null> {
    const buffer = this.buffer;
    if (this.state !== 'open' || buffer === undefined) return this.readWhenNotOpen();
    const entry = buffer.take();
    if (entry !== undefined) return this.handOut(entry);
    if (buffer.failure !== undefined) throw buffer.failure;
    if (buffer.ended) return null;
    return buffer.whenReadable().then(() => this.read());
  }

  /** Puts the position just after the last record handed out. */
  update(executionContext: ExecutionContext): void {
    if (this.lastRecord !== undefined) {
      this.offset = this.lastRecord.end;
      this.lastRecord = undefined;
    }
    executionContext.put(this.key('offset'), this.offset);
    executionContext.put(this.key('line'), this.line);
    executionContext.put(this.key('errors'), this.errors);
    executionContext.put(this.key('count'), this.count);
    this.saveState(executionContext);
  }

  /** Stops the file stream and closes the file. Safe to call more than once. */
  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closed';
    const stream = this.stream;
    this.sink?.destroy();
    this.buffer?.fail(new ItemStreamError(this.path, `${this.kind} reader '${this.name}' was closed while a read was waiting.`));
    this.stream = undefined;
    this.sink = undefined;
    this.buffer = undefined;
    if (stream !== undefined && !stream.closed) {
      await new Promise<void>((resolve) => {
        stream.once('close', () => resolve());
        stream.destroy();
      });
    }
  }

  /** Records handed out by `read()`, counting those of earlier runs of the step. */
  get readCount(): number {
    return this.count;
  }

  /**
   * Records (and malformed stretches) this reader has parsed since it was opened. After a restart
   * it counts only what follows the resume offset: the proof that a restart does not re-parse the
   * part of the file already committed.
   */
  get parsedCount(): number {
    return this.parsed;
  }

  /** A ParseError for this file. */
  protected parseError(line: number, reason: string, input?: string, cause?: unknown): ParseError {
    return new ParseError(this.path, line, reason, input, cause === undefined ? undefined : { cause });
  }

  protected key(suffix: string): string {
    return `${this.name}.${suffix}`;
  }

  private handOut(entry: InputEntry<R>): T {
    if (entry.kind === 'error') {
      this.errors += 1;
      throw this.parseError(entry.line, entry.reason, entry.input, entry.cause);
    }
    this.lastRecord = entry;
    this.line = entry.endLine;
    this.errors = 0;
    this.count += 1;
    const item = this.convert(entry.value, entry.line);
    if (item === null || item === undefined) {
      // Returned as is, it would read as the end of the input and silently drop the rest of the file.
      throw this.parseError(
        entry.line,
        `the record gives ${String(item)}, which a reader cannot return: it would mean the end of the input. ` +
          `Map it to a value, or filter it out in a processor.`,
      );
    }
    return item;
  }

  private readWhenNotOpen(): Promise<T | null> {
    if (this.state === 'closed') {
      return Promise.reject(
        new ItemStreamError(this.path, `${this.kind} reader '${this.name}' is closed; open() it again before reading.`),
      );
    }
    // Used outside a step: start at the beginning of the file.
    this.opening ??= this.open(new ExecutionContext());
    return this.opening.then(() => {
      this.opening = undefined;
      return this.read();
    });
  }

  private positionValue(context: ExecutionContext, suffix: string): number {
    const value = context.get(this.key(suffix));
    if (value === undefined) return 0;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw new ItemStreamError(
        this.path,
        `${this.kind} reader '${this.name}': the step's context holds ${JSON.stringify(value)} under '${this.key(suffix)}', ` +
          `not a position. Give each reader of the step its own name.`,
      );
    }
    return value;
  }

  private streamError(error: unknown): Error {
    if (error instanceof ParseError || error instanceof ItemStreamError) return error;
    return new ItemStreamError(this.path, `Reading ${this.kind} '${this.path}' failed: ${messageOf(error)}`, { cause: error });
  }
}
