import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DispatchConsumer, DispatchMessage, Dispatcher } from '../../src/remote/dispatcher.js';
import type { KvStore } from '../../src/repository/kv-store.js';

/** What a dispatcher implementation hands the contract: a fresh queue, and the store whose transactions enqueue. */
export interface DispatcherFixture {
  readonly dispatcher: Dispatcher & { purge?(): Promise<void> };
  readonly store: KvStore;
  /** Another dispatcher on the same queue, as a second process would open it (when the backend has one). */
  readonly second?: () => Promise<Dispatcher>;
  /** Closes everything the fixture opened, `second`'s dispatchers included. */
  close(): Promise<void>;
}

const WAIT_MS = 10_000;

/** Polls `check` until it stops throwing, or rethrows its last failure after `timeoutMs`. */
async function eventually(check: () => void | Promise<void>, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(25);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise with its resolver, to hold handlers until a test lets them go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

// Ids differ between tests and runs, so a message left over by an earlier test can never be taken for this one's.
let nextId = 1_000_000 + Math.floor(Math.random() * 1_000_000) * 100;

function message(overrides: Partial<DispatchMessage> = {}): DispatchMessage {
  const stepExecutionId = nextId++;
  return {
    jobName: 'orders',
    jobExecutionId: 7,
    managerStepName: 'load',
    stepExecutionId,
    stepName: `load:partition${stepExecutionId}`,
    ...overrides,
  };
}

/**
 * The Dispatcher conformance suite: what a user of remote partitioning notices. Messages are
 * enqueued in the store's write transaction together with a repository row, as the partitioner
 * does; delivery is at least once.
 */
export function describeDispatcherContract(name: string, setup: () => Promise<DispatcherFixture>): void {
  describe(`Dispatcher contract: ${name}`, () => {
    let fixture: DispatcherFixture;
    let consumers: DispatchConsumer[];

    beforeEach(async () => {
      fixture = await setup();
      consumers = [];
    });

    afterEach(async () => {
      await Promise.all(consumers.map((consumer) => consumer.stop()));
      await fixture.close();
    });

    /** One committed repository transaction that writes a row per message and enqueues it. */
    async function dispatch(...messages: DispatchMessage[]): Promise<void> {
      const { dispatcher } = fixture;
      await fixture.store.write((tx) => {
        for (const m of messages) {
          tx.put(`dispatch-contract/${m.stepExecutionId}`, { status: 'QUEUED' });
          dispatcher.enqueue(tx, m);
        }
      });
    }

    async function consume(
      handler: (m: DispatchMessage) => Promise<void>,
      concurrency = 1,
      dispatcher: Dispatcher = fixture.dispatcher,
    ): Promise<DispatchConsumer> {
      const consumer = await dispatcher.consume(handler, { concurrency });
      consumers.push(consumer);
      return consumer;
    }

    /** A handler that records every delivery and resolves at once. */
    function recorder(): { seen: DispatchMessage[]; handler: (m: DispatchMessage) => Promise<void>; count: (id: number) => number } {
      const seen: DispatchMessage[] = [];
      return {
        seen,
        handler: async (m) => void seen.push(m),
        count: (id) => seen.filter((m) => m.stepExecutionId === id).length,
      };
    }

    it('delivers a message enqueued in a committed transaction, with the same fields, to the handler', async () => {
      const sent = message({ jobName: 'invoices', jobExecutionId: 42, managerStepName: 'export', stepName: 'export:partition3' });
      await dispatch(sent);
      expect(fixture.store.read((tx) => tx.get(`dispatch-contract/${sent.stepExecutionId}`))).toEqual({ status: 'QUEUED' });

      const { seen, handler, count } = recorder();
      await consume(handler);

      await eventually(() => expect(seen).toHaveLength(1));
      expect(seen[0]).toEqual(sent);
      await sleep(1000);
      expect(count(sent.stepExecutionId), 'a handled message is not delivered again').toBe(1);
    });

    it('never delivers, and never lists as pending, a message whose transaction rolled back', async () => {
      const lost = message();
      await expect(
        fixture.store.write((tx) => {
          tx.put(`dispatch-contract/${lost.stepExecutionId}`, { status: 'QUEUED' });
          fixture.dispatcher.enqueue(tx, lost);
          throw new Error('the partitioner failed after enqueueing');
        }),
      ).rejects.toThrow('the partitioner failed after enqueueing');
      expect(fixture.store.read((tx) => tx.get(`dispatch-contract/${lost.stepExecutionId}`))).toBeUndefined();
      expect(await fixture.dispatcher.pendingStepExecutionIds()).not.toContain(lost.stepExecutionId);

      // A message enqueued afterwards is delivered; the rolled-back one still is not.
      const later = message();
      await dispatch(later);
      const { seen, handler, count } = recorder();
      await consume(handler);
      await eventually(() => expect(count(later.stepExecutionId)).toBe(1));
      await sleep(500);
      expect(count(lost.stepExecutionId)).toBe(0);
      expect(await fixture.dispatcher.pendingStepExecutionIds()).not.toContain(lost.stepExecutionId);
      expect(seen.map((m) => m.stepExecutionId)).toEqual([later.stepExecutionId]);
    });

    it('lists enqueued messages as pending until their handler resolves, including while it runs', async () => {
      const [a, b, c] = [message(), message(), message()];
      await dispatch(a, b);
      await dispatch(c);
      const before = await fixture.dispatcher.pendingStepExecutionIds();
      expect([...before]).toEqual(expect.arrayContaining([a.stepExecutionId, b.stepExecutionId, c.stepExecutionId]));

      const hold = gate();
      const started = new Set<number>();
      const finished = new Set<number>();
      await consume(async (m) => {
        started.add(m.stepExecutionId);
        await hold.promise;
        finished.add(m.stepExecutionId);
      }, 3);

      try {
        await eventually(() => expect(started.size).toBe(3));
        const inDelivery = await fixture.dispatcher.pendingStepExecutionIds();
        expect([...inDelivery], 'a message in delivery is still pending').toEqual(
          expect.arrayContaining([a.stepExecutionId, b.stepExecutionId, c.stepExecutionId]),
        );
      } finally {
        // A failure above must not leave the handlers (and afterEach's stop) waiting for ever.
        hold.open();
      }
      await eventually(async () => {
        const after = await fixture.dispatcher.pendingStepExecutionIds();
        expect([...after].filter((id) => [a, b, c].some((m) => m.stepExecutionId === id))).toEqual([]);
      });
      expect(finished.size).toBe(3);
    });

    it('delivers a message again after its handler rejects', async () => {
      const flaky = message();
      await dispatch(flaky);
      const attempts: DispatchMessage[] = [];
      await consume(async (m) => {
        attempts.push(m);
        if (attempts.length === 1) throw new Error('the worker failed this time');
      });

      await eventually(() => expect(attempts.length).toBeGreaterThanOrEqual(2));
      expect(attempts[1]).toEqual(flaky);
      await eventually(async () => expect(await fixture.dispatcher.pendingStepExecutionIds()).not.toContain(flaky.stepExecutionId));
      await sleep(500);
      expect(attempts, 'once the handler resolves, the message is not delivered again').toHaveLength(2);
    });

    it('runs no more than `concurrency` handlers at once, and runs them side by side', async () => {
      const messages = Array.from({ length: 12 }, () => message());
      await dispatch(...messages);
      let running = 0;
      let most = 0;
      const handled = new Set<number>();
      await consume(async (m) => {
        running++;
        most = Math.max(most, running);
        await sleep(150);
        running--;
        handled.add(m.stepExecutionId);
      }, 3);

      await eventually(() => expect(handled.size).toBe(12));
      expect(most).toBeLessThanOrEqual(3);
      expect(most).toBeGreaterThan(1);
    });

    it('stop() resolves only after the handlers in flight finish, and nothing is delivered after it', async () => {
      const first = [message(), message()];
      await dispatch(...first);
      const hold = gate();
      const events: string[] = [];
      const delivered: number[] = [];
      const consumer = await consume(async (m) => {
        delivered.push(m.stepExecutionId);
        events.push(`start ${m.stepExecutionId}`);
        await hold.promise;
        events.push(`end ${m.stepExecutionId}`);
      }, 2);
      await eventually(() => expect(delivered).toHaveLength(2));

      let stopped = false;
      const stopping = consumer.stop().then(() => {
        stopped = true;
        events.push('stopped');
      });
      await sleep(300);
      expect(stopped, 'stop() waits for the handlers in flight').toBe(false);
      hold.open();
      await stopping;
      expect(events.slice(-1)).toEqual(['stopped']);
      expect(events.filter((e) => e.startsWith('end'))).toHaveLength(2);

      const afterStop = [message(), message()];
      await dispatch(...afterStop);
      await sleep(1500);
      expect(delivered.filter((id) => afterStop.some((m) => m.stepExecutionId === id))).toEqual([]);
      // They wait for another consumer.
      expect([...(await fixture.dispatcher.pendingStepExecutionIds())]).toEqual(
        expect.arrayContaining(afterStop.map((m) => m.stepExecutionId)),
      );
    });

    it('hands each of 50 messages to exactly one of two consumers when handlers succeed', async () => {
      const other = fixture.second ? await fixture.second() : fixture.dispatcher;
      const messages = Array.from({ length: 50 }, () => message());
      const byConsumer: [number[], number[]] = [[], []];
      await consume(async (m) => void byConsumer[0].push(m.stepExecutionId), 4);
      await consume(async (m) => void byConsumer[1].push(m.stepExecutionId), 4, other);
      for (let i = 0; i < messages.length; i += 10) await dispatch(...messages.slice(i, i + 10));

      await eventually(() => expect(new Set([...byConsumer[0], ...byConsumer[1]]).size).toBe(50));
      await sleep(500);
      const all = [...byConsumer[0], ...byConsumer[1]];
      expect(all, 'no message is handled twice').toHaveLength(50);
      expect(new Set(all)).toEqual(new Set(messages.map((m) => m.stepExecutionId)));
      await eventually(async () => {
        const pending = await fixture.dispatcher.pendingStepExecutionIds();
        expect(messages.filter((m) => pending.has(m.stepExecutionId))).toEqual([]);
      });
    });

    it('purge() (where the dispatcher has it) drops every pending message, as a lost queue would', async (context) => {
      const purge = fixture.dispatcher.purge?.bind(fixture.dispatcher);
      if (!purge) {
        context.skip(`${name} has no purge()`);
        return;
      }
      const messages = [message(), message(), message()];
      await dispatch(...messages);
      expect([...(await fixture.dispatcher.pendingStepExecutionIds())]).toEqual(
        expect.arrayContaining(messages.map((m) => m.stepExecutionId)),
      );

      await purge();
      const pending = await fixture.dispatcher.pendingStepExecutionIds();
      expect(messages.filter((m) => pending.has(m.stepExecutionId))).toEqual([]);
      const { seen, handler } = recorder();
      await consume(handler);
      await sleep(1000);
      expect(seen.filter((m) => messages.some((sent) => sent.stepExecutionId === m.stepExecutionId))).toEqual([]);
      // The repository rows are untouched: the reconciler finds the work there.
      expect(fixture.store.read((tx) => tx.get(`dispatch-contract/${messages[0]!.stepExecutionId}`))).toEqual({ status: 'QUEUED' });
    });
  });
}
