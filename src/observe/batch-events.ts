import { channel } from 'node:diagnostics_channel';
import type { BatchEvent, BatchEventListener, BatchEventSink } from '../domain/batch-event.js';
import type { Logger } from '../domain/logger.js';

/** The diagnostics channel every event is also published on, for APM agents that do not know tsbatch. */
export const BATCH_EVENTS_CHANNEL = 'tsbatch:events';

/**
 * The runtime's event hub: `runtime.events.subscribe(listener)`. Events go to the subscribers and
 * to the `tsbatch:events` diagnostics channel; with neither, publishing is skipped before an event
 * is even built (`active` is false).
 */
export class BatchEvents implements BatchEventSink {
  private readonly listeners = new Set<BatchEventListener>();
  private readonly diagnostics = channel(BATCH_EVENTS_CHANNEL);

  constructor(private readonly logger: Logger) {}

  get active(): boolean {
    return this.listeners.size > 0 || this.diagnostics.hasSubscribers;
  }

  /** Calls `listener` with every event from now on; returns the function that unsubscribes it. */
  subscribe(listener: BatchEventListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Delivers an event; the runtime's parts call it (listeners that throw are logged and skipped). */
  publish(event: BatchEvent): void {
    if (this.diagnostics.hasSubscribers) this.diagnostics.publish(event);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.warn({ event: 'events.listener_failed', eventType: event.type, err: error }, 'An event listener threw; the event goes on to the others');
      }
    }
  }
}
