import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { BatchRuntime, type DispatcherKind, type WorkChunkOptions } from '../index.js';
import { CliError } from './cli-error.js';

/** The options every command that touches the store shares. */
export interface StoreOptions {
  /** The LMDB store directory. */
  readonly store: string;
  /** A PostgreSQL connection string: the repository is there instead (also TSBATCH_POSTGRES_URL). */
  readonly postgres?: string;
  /** How remote partitions reach workers: store, pg-boss or skip-locked. */
  readonly dispatcher?: string;
  /** The PostgreSQL queue of remote partitions. */
  readonly queue?: string;
  /** pino level for the runtime's logs on stderr; none when absent (unless TSBATCH_LOG_LEVEL is set). */
  readonly logLevel?: string;
}

export const DEFAULT_STORE = './.tsbatch';
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** How a command's runtime treats orphans (running executions whose process is gone). */
export interface OpenMode {
  /** False (every command but `run`): refuse a missing store directory instead of creating one. */
  readonly create: boolean;
  /**
   * `fail` (run, restart): orphans are marked FAILED, so the named job can take over its own
   * orphaned instance, but no other job is ever restarted behind the user's back, as the runtime's
   * default `restart` policy would do for every job the module registers. `none` (the inspecting
   * and operating commands): the store is changed only by the operation asked for.
   */
  readonly recovery: 'fail' | 'none';
  /** How this process runs work-chunk jobs (`tsbatch worker` passes its concurrency and lease). */
  readonly workChunks?: WorkChunkOptions;
}

/**
 * Opens the runtime on the store. A store directory that does not exist is refused unless `create`,
 * rather than creating an empty store there, which is nearly always a wrong --store.
 *
 * Logging: the runtime's own pino logger (JSON lines on stderr) when `--log-level` or
 * TSBATCH_LOG_LEVEL is given, otherwise none, so the terminal shows only the command's output.
 */
export async function openRuntime(options: StoreOptions, { create, recovery, workChunks }: OpenMode): Promise<BatchRuntime> {
  const path = resolve(options.store);
  const postgres = options.postgres ?? process.env['TSBATCH_POSTGRES_URL'];
  const dispatcher = parseDispatcher(options.dispatcher);
  if (!postgres && !create && !existsSync(path)) {
    throw new CliError('STORE_NOT_FOUND', `No tsbatch store at ${path}; give the store of your runs with --store <path>.`);
  }
  if (options.logLevel !== undefined) {
    if (!LOG_LEVELS.includes(options.logLevel)) {
      throw new CliError('USAGE', `Unknown log level '${options.logLevel}'; use one of ${LOG_LEVELS.join(', ')}.`);
    }
    process.env['TSBATCH_LOG_LEVEL'] = options.logLevel;
  }
  const useDefaultLogger = options.logLevel !== undefined || Boolean(process.env['TSBATCH_LOG_LEVEL']);
  return BatchRuntime.open({
    ...(postgres ? { postgres: { connectionString: postgres } } : { path }),
    recovery,
    remote: { ...(dispatcher ? { dispatcher } : {}), ...(options.queue ? { queue: options.queue } : {}) },
    ...(useDefaultLogger ? {} : { logger: false as const }),
  });
}

const DISPATCHERS: readonly DispatcherKind[] = ['store', 'pg-boss', 'skip-locked'];

function parseDispatcher(value: string | undefined): DispatcherKind | undefined {
  if (value === undefined) return undefined;
  const found = DISPATCHERS.find((kind) => kind === value);
  if (!found) throw new CliError('USAGE', `Unknown dispatcher '${value}'; use one of ${DISPATCHERS.join(', ')}.`);
  return found;
}

/** An in-memory runtime, for commands that only need a registry (`jobs`). */
export async function openScratchRuntime(): Promise<BatchRuntime> {
  return BatchRuntime.open({ inMemory: true, logger: false, recovery: 'none' });
}
