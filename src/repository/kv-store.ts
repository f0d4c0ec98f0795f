/**
 * The narrow transactional key/value store that the embedded repositories are written against.
 * Keys are strings compared bytewise; values are structured-clone-safe data.
 *
 * @remarks A transaction runs its function synchronously and either applies all of its writes
 * durably or none. Implementations: LMDB (crash-safe, several processes on one host) and memory.
 */
export interface KvStore {
  /** Runs `work` in one exclusive write transaction, durable when the promise resolves. */
  write<T>(work: (tx: KvTransaction) => T): Promise<T>;
  /** Runs `work` against a consistent, current snapshot. */
  read<T>(work: (tx: KvReader) => T): T;
  close(): Promise<void>;
}

export interface KvReader {
  get<V>(key: string): V | undefined;
  /**
   * Entries whose key starts with `prefix`, in key order (reverse when asked), from `start` (a full
   * key, inclusive) when given.
   */
  range<V>(prefix: string, options?: RangeOptions): Array<{ key: string; value: V }>;
}

export interface RangeOptions {
  readonly reverse?: boolean;
  readonly limit?: number;
  /** Forward ranges only: the first key to include. */
  readonly start?: string;
}

export interface KvTransaction extends KvReader {
  put(key: string, value: unknown): void;
  remove(key: string): void;
}
