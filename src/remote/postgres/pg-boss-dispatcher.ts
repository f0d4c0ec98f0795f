import PgBoss from 'pg-boss';
import { IllegalStateError, InvalidConfigurationError } from '../../domain/errors.js';
import type { Logger } from '../../domain/logger.js';
import { isSqlTransaction, type KvTransaction } from '../../repository/kv-store.js';
import type { ConsumeOptions, DispatchConsumer, DispatchMessage, Dispatcher } from '../dispatcher.js';

export interface PgBossDispatcherOptions {
  /** The repository's database: the queue must live there for `enqueue` to share its transaction. */
  readonly connectionString: string;
  /** @default 'tsbatch-partitions' */
  readonly queue?: string;
  /** pg-boss's schema, created (and migrated) by pg-boss when missing. @default 'pgboss' */
  readonly schema?: string;
  /** How often an idle worker asks for a job (pg-boss's minimum is 0.5). @default 0.5 */
  readonly pollingIntervalSeconds?: number;
  /**
   * How long a delivery may stay active before pg-boss fails it (and retries it). Long enough for a
   * whole partition. This is not how a dead worker's partition comes back: pg-boss 10 has no
   * heartbeat, so a killed worker's job stays active until this runs out. The repository's lease on
   * the partition is what recovers it sooner (the reconciler dispatches it again).
   * Below 24 hours (pg-boss's limit). @default 900
   */
  readonly expireInSeconds?: number;
  /** Redeliveries after a handler rejects (or the delivery expires); at least 1. @default 3 */
  readonly retryLimit?: number;
  /** Seconds before a failed delivery is offered again. @default 5 */
  readonly retryDelaySeconds?: number;
  /** pg-boss's own errors (failed polls, maintenance) are logged here; none are logged without one. */
  readonly logger?: Logger;
}

/** Everything of a message, and nothing else, goes into the job's `data`. */
type JobData = DispatchMessage;

type Settings = Required<Omit<PgBossDispatcherOptions, 'logger' | 'connectionString'>>;

const DEFAULTS = {
  queue: 'tsbatch-partitions',
  schema: 'pgboss',
  pollingIntervalSeconds: 0.5,
  expireInSeconds: 15 * 60,
  retryLimit: 3,
  retryDelaySeconds: 5,
} as const;

/** Job states in which a job is still to be delivered or is being delivered (pg-boss 10's enum). */
const LIVE_STATES = ['created', 'retry', 'active'] as const;

/**
 * Dispatches partitions through pg-boss 10 (pinned at 10.4.2), whose tables live in the
 * repository's PostgreSQL database.
 *
 * `enqueue` writes the pg-boss job row with the repository transaction's own `sql`, so the job
 * commits or rolls back with the repository rows that asked for it. pg-boss's `send({ db })` is
 * asynchronous and the repository's transaction body is not, so the INSERT is written here: it is
 * the one pg-boss 10.4.2 runs for `send(queue, data, { retryLimit, retryDelay, expireInSeconds })`
 * (its `plans.insertJob`), with those options fixed, and the test suite compares the two rows
 * column by column. The job table is partitioned by queue name in pg-boss 10; inserting into
 * `<schema>.job` routes the row to the queue's partition.
 *
 * Delivery uses pg-boss's own workers (`work`, one per unit of concurrency, one job per fetch).
 */
export class PgBossDispatcher implements Dispatcher {
  readonly name = 'pg-boss';
  readonly queue: string;
  readonly schema: string;

  private readonly insertJobSql: string;
  private readonly consumers = new Set<PgBossConsumer>();
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly boss: PgBoss,
    private readonly settings: Settings,
    private readonly logger: Logger | undefined,
  ) {
    this.queue = settings.queue;
    this.schema = settings.schema;
    // pg-boss 10.4.2 `plans.insertJob` with: no id, priority 0, no startAfter, no singleton, no
    // dead letter of the job's own, expire_in/retry_limit/retry_delay given, no retention of the
    // job's own, retry_backoff false. What stays the queue's: its policy, its dead letter and its
    // retention (keep_until = start_after + retention, 14 days when the queue has none). No row
    // comes back when the queue does not exist. Unlike `send`, no ON CONFLICT DO NOTHING: the queue
    // is checked to be 'standard' at start, so no unique index can drop a dispatch in silence.
    this.insertJobSql = `
      INSERT INTO ${this.schema}.job (
        id, name, data, priority, start_after, singleton_key, singleton_on, dead_letter,
        expire_in, keep_until, retry_limit, retry_delay, retry_backoff, policy
      )
      SELECT
        gen_random_uuid(), q.name, $2::jsonb, 0, now(), NULL, NULL, q.dead_letter,
        $3::int * interval '1s',
        now() + CAST(COALESCE((q.retention_minutes * 60)::text, '14 days') AS interval),
        $4::int, $5::int, false, q.policy
      FROM ${this.schema}.queue q
      WHERE q.name = $1
      RETURNING id`;
  }

  /** Starts pg-boss (its own connection pool; installs or migrates its schema) and creates the queue when missing. */
  static async start(options: PgBossDispatcherOptions): Promise<PgBossDispatcher> {
    const settings: Settings = {
      queue: options.queue ?? DEFAULTS.queue,
      schema: options.schema ?? DEFAULTS.schema,
      pollingIntervalSeconds: options.pollingIntervalSeconds ?? DEFAULTS.pollingIntervalSeconds,
      expireInSeconds: options.expireInSeconds ?? DEFAULTS.expireInSeconds,
      retryLimit: options.retryLimit ?? DEFAULTS.retryLimit,
      retryDelaySeconds: options.retryDelaySeconds ?? DEFAULTS.retryDelaySeconds,
    };
    validate(settings);
    const logger = options.logger?.child({ component: 'pg-boss-dispatcher', queue: settings.queue });
    const boss = new PgBoss({
      connectionString: options.connectionString,
      schema: settings.schema,
      application_name: 'tsbatch-pg-boss',
      // No cron schedules: it would add a queue and a worker of pg-boss's own.
      schedule: false,
      // Maintenance: fails expired active jobs (which retries them) and archives finished ones.
      supervise: true,
      migrate: true,
    });
    // An EventEmitter without an 'error' listener throws; pg-boss reports failed polls this way.
    boss.on('error', (error: Error) => logger?.error({ event: 'pg-boss.error', err: error }, `pg-boss: ${error.message}`));
    try {
      await boss.start();
      await createQueueOnce(boss, settings);
      const queue = await boss.getQueue(settings.queue);
      if (!queue) throw new InvalidConfigurationError(`pg-boss did not create the queue '${settings.queue}' in schema '${settings.schema}'`);
      if ((queue.policy ?? 'standard') !== 'standard') {
        throw new InvalidConfigurationError(
          `The pg-boss queue '${settings.queue}' has the policy '${queue.policy}'; partitions need 'standard' (every dispatch is delivered, none is merged)`,
        );
      }
    } catch (error) {
      await boss.stop({ graceful: false }).catch(() => undefined);
      throw error;
    }
    logger?.debug({ event: 'pg-boss.started', schema: settings.schema }, 'pg-boss dispatcher started');
    return new PgBossDispatcher(boss, settings, logger);
  }

  /**
   * Inserts the pg-boss job in the repository's transaction (synchronously, with its `sql`). Safe to
   * run again when the store retries the transaction body: the first attempt's row was rolled back
   * with it.
   */
  enqueue(tx: KvTransaction, message: DispatchMessage): void {
    if (!isSqlTransaction(tx)) {
      throw new InvalidConfigurationError(
        `The pg-boss dispatcher enqueues in the repository's own SQL transaction; this store's transactions run no SQL. ` +
          `Use the PostgreSQL repository (the same database as pg-boss).`,
      );
    }
    const data: JobData = {
      jobName: message.jobName,
      jobExecutionId: message.jobExecutionId,
      managerStepName: message.managerStepName,
      stepExecutionId: message.stepExecutionId,
      stepName: message.stepName,
    };
    const rows = tx.sql<{ id: string }>(this.insertJobSql, [
      this.queue,
      JSON.stringify(data),
      this.settings.expireInSeconds,
      this.settings.retryLimit,
      this.settings.retryDelaySeconds,
    ]);
    if (rows.length !== 1) {
      throw new InvalidConfigurationError(`The pg-boss queue '${this.queue}' does not exist in schema '${this.schema}'; cannot dispatch ${message.stepName}`);
    }
  }

  async consume(handler: (message: DispatchMessage) => Promise<void>, options: ConsumeOptions): Promise<DispatchConsumer> {
    this.assertOpen('consume');
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
      throw new InvalidConfigurationError(`concurrency must be a whole number of at least 1, not ${options.concurrency}`);
    }
    const consumer = new PgBossConsumer(this.boss, this.queue, this.settings.expireInSeconds, handler, options.concurrency, this.logger, () =>
      this.consumers.delete(consumer),
    );
    this.consumers.add(consumer);
    try {
      await consumer.start(this.settings.pollingIntervalSeconds);
    } catch (error) {
      await consumer.stop();
      throw error;
    }
    return consumer;
  }

  async pendingStepExecutionIds(): Promise<ReadonlySet<number>> {
    this.assertOpen('read pending dispatches');
    const rows = await this.execute<{ id: string }>(
      `SELECT DISTINCT (data->>'stepExecutionId')::bigint::text AS id FROM ${this.schema}.job WHERE name = $1 AND state = ANY($2::${this.schema}.job_state[])`,
      [this.queue, LIVE_STATES],
    );
    return new Set(rows.filter((row) => row.id !== null).map((row) => Number(row.id)));
  }

  /** Deletes every job of the queue, whatever its state (tests simulate a lost queue with it). */
  async purge(): Promise<void> {
    this.assertOpen('purge');
    await this.execute(`DELETE FROM ${this.schema}.job WHERE name = $1`, [this.queue]);
  }

  /** Stops every consumer (waiting for their handlers), then pg-boss, and ends its pool. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.consumers].map((consumer) => consumer.stop()));
      // Graceful: pg-boss waits for its workers' jobs in flight (none are left by now), then ends its pool.
      await this.boss.stop({ graceful: true, wait: true, close: true, timeout: 30_000 });
      this.logger?.debug({ event: 'pg-boss.stopped' }, 'pg-boss dispatcher closed');
    })();
    return this.closing;
  }

  private async execute<Row>(text: string, values: unknown[]): Promise<Row[]> {
    // pg-boss's Db answers `undefined` once its pool is closed.
    const result = (await this.boss.getDb().executeSql(text, values)) as { rows: Row[] } | undefined;
    if (!result) throw new IllegalStateError('PgBossDispatcher', 'closed', 'query pg-boss');
    return result.rows;
  }

  private assertOpen(action: string): void {
    if (this.closing) throw new IllegalStateError('PgBossDispatcher', 'closed', action);
  }
}

/**
 * `concurrency` pg-boss workers on one queue, one job per fetch. A job completes when the handler
 * resolves and fails (so pg-boss retries it) when it rejects.
 */
class PgBossConsumer implements DispatchConsumer {
  private readonly workerIds: string[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly waiting: Array<() => void> = [];
  private running = 0;
  private stopped = false;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly boss: PgBoss,
    private readonly queue: string,
    private readonly expireInSeconds: number,
    private readonly handler: (message: DispatchMessage) => Promise<void>,
    private readonly concurrency: number,
    private readonly logger: Logger | undefined,
    private readonly onStopped: () => void,
  ) {}

  async start(pollingIntervalSeconds: number): Promise<void> {
    for (let i = 0; i < this.concurrency && !this.stopped; i++) {
      let workerId = '';
      workerId = await this.boss.work<JobData>(this.queue, { batchSize: 1, pollingIntervalSeconds }, async (jobs) => {
        await this.deliver(jobs);
        // pg-boss 10 sleeps out the rest of its polling interval after every job, even when more
        // wait; a notified worker fetches again at once (skipped partitions, short ones, a backlog).
        if (!this.stopped) this.boss.notifyWorker(workerId);
      });
      this.workerIds.push(workerId);
    }
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.stopped = true;
      // offWork only asks each worker loop to end; it does not wait for it (pg-boss 10).
      await Promise.all(this.workerIds.map((id) => this.boss.offWork({ id })));
      while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
      this.onStopped();
    })();
    return this.stopping;
  }

  private deliver(jobs: ReadonlyArray<PgBoss.Job<JobData>>): Promise<void> {
    const delivery = this.handle(jobs);
    const tracked = delivery.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.add(tracked);
    void tracked.then(() => this.inFlight.delete(tracked));
    return delivery;
  }

  private async handle(jobs: ReadonlyArray<PgBoss.Job<JobData>>): Promise<void> {
    const [job] = jobs;
    if (!job) return;
    if (this.stopped) {
      // A fetch that was under way when `stop` was called. pg-boss 10 has no way to hand the job
      // back, so it is failed: pg-boss offers it again after the retry delay (one retry used).
      throw new ConsumerStoppedError(this.queue);
    }
    const message = toMessage(job.data);
    const started = Date.now();
    await this.acquire();
    if (this.stopped) {
      this.release();
      throw new ConsumerStoppedError(this.queue);
    }
    try {
      await this.handler(message);
    } catch (error) {
      this.logger?.warn(
        { event: 'pg-boss.handler_failed', stepExecutionId: message.stepExecutionId, err: error },
        `Handler failed for ${message.stepName}; pg-boss will offer it again while retries last`,
      );
      throw error;
    } finally {
      this.release();
    }
    // pg-boss completes the job itself once this resolves, without waiting for it. Completing it
    // here first means that when `stop` resolves, the queue already shows the job as done. Not
    // when the delivery is close to its expiry: pg-boss may have failed it already and another
    // worker may hold it (pg-boss 10's `complete` does not tell one attempt from another).
    if (Date.now() - started < this.expireInSeconds * 1000 * 0.9) {
      try {
        await this.boss.complete(this.queue, job.id);
      } catch (error) {
        // pg-boss completes it right after anyway; a job it cannot complete is offered again.
        this.logger?.warn({ event: 'pg-boss.complete_failed', stepExecutionId: message.stepExecutionId, err: error }, 'Could not complete the pg-boss job');
      }
    }
  }

  /**
   * pg-boss stops waiting for a handler at its job's expiry and its worker fetches again, while the
   * handler may still run: the count here keeps the handlers themselves at `concurrency`.
   */
  private async acquire(): Promise<void> {
    if (this.running < this.concurrency) {
      this.running++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}

class ConsumerStoppedError extends Error {
  constructor(queue: string) {
    super(`The consumer of pg-boss queue '${queue}' is stopping; the job will be offered again`);
    this.name = 'ConsumerStoppedError';
  }
}

function toMessage(data: unknown): DispatchMessage {
  const value = (data ?? {}) as Record<string, unknown>;
  const { jobName, jobExecutionId, managerStepName, stepExecutionId, stepName } = value;
  if (
    typeof jobName !== 'string' ||
    typeof jobExecutionId !== 'number' ||
    typeof managerStepName !== 'string' ||
    typeof stepExecutionId !== 'number' ||
    typeof stepName !== 'string'
  ) {
    throw new InvalidConfigurationError(`A pg-boss job on the partition queue is not a dispatch message: ${JSON.stringify(data)}`);
  }
  return { jobName, jobExecutionId, managerStepName, stepExecutionId, stepName };
}

function validate(settings: Settings): void {
  const problems: string[] = [];
  // Both go into SQL text: only plain names.
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,49}$/.test(settings.schema)) problems.push(`schema '${settings.schema}' is not a plain name (letters, digits, _; at most 50)`);
  if (!/^[A-Za-z0-9_-]+$/.test(settings.queue)) problems.push(`queue '${settings.queue}' may contain only letters, digits, _ and -`);
  if (!(settings.pollingIntervalSeconds >= 0.5)) problems.push(`pollingIntervalSeconds must be at least 0.5, not ${settings.pollingIntervalSeconds}`);
  if (!Number.isInteger(settings.expireInSeconds) || settings.expireInSeconds < 1 || settings.expireInSeconds >= 24 * 3600) {
    problems.push(`expireInSeconds must be a whole number from 1 to below 24 hours, not ${settings.expireInSeconds}`);
  }
  if (!Number.isInteger(settings.retryLimit) || settings.retryLimit < 1) problems.push(`retryLimit must be a whole number of at least 1, not ${settings.retryLimit}`);
  if (!Number.isInteger(settings.retryDelaySeconds) || settings.retryDelaySeconds < 0) {
    problems.push(`retryDelaySeconds must be a whole number of at least 0, not ${settings.retryDelaySeconds}`);
  }
  if (problems.length) throw new InvalidConfigurationError(`Invalid pg-boss dispatcher options: ${problems.join('; ')}`);
}

/**
 * pg-boss 10's create_queue deadlocks when two processes create one queue at once (each holds the
 * new row the other's foreign key waits for): workers and launchers that start together on a fresh
 * database hit it. An existing queue is left alone; a deadlock or a lost race is tried again after
 * a short random pause, by which time the winner's queue exists.
 */
async function createQueueOnce(boss: PgBoss, settings: Settings): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    if (await boss.getQueue(settings.queue)) return;
    try {
      await boss.createQueue(settings.queue, {
        name: settings.queue,
        policy: 'standard',
        retryLimit: settings.retryLimit,
        retryDelay: settings.retryDelaySeconds,
        expireInSeconds: settings.expireInSeconds,
      });
      return;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (attempt >= 8 || (code !== '40P01' && code !== '23505' && code !== '40001')) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25 + Math.random() * 100 * attempt));
    }
  }
}
