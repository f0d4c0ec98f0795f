import type { KvTransaction } from '../repository/kv-store.js';

/**
 * What travels through a queue: ids only. The repository holds the truth (the partition's step
 * execution, its context, its claim); a message only says "this one needs a worker".
 */
export interface DispatchMessage {
  readonly jobName: string;
  readonly jobExecutionId: number;
  /** The partitioned (manager) step, through which a worker finds the worker step. */
  readonly managerStepName: string;
  readonly stepExecutionId: number;
  /** `<manager>:<partition>` */
  readonly stepName: string;
}

export interface ConsumeOptions {
  /** How many messages this process handles at once. */
  readonly concurrency: number;
}

/** A running subscription; `stop` stops fetching and resolves once the handlers in flight are done. */
export interface DispatchConsumer {
  stop(): Promise<void>;
}

/**
 * The port between the repository and whatever carries work to workers. Every implementation
 * enqueues inside the repository's own write transaction (`enqueue` runs synchronously in the
 * transaction body), so a dispatch exists exactly when the repository row that asked for it does.
 * Delivery is at least once: a handler may see a message twice, or a message for work that is
 * already done; the claim in the repository decides, never the queue.
 */
export interface Dispatcher {
  /** For logs and errors: `store`, `pg-boss`, `skip-locked`. */
  readonly name: string;
  /** Called in the body of the repository's write transaction; must not start a transaction of its own. */
  enqueue(tx: KvTransaction, message: DispatchMessage): void;
  /** Delivers messages to `handler`; a message counts as handled when the handler's promise settles. */
  consume(handler: (message: DispatchMessage) => Promise<void>, options: ConsumeOptions): Promise<DispatchConsumer>;
  /**
   * The step execution ids with a message still waiting or in delivery, as the queue sees them now.
   * The reconciler dispatches again whatever the repository needs and this set lacks.
   */
  pendingStepExecutionIds(): Promise<ReadonlySet<number>>;
  close(): Promise<void>;
}
