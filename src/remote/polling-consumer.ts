import type { DispatchConsumer } from './dispatcher.js';

export interface PollingLoopOptions<T> {
  readonly concurrency: number;
  /** How long an idle loop waits before asking again. */
  readonly pollMs: number;
  /** Takes the next message, or undefined when there is none now. */
  readonly take: () => Promise<T | undefined>;
  /** Handles one message; must not reject (acknowledge or give the message back inside). */
  readonly handle: (message: T) => Promise<void>;
  /** Told when `take` failed (the store was away); the loop waits one poll and goes on. */
  readonly onError: (error: unknown) => void;
}

/**
 * `concurrency` loops that each take one message, handle it, and take the next; an idle loop
 * sleeps `pollMs`. `stop` wakes the sleepers and resolves when every loop has finished its message.
 */
export function startPollingLoops<T>(options: PollingLoopOptions<T>): DispatchConsumer {
  let stopping = false;
  const sleepers = new Set<() => void>();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      sleepers.add(wake);
    });
  const loop = async (): Promise<void> => {
    while (!stopping) {
      let message: T | undefined;
      try {
        message = await options.take();
      } catch (error) {
        options.onError(error);
      }
      if (message === undefined) {
        if (!stopping) await sleep(options.pollMs);
        continue;
      }
      await options.handle(message);
    }
  };
  const loops = Array.from({ length: Math.max(1, options.concurrency) }, loop);
  return {
    async stop() {
      stopping = true;
      for (const wake of [...sleepers]) wake();
      await Promise.all(loops);
    },
  };
}
