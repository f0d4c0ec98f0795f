/**
 * Property: whatever the input size, chunk size, read-ahead and the place and phase of a single
 * failure, "fail once, then restart" writes every item exactly once and in order, and the counts of
 * both executions are the ones Spring Batch reports.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchRuntime, job, step, type ExecutionContext, type ItemReader, type ItemStream, type StepExecution } from '../../src/index.js';

type Phase = 'reader' | 'processor' | 'writer';

interface Case {
  readonly items: number;
  readonly chunkSize: number;
  readonly readAhead: number;
  readonly phase: Phase;
  /** The 1-based item whose read, process or write fails on the first run (ignored when items is 0). */
  readonly failAt: number;
}

const caseArbitrary: fc.Arbitrary<Case> = fc
  .record({
    items: fc.integer({ min: 0, max: 200 }),
    chunkSize: fc.integer({ min: 1, max: 20 }),
    readAhead: fc.integer({ min: 0, max: 2 }),
    phase: fc.constantFrom<Phase>('reader', 'processor', 'writer'),
  })
  .chain((c) => fc.integer({ min: 1, max: Math.max(1, c.items) }).map((failAt) => ({ ...c, failAt })));

const POSITION_KEY = 'numbers.position';

class NumberReader implements ItemReader<number>, ItemStream {
  private position = 0;
  constructor(
    private readonly total: number,
    private readonly failOn: (item: number) => boolean,
    private readonly onRead: (item: number) => void,
  ) {}
  open(context: ExecutionContext): void {
    this.position = context.get<number>(POSITION_KEY) ?? 0;
  }
  read(): number | null {
    if (this.position >= this.total) return null;
    const item = this.position + 1;
    if (this.failOn(item)) throw new Error(`cannot read item ${item}`);
    this.position = item;
    this.onRead(item);
    return item;
  }
  update(context: ExecutionContext): void {
    context.put(POSITION_KEY, this.position);
  }
}

const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
const pad = (n: number): string => String(n).padStart(8, '0');
const countsOf = (s: StepExecution) => ({
  readCount: s.readCount,
  writeCount: s.writeCount,
  filterCount: s.filterCount,
  commitCount: s.commitCount,
  rollbackCount: s.rollbackCount,
});

let caseNumber = 0;

/** Runs one case on `runtime`: fail once, restart, and check everything a user would look at. */
async function failOnceThenRestart(runtime: BatchRuntime, c: Case): Promise<void> {
  const id = ++caseNumber;
  const outStore = `out-${id}`;
  const fails = c.items > 0;
  let failing = fails;
  const readsOfRun: number[][] = [];
  const written: number[] = [];

  const load = step('load')
    .chunk<number, number>(c.chunkSize)
    .readAhead(c.readAhead)
    .reader(() => {
      const reads: number[] = [];
      readsOfRun.push(reads);
      return new NumberReader(c.items, (item) => c.phase === 'reader' && failing && item === c.failAt, (item) => reads.push(item));
    })
    .processor((item) => {
      if (c.phase === 'processor' && failing && item === c.failAt) throw new Error(`cannot process item ${item}`);
      return item;
    })
    .writer({
      write(chunk, transaction) {
        // Staged first, so a failing chunk has staged puts that its rollback must discard.
        const sequence = Number(transaction.chunkKey.split('/').pop());
        chunk.items.forEach((item, index) => transaction.put(outStore, `${pad(sequence)}/${pad(index)}`, item));
        if (c.phase === 'writer' && failing && chunk.items.includes(c.failAt)) throw new Error(`cannot write item ${c.failAt}`);
        written.push(...chunk.items);
      },
    })
    .build();
  const propertyJob = job(`propertyJob-${id}`).start(load).build();
  runtime.registry.register(propertyJob);

  try {
    const first = await runtime.launcher.run(propertyJob, { case: id });
    const firstStep = first.stepExecutions[0]!;

    if (!fails) {
      expect(first.status).toBe('COMPLETED');
      expect(countsOf(firstStep)).toEqual({ readCount: 0, writeCount: 0, filterCount: 0, commitCount: 0, rollbackCount: 0 });
      expect(written).toEqual([]);
      return;
    }

    // The chunk holding the failing item (0-based) never commits; the ones before it all did.
    const failIndex = c.failAt - 1;
    const failedChunk = Math.floor(failIndex / c.chunkSize);
    const committed = failedChunk * c.chunkSize;
    const readInFailedRun = c.phase === 'reader' ? failIndex : Math.min(committed + c.chunkSize, c.items);

    expect(first.status).toBe('FAILED');
    expect(first.exitStatus.exitCode).toBe('FAILED');
    expect(countsOf(firstStep)).toEqual({
      readCount: readInFailedRun, // not the items read ahead beyond the failed chunk
      writeCount: committed,
      filterCount: 0,
      commitCount: Math.floor(failIndex / c.chunkSize),
      rollbackCount: 1,
    });
    // The reader really did read everything it counted (and, with read-ahead, possibly more).
    expect(readsOfRun[0]!.slice(0, readInFailedRun)).toEqual(range(1, readInFailedRun));
    const stored = await runtime.explorer.getJobExecution(first.id);
    // The committed reader position (absent when no chunk committed: the restart starts afresh).
    expect(stored?.stepExecutions[0]?.executionContext.get(POSITION_KEY) ?? 0).toBe(committed);
    expect(stored?.stepExecutions[0]?.commitCount).toBe(failedChunk);
    expect(written).toEqual(range(1, committed));

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
    });
    expect(firstStep.writeCount + secondStep.writeCount).toBe(c.items);
    expect(firstStep.commitCount + secondStep.commitCount).toBe(Math.ceil(c.items / c.chunkSize));

    // Every item exactly once, in order: as the writer saw it and as the store committed it.
    expect(written).toEqual(range(1, c.items));
    expect((await runtime.explorer.getStagedValues(outStore)).map(({ value }) => value)).toEqual(range(1, c.items));
  } finally {
    runtime.registry.unregister(propertyJob.name);
  }
}

describe('fail once, then restart: exactly once, in order, with Spring Batch counts', () => {
  it('in memory (40 runs)', async () => {
    const runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    try {
      await fc.assert(
        fc.asyncProperty(caseArbitrary, (c) => failOnceThenRestart(runtime, c)),
        { numRuns: 40 },
      );
    } finally {
      await runtime.close();
    }
  });

  describe('on LMDB', () => {
    let directory: string;
    let runtime: BatchRuntime;
    beforeAll(async () => {
      directory = mkdtempSync(join(tmpdir(), 'tsbatch-property-'));
      runtime = await BatchRuntime.open({ path: directory, logger: false });
    });
    afterAll(async () => {
      await runtime?.close();
      rmSync(directory, { recursive: true, force: true });
    });

    it('a few runs (8)', async () => {
      await fc.assert(
        fc.asyncProperty(caseArbitrary, (c) => failOnceThenRestart(runtime, c)),
        { numRuns: 8 },
      );
    });
  });

  it('the corner cases: failure on the first item, on the last item, and on a chunk boundary', async () => {
    const runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    try {
      for (const phase of ['reader', 'processor', 'writer'] as const) {
        for (const readAhead of [0, 1, 2]) {
          await failOnceThenRestart(runtime, { items: 20, chunkSize: 5, readAhead, phase, failAt: 1 });
          await failOnceThenRestart(runtime, { items: 20, chunkSize: 5, readAhead, phase, failAt: 20 });
          await failOnceThenRestart(runtime, { items: 20, chunkSize: 5, readAhead, phase, failAt: 10 });
          await failOnceThenRestart(runtime, { items: 20, chunkSize: 5, readAhead, phase, failAt: 11 });
          await failOnceThenRestart(runtime, { items: 7, chunkSize: 20, readAhead, phase, failAt: 7 });
          await failOnceThenRestart(runtime, { items: 1, chunkSize: 1, readAhead, phase, failAt: 1 });
        }
      }
    } finally {
      await runtime.close();
    }
  });
});
