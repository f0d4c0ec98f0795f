import type { FileHandle } from 'node:fs/promises';
import type { Chunk } from '../../domain/chunk.js';
import { InvalidConfigurationError, ItemStreamError } from '../../domain/errors.js';
import { ExecutionContext } from '../../domain/execution-context.js';
import type { ItemStream } from '../item-stream.js';
import type { ItemWriter } from '../item-writer.js';
import { OUTPUT_WRITES_ARE_DURABLE, messageOf, openOutputFile } from './file-access.js';

/**
 * What happens to an existing file on the first run of the step (a restart always resumes the
 * file as the last commit left it).
 * - `overwrite`: empty it first.
 * - `append`: keep its content and add after it.
 */
export type FileWriteMode = 'overwrite' | 'append';

/** What every file writer accepts. */
export interface FileWriterOptions {
  /** The file to write; its directory must exist. */
  readonly path: string;
  /**
   * Prefix of this writer's keys in the step's ExecutionContext. Give each writer of one step its
   * own name, or their positions overwrite each other.
   */
  readonly name?: string;
  /** @default 'overwrite' */
  readonly mode?: FileWriteMode;
  /**
   * Text written once at the end, when the writer is closed, given the number of items written
   * (all runs of the step included). A line break is added if it lacks one. See the class notes
   * for when it is written.
   */
  readonly footer?: (writtenCount: number) => string;
}

type WriterState = 'new' | 'open' | 'broken' | 'closed';

/**
 * Makes a file writer transactional in effect, the way Spring Batch's FlatFileItemWriter is:
 *
 * - `write(chunk)` appends the chunk's text and has it on disk before it returns (the file is
 *   opened with O_DSYNC; where a platform lacks it, a datasync follows the write), so what a
 *   commit records as written is on disk. A write that fails removes whatever part of the
 *   chunk reached the file, so a retried or scanned write starts clean.
 * - `update(ctx)` records `<name>.offset`, the file's committed length, and `<name>.written`.
 * - `open(ctx)` on a restart truncates the file to that offset, dropping what a chunk wrote but
 *   did not commit before a crash, and appends from there.
 *
 * So after any crash and restart each item is in the file exactly once.
 *
 * Limitations: (1) the footer is written by `close()`, which runs however the step ended; after a
 * failed step the file ends with a footer until the restart, whose `open()` truncates it away with
 * the rest of the uncommitted tail. (2) In `append` mode nothing marks where a first run began until
 * its first commit: a first run that dies before committing leaves its partial output (header
 * included) in the file, and the next first run appends after it. `overwrite` has no such gap.
 */
export abstract class AbstractFileItemWriter<T> implements ItemWriter<T>, ItemStream {
  readonly path: string;
  readonly name: string;
  readonly mode: FileWriteMode;
  private readonly footer: ((writtenCount: number) => string) | undefined;
  private handle: FileHandle | undefined;
  private state: WriterState = 'new';
  private position = 0;
  private written = 0;
  private footerDone = false;
  /** Settles when the last write() called has; the next one waits for it. */
  private writing: Promise<void> = Promise.resolve();

  protected constructor(
    options: FileWriterOptions,
    defaultName: string,
    /** Names the output in messages: "CSV output". */
    protected readonly kind: string,
  ) {
    if (typeof options.path !== 'string' || options.path === '') {
      throw new InvalidConfigurationError(`A ${kind} writer needs a non-empty 'path'.`);
    }
    const mode = options.mode ?? 'overwrite';
    if (mode !== 'overwrite' && mode !== 'append') {
      throw new InvalidConfigurationError(`${kind} writer '${options.path}': mode must be 'overwrite' or 'append', got ${JSON.stringify(mode)}.`);
    }
    if (options.footer !== undefined && typeof options.footer !== 'function') {
      throw new InvalidConfigurationError(`${kind} writer '${options.path}': 'footer' must be a function (writtenCount) => string.`);
    }
    this.path = options.path;
    this.name = options.name ?? defaultName;
    this.mode = mode;
    this.footer = options.footer;
  }

  /**
   * The text of a chunk's items, every line ended, or its UTF-8 bytes. Bytes may live in a buffer
   * the format reuses for the next chunk: the writer is done with them when `write` returns.
   * Throw to reject the chunk before the file is touched.
   */
  protected abstract format(items: readonly T[]): string | Uint8Array;

  /** The exact text (line endings included) that starts a new output (first run, empty file), or undefined for none. */
  protected headerText(): string | undefined {
    return undefined;
  }

  /** Ensures `text` ends a line, in this format's line ending. */
  protected endLine(text: string): string {
    return text.endsWith('\n') ? text : `${text}\n`;
  }

  /** Reads a format's own keys (e.g. the inferred CSV columns) on open. */
  protected restoreState(_context: ExecutionContext): void {}

  /** Puts a format's own keys on update. */
  protected saveState(_context: ExecutionContext): void {}

  /**
   * First run (no offset in the context): creates the file, empties it in `overwrite` mode, and
   * writes the header if the file is empty. Restart: truncates the file to the committed offset.
   * Throws ItemStreamError when the directory is missing, the path is a directory or not writable,
   * or, on a restart, when the file is gone or shorter than what was committed.
   */
  async open(executionContext: ExecutionContext): Promise<void> {
    await this.releaseHandle();
    const offset = this.counter(executionContext, 'offset');
    this.written = this.counter(executionContext, 'written') ?? 0;
    this.footerDone = false;
    this.restoreState(executionContext);
    if (offset !== undefined) {
      const handle = await openOutputFile(this.path, this.kind, 'existing');
      this.handle = handle;
      try {
        const { size } = await handle.stat();
        if (size < offset) {
          throw new ItemStreamError(
            this.path,
            `${this.kind} '${this.path}' is ${size} bytes long, but the step's last commit had written ${offset} bytes: ` +
              `the file was truncated or replaced since. Restore it to resume, or start a new job instance.`,
          );
        }
        if (size > offset) {
          // Bytes of a chunk that did not commit before the crash.
          await handle.truncate(offset);
          await handle.datasync();
        }
      } catch (error) {
        await this.releaseHandle();
        throw this.ioError(error, 'prepare for the restart');
      }
      this.position = offset;
    } else {
      const handle = await openOutputFile(this.path, this.kind, this.mode === 'overwrite' ? 'truncate' : 'keep');
      this.handle = handle;
      try {
        const { size, isFile } = await handle.stat().then((s) => ({ size: s.size, isFile: s.isFile() }));
        this.position = isFile ? size : 0;
        const header = this.position === 0 ? this.headerText() : undefined;
        if (header !== undefined && header !== '') await this.append(Buffer.from(header, 'utf8'));
        else await handle.datasync();
      } catch (error) {
        await this.releaseHandle();
        throw this.ioError(error, 'write the header');
      }
    }
    this.state = 'open';
  }

  /**
   * Appends the chunk's items and fsyncs before returning. All or nothing: if anything fails, the
   * part of the chunk already in the file is cut off again and the error is thrown. Calls that
   * overlap (a writer shared by concurrent code outside a step) run one after the other, in call
   * order: each appends at the end the previous one left, and a format's reused buffer is not
   * refilled while the disk still reads it.
   */
  async write(chunk: Chunk<T>): Promise<void> {
    const previous = this.writing;
    let done!: () => void;
    this.writing = new Promise<void>((resolve) => (done = resolve));
    try {
      await previous;
      await this.writeNow(chunk);
    } finally {
      done();
    }
  }

  private async writeNow(chunk: Chunk<T>): Promise<void> {
    if (this.state === 'new') {
      // Used outside a step: a first run.
      await this.open(new ExecutionContext());
    }
    this.assertWritable();
    if (chunk.items.length === 0) return;
    const formatted = this.format(chunk.items);
    await this.append(typeof formatted === 'string' ? Buffer.from(formatted, 'utf8') : formatted);
    this.written += chunk.items.length;
  }

  /** Puts the committed length `<name>.offset` and the item count `<name>.written`. */
  update(executionContext: ExecutionContext): void {
    executionContext.put(this.key('offset'), this.position);
    executionContext.put(this.key('written'), this.written);
    this.saveState(executionContext);
  }

  /**
   * Writes the footer (if any, and if the file is intact), fsyncs and closes the file. A write
   * still in flight (one a caller did not await, or a chunk abandoned by a timeout) ends first, so
   * the footer follows it instead of racing it for the same offset.
   */
  async close(): Promise<void> {
    await this.writing;
    if (this.state === 'new' || this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    try {
      if (wasOpen && this.footer !== undefined && this.handle !== undefined) {
        const text = this.footer(this.written);
        if (text !== '') {
          await writeFully(this.handle, Buffer.from(this.endLine(text), 'utf8'), this.position);
          if (!OUTPUT_WRITES_ARE_DURABLE) await this.handle.datasync();
        }
        this.footerDone = true;
      }
    } catch (error) {
      throw this.ioError(error, 'write the footer');
    } finally {
      await this.releaseHandle();
    }
  }

  /** Items written, all runs of the step included. */
  get writtenCount(): number {
    return this.written;
  }

  /** Whether `close()` wrote the footer. */
  get footerWritten(): boolean {
    return this.footerDone;
  }

  protected key(suffix: string): string {
    return `${this.name}.${suffix}`;
  }

  private async append(bytes: Uint8Array): Promise<void> {
    const handle = this.handle;
    if (handle === undefined) throw this.closedError();
    const start = this.position;
    try {
      await writeFully(handle, bytes, start);
      if (!OUTPUT_WRITES_ARE_DURABLE) await handle.datasync();
    } catch (error) {
      try {
        await handle.truncate(start);
      } catch {
        this.state = 'broken';
      }
      throw this.ioError(error, `write ${bytes.length} bytes`);
    }
    this.position = start + bytes.length;
  }

  private assertWritable(): void {
    if (this.state === 'open') return;
    if (this.state === 'broken') {
      throw new ItemStreamError(
        this.path,
        `${this.kind} '${this.path}' is in an unknown state: a failed write could not be cut off again. ` +
          `Restart the step; its open() truncates the file to the last commit.`,
      );
    }
    throw this.closedError();
  }

  private closedError(): ItemStreamError {
    return new ItemStreamError(this.path, `${this.kind} writer '${this.name}' is closed; open() it again before writing.`);
  }

  private ioError(error: unknown, action: string): Error {
    if (error instanceof ItemStreamError) return error;
    return new ItemStreamError(this.path, `${this.kind} '${this.path}': could not ${action}: ${messageOf(error)}`, { cause: error });
  }

  private counter(context: ExecutionContext, suffix: string): number | undefined {
    const value = context.get(this.key(suffix));
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw new ItemStreamError(
        this.path,
        `${this.kind} writer '${this.name}': the step's context holds ${JSON.stringify(value)} under '${this.key(suffix)}', ` +
          `not a byte count. Give each writer of the step its own name.`,
      );
    }
    return value;
  }

  private async releaseHandle(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    if (handle !== undefined) await handle.close().catch(() => undefined);
  }
}

/** Positional write of all of `bytes` (a single write may be partial). */
async function writeFully(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    if (bytesWritten === 0) throw new Error('the file system accepted no bytes');
    done += bytesWritten;
  }
}
