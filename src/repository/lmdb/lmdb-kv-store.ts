import { accessSync, closeSync, constants, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { open, type RootDatabase } from 'lmdb';
import { StoreUnavailableError } from '../../domain/errors.js';
import type { KvReader, KvStore, KvTransaction, RangeOptions } from '../kv-store.js';

/** The file inside the store directory; LMDB keeps its lock file beside it. */
const DATA_FILE = 'tsbatch.mdb';

/**
 * The LMDB store: one memory-mapped file in a directory, ACID and crash-safe. Several processes on
 * one host may open it at once; LMDB serialises their write transactions with a lock file.
 * Every write transaction is synchronous and durable (one fdatasync) when it returns.
 */
export class LmdbKvStore implements KvStore {
  private readonly tx: KvTransaction;

  private constructor(
    private readonly db: RootDatabase,
    readonly directory: string,
  ) {
    this.tx = {
      get: <V>(key: string) => db.get(key) as V | undefined,
      range: <V>(prefix: string, options?: RangeOptions) => rangeOf<V>(db, prefix, options),
      put: (key, value) => void db.putSync(key, value),
      remove: (key) => void db.removeSync(key),
    };
  }

  static open(directory: string): LmdbKvStore {
    const path = resolve(directory);
    ensureWritableDirectory(path);
    ensureLmdbFileOrNone(join(path, DATA_FILE), path);
    try {
      // overlappingSync off: with it, closing an environment after another process died mid-commit
      // could spin for ever in lmdb-js's mdb_env_sync (it waits for the lock file's txnid to match
      // a meta page that the dead process never wrote). Every commit is durable on return either way.
      const db = open({ path: join(path, DATA_FILE), compression: false, overlappingSync: false });
      return new LmdbKvStore(db, path);
    } catch (error) {
      throw new StoreUnavailableError(path, `LMDB could not open it (${(error as Error).message}).`, { cause: error });
    }
  }

  async write<T>(work: (tx: KvTransaction) => T): Promise<T> {
    return this.db.transactionSync(() => work(this.tx));
  }

  read<T>(work: (tx: KvReader) => T): T {
    // Another process may have committed since this process's read snapshot was taken.
    this.db.resetReadTxn();
    return work(this.tx);
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

function rangeOf<V>(db: RootDatabase, prefix: string, options: RangeOptions = {}) {
  // The first key after every key that starts with `prefix`. Bounding by a "highest character"
  // instead would miss keys with characters above it (e.g. outside the Basic Multilingual Plane).
  const end = successor(prefix);
  const bounds = options.reverse
    ? { start: end, end: prefix, reverse: true }
    : { start: options.start !== undefined && options.start > prefix ? options.start : prefix, end };
  const entries: Array<{ key: string; value: V }> = [];
  for (const { key, value } of db.getRange(bounds)) {
    if (typeof key !== 'string' || !key.startsWith(prefix)) continue;
    entries.push({ key, value: value as V });
    if (options.limit !== undefined && entries.length >= options.limit) break;
  }
  return entries;
}

/** The smallest string greater than every string that starts with `prefix` (prefixes end in ASCII). */
function successor(prefix: string): string {
  const last = prefix.charCodeAt(prefix.length - 1);
  return prefix.slice(0, -1) + String.fromCharCode(last + 1);
}

/** LMDB's meta-page magic (0xBEEFC0DE, little-endian), after a 16- or 24-byte page header. */
const LMDB_MAGIC = 0xbeefc0de;

/**
 * Refuses a data file that is not an LMDB environment before LMDB maps it: LMDB trusts its file
 * and can crash the whole process on a foreign or corrupted one, which no error handler can catch.
 */
function ensureLmdbFileOrNone(file: string, directory: string): void {
  let header: Buffer;
  try {
    const size = statSync(file, { throwIfNoEntry: false })?.size;
    if (size === undefined || size === 0) return;
    const fd = openSync(file, 'r');
    try {
      header = Buffer.alloc(32);
      readSync(fd, header, 0, 32, 0);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    throw new StoreUnavailableError(directory, `its data file cannot be read (${(error as Error).message}).`, { cause: error });
  }
  if (header.readUInt32LE(16) !== LMDB_MAGIC && header.readUInt32LE(24) !== LMDB_MAGIC) {
    throw new StoreUnavailableError(
      directory,
      `${file} is not an LMDB environment (corrupted, or a foreign file). Move it away, or choose another path; ` +
        `tsbatch does not open it, because LMDB could crash the process on it.`,
    );
  }
}

function ensureWritableDirectory(path: string): void {
  let stats;
  try {
    stats = statSync(path, { throwIfNoEntry: false });
  } catch (error) {
    throw new StoreUnavailableError(path, `it cannot be inspected (${(error as Error).message}).`, { cause: error });
  }
  if (stats && !stats.isDirectory()) {
    throw new StoreUnavailableError(path, 'it is a file, but the store needs a directory. Choose another path or remove the file.');
  }
  try {
    // Recursive mkdir only when a parent is missing: on some file systems (/proc) Node's recursive
    // mkdir of a directory that can never be made loops forever instead of failing.
    if (!stats) mkdirSync(path, { recursive: !statSync(dirname(path), { throwIfNoEntry: false }) });
    accessSync(path, constants.R_OK | constants.W_OK);
  } catch (error) {
    throw new StoreUnavailableError(
      path,
      `the directory is not writable by this process (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). ` +
        `Choose a writable path or fix its permissions.`,
      { cause: error },
    );
  }
}
