/**
 * Property: a multi-threaded step (taskExecutor({ concurrency })) stays exactly restartable.
 * Whatever the concurrency (1..6), chunk size, item count, read-ahead, processor concurrency and
 * the place and phase (processor or writer) of a single failure, "fail once, then restart" commits
 * every item exactly once and in order, and the counts of both executions are those of a
 * single-threaded step: chunks after the failing one may already have been processed, but they
 * never commit and are not counted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchRuntime, job, step, type ExecutionContext, type ItemReader, type ItemStream, type StepExecution } from '../../src/index.js';

type Phase = 'processor' | 'writer';

interface Case {
  readonly items: number;
  readonly chunkSize: number;
  readonly readAhead: number;
  readonly concurrency: number;
  readonly processorConcurrency: number;
  readonly phase: Phase;
  /** The 1-based item whose processing or write fails on the first run (ignored when items is 0). */
  readonly failAt: number;
}

const caseArbitrary: fc.Arbitrary<Case> = fc
  .record({
    items: fc.integer({ min: 0, max: 150 }),
    chunkSize: fc.integer({ min: 1, max: 12 }),
    readAhead: fc.integer({ min: 0, max: 2 }),
    concurrency: fc.integer({ min: 1, max: 6 }),
    processorConcurrency: fc.integer({ min: 1, max: 3 }),
    phase: fc.constantFrom<Phase>('processor', 'writer'),
  })
  .chain((c) => fc.integer({ min: 1, max: Math.max(1, c.items) }).map((failAt) => ({ ...c, failAt })));

const POSITION_KEY = 'numbers.position';

class NumberReader implements ItemReader<number>, ItemStream {
  private position = 0;
  constructor(
    private readonly total: number,
    private readonly onRead: (item: number) => void,
  ) {}
  open(context: ExecutionContext): void {
    this.position = context.get<number>(POSITION_KEY) ?? 0;
  }
  read(): number | null {
    if (this.position >= this.total) return null;
    this.position += 1;
    this.onRead(this.position);
    return this.position;
  }
  update(context: ExecutionContext): void {
    context.put(POSITION_KEY, this.position);
  }
}

/** Yields to the event loop a few times, more for some items than others, so chunks finish out of order. */
async function hops(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
const pad = (n: number): string => String(n).padStart(8, '0');
const countsOf = (s: StepExecution) => ({
  readCount: s.readCount,
  writeCount: s.writeCount,
  filterCount: s.filterCount,
  commitCount: s.commitCount,
  rollbackCount: s.rollbackCount,
  skipCount: s.skipCount,
});

let caseNumber = 0;
/** The most chunks seen being processed at once, over all cases: the property really ran concurrent chunks. */
let maxChunksInFlightSeen = 0;

async function failOnceThenRestart(runtime: BatchRuntime, c: Case): Promise<void> {
  const id = ++caseNumber;
  const outStore = `mt-out-${id}`;
  const fails = c.items > 0;
  let failing = fails;
  const readsOfRun: number[][] = [];
  const written: number[] = [];
  const commitOrder: number[] = [];
  let itemsRead = 0;
  let committedItems = 0;
  let maxLead = 0;
  const inFlight = new Map<number, number>();

  const load = step('load')
    .chunk<number, number>(c.chunkSize)
    .readAhead(c.readAhead)
    .reader(() => {
      const reads: number[] = [];
      readsOfRun.push(reads);
      return new NumberReader(c.items, (item) => {
        reads.push(item);
        maxLead = Math.max(maxLead, ++itemsRead - committedItems);
      });
    })
    .processor(
      async (item) => {
        const chunk = Math.floor((item - 1) / c.chunkSize);
        inFlight.set(chunk, (inFlight.get(chunk) ?? 0) + 1);
        maxChunksInFlightSeen = Math.max(maxChunksInFlightSeen, inFlight.size);
        await hops((item * 31) % 4);
        const left = inFlight.get(chunk)! - 1;
        if (left === 0) inFlight.delete(chunk);
        else inFlight.set(chunk, left);
        if (c.phase === 'processor' && failing && item === c.failAt) throw new Error(`cannot process item ${item}`);
        return item;
      },
      { concurrency: c.processorConcurrency },
    )
    .writer({
      write(chunk, transaction) {
        // Staged first, so a failing chunk has staged puts that its rollback must discard.
        const sequence = Number(transaction.chunkKey.split('/').pop());
        chunk.items.forEach((item, index) => transaction.put(outStore, `${pad(sequence)}/${pad(index)}`, item));
        if (c.phase === 'writer' && failing && chunk.items.includes(c.failAt)) throw new Error(`cannot write item ${c.failAt}`);
        written.push(...chunk.items);
      },
    })
    .taskExecutor({ concurrency: c.concurrency })
    .listener({
      afterChunk: (chunk) => {
        committedItems += chunk.size;
        if (chunk.size > 0) commitOrder.push(chunk.items[0]!);
      },
    })
    .build();
  const propertyJob = job(`mt-property-${id}`).start(load).build();
  runtime.registry.register(propertyJob);

  try {
    const first = await runtime.launcher.run(propertyJob, { case: id });
    const firstStep = first.stepExecutions[0]!;
    // Never more than (readAhead + concurrency) chunks read and not yet committed.
    expect(maxLead).toBeLessThanOrEqual((c.readAhead + c.concurrency) * c.chunkSize);

    if (!fails) {
      expect(first.status).toBe('COMPLETED');
      expect(countsOf(firstStep)).toEqual({ readCount: 0, writeCount: 0, filterCount: 0, commitCount: 0, rollbackCount: 0, skipCount: 0 });
      expect(written).toEqual([]);
      return;
    }

    // The chunk holding the failing item (0-based) never commits; the ones before it all did,
    // and none after it, even if they were processed concurrently.
    const failIndex = c.failAt - 1;
    const failedChunk = Math.floor(failIndex / c.chunkSize);
    const committed = failedChunk * c.chunkSize;
    const readInFailedRun = Math.min(committed + c.chunkSize, c.items);

    expect(first.status).toBe('FAILED');
    expect(countsOf(firstStep)).toEqual({
      readCount: readInFailedRun, // not the items read ahead beyond the failed chunk
      writeCount: committed,
      filterCount: 0,
      commitCount: failedChunk,
      rollbackCount: 1,
      skipCount: 0,
    });
    expect(readsOfRun[0]!.slice(0, readInFailedRun)).toEqual(range(1, readInFailedRun));
    const stored = await runtime.explorer.getJobExecution(first.id);
    expect(stored?.stepExecutions[0]?.executionContext.get(POSITION_KEY) ?? 0).toBe(committed);
    expect(stored?.stepExecutions[0]?.commitCount).toBe(failedChunk);
    expect(written).toEqual(range(1, committed));
    expect((await runtime.explorer.getStagedValues(outStore)).map(({ value }) => value)).toEqual(range(1, committed));

    failing = false;
    const second = await runtime.operator.waitFor(await runtime.operator.restart(first.id));
    const secondStep = second.stepExecutions[0]!;
    const remaining = c.items - committed;
    expect(second.status).toBe('COMPLETED');
    expect(readsOfRun[1]![0]).toBe(committed + 1);
    expect(countsOf(secondStep)).toEqual({
      readCount: remaining,
      writeCount: remaining,
      filterCount: 0,
      commitCount: Math.ceil(remaining / c.chunkSize),
      rollbackCount: 0,
      skipCount: 0,
    });
    expect(firstStep.readCount - (readInFailedRun - committed) + secondStep.readCount).toBe(c.items);
    expect(firstStep.writeCount + secondStep.writeCount).toBe(c.items);
    expect(firstStep.commitCount + secondStep.commitCount).toBe(Math.ceil(c.items / c.chunkSize));

    // Chunks committed in read order, every item exactly once, in order: as the writer saw it and
    // as the store committed it.
    expect(commitOrder).toEqual(range(0, Math.ceil(c.items / c.chunkSize) - 1).map((k) => k * c.chunkSize + 1));
    expect(written).toEqual(range(1, c.items));
    expect((await runtime.explorer.getStagedValues(outStore)).map(({ value }) => value)).toEqual(range(1, c.items));
  } finally {
    runtime.registry.unregister(propertyJob.name);
  }
}

describe('multi-threaded step: fail once, then restart, exactly once and in order', () => {
  it('in memory (150 runs over concurrency 1..6, chunk size, items, read-ahead and failure point)', async () => {
    const runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    try {
      await fc.assert(
        fc.asyncProperty(caseArbitrary, (c) => failOnceThenRestart(runtime, c)),
        { numRuns: 150 },
      );
    } finally {
      await runtime.close();
    }
    expect(maxChunksInFlightSeen).toBeGreaterThan(1);
  });

  describe('on LMDB', () => {
    let directory: string;
    let runtime: BatchRuntime;
    beforeAll(async () => {
      directory = mkdtempSync(join(tmpdir(), 'tsbatch-mt-property-'));
      runtime = await BatchRuntime.open({ path: directory, logger: false });
    });
    afterAll(async () => {
      await runtime?.close();
      rmSync(directory, { recursive: true, force: true });
    });

    it('a few runs (20)', async () => {
      await fc.assert(
        fc.asyncProperty(caseArbitrary, (c) => failOnceThenRestart(runtime, c)),
        { numRuns: 20 },
      );
    });
  });

  it('the corner cases: the first item, the last item, a chunk boundary, at every concurrency', async () => {
    const runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    try {
      for (const phase of ['processor', 'writer'] as const) {
        for (const concurrency of [1, 2, 6]) {
          for (const failAt of [1, 5, 6, 40]) {
            await failOnceThenRestart(runtime, { items: 40, chunkSize: 5, readAhead: 1, concurrency, processorConcurrency: 1, phase, failAt });
          }
        }
      }
    } finally {
      await runtime.close();
    }
  });
});
