/**
 * Read-ahead is bounded (DESIGN 4): however large the input, the pipeline never holds more than
 * (readAhead + 1) × chunkSize items that are read but not yet committed. The reader here is backed
 * by a generator (no array of the input is ever built) and records, at every read, how far it runs
 * ahead of the items already committed.
 */
import { describe, expect, it } from 'vitest';
import { BatchRuntime, job, step, type ItemReader } from '../../src/index.js';

interface LeadProbe {
  itemsRead: number;
  committedItems: number;
  maxLead: number;
}

function* naturals(count: number): Generator<number, void, undefined> {
  for (let i = 1; i <= count; i++) yield i;
}

/** A generator-backed reader that measures its lead over the committed items at every read. */
function leadMeasuringReader(count: number, probe: LeadProbe): ItemReader<number> {
  const source = naturals(count);
  return {
    read() {
      const next = source.next();
      if (next.done) return null;
      probe.itemsRead += 1;
      const lead = probe.itemsRead - probe.committedItems;
      if (lead > probe.maxLead) probe.maxLead = lead;
      return next.value;
    },
  };
}

async function runBounded(count: number, chunkSize: number, readAhead: number) {
  const probe: LeadProbe = { itemsRead: 0, committedItems: 0, maxLead: 0 };
  let itemsWritten = 0;
  const runtime = await BatchRuntime.open({ inMemory: true, logger: false });
  try {
    const bigJob = job(`bounded-${count}-${readAhead}`)
      .start(
        step('big')
          .chunk<number, number>(chunkSize)
          .readAhead(readAhead)
          .reader(() => leadMeasuringReader(count, probe))
          .writer({ write: (chunk) => void (itemsWritten += chunk.size) })
          // afterChunk runs inside the chunk's transaction, just before its commit: from here on
          // the chunk's items no longer count against the read-ahead bound.
          .listener({ afterChunk: (chunk) => void (probe.committedItems += chunk.size) })
          .build(),
      )
      .build();
    const started = performance.now();
    const execution = await runtime.launcher.run(bigJob);
    const elapsedMs = performance.now() - started;
    return { execution, probe, itemsWritten, elapsedMs };
  } finally {
    await runtime.close();
  }
}

describe('bounded read-ahead: memory holds at most (readAhead + 1) × chunkSize items', () => {
  it('5,000,000 items, chunk 1000, readAhead 1: the reader never leads the commits by more than 2000 items', async () => {
    const { execution, probe, itemsWritten, elapsedMs } = await runBounded(5_000_000, 1000, 1);
    expect(execution.status).toBe('COMPLETED');
    const s = execution.stepExecutions[0]!;
    expect(s.readCount).toBe(5_000_000);
    expect(s.writeCount).toBe(5_000_000);
    expect(s.commitCount).toBe(5000);
    expect(s.rollbackCount).toBe(0);
    expect(itemsWritten).toBe(5_000_000);
    expect(probe.itemsRead).toBe(5_000_000);
    expect(probe.maxLead).toBeLessThanOrEqual((1 + 1) * 1000);
    // The read-ahead is really used: the reader does get ahead of the chunk being committed.
    expect(probe.maxLead).toBeGreaterThan(1000);
    console.info(`bounded-memory: 5,000,000 items, chunk 1000, readAhead 1 in ${Math.round(elapsedMs)} ms; max lead ${probe.maxLead}`);
  });

  it('500,000 items, chunk 1000, readAhead 3: the lead stays within 4000 items', async () => {
    const { execution, probe, elapsedMs } = await runBounded(500_000, 1000, 3);
    expect(execution.status).toBe('COMPLETED');
    const s = execution.stepExecutions[0]!;
    expect(s.readCount).toBe(500_000);
    expect(s.writeCount).toBe(500_000);
    expect(s.commitCount).toBe(500);
    expect(probe.maxLead).toBeLessThanOrEqual((3 + 1) * 1000);
    console.info(`bounded-memory: 500,000 items, chunk 1000, readAhead 3 in ${Math.round(elapsedMs)} ms; max lead ${probe.maxLead}`);
  });

  it('readAhead 0 reads a chunk only after the previous one committed: the lead never exceeds one chunk', async () => {
    const { execution, probe } = await runBounded(100_000, 1000, 0);
    expect(execution.status).toBe('COMPLETED');
    expect(execution.stepExecutions[0]!.commitCount).toBe(100);
    expect(probe.maxLead).toBeLessThanOrEqual(1000);
    expect(probe.maxLead).toBe(1000);
  });
});

describe('read-ahead fills the I/O waits of the chunk being handled', () => {
  it('a chunk read ahead is read once the chunk before it is processed and its write is waiting, not before', async () => {
    const events: string[] = [];
    let next = 0;
    const runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    try {
      const ordered = job('read-ahead-order')
        .start(
          step('ordered')
            .chunk<number, number>(10)
            .readAhead(1)
            .reader(() => ({
              read: () => {
                if (next >= 60) return null;
                next += 1;
                if (next % 10 === 1) events.push(`read ${Math.ceil(next / 10)}`);
                return next;
              },
            }))
            .processor((n) => {
              if (n % 10 === 1) events.push(`process ${Math.ceil(n / 10)}`);
              return n;
            })
            .writer({
              async write(chunk) {
                const k = Math.ceil(chunk.items[0]! / 10);
                events.push(`write ${k}`);
                // A write that waits for the disk, as a file writer's does.
                await new Promise((resolve) => setTimeout(resolve, 2));
                events.push(`written ${k}`);
              },
            })
            .build(),
        )
        .build();
      expect((await runtime.launcher.run(ordered)).status).toBe('COMPLETED');
    } finally {
      await runtime.close();
    }
    // Chunks 1 and 2 are read at once (readAhead 1). After that, chunk k is read while chunk k - 1,
    // processed, waits on its write: not earlier, when reading would delay that chunk's processing,
    // and not later, when the wait would be wasted.
    for (let k = 3; k <= 6; k++) {
      const order = `${events.join(', ')}`;
      expect(events.indexOf(`read ${k}`), order).toBeGreaterThan(events.indexOf(`write ${k - 1}`));
      expect(events.indexOf(`read ${k}`), order).toBeLessThan(events.indexOf(`written ${k - 1}`));
    }
  });
});
