import { StoreUnavailableError } from '../../domain/errors.js';
import type { KvReader, KvStore, RangeOptions, SqlTransaction } from '../kv-store.js';
import { PostgresQueryError, SyncPostgresClient } from './sync-postgres-client.js';

/** PostgreSQL's SQLSTATEs for a transaction that lost a race: it is run again from the start. */
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 20;
const DELETED = Symbol('deleted');

export interface PgKvStoreOptions {
  /** How long one statement may take before the store counts PostgreSQL as gone. @default 30000 */
  readonly statementTimeoutMs?: number;
  /** The table of the key/value pairs. @default 'tsbatch_kv' */
  readonly table?: string;
}

/**
 * The embedded store's key/value model on PostgreSQL, so that the job repository, the chunk commit
 * and work-chunk jobs run on it unchanged and several hosts can share one repository. Keys sort in
 * byte order (COLLATE "C", like LMDB); values are JSON text. Every write transaction is
 * SERIALIZABLE: two processes that race (two launches of one instance, two claims of one chunk)
 * cannot both commit; the loser runs its transaction body again against the new state.
 */
export class PgKvStore implements KvStore {
  private readonly table: string;

  private constructor(
    private readonly client: SyncPostgresClient,
    table: string,
  ) {
    this.table = table;
  }

  /** Connects and creates the table when missing (the schema's one migration so far). */
  static open(connectionString: string, options: PgKvStoreOptions = {}): PgKvStore {
    const table = options.table ?? 'tsbatch_kv';
    if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new StoreUnavailableError(connectionString, `'${table}' is not a plain lowercase table name`);
    const client = new SyncPostgresClient(connectionString, options.statementTimeoutMs ?? 30_000);
    try {
      // Under a lock: processes that open a new database at once would otherwise race inside
      // CREATE TABLE IF NOT EXISTS, and all but one fail on PostgreSQL's catalog.
      client.query('BEGIN');
      client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`tsbatch schema ${table}`]);
      client.query(`CREATE TABLE IF NOT EXISTS ${table} (key text COLLATE "C" PRIMARY KEY, value text NOT NULL)`);
      client.query('COMMIT');
    } catch (error) {
      void client.close();
      throw new StoreUnavailableError(redact(connectionString), (error as Error).message, { cause: error });
    }
    return new PgKvStore(client, table);
  }

  async write<T>(work: (tx: SqlTransaction) => T): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      this.client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
      const pending = new Map<string, unknown>();
      try {
        const result = work({
          get: <V>(key: string) => (pending.has(key) ? live<V>(pending.get(key)) : this.get<V>(key)),
          range: <V>(prefix: string, options?: RangeOptions) => this.range<V>(prefix, options, pending),
          put: (key, value) => void pending.set(key, JSON.parse(JSON.stringify(value ?? null)) as unknown),
          remove: (key) => void pending.set(key, DELETED),
          // Key/value writes are held until the end, so a statement sees the rows as they were.
          sql: <Row>(text: string, params?: readonly unknown[]) => this.client.query<Row>(text, params ?? []),
          now: () => this.databaseNow(),
        });
        this.flush(pending);
        this.client.query('COMMIT');
        return result;
      } catch (error) {
        try {
          this.client.query('ROLLBACK');
        } catch {
          // The transaction is already over (a failed COMMIT ends it).
        }
        if (error instanceof PostgresQueryError && RETRYABLE.has(error.sqlState ?? '') && attempt < MAX_ATTEMPTS) continue;
        throw error;
      }
    }
  }

  /** PostgreSQL's clock, the one clock every host shares: leases are measured on it. */
  private databaseNow(): number {
    const [row] = this.client.query<{ now: number }>(`SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now`);
    return Math.floor(row!.now);
  }

  read<T>(work: (tx: KvReader) => T): T {
    this.client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      return work({ get: (key) => this.get(key), range: (prefix, options) => this.range(prefix, options, new Map()) });
    } finally {
      this.client.query('COMMIT');
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private get<V>(key: string): V | undefined {
    const [row] = this.client.query<{ value: string }>(`SELECT value FROM ${this.table} WHERE key = $1`, [key]);
    return row ? (JSON.parse(row.value) as V) : undefined;
  }

  private range<V>(prefix: string, options: RangeOptions = {}, pending: ReadonlyMap<string, unknown>): Array<{ key: string; value: V }> {
    const from = options.start !== undefined && !options.reverse && compareBytewise(options.start, prefix) > 0 ? options.start : prefix;
    const to = successor(prefix);
    const inRange = [...pending.keys()].filter((key) => key.startsWith(prefix) && compareBytewise(key, from) >= 0);
    // Pending writes may hide or add rows: ask for enough rows that the limit still holds after them.
    const limit = options.limit === undefined ? null : options.limit + inRange.length;
    const rows = this.client.query<{ key: string; value: string }>(
      `SELECT key, value FROM ${this.table} WHERE key >= $1 AND key < $2 ORDER BY key ${options.reverse ? 'DESC' : 'ASC'}${limit === null ? '' : ` LIMIT ${limit}`}`,
      [from, to],
    );
    const merged = new Map<string, unknown>(rows.map((row) => [row.key, JSON.parse(row.value) as unknown]));
    for (const key of inRange) merged.set(key, pending.get(key));
    const ordered = [...merged.keys()].filter((key) => merged.get(key) !== DELETED).sort(compareBytewise);
    if (options.reverse) ordered.reverse();
    const entries = ordered.map((key) => ({ key, value: structuredClone(merged.get(key)) as V }));
    return options.limit === undefined ? entries : entries.slice(0, options.limit);
  }

  private flush(pending: ReadonlyMap<string, unknown>): void {
    const puts: Array<[string, string]> = [];
    const removes: string[] = [];
    for (const [key, value] of pending) {
      if (value === DELETED) removes.push(key);
      else puts.push([key, JSON.stringify(value)]);
    }
    if (removes.length) this.client.query(`DELETE FROM ${this.table} WHERE key = ANY($1::text[])`, [removes]);
    if (puts.length) {
      this.client.query(
        `INSERT INTO ${this.table} (key, value) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
        [puts.map(([key]) => key), puts.map(([, value]) => value)],
      );
    }
  }
}

function live<V>(value: unknown): V | undefined {
  return value === DELETED ? undefined : (structuredClone(value) as V);
}

/** The first key after every key that starts with `prefix` (prefixes end in ASCII). */
function successor(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/** UTF-8 byte order, which is what COLLATE "C" sorts by. */
function compareBytewise(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** A connection string without its password, for messages. */
function redact(connectionString: string): string {
  return connectionString.replace(/:\/\/([^:/@]+):[^@]*@/, '://$1:***@');
}
