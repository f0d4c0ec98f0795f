import { constants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ItemStreamError } from '../../domain/errors.js';

// Opening the files behind file readers and writers, with the operating system's error codes turned
// into ItemStreamErrors that name the path and say what to do: a step that fails on a typo in a
// path should say so in one line, not with a bare ENOENT.

/** An open input file and its size when opened. @internal */
export interface InputFile {
  readonly handle: FileHandle;
  readonly size: number;
}

/**
 * Opens `path` for reading. `what` names the input in messages ("CSV input", "NDJSON input").
 * @internal
 */
export async function openInputFile(path: string, what: string): Promise<InputFile> {
  let handle: FileHandle;
  try {
    handle = await fsp.open(path, constants.O_RDONLY);
  } catch (error) {
    throw inputError(path, what, error);
  }
  try {
    const stats = await handle.stat();
    if (stats.isDirectory()) {
      throw new ItemStreamError(path, `${what} '${path}' is a directory, not a file. Point the reader at the file to read.`);
    }
    return { handle, size: stats.size };
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error instanceof ItemStreamError ? error : inputError(path, what, error);
  }
}

/** How a writer opens its output. @internal */
export type OutputOpenMode =
  /** Create the file if missing and empty it. */
  | 'truncate'
  /** Create the file if missing and keep what it holds. */
  | 'keep'
  /** The file must exist (a restart): it holds the output of earlier commits. */
  | 'existing';

/**
 * Whether an output's every write is on disk when it returns (O_DSYNC, where the platform has it).
 * A chunk's write and its flush are then one system call on libuv's thread pool: with a separate
 * datasync, the flush could only start once the main thread, busy reading the next chunk, had
 * taken the write's callback, and then it waited for the flush with nothing left to do (more than
 * half of the main thread's idle time on the CSV benchmark, measured). Where it is missing,
 * writers call datasync. @internal
 */
export const OUTPUT_WRITES_ARE_DURABLE = constants.O_DSYNC !== undefined;

/** Opens `path` for positional writes (never O_APPEND, whose pwrite ignores the position on Linux). @internal */
export async function openOutputFile(path: string, what: string, mode: OutputOpenMode): Promise<FileHandle> {
  const durable = OUTPUT_WRITES_ARE_DURABLE ? constants.O_DSYNC : 0;
  const flags =
    durable |
    (mode === 'truncate'
      ? constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC
      : mode === 'keep'
        ? constants.O_WRONLY | constants.O_CREAT
        : constants.O_WRONLY);
  let handle: FileHandle;
  try {
    handle = await fsp.open(path, flags, 0o666);
  } catch (error) {
    throw outputError(path, what, mode, error);
  }
  if (mode !== 'existing') await syncDirectory(dirname(resolve(path)));
  return handle;
}

/**
 * Makes a file's directory entry durable, so a file created by a first run still exists after a
 * power loss when the restart expects it. Best effort: some platforms (Windows) cannot open a
 * directory for syncing, and there is nothing to do about it there.
 */
async function syncDirectory(directory: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await fsp.open(directory, constants.O_RDONLY);
    await handle.sync();
  } catch {
    // Not supported here; the file's own data is still synced on every write.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** The `code` of a Node.js system error, if it is one. @internal */
export function errorCode(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** The message of any thrown value. @internal */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function inputError(path: string, what: string, error: unknown): ItemStreamError {
  const options = { cause: error };
  switch (errorCode(error)) {
    case 'ENOENT':
      return new ItemStreamError(
        path,
        `${what} '${path}' does not exist (resolved to '${resolve(path)}'). Check the path, or create the file before starting the step.`,
        options,
      );
    case 'EISDIR':
      return new ItemStreamError(path, `${what} '${path}' is a directory, not a file. Point the reader at the file to read.`, options);
    case 'ENOTDIR':
      return new ItemStreamError(path, `${what} '${path}' cannot be opened: a parent in its path is a file, not a directory. Check the path.`, options);
    case 'EACCES':
    case 'EPERM':
      return new ItemStreamError(path, `${what} '${path}' cannot be read: permission denied. Grant read permission to the user running the job.`, options);
    default:
      return new ItemStreamError(path, `${what} '${path}' cannot be opened for reading: ${messageOf(error)}`, options);
  }
}

function outputError(path: string, what: string, mode: OutputOpenMode, error: unknown): ItemStreamError {
  const options = { cause: error };
  switch (errorCode(error)) {
    case 'ENOENT':
      return mode === 'existing'
        ? new ItemStreamError(
            path,
            `${what} '${path}' no longer exists, but the step's last commit wrote to it. Restore the file to resume, or start a new job instance.`,
            options,
          )
        : new ItemStreamError(
            path,
            `${what} '${path}' cannot be created: the directory '${dirname(resolve(path))}' does not exist. Create it before starting the step.`,
            options,
          );
    case 'EISDIR':
      return new ItemStreamError(path, `${what} '${path}' is a directory. Point the writer at a file path.`, options);
    case 'ENOTDIR':
      return new ItemStreamError(path, `${what} '${path}' cannot be opened: a parent in its path is a file, not a directory. Check the path.`, options);
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new ItemStreamError(
        path,
        `${what} '${path}' cannot be written: permission denied (${errorCode(error)}). Grant write permission on the file and its directory to the user running the job.`,
        options,
      );
    default:
      return new ItemStreamError(path, `${what} '${path}' cannot be opened for writing: ${messageOf(error)}`, options);
  }
}
