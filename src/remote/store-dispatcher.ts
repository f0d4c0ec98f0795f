import type { Logger } from '../domain/logger.js';
import type { KvStore, KvTransaction } from '../repository/kv-store.js';
import type { ConsumeOptions, DispatchConsumer, DispatchMessage, Dispatcher } from './dispatcher.js';
import { startPollingLoops } from './polling-consumer.js';

const QUEUE_PREFIX = 'rq/';
const queueKey = (stepExecutionId: number) => `${QUEUE_PREFIX}${stepExecutionId.toString().padStart(12, '0')}`;

/**
 * The embedded default: the queue is a key range of the repository's own store, so a dispatch is
 * part of the transaction that writes its partition by construction. Works wherever the store is
 * shared: in one process (memory), between processes of one host (LMDB), or between hosts
 * (PostgreSQL, though pg-boss is the default there). Taking a message removes it in one
 * transaction, so one consumer gets it; a consumer that dies holding it loses it, and the
 * reconciler dispatches that partition again from the repository.
 */
export class StoreDispatcher implements Dispatcher {
  readonly name = 'store';

  constructor(
    private readonly store: KvStore,
    private readonly logger: Logger,
    private readonly pollMs = 100,
  ) {}

  enqueue(tx: KvTransaction, message: DispatchMessage): void {
    tx.put(queueKey(message.stepExecutionId), message);
  }

  async consume(handler: (message: DispatchMessage) => Promise<void>, options: ConsumeOptions): Promise<DispatchConsumer> {
    return startPollingLoops<DispatchMessage>({
      concurrency: options.concurrency,
      pollMs: this.pollMs,
      take: () =>
        this.store.write((tx) => {
          const [first] = tx.range<DispatchMessage>(QUEUE_PREFIX, { limit: 1 });
          if (!first) return undefined;
          tx.remove(first.key);
          return first.value;
        }),
      handle: async (message) => {
        try {
          await handler(message);
        } catch (error) {
          this.logger.warn({ event: 'dispatch.handler_failed', stepExecutionId: message.stepExecutionId, err: error }, 'Dispatch handler failed; the message goes back');
          await this.store.write((tx) => this.enqueue(tx, message)).catch(() => undefined);
        }
      },
      onError: (error) => this.logger.warn({ event: 'dispatch.take_failed', err: error }, 'Could not take a message'),
    });
  }

  async pendingStepExecutionIds(): Promise<ReadonlySet<number>> {
    return new Set(this.store.read((tx) => tx.range<DispatchMessage>(QUEUE_PREFIX)).map(({ value }) => value.stepExecutionId));
  }

  /** Drops every message (a lost queue, for tests of the reconciler). */
  async purge(): Promise<void> {
    await this.store.write((tx) => {
      for (const { key } of tx.range(QUEUE_PREFIX)) tx.remove(key);
    });
  }

  async close(): Promise<void> {}
}
