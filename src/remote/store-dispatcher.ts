import type { Logger } from '../domain/logger.js';
import type { KvStore, KvTransaction } from '../repository/kv-store.js';
import type { ConsumeOptions, DispatchConsumer, DispatchMessage, Dispatcher } from './dispatcher.js';
import { startPollingLoops } from './polling-consumer.js';

const QUEUE_PREFIX = 'rq/';
const queueKey = (stepExecutionId: number) => `${QUEUE_PREFIX}${stepExecutionId.toString().padStart(12, '0')}`;

/** A queued message; `takenUntil` hides it from other consumers while one handles it. */
interface QueuedMessage {
  readonly message: DispatchMessage;
  readonly takenUntil?: number;
}

/**
 * The embedded default: the queue is a key range of the repository's own store, so a dispatch is
 * part of the transaction that writes its partition by construction. Works wherever the store is
 * shared: in one process (memory), between processes of one host (LMDB), or between hosts
 * (PostgreSQL, though pg-boss is the default there). Taking a message hides it for `visibilityMs`
 * instead of removing it, so it stays pending while it is handled; the handler's success removes
 * it. A consumer that dies holding one lets it reappear when the time runs out (and the partition's
 * own lease and the reconciler bring the partition back sooner).
 */
export class StoreDispatcher implements Dispatcher {
  readonly name = 'store';

  constructor(
    private readonly store: KvStore,
    private readonly logger: Logger,
    private readonly options: { readonly pollMs?: number; readonly visibilityMs?: number } = {},
  ) {}

  enqueue(tx: KvTransaction, message: DispatchMessage): void {
    tx.put(queueKey(message.stepExecutionId), { message } satisfies QueuedMessage);
  }

  async consume(handler: (message: DispatchMessage) => Promise<void>, options: ConsumeOptions): Promise<DispatchConsumer> {
    const visibilityMs = this.options.visibilityMs ?? 60_000;
    return startPollingLoops<{ key: string; taken: QueuedMessage }>({
      concurrency: options.concurrency,
      pollMs: this.options.pollMs ?? 100,
      take: () =>
        this.store.write((tx) => {
          const now = tx.now?.() ?? Date.now();
          for (const { key, value } of tx.range<QueuedMessage>(QUEUE_PREFIX)) {
            if (value.takenUntil !== undefined && value.takenUntil > now) continue;
            const taken: QueuedMessage = { message: value.message, takenUntil: now + visibilityMs };
            tx.put(key, taken);
            return { key, taken };
          }
          return undefined;
        }),
      handle: async ({ key, taken }) => {
        let handled = true;
        try {
          await handler(taken.message);
        } catch (error) {
          handled = false;
          this.logger.warn({ event: 'dispatch.handler_failed', stepExecutionId: taken.message.stepExecutionId, err: error }, 'Dispatch handler failed; the message goes back');
        }
        await this.store
          .write((tx) => {
            // Only the delivery this consumer took: a message enqueued again meanwhile stays.
            if (tx.get<QueuedMessage>(key)?.takenUntil !== taken.takenUntil) return;
            if (handled) tx.remove(key);
            else tx.put(key, { message: taken.message } satisfies QueuedMessage);
          })
          .catch((error: unknown) => this.logger.warn({ event: 'dispatch.ack_failed', err: error }, 'Could not settle a message; it reappears when its time runs out'));
      },
      onError: (error) => this.logger.warn({ event: 'dispatch.take_failed', err: error }, 'Could not take a message'),
    });
  }

  async pendingStepExecutionIds(): Promise<ReadonlySet<number>> {
    return new Set(this.store.read((tx) => tx.range<QueuedMessage>(QUEUE_PREFIX)).map(({ value }) => value.message.stepExecutionId));
  }

  /** Drops every message (a lost queue, for tests of the reconciler). */
  async purge(): Promise<void> {
    await this.store.write((tx) => {
      for (const { key } of tx.range(QUEUE_PREFIX)) tx.remove(key);
    });
  }

  async close(): Promise<void> {}
}
