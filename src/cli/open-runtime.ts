import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { BatchRuntime } from '../index.js';
import { CliError } from './cli-error.js';

/** The options every command that touches the store shares. */
export interface StoreOptions {
  /** The LMDB store directory. */
  readonly store: string;
  /** pino level for the runtime's logs on stderr; none when absent (unless TSBATCH_LOG_LEVEL is set). */
  readonly logLevel?: string;
}

export const DEFAULT_STORE = './.tsbatch';
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * Opens the runtime on the store. `create: false` (every command but `run`) refuses a directory that
 * does not exist rather than creating an empty store there, which is nearly always a wrong --store.
 *
 * Logging: the runtime's own pino logger (JSON lines on stderr) when `--log-level` or
 * TSBATCH_LOG_LEVEL is given, otherwise none, so the terminal shows only the command's output.
 */
export async function openRuntime(options: StoreOptions, { create }: { create: boolean }): Promise<BatchRuntime> {
  const path = resolve(options.store);
  if (!create && !existsSync(path)) {
    throw new CliError('STORE_NOT_FOUND', `No tsbatch store at ${path}; give the store of your runs with --store <path>.`);
  }
  if (options.logLevel !== undefined) {
    if (!LOG_LEVELS.includes(options.logLevel)) {
      throw new CliError('USAGE', `Unknown log level '${options.logLevel}'; use one of ${LOG_LEVELS.join(', ')}.`);
    }
    process.env['TSBATCH_LOG_LEVEL'] = options.logLevel;
  }
  const useDefaultLogger = options.logLevel !== undefined || Boolean(process.env['TSBATCH_LOG_LEVEL']);
  return BatchRuntime.open({ path, ...(useDefaultLogger ? {} : { logger: false as const }) });
}

/** An in-memory runtime, for commands that only need a registry (`jobs`). */
export async function openScratchRuntime(): Promise<BatchRuntime> {
  return BatchRuntime.open({ inMemory: true, logger: false });
}
