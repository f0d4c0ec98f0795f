import pg from 'pg';
import { InvalidConfigurationError } from '../../domain/errors.js';
import type { Logger } from '../../domain/logger.js';
import { isSqlTransaction, type KvTransaction } from '../../repository/kv-store.js';
import type { ConsumeOptions, DispatchConsumer, DispatchMessage, Dispatcher } from '../dispatcher.js';
import { startPollingLoops } from '../polling-consumer.js';

export interface SkipLockedDispatcherOptions {
  readonly connectionString: string;
  /** @default 'tsbatch_dispatch' */
  readonly table?: string;
  /** How long a taken message stays invisible to other consumers. @default 60000 */
  readonly visibilityMs?: number;
  /** @default 100 */
  readonly pollMs?: number;
  readonly logger: Logger;
}

/**
 * A queue table beside the repository, taken from with `FOR UPDATE SKIP LOCKED`: what every
 * PostgreSQL queue does underneath, without the queue library. For tests and for comparing with
 * pg-boss; pg-boss is the default on PostgreSQL.
 */
export class SkipLockedDispatcher implements Dispatcher {
  readonly name = 'skip-locked';

  private constructor(
    private readonly pool: pg.Pool,
    private readonly table: string,
    private readonly options: SkipLockedDispatcherOptions,
  ) {}

  static async start(options: SkipLockedDispatcherOptions): Promise<SkipLockedDispatcher> {
    const table = options.table ?? 'tsbatch_dispatch';
    if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new InvalidConfigurationError(`'${table}' is not a plain lowercase table name for the dispatch queue.`);
    const pool = new pg.Pool({ connectionString: options.connectionString, max: 4 });
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`tsbatch schema ${table}`]);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${table} (id bigserial PRIMARY KEY, step_execution_id bigint NOT NULL, message text NOT NULL, invisible_until timestamptz)`,
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      await pool.end();
      throw error;
    } finally {
      client.release();
    }
    return new SkipLockedDispatcher(pool, table, options);
  }

  enqueue(tx: KvTransaction, message: DispatchMessage): void {
    if (!isSqlTransaction(tx)) throw new InvalidConfigurationError('The skip-locked dispatcher needs the PostgreSQL repository: its queue lives in the same database.');
    tx.sql(`INSERT INTO ${this.table} (step_execution_id, message) VALUES ($1, $2)`, [message.stepExecutionId, JSON.stringify(message)]);
  }

  async consume(handler: (message: DispatchMessage) => Promise<void>, options: ConsumeOptions): Promise<DispatchConsumer> {
    const visibility = `${(this.options.visibilityMs ?? 60_000) / 1000} seconds`;
    return startPollingLoops<{ id: string; message: DispatchMessage }>({
      concurrency: options.concurrency,
      pollMs: this.options.pollMs ?? 100,
      take: async () => {
        const { rows } = await this.pool.query<{ id: string; message: string }>(
          `UPDATE ${this.table} SET invisible_until = now() + $1::interval
             WHERE id = (SELECT id FROM ${this.table} WHERE invisible_until IS NULL OR invisible_until < now()
                         ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
           RETURNING id, message`,
          [visibility],
        );
        const row = rows[0];
        return row ? { id: row.id, message: JSON.parse(row.message) as DispatchMessage } : undefined;
      },
      handle: async ({ id, message }) => {
        try {
          await handler(message);
          await this.pool.query(`DELETE FROM ${this.table} WHERE id = $1`, [id]);
        } catch (error) {
          this.options.logger.warn({ event: 'dispatch.handler_failed', stepExecutionId: message.stepExecutionId, err: error }, 'Dispatch handler failed; the message goes back');
          await this.pool.query(`UPDATE ${this.table} SET invisible_until = NULL WHERE id = $1`, [id]).catch(() => undefined);
        }
      },
      onError: (error) => this.options.logger.warn({ event: 'dispatch.take_failed', err: error }, 'Could not take a message'),
    });
  }

  async pendingStepExecutionIds(): Promise<ReadonlySet<number>> {
    const { rows } = await this.pool.query<{ id: string }>(`SELECT DISTINCT step_execution_id AS id FROM ${this.table}`);
    return new Set(rows.map((row) => Number(row.id)));
  }

  async purge(): Promise<void> {
    await this.pool.query(`DELETE FROM ${this.table}`);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
