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
  /**
   * The time on the store's own clock, in epoch ms, when the store has one that every host shares
   * (PostgreSQL). Leases between hosts are measured on it; stores of one host leave it out.
   */
  now?(): number;
}

/**
 * A write transaction on a SQL database (PostgreSQL): statements run inside the same transaction as
 * the key/value writes, so a queue in the same database (pg-boss, a dispatch table) is written
 * atomically with the repository rows. Reads see the transaction's own statements.
 */
export interface SqlTransaction extends KvTransaction {
  sql<Row = Record<string, unknown>>(text: string, params?: readonly unknown[]): Row[];
}

export function isSqlTransaction(tx: KvTransaction): tx is SqlTransaction {
  return typeof (tx as Partial<SqlTransaction>).sql === 'function';
}
