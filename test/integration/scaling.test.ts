/**
 * Scaling features as a user meets them (reference §5): async processors, the multi-threaded
 * step, worker-thread processors (piscina), partitioned steps and splits, and stop across all of
 * them. Every scenario checks results, order and every count, and the ones that fail or stop
 * restart and check that the committed output holds every item exactly once, in order.
 *
 * Output is proven through the commit itself: the writers here stage each item into the chunk's
 * transaction under `<step>/<chunk sequence>/<index>`, so the store holds exactly what committed,
 * in commit order, and an item written twice (even by a chunk redone under a new sequence) shows
 * up twice. Runtimes are LMDB stores in fresh temp directories.
 *
 * Concurrency is shown with counters (items or chunks in flight at once), never with timings.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BatchRuntime,
  Chunk,
  RepeatStatus,
  WorkerThreadError,
  filePartitioner,
  flow,
  job,
  ndjsonReader,
  rangePartitioner,
  step,
  workerProcessor,
  type ExecutionContext,
  type ItemReader,
  type ItemStream,
  type ItemWriter,
  type Job,
  type JobExecution,
  type JsonValue,
  type StepExecution,
  type StepCounts,
} from '../../src/index.js';

// ---- helpers --------------------------------------------------------------------------------

const FIXTURES = new URL('./fixtures/scaling/', import.meta.url);
const HASH_MODULE = new URL('hash.mjs', FIXTURES);
const TYPED_ERRORS_MODULE = new URL('typed-errors.mjs', FIXTURES);
const CRASH_MODULE = new URL('crash.mjs', FIXTURES);
const SLOW_MODULE = new URL('slow.mjs', FIXTURES);

/** What fixtures/scaling/hash.mjs computes, on the main thread. */
function hashOf(n: number, rounds: number): string {
  let h = String(n);
  for (let i = 0; i < rounds; i++) h = createHash('sha256').update(h).digest('hex');
  return h;
}

const pad = (n: number): string => String(n).padStart(8, '0');
const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
const sorted = (values: readonly number[]): number[] => [...values].sort((a, b) => a - b);

/** Yields to the event loop `count` times (a stand-in for I/O of varying length). */
async function hops(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Resolves with true when `promise` settles first, false after `ms` (so a broken test fails instead of hanging). */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

class SkippableError extends Error {
  override name = 'SkippableError';
}
class TransientError extends Error {
  override name = 'TransientError';
}

const POSITION_KEY = 'numbers.position';

/** Reads 1..total and restarts after the last committed item. */
class NumberReader implements ItemReader<number>, ItemStream {
  private position = 0;
  startedAt = 0;
  constructor(
    private readonly total: number,
    private readonly onRead: (item: number) => void = () => undefined,
  ) {}
  open(context: ExecutionContext): void {
    this.position = context.get<number>(POSITION_KEY) ?? 0;
    this.startedAt = this.position;
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

const NEXT_KEY = 'range.next';

/** Reads the partition's range [partition.min, partition.max] and restarts after its last commit. */
class PartitionRangeReader implements ItemReader<number>, ItemStream {
  private next = 0;
  private max = 0;
  constructor(private readonly onOpen: (first: number) => void = () => undefined) {}
  open(context: ExecutionContext): void {
    this.next = context.get<number>(NEXT_KEY) ?? context.get<number>('partition.min')!;
    this.max = context.get<number>('partition.max')!;
    this.onOpen(this.next);
  }
  read(): number | null {
    return this.next <= this.max ? this.next++ : null;
  }
  update(context: ExecutionContext): void {
    context.put(NEXT_KEY, this.next);
  }
}

/**
 * Stages every item into the chunk's commit under `<step>/<chunk sequence>/<index>` and records
 * what it was asked to write. `failOn` makes a write fail after staging (the rollback must drop it).
 */
function stagingWriter<T extends JsonValue>(
  store: string,
  options: { readonly written?: T[]; readonly failOn?: (item: T) => boolean } = {},
): ItemWriter<T> & ItemStream {
  return {
    write(chunk, transaction) {
      const key = transaction.chunkKey;
      const sequence = Number(key.slice(key.lastIndexOf('/') + 1));
      const stepName = key.slice(key.indexOf('/') + 1, key.lastIndexOf('/'));
      chunk.items.forEach((item, index) => transaction.put(store, `${stepName}/${pad(sequence)}/${pad(index)}`, item));
      const failing = chunk.items.find((item) => options.failOn?.(item) ?? false);
      if (failing !== undefined) throw new Error(`cannot write a chunk holding ${JSON.stringify(failing)}`);
      options.written?.push(...chunk.items);
    },
  } as ItemWriter<T> & ItemStream;
}

/** The eight counters, as StepExecution.counts() returns them. */
type Counts = StepCounts;
const countsOf = (s: StepExecution): Counts => s.counts();
const counts = (partial: Partial<Counts>): Counts => ({
  readCount: 0,
  writeCount: 0,
  filterCount: 0,
  commitCount: 0,
  rollbackCount: 0,
  readSkipCount: 0,
  processSkipCount: 0,
  writeSkipCount: 0,
  ...partial,
});

const stepNamed = (execution: JobExecution, name: string): StepExecution => {
  const found = execution.stepExecutions.find((s) => s.stepName === name);
  if (!found) throw new Error(`no step execution '${name}' in ${execution.stepExecutions.map((s) => s.stepName).join(', ')}`);
  return found;
};

let runtime: BatchRuntime;
let directory: string;

beforeEach(async () => {
  directory = mkdtempSync(join(tmpdir(), 'tsbatch-scaling-'));
  runtime = await BatchRuntime.open({ path: join(directory, 'store'), logger: false });
});

afterEach(async () => {
  await runtime.close();
  rmSync(directory, { recursive: true, force: true });
});

/** The committed values of a store, in key order (step, then chunk sequence, then index). */
async function committed<T = number>(store: string, stepPrefix?: string): Promise<T[]> {
  const entries = await runtime.explorer.getStagedValues(store);
  return entries.filter(({ key }) => stepPrefix === undefined || key.startsWith(`${stepPrefix}/`)).map(({ value }) => value as T);
}

/** Restarts through the operator, as a user would, and waits for the end. */
async function restart(definition: Job, previous: JobExecution): Promise<JobExecution> {
  if (!runtime.registry.has(definition.name)) runtime.registry.register(definition);
  return runtime.operator.waitFor(await runtime.operator.restart(previous.id));
}

/** A worker's output: the item's number and what it computed. */
interface Done {
  n: number;
  out: number;
  retried?: boolean;
}

/** Stages the numbers of the worker outputs (see stagingWriter). */
const doneWriter =
  (store: string, written?: number[]) =>
  (): ItemWriter<Done> => {
    const inner = stagingWriter<number>(store, written ? { written } : {});
    return { write: (chunk, transaction) => inner.write(new Chunk(chunk.items.map((d) => d.n)), transaction) };
  };

// ---- async processor ------------------------------------------------------------------------

describe('async processor: processor(p, { concurrency })', () => {
  it('processes the items of a chunk concurrently, keeps their order, and writes only once all are done', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const done = new Set<number>();
    const completion: number[] = [];
    const writeViolations: string[] = [];
    const written: number[] = [];
    const s = step('async')
      .chunk<number, number>(100)
      .reader(() => new NumberReader(1000))
      .processor(
        async (n) => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await hops((n * 7919) % 5);
          inFlight--;
          done.add(n);
          completion.push(n);
          return n * 2;
        },
        { concurrency: 16 },
      )
      .writer(() => {
        const staging = stagingWriter<number>('out', { written });
        return {
          write(chunk, transaction) {
            if (inFlight !== 0) writeViolations.push(`write with ${inFlight} items in flight`);
            for (const item of chunk) if (!done.has(item / 2)) writeViolations.push(`item ${item / 2} written before it was processed`);
            return staging.write(chunk, transaction);
          },
        };
      })
      .build();
    const execution = await runtime.launcher.run(job('async-order').start(s).build());

    expect(execution.status).toBe('COMPLETED');
    expect(countsOf(execution.stepExecutions[0]!)).toEqual(counts({ readCount: 1000, writeCount: 1000, commitCount: 10 }));
    expect(maxInFlight).toBeGreaterThan(1);
    expect(maxInFlight).toBeLessThanOrEqual(16);
    // The items really finished out of order, and the writer still got them in read order.
    expect(completion).not.toEqual(range(1, 1000));
    expect(sorted(completion)).toEqual(range(1, 1000));
    expect(writeViolations).toEqual([]);
    expect(written).toEqual(range(1, 1000).map((n) => n * 2));
    expect(await committed('out')).toEqual(range(1, 1000).map((n) => n * 2));
  });

  /** A processor that filters multiples of 5 and fails (skippably) on the other multiples of 7. */
  function filteringStep(name: string, options: { readonly processorConcurrency?: number; readonly chunkConcurrency?: number }, tally: Tally) {
    let builder = step(name)
      .chunk<number, number>(25)
      .reader(() => new NumberReader(300))
      .processor(
        async (n) => {
          await hops(n % 3);
          if (n % 5 === 0) return null;
          if (n % 7 === 0) throw new SkippableError(`item ${n}`);
          return n;
        },
        { concurrency: options.processorConcurrency ?? 1 },
      )
      .writer(() => stagingWriter<number>(`out-${name}`))
      .faultTolerant()
      .skip(SkippableError)
      .skipLimit(100)
      .listener({
        beforeProcess: (item) => void tally.before.push(item),
        afterProcess: (item, result) => void (result === null ? tally.filtered.push(item) : tally.processed.push(item)),
        onProcessError: (item) => void tally.errors.push(item),
        onSkipInProcess: (item) => void tally.skipped.push(item),
        afterChunk: () => void tally.chunks++,
      });
    if (options.chunkConcurrency) builder = builder.taskExecutor({ concurrency: options.chunkConcurrency });
    return builder.build();
  }
  interface Tally {
    before: number[];
    processed: number[];
    filtered: number[];
    errors: number[];
    skipped: number[];
    chunks: number;
  }
  const newTally = (): Tally => ({ before: [], processed: [], filtered: [], errors: [], skipped: [], chunks: 0 });
  const normalised = (t: Tally) => ({
    before: sorted(t.before),
    processed: sorted(t.processed),
    filtered: sorted(t.filtered),
    errors: sorted(t.errors),
    skipped: t.skipped, // told after each commit, in item order
    chunks: t.chunks,
  });

  it('keeps filter, skip and error listeners exact: the same counts and callbacks as concurrency 1', async () => {
    const sequential = newTally();
    const concurrent = newTally();
    const first = await runtime.launcher.run(job('filters-1').start(filteringStep('seq', { processorConcurrency: 1 }, sequential)).build());
    const second = await runtime.launcher.run(job('filters-8').start(filteringStep('conc', { processorConcurrency: 8 }, concurrent)).build());

    const multiplesOf5 = range(1, 300).filter((n) => n % 5 === 0);
    const failing = range(1, 300).filter((n) => n % 7 === 0 && n % 5 !== 0);
    const survivors = range(1, 300).filter((n) => n % 5 !== 0 && n % 7 !== 0);
    const expected = counts({ readCount: 300, writeCount: survivors.length, filterCount: multiplesOf5.length, processSkipCount: failing.length, commitCount: 12 });
    for (const execution of [first, second]) {
      expect(execution.status).toBe('COMPLETED');
      expect(countsOf(execution.stepExecutions[0]!)).toEqual(expected);
      expect(execution.stepExecutions[0]!.exitStatus.exitCode).toBe('COMPLETED WITH SKIPS');
    }
    expect(normalised(concurrent)).toEqual({
      before: range(1, 300),
      processed: survivors,
      filtered: multiplesOf5,
      errors: failing,
      skipped: failing,
      chunks: 12,
    });
    expect(normalised(concurrent)).toEqual(normalised(sequential));
    expect(await committed('out-conc')).toEqual(survivors);
    expect(await committed('out-seq')).toEqual(survivors);
  });

  it('retries each failed item in place: every item written once, onProcessError never called when the retry succeeds', async () => {
    const attempts = new Map<number, number>();
    const errors: number[] = [];
    const s = step('retrying')
      .chunk<number, number>(20)
      .reader(() => new NumberReader(200))
      .processor(
        async (n) => {
          const attempt = (attempts.get(n) ?? 0) + 1;
          attempts.set(n, attempt);
          await hops(1);
          if (n % 6 === 0 && attempt === 1) throw new TransientError(`item ${n}, attempt ${attempt}`);
          return n;
        },
        { concurrency: 8 },
      )
      .writer(() => stagingWriter<number>('out'))
      .faultTolerant()
      .retry(TransientError)
      .retryLimit(2)
      .listener({ onProcessError: (item) => void errors.push(item) })
      .build();
    const execution = await runtime.launcher.run(job('async-retry').start(s).build());
    expect(execution.status).toBe('COMPLETED');
    expect(countsOf(execution.stepExecutions[0]!)).toEqual(counts({ readCount: 200, writeCount: 200, commitCount: 10 }));
    expect([...attempts.entries()].filter(([, a]) => a > 1).map(([n]) => n)).toEqual(range(1, 200).filter((n) => n % 6 === 0));
    expect(Math.max(...attempts.values())).toBe(2);
    expect(errors).toEqual([]);
    expect(await committed('out')).toEqual(range(1, 200));
  });

  it('decides the skip limit in item order, as concurrency 1 does', async () => {
    const run = async (concurrency: number) => {
      const s = step(`limit-${concurrency}`)
        .chunk<number, number>(20)
        .reader(() => new NumberReader(40))
        .processor(
          async (n) => {
            await hops(7 - (n % 7)); // the later failures finish first
            if (n === 3 || n === 5 || n === 7) throw new SkippableError(`item ${n}`);
            return n;
          },
          { concurrency },
        )
        .writer(() => stagingWriter<number>(`out-${concurrency}`))
        .faultTolerant()
        .skip(SkippableError)
        .skipLimit(2)
        .build();
      return runtime.launcher.run(job(`skip-limit-${concurrency}`).start(s).build());
    };
    const [sequential, concurrent] = [await run(1), await run(8)];
    for (const execution of [sequential, concurrent]) {
      expect(execution.status).toBe('FAILED');
      expect(execution.stepExecutions[0]!.exitStatus.exitDescription).toContain('SkipLimitExceeded');
      expect(countsOf(execution.stepExecutions[0]!)).toEqual(counts({ readCount: 20, processSkipCount: 2, rollbackCount: 1 }));
    }
    expect(await committed('out-8')).toEqual([]);
  });

  it('restarts exactly after a failure mid-way: output once, in order', async () => {
    let failing = true;
    const written: number[] = [];
    const s = step('load')
      .chunk<number, number>(50)
      .reader(() => new NumberReader(1000))
      .processor(
        async (n) => {
          await hops(n % 4);
          if (failing && n === 537) throw new Error('item 537 cannot be processed');
          return n;
        },
        { concurrency: 8 },
      )
      .writer(() => stagingWriter<number>('out', { written }))
      .build();
    const definition = job('async-restart').start(s).build();
    const first = await runtime.launcher.run(definition);
    expect(first.status).toBe('FAILED');
    expect(countsOf(first.stepExecutions[0]!)).toEqual(counts({ readCount: 550, writeCount: 500, commitCount: 10, rollbackCount: 1 }));
    expect(await committed('out')).toEqual(range(1, 500));

    failing = false;
    const second = await restart(definition, first);
    expect(second.status).toBe('COMPLETED');
    expect(countsOf(second.stepExecutions[0]!)).toEqual(counts({ readCount: 500, writeCount: 500, commitCount: 10 }));
    expect(written).toEqual(range(1, 1000));
    expect(await committed('out')).toEqual(range(1, 1000));
  });
});

// ---- multi-threaded step --------------------------------------------------------------------

describe('multi-threaded step: taskExecutor({ concurrency })', () => {
  it('processes up to `concurrency` chunks at once over one reader and commits them in read order', async () => {
    const chunkOf = (n: number) => Math.floor((n - 1) / 20);
    const inFlight = new Map<number, number>();
    let maxChunksInFlight = 0;
    let readsInFlight = 0;
    let maxReadsInFlight = 0;
    const commitOrder: number[] = [];
    const written: number[] = [];
    const s = step('mt')
      .chunk<number, number>(20)
      .reader(() => {
        const reader = new NumberReader(400);
        return {
          open: (context: ExecutionContext) => reader.open(context),
          update: (context: ExecutionContext) => reader.update(context),
          // An asynchronous reader: reads must still never overlap.
          async read() {
            readsInFlight++;
            maxReadsInFlight = Math.max(maxReadsInFlight, readsInFlight);
            await hops(1);
            readsInFlight--;
            return reader.read();
          },
        };
      })
      .processor(async (n) => {
        const chunk = chunkOf(n);
        inFlight.set(chunk, (inFlight.get(chunk) ?? 0) + 1);
        maxChunksInFlight = Math.max(maxChunksInFlight, inFlight.size);
        await hops(1 + (n % 3));
        const left = inFlight.get(chunk)! - 1;
        if (left === 0) inFlight.delete(chunk);
        else inFlight.set(chunk, left);
        return n;
      })
      .writer(() => stagingWriter<number>('out', { written }))
      .taskExecutor({ concurrency: 4 })
      .listener({ afterChunk: (chunk) => void commitOrder.push(chunk.items[0]!) })
      .build();
    const execution = await runtime.launcher.run(job('mt-order').start(s).build());

    expect(execution.status).toBe('COMPLETED');
    expect(countsOf(execution.stepExecutions[0]!)).toEqual(counts({ readCount: 400, writeCount: 400, commitCount: 20 }));
    expect(maxChunksInFlight).toBeGreaterThan(1);
    expect(maxChunksInFlight).toBeLessThanOrEqual(4);
    expect(maxReadsInFlight).toBe(1);
    expect(commitOrder).toEqual(range(0, 19).map((c) => c * 20 + 1));
    expect(written).toEqual(range(1, 400));
    expect(await committed('out')).toEqual(range(1, 400));
  });

  it('commits in read order even when later chunks finish processing first', async () => {
    const chunkOf = (n: number) => Math.floor((n - 1) / 10);
    const firstChunkReleased = deferred();
    const processedChunks: number[] = [];
    const commitOrder: number[] = [];
    let releasedInTime = false;
    const s = step('mt-late-first')
      .chunk<number, number>(10)
      .reader(() => new NumberReader(60))
      .processor(async (n) => {
        if (chunkOf(n) === 0 && n === 1) releasedInTime = await within(firstChunkReleased.promise, 5_000);
        await hops(1);
        if (n % 10 === 0) {
          processedChunks.push(chunkOf(n));
          // Chunk 0 is held back until chunk 3 has been processed: only concurrent chunks get here.
          if (chunkOf(n) === 3) firstChunkReleased.resolve();
        }
        return n;
      })
      .writer(() => stagingWriter<number>('out'))
      .taskExecutor({ concurrency: 4 })
      .listener({ afterChunk: (chunk) => void commitOrder.push(chunkOf(chunk.items[0]!)) })
      .build();
    const execution = await runtime.launcher.run(job('mt-late').start(s).build());

    expect(execution.status).toBe('COMPLETED');
    expect(releasedInTime).toBe(true);
    expect(processedChunks.indexOf(3)).toBeLessThan(processedChunks.indexOf(0));
    expect(commitOrder).toEqual([0, 1, 2, 3, 4, 5]);
    expect(countsOf(execution.stepExecutions[0]!)).toEqual(counts({ readCount: 60, writeCount: 60, commitCount: 6 }));
    expect(await committed('out')).toEqual(range(1, 60));
  });

  it.each(['processor', 'writer'] as const)(
    'restarts exactly after a %s failure mid-way: later chunks may have been processed but never commit',
    async (phase) => {
      let failing = true;
      let maxProcessed = 0;
      const written: number[] = [];
      const readers: NumberReader[] = [];
      const s = step('mt-load')
        .chunk<number, number>(10)
        .readAhead(2)
        .reader(() => {
          const reader = new NumberReader(200);
          readers.push(reader);
          return reader;
        })
        .processor(async (n) => {
          if (failing && n === 95) {
            await hops(30); // give the later chunks time to be processed
            if (phase === 'processor') throw new Error('item 95 cannot be processed');
          }
          await hops(1);
          if (failing) maxProcessed = Math.max(maxProcessed, n);
          return n;
        })
        .writer(() => stagingWriter<number>('out', { written, failOn: (n) => failing && phase === 'writer' && n === 95 }))
        .taskExecutor({ concurrency: 4 })
        .build();
      const definition = job(`mt-restart-${phase}`).start(s).build();
      const first = await runtime.launcher.run(definition);

      expect(first.status).toBe('FAILED');
      expect(countsOf(first.stepExecutions[0]!)).toEqual(counts({ readCount: 100, writeCount: 90, commitCount: 9, rollbackCount: 1 }));
      expect(maxProcessed).toBeGreaterThan(100); // chunks after the failing one were processed...
      expect(await committed('out')).toEqual(range(1, 90)); // ...but never committed
      const stored = await runtime.explorer.getJobExecution(first.id);
      expect(stored!.stepExecutions[0]!.executionContext.get(POSITION_KEY)).toBe(90);

      failing = false;
      const second = await restart(definition, first);
      expect(second.status).toBe('COMPLETED');
      expect(readers.at(-1)!.startedAt).toBe(90);
      expect(countsOf(second.stepExecutions[0]!)).toEqual(counts({ readCount: 110, writeCount: 110, commitCount: 11 }));
      expect(written).toEqual(range(1, 200));
      expect(await committed('out')).toEqual(range(1, 200));
    },
  );

  it('skips, filters and retries with the same counts and listener calls as a single-threaded step', async () => {
    const sequential: { skipped: number[]; errors: number[] } = { skipped: [], errors: [] };
    const concurrent: { skipped: number[]; errors: number[] } = { skipped: [], errors: [] };
    const build = (name: string, concurrency: number, tally: typeof sequential) => {
      let builder = step(name)
        .chunk<number, number>(25)
        .reader(() => new NumberReader(300))
        .processor(async (n) => {
          await hops(n % 3);
          if (n % 5 === 0) return null;
          if (n % 7 === 0) throw new SkippableError(`item ${n}`);
          return n;
        })
        .writer(() => stagingWriter<number>(`out-${name}`))
        .faultTolerant()
        .skip(SkippableError)
        .skipLimit(100)
        .listener({ onSkipInProcess: (item) => void tally.skipped.push(item), onProcessError: (item) => void tally.errors.push(item) });
      if (concurrency > 1) builder = builder.taskExecutor({ concurrency });
      return builder.build();
    };
    const first = await runtime.launcher.run(job('mt-skips-1').start(build('one', 1, sequential)).build());
    const second = await runtime.launcher.run(job('mt-skips-4').start(build('four', 4, concurrent)).build());
    expect(first.status).toBe('COMPLETED');
    expect(second.status).toBe('COMPLETED');
    expect(countsOf(second.stepExecutions[0]!)).toEqual(countsOf(first.stepExecutions[0]!));
    expect(concurrent.skipped).toEqual(sequential.skipped);
    expect(sorted(concurrent.errors)).toEqual(sorted(sequential.errors));
    expect(await committed('out-four')).toEqual(await committed('out-one'));
  });

  it('holds at most (readAhead + concurrency + 1) chunks of items read but not committed', async () => {
    let itemsRead = 0;
    let committedItems = 0;
    let maxLead = 0;
    const s = step('mt-bounded')
      .chunk<number, number>(100)
      .readAhead(1)
      .reader(() => new NumberReader(100_000, () => void (maxLead = Math.max(maxLead, ++itemsRead - committedItems))))
      .processor(async (n) => n)
      .writer({ write: () => undefined })
      .taskExecutor({ concurrency: 4 })
      .listener({ afterChunk: (chunk) => void (committedItems += chunk.size) })
      .build();
    const execution = await runtime.launcher.run(job('mt-bounded').start(s).build());
    expect(execution.status).toBe('COMPLETED');
    expect(execution.stepExecutions[0]!.commitCount).toBe(1000);
    expect(maxLead).toBeLessThanOrEqual((1 + 4 + 1) * 100);
    expect(maxLead).toBeGreaterThan(2 * 100); // more than a single-threaded step would read ahead
  });
});

// ---- worker threads -------------------------------------------------------------------------

describe('worker threads: workerProcessor(moduleUrl, { threads })', () => {
  interface Hashed {
    n: number;
    h: string;
    thread: number;
  }

  it('processes in worker threads: same results as on the main thread, in order, with exact counts', { timeout: 30_000 }, async () => {
    let chunkTasks = 0;
    const processor = workerProcessor<{ n: number; rounds: number }, Hashed>(HASH_MODULE, { threads: 2 });
    const processChunk = processor.processChunk;
    processor.processChunk = (items) => {
      chunkTasks++;
      return processChunk(items);
    };
    const written: Hashed[] = [];
    const s = step('hash')
      .chunk<{ n: number; rounds: number }, Hashed>(100)
      .reader(() => {
        const reader = new NumberReader(2000);
        return {
          open: (c: ExecutionContext) => reader.open(c),
          update: (c: ExecutionContext) => reader.update(c),
          read: () => {
            const n = reader.read();
            return n === null ? null : { n, rounds: 4 };
          },
        };
      })
      .processor(processor)
      .writer(() => stagingWriter<Hashed & JsonValue>('out', { written: written as (Hashed & JsonValue)[] }) as unknown as ItemWriter<Hashed>)
      .build();
    const execution = await runtime.launcher.run(job('hash').start(s).build());

    expect(execution.status).toBe('COMPLETED');
    expect(countsOf(execution.stepExecutions[0]!)).toEqual(counts({ readCount: 2000, writeCount: 2000, commitCount: 20 }));
    expect(chunkTasks).toBe(20); // one task per chunk, never per item
    expect(written.map((r) => r.n)).toEqual(range(1, 2000));
    expect(written.every((r) => r.thread !== 0)).toBe(true); // not the main thread
    for (const r of written.filter((_, i) => i % 97 === 0)) expect(r.h).toBe(hashOf(r.n, 4));
    expect((await committed<Hashed>('out')).map((r) => r.n)).toEqual(range(1, 2000));
  });

  it.each([
    { chunksInFlight: undefined, handedOverEarly: true, maxInThreads: 3 },
    { chunksInFlight: 2, handedOverEarly: true, maxInThreads: 2 },
    { chunksInFlight: 1, handedOverEarly: false, maxInThreads: 1 },
  ])(
    'with chunksInFlight $chunksInFlight, the next chunk is in the threads before the previous one commits: $handedOverEarly; commits stay in read order',
    { timeout: 30_000 },
    async ({ chunksInFlight, handedOverEarly, maxInThreads }) => {
      const events: string[] = [];
      let inThreads = 0;
      let maxSeen = 0;
      const processor = workerProcessor<{ n: number; rounds: number }, Hashed>(HASH_MODULE, chunksInFlight === undefined ? { threads: 2 } : { threads: 2, chunksInFlight });
      const processChunk = processor.processChunk;
      processor.processChunk = async (items) => {
        events.push(`process ${items[0]!.n}`);
        maxSeen = Math.max(maxSeen, ++inThreads);
        try {
          return await processChunk(items);
        } finally {
          inThreads--;
        }
      };
      const written: Hashed[] = [];
      const s = step('in-flight')
        .chunk<{ n: number; rounds: number }, Hashed>(50)
        .reader(() => {
          const reader = new NumberReader(500);
          return {
            open: (c: ExecutionContext) => reader.open(c),
            update: (c: ExecutionContext) => reader.update(c),
            read: () => {
              const n = reader.read();
              return n === null ? null : { n, rounds: 1 };
            },
          };
        })
        .processor(processor)
        .writer(() => stagingWriter<Hashed & JsonValue>('out', { written: written as (Hashed & JsonValue)[] }) as unknown as ItemWriter<Hashed>)
        // afterChunk runs just before the chunk's commit.
        .listener({ afterChunk: (chunk) => void events.push(`commit ${chunk.items[0]!.n}`) })
        .build();
      const execution = await runtime.launcher.run(job('in-flight').start(s).build());

      expect(execution.status).toBe('COMPLETED');
      expect(countsOf(execution.stepExecutions[0]!)).toEqual(counts({ readCount: 500, writeCount: 500, commitCount: 10 }));
      const firsts = range(0, 9).map((k) => k * 50 + 1);
      expect(events.filter((e) => e.startsWith('process'))).toEqual(firsts.map((n) => `process ${n}`));
      expect(events.filter((e) => e.startsWith('commit'))).toEqual(firsts.map((n) => `commit ${n}`));
      for (let k = 0; k < 9; k++) {
        expect(events.indexOf(`process ${firsts[k + 1]}`) < events.indexOf(`commit ${firsts[k]}`)).toBe(handedOverEarly);
      }
      expect(maxSeen).toBe(maxInThreads);
      expect((await committed<Hashed>('out')).map((r) => r.n)).toEqual(range(1, 500));
    },
  );

  it('rejects a thread count or chunks in flight below 1', () => {
    expect(() => workerProcessor(HASH_MODULE, { threads: 0 })).toThrow(/threads must be an integer >= 1/);
    expect(() => workerProcessor(HASH_MODULE, { chunksInFlight: 1.5 })).toThrow(/chunksInFlight must be an integer >= 1/);
  });

  type Work = { n: number; kind?: 'bad' | 'flaky' | 'filter' | 'string'; marker?: string };
  const workReader = (total: number, kindOf: (n: number) => Work['kind'], marker?: (n: number) => string) => () => {
    const reader = new NumberReader(total);
    return {
      open: (c: ExecutionContext) => reader.open(c),
      update: (c: ExecutionContext) => reader.update(c),
      read: (): Work | null => {
        const n = reader.read();
        if (n === null) return null;
        const kind = kindOf(n);
        return { n, ...(kind ? { kind } : {}), ...(marker ? { marker: marker(n) } : {}) };
      },
    };
  };

  it('returns errors typed (name, code, message, stack) and the skip policy skips them by code', { timeout: 30_000 }, async () => {
    const errors: unknown[] = [];
    const skipped: Array<{ item: Work; error: unknown }> = [];
    const kindOf = (n: number): Work['kind'] => (n % 10 === 3 ? 'bad' : n % 10 === 7 ? 'filter' : undefined);
    const s = step('typed')
      .chunk<Work, Done>(20)
      .reader(workReader(100, kindOf))
      .processor(workerProcessor<Work, Done>(TYPED_ERRORS_MODULE, { threads: 2 }))
      .writer(doneWriter('out'))
      .faultTolerant()
      .skipPolicy((error) => (error as { code?: string }).code === 'E_BAD_ITEM')
      .listener({
        onProcessError: (_, error) => void errors.push(error),
        onSkipInProcess: (item, error) => void skipped.push({ item, error }),
      })
      .build();
    const execution = await runtime.launcher.run(job('typed-errors').start(s).build());

    expect(execution.status).toBe('COMPLETED');
    const bad = range(1, 100).filter((n) => n % 10 === 3);
    const filtered = range(1, 100).filter((n) => n % 10 === 7);
    const good = range(1, 100).filter((n) => n % 10 !== 3 && n % 10 !== 7);
    expect(countsOf(execution.stepExecutions[0]!)).toEqual(
      counts({ readCount: 100, writeCount: good.length, filterCount: filtered.length, processSkipCount: bad.length, commitCount: 5 }),
    );
    expect(errors).toHaveLength(bad.length);
    expect(skipped.map((s) => s.item.n)).toEqual(bad);
    const error = skipped[0]!.error as WorkerThreadError;
    expect(error).toBeInstanceOf(WorkerThreadError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('BadItemError');
    expect(error.code).toBe('E_BAD_ITEM');
    expect(error.message).toBe('item 3 is bad');
    expect(error.stack).toContain('typed-errors.mjs');
    expect(await committed('out')).toEqual(good);
  });

  it('skips worker errors by class (WorkerThreadError) and turns a thrown non-Error into a typed error too', { timeout: 30_000 }, async () => {
    const skipped: unknown[] = [];
    const s = step('by-class')
      .chunk<Work, Done>(10)
      .reader(workReader(30, (n) => (n === 4 ? 'bad' : n === 25 ? 'string' : undefined)))
      .processor(workerProcessor<Work, Done>(TYPED_ERRORS_MODULE, { threads: 1 }))
      .writer(doneWriter('out'))
      .faultTolerant()
      .skip(WorkerThreadError)
      .listener({ onSkipInProcess: (_, error) => void skipped.push(error) })
      .build();
    const execution = await runtime.launcher.run(job('by-class').start(s).build());
    expect(execution.status).toBe('COMPLETED');
    expect(countsOf(execution.stepExecutions[0]!)).toEqual(counts({ readCount: 30, writeCount: 28, processSkipCount: 2, commitCount: 3 }));
    expect(skipped.map((e) => (e as Error).name)).toEqual(['BadItemError', 'NonErrorThrown']);
    expect((skipped[1] as Error).message).toContain('a thrown string');
    expect(await committed('out')).toEqual(range(1, 30).filter((n) => n !== 4 && n !== 25));
  });

  it('retries items whose worker error is retryable, one by one, and writes each once', { timeout: 30_000 }, async () => {
    const markers = join(directory, 'markers');
    mkdirSync(markers);
    const errors: unknown[] = [];
    const s = step('flaky')
      .chunk<Work, Done>(20)
      .reader(workReader(100, (n) => (n % 9 === 0 ? 'flaky' : undefined), (n) => join(markers, `flaky-${n}`)))
      .processor(workerProcessor<Work, Done>(TYPED_ERRORS_MODULE, { threads: 2 }))
      .writer(doneWriter('out'))
      .faultTolerant()
      .retry(WorkerThreadError)
      .retryLimit(2)
      .listener({ onProcessError: (_, error) => void errors.push(error) })
      .build();
    const execution = await runtime.launcher.run(job('flaky').start(s).build());
    expect(execution.status).toBe('COMPLETED');
    expect(countsOf(execution.stepExecutions[0]!)).toEqual(counts({ readCount: 100, writeCount: 100, commitCount: 5 }));
    expect(errors).toEqual([]);
    expect(await committed('out')).toEqual(range(1, 100));
  });

  it('fails the step on a non-skippable worker error; a restart writes everything exactly once', { timeout: 30_000 }, async () => {
    let badItem: number | undefined = 47;
    const written: number[] = [];
    const s = step('strict')
      .chunk<Work, Done>(10)
      .reader(workReader(100, (n) => (n === badItem ? 'bad' : undefined)))
      .processor(workerProcessor<Work, Done>(TYPED_ERRORS_MODULE, { threads: 2 }))
      .writer(doneWriter('out', written))
      // Three chunks are handed to the threads at once (the default): those after the failing
      // chunk are processed but never written, committed or counted.
      .build();
    const definition = job('strict').start(s).build();
    const first = await runtime.launcher.run(definition);
    expect(first.status).toBe('FAILED');
    expect(first.stepExecutions[0]!.exitStatus.exitDescription).toContain('BadItemError');
    expect(first.stepExecutions[0]!.exitStatus.exitDescription).toContain('item 47 is bad');
    expect(countsOf(first.stepExecutions[0]!)).toEqual(counts({ readCount: 50, writeCount: 40, commitCount: 4, rollbackCount: 1 }));

    badItem = undefined;
    const second = await restart(definition, first);
    expect(second.status).toBe('COMPLETED');
    expect(countsOf(second.stepExecutions[0]!)).toEqual(counts({ readCount: 60, writeCount: 60, commitCount: 6 }));
    expect(written).toEqual(range(1, 100));
    expect(await committed('out')).toEqual(range(1, 100));
  });

  type CrashWork = { n: number; crash?: 'exit' | 'uncaught'; marker?: string };
  const crashStep = (name: string, mode: 'exit' | 'uncaught', marker: string | undefined, written: number[]) =>
    step(name)
      .chunk<CrashWork, Done>(10)
      .reader(() => {
        const reader = new NumberReader(50);
        return {
          open: (c: ExecutionContext) => reader.open(c),
          update: (c: ExecutionContext) => reader.update(c),
          read: (): CrashWork | null => {
            const n = reader.read();
            if (n === null) return null;
            return n === 23 ? { n, crash: mode, ...(marker ? { marker } : {}) } : { n };
          },
        };
      })
      .processor(workerProcessor<CrashWork, Done>(CRASH_MODULE, { threads: 2 }))
      .writer(doneWriter(`out-${name}`, written));

  it.each(['exit', 'uncaught'] as const)(
    'a thread that crashes (%s) fails the step instead of hanging it; a restart completes exactly once',
    { timeout: 20_000 },
    async (mode) => {
      const marker = join(directory, `crashed-${mode}`);
      const written: number[] = [];
      const definition = job(`crash-${mode}`).start(crashStep(`crash-${mode}`, mode, marker, written).build()).build();
      const first = await runtime.launcher.run(definition);
      expect(first.status).toBe('FAILED');
      expect(first.stepExecutions[0]!.exitStatus.exitDescription).toMatch(mode === 'exit' ? /exited|exit code/i : /uncaught in the worker at item 23/);
      // Item 23 is in the third chunk. A thread holds a queued task besides the one it runs, and
      // the pool fails every task of a thread that dies, even one whose result was still on its way:
      // the chunk that fails may be the second (its other slice shared the thread), never the first.
      const commits = first.stepExecutions[0]!.commitCount;
      expect([1, 2]).toContain(commits);
      expect(countsOf(first.stepExecutions[0]!)).toEqual(counts({ readCount: (commits + 1) * 10, writeCount: commits * 10, commitCount: commits, rollbackCount: 1 }));
      expect(await committed(`out-crash-${mode}`)).toEqual(range(1, commits * 10));

      const second = await restart(definition, first); // the crash happens only once (marker file)
      expect(second.status).toBe('COMPLETED');
      expect(countsOf(second.stepExecutions[0]!)).toEqual(counts({ readCount: 50 - commits * 10, writeCount: 50 - commits * 10, commitCount: 5 - commits }));
      expect(written).toEqual(range(1, 50));
      expect(await committed(`out-crash-${mode}`)).toEqual(range(1, 50));
    },
  );

  // When the pool rejects a chunk's task because its thread died, the retry policy decides whether
  // the chunk is tried again (the crash is transient here: a marker file makes it happen once).
  it('with retry configured, a chunk whose thread crashed once is retried and the step completes', { timeout: 20_000 }, async () => {
    const marker = join(directory, 'crashed-retry');
    const written: number[] = [];
    const s = crashStep('crash-retry', 'exit', marker, written).faultTolerant().retry(Error).retryLimit(2).build();
    const execution = await runtime.launcher.run(job('crash-retry').start(s).build());
    expect(execution.status).toBe('COMPLETED');
    expect(countsOf(execution.stepExecutions[0]!)).toEqual(counts({ readCount: 50, writeCount: 50, commitCount: 5 }));
    expect(await committed('out-crash-retry')).toEqual(range(1, 50));
  });

  // A chunk abandoned by a failed (or stopped) step may still run in a worker thread when the step
  // closes the pool; its result, arriving for a task piscina no longer knows, must not become an
  // uncaught 'error' ("Unexpected message from Worker") that kills the user's process. The fixture
  // makes the timing deterministic (afterStep holds the main thread while the abandoned chunk finishes).
  it('a multi-threaded step that fails while another chunk is in a worker thread does not crash the process', { timeout: 30_000 }, async () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('abandoned-task.ts', FIXTURES)), '2'], {
      encoding: 'utf8',
      timeout: 25_000,
    });
    expect(result.stderr).not.toContain('Unexpected message from Worker');
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout.trim().split('\n').at(-1)!)).toEqual({ statuses: ['FAILED', 'FAILED'] });
  });
});

// ---- partitioning ---------------------------------------------------------------------------

describe('partitioning: step(name).partitioner(p, { gridSize }).step(worker)', () => {
  const workerStep = (options: {
    readonly store: string;
    readonly failOn?: () => number | undefined;
    readonly active?: { now: number; max: number };
    readonly opened?: Array<{ partition: string; first: number }>;
    readonly delayHops?: number;
  }) =>
    step('worker')
      .chunk<number, number>(10)
      .reader((stepExecution) => new PartitionRangeReader((first) => options.opened?.push({ partition: stepExecution.stepName, first })))
      .processor(async (n) => {
        await hops(options.delayHops ?? 1);
        if (n === options.failOn?.()) throw new Error(`item ${n} cannot be processed`);
        return n;
      })
      .writer(() => stagingWriter<number>(options.store))
      .listener({
        beforeStep: () => {
          if (!options.active) return;
          options.active.now++;
          options.active.max = Math.max(options.active.max, options.active.now);
        },
        afterStep: () => void (options.active && options.active.now--),
      })
      .build();

  it('runs each partition as <step>:partitionN with its own context, concurrently, and sums their counts', async () => {
    const active = { now: 0, max: 0 };
    const manager = step('manager')
      .partitioner(rangePartitioner({ min: 1, max: 400 }), { gridSize: 4 })
      .step(workerStep({ store: 'out', active }))
      .build();
    const execution = await runtime.launcher.run(job('partitioned').start(manager).build());

    expect(execution.status).toBe('COMPLETED');
    expect(execution.stepExecutions.map((s) => s.stepName).sort()).toEqual([
      'manager',
      'manager:partition0',
      'manager:partition1',
      'manager:partition2',
      'manager:partition3',
    ]);
    expect(active.max).toBe(4);
    const stored = (await runtime.explorer.getJobExecution(execution.id))!;
    for (let p = 0; p < 4; p++) {
      const partition = stepNamed(stored, `manager:partition${p}`);
      expect(partition.status).toBe('COMPLETED');
      expect(countsOf(partition)).toEqual(counts({ readCount: 100, writeCount: 100, commitCount: 10 }));
      expect(partition.executionContext.get('partition.min')).toBe(p * 100 + 1);
      expect(partition.executionContext.get('partition.max')).toBe(p * 100 + 100);
      expect(partition.executionContext.get(NEXT_KEY)).toBe(p * 100 + 101);
      expect(await committed('out', `manager:partition${p}`)).toEqual(range(p * 100 + 1, p * 100 + 100));
    }
    const managerExecution = stepNamed(stored, 'manager');
    expect(managerExecution.status).toBe('COMPLETED');
    expect(countsOf(managerExecution)).toEqual(counts({ readCount: 400, writeCount: 400, commitCount: 40 }));
    expect(managerExecution.executionContext.get('batch.partition.gridSize')).toBe(4);
    expect(sorted(await committed('out'))).toEqual(range(1, 400));
  });

  it('runs at most `concurrency` partitions at once', async () => {
    const active = { now: 0, max: 0 };
    const manager = step('manager')
      .partitioner(rangePartitioner({ min: 1, max: 200 }), { gridSize: 5, concurrency: 2 })
      .step(workerStep({ store: 'out', active }))
      .build();
    const execution = await runtime.launcher.run(job('partitioned-bounded').start(manager).build());
    expect(execution.status).toBe('COMPLETED');
    expect(active.max).toBe(2);
    expect(countsOf(stepNamed(execution, 'manager'))).toEqual(counts({ readCount: 200, writeCount: 200, commitCount: 20 }));
    expect(sorted(await committed('out'))).toEqual(range(1, 200));
  });

  it('a restart reruns only the partition that failed, from its last commit, with the gridSize of the first run', async () => {
    let failOn: number | undefined = 237;
    const opened: Array<{ partition: string; first: number }> = [];
    const build = (gridSize: number) =>
      job('partition-restart')
        .start(
          step('manager')
            .partitioner(rangePartitioner({ min: 1, max: 400 }), { gridSize })
            .step(workerStep({ store: 'out', failOn: () => failOn, opened }))
            .build(),
        )
        .build();
    const first = await runtime.launcher.run(build(4));
    expect(first.status).toBe('FAILED');
    const statuses = Object.fromEntries(first.stepExecutions.map((s) => [s.stepName, s.status]));
    expect(statuses).toEqual({
      manager: 'FAILED',
      'manager:partition0': 'COMPLETED',
      'manager:partition1': 'COMPLETED',
      'manager:partition2': 'FAILED',
      'manager:partition3': 'COMPLETED',
    });
    expect(countsOf(stepNamed(first, 'manager:partition2'))).toEqual(counts({ readCount: 40, writeCount: 30, commitCount: 3, rollbackCount: 1 }));
    expect(countsOf(stepNamed(first, 'manager'))).toEqual(counts({ readCount: 340, writeCount: 330, commitCount: 33, rollbackCount: 1 }));
    expect(stepNamed(first, 'manager').exitStatus.exitDescription).toContain('manager:partition2');

    // A definition that now asks for 8 partitions: the restart keeps the first run's 4.
    failOn = undefined;
    opened.length = 0;
    const second = await runtime.launcher.run(build(8));
    expect(second.status).toBe('COMPLETED');
    expect(second.stepExecutions.map((s) => s.stepName).sort()).toEqual(['manager', 'manager:partition2']);
    expect(opened).toEqual([{ partition: 'manager:partition2', first: 231 }]);
    expect(countsOf(stepNamed(second, 'manager:partition2'))).toEqual(counts({ readCount: 70, writeCount: 70, commitCount: 7 }));
    expect(countsOf(stepNamed(second, 'manager'))).toEqual(counts({ readCount: 70, writeCount: 70, commitCount: 7 }));
    const stored = (await runtime.explorer.getJobExecution(second.id))!;
    expect(stepNamed(stored, 'manager').executionContext.get('batch.partition.gridSize')).toBe(4);
    for (let p = 0; p < 4; p++) expect(await committed('out', `manager:partition${p}`)).toEqual(range(p * 100 + 1, p * 100 + 100));
    expect((await committed('out')).length).toBe(400);
  });

  it('partitions files with filePartitioner (one partition per file) and restarts a file partition exactly', async () => {
    const sizes = [30, 55, 20];
    const paths = sizes.map((size, f) => {
      const path = join(directory, `input-${f}.ndjson`);
      writeFileSync(path, range(1, size).map((i) => JSON.stringify({ id: f * 1000 + i })).join('\n') + '\n');
      return path;
    });
    let failOn: number | undefined = 1033;
    const worker = step('file-worker')
      .chunk<{ id: number }, number>(10)
      .reader((stepExecution) => ndjsonReader<{ id: number }>({ path: stepExecution.executionContext.get<string>('partition.file')!, map: (v) => v as { id: number } }))
      .processor((record) => {
        if (record.id === failOn) throw new Error(`record ${record.id} cannot be processed`);
        return record.id;
      })
      .writer(() => stagingWriter<number>('out'))
      .build();
    const definition = job('files').start(step('files').partitioner(filePartitioner(paths), { gridSize: 99 }).step(worker).build()).build();
    const first = await runtime.launcher.run(definition);
    expect(first.status).toBe('FAILED');
    const stored = (await runtime.explorer.getJobExecution(first.id))!;
    paths.forEach((path, f) => expect(stepNamed(stored, `files:partition${f}`).executionContext.get('partition.file')).toBe(path));
    expect(stepNamed(first, 'files:partition1').status).toBe('FAILED');
    expect(countsOf(stepNamed(first, 'files'))).toEqual(counts({ readCount: 30 + 40 + 20, writeCount: 30 + 30 + 20, commitCount: 3 + 3 + 2, rollbackCount: 1 }));

    failOn = undefined;
    const second = await restart(definition, first);
    expect(second.status).toBe('COMPLETED');
    expect(second.stepExecutions.map((s) => s.stepName).sort()).toEqual(['files', 'files:partition1']);
    expect(countsOf(stepNamed(second, 'files'))).toEqual(counts({ readCount: 25, writeCount: 25, commitCount: 3 }));
    for (const [f, size] of sizes.entries()) expect(await committed('out', `files:partition${f}`)).toEqual(range(1, size).map((i) => f * 1000 + i));
    expect((await committed('out')).length).toBe(30 + 55 + 20);
  });

  // A step's processor is one object for every StepExecution, so the partitions of a partitioned
  // step share one workerProcessor, and each partition's step opens and closes it: the pool must
  // live until the last partition closes it, or the others' chunks fail with "Terminating worker thread".
  it('partitions sharing a workerProcessor: one partition ending does not kill the others\' chunks', { timeout: 20_000 }, async () => {
    const worker = step('cpu-worker')
      .chunk<{ n: number; ms: number }, Done>(5)
      .reader(() => {
        const reader = new PartitionRangeReader();
        return {
          open: (c: ExecutionContext) => reader.open(c),
          update: (c: ExecutionContext) => reader.update(c),
          // Partition 'short' is done at once; 'long' spends ~10 ms per item in the worker.
          read: () => {
            const n = reader.read();
            return n === null ? null : { n, ms: n > 10 ? 10 : 0 };
          },
        };
      })
      .processor(workerProcessor<{ n: number; ms: number }, Done>(SLOW_MODULE, { threads: 2 }))
      .writer(doneWriter('out'))
      .build();
    const manager = step('cpu')
      .partitioner(() => ({ short: { 'partition.min': 1, 'partition.max': 10 }, long: { 'partition.min': 11, 'partition.max': 40 } }), { gridSize: 2 })
      .step(worker)
      .build();
    const execution = await runtime.launcher.run(job('cpu-partitions').start(manager).build());
    expect(execution.stepExecutions.map((s) => `${s.stepName}:${s.status}`).sort()).toEqual(['cpu:COMPLETED', 'cpu:long:COMPLETED', 'cpu:short:COMPLETED']);
    expect(execution.status).toBe('COMPLETED');
    expect(sorted(await committed('out'))).toEqual(range(1, 40));
  });
});


// ---- splits ---------------------------------------------------------------------------------

describe('splits: parallel steps', () => {
  /** A chunk step over 1..total whose processor can wait on a gate and reports its progress. */
  const splitStep = (name: string, total: number, options: { readonly gate?: () => Promise<void>; readonly failOn?: () => number | undefined; readonly started?: () => void }) =>
    step(name)
      .chunk<number, number>(10)
      .reader(() => new NumberReader(total))
      .processor(async (n) => {
        options.started?.();
        if (n === 1) await options.gate?.();
        await hops(1);
        if (n === options.failOn?.()) throw new Error(`${name}: item ${n} cannot be processed`);
        return n;
      })
      .writer(() => stagingWriter<number>('out'))
      .build();

  const pre = () => step('pre').tasklet(() => RepeatStatus.FINISHED).build();

  it('runs the flows side by side, each step with its own StepExecution, and waits for all of them', async () => {
    const aStarted = deferred();
    const bStarted = deferred();
    const concurrent = { a: false, b: false };
    const A = splitStep('A', 100, { started: () => aStarted.resolve(), gate: async () => void (concurrent.a = await within(bStarted.promise, 5_000)) });
    const B = splitStep('B', 150, { started: () => bStarted.resolve(), gate: async () => void (concurrent.b = await within(aStarted.promise, 5_000)) });
    const post = step('post').tasklet(() => RepeatStatus.FINISHED).build();
    const definition = job('split').start(pre()).split({ concurrency: 2 }).add(flow('fa').start(A).build(), flow('fb').start(B).build()).next(post).build();
    const execution = await runtime.launcher.run(definition);

    expect(execution.status).toBe('COMPLETED');
    expect(concurrent).toEqual({ a: true, b: true });
    const a = stepNamed(execution, 'A');
    const b = stepNamed(execution, 'B');
    expect(a.id).not.toBe(b.id);
    expect(countsOf(a)).toEqual(counts({ readCount: 100, writeCount: 100, commitCount: 10 }));
    expect(countsOf(b)).toEqual(counts({ readCount: 150, writeCount: 150, commitCount: 15 }));
    const postExecution = stepNamed(execution, 'post');
    expect(postExecution.startTime!.getTime()).toBeGreaterThanOrEqual(Math.max(a.endTime!.getTime(), b.endTime!.getTime()));
    expect(await committed('out', 'A')).toEqual(range(1, 100));
    expect(await committed('out', 'B')).toEqual(range(1, 150));
  });

  it('one flow failing mid-way fails the job; a restart reruns only that step from its last commit, output exactly once', async () => {
    let failOn: number | undefined = 55;
    const A = splitStep('A', 100, {});
    const B = splitStep('B', 100, { failOn: () => failOn });
    const definition = job('split-restart').start(pre()).split().add(flow('fa').start(A).build(), flow('fb').start(B).build()).build();
    const first = await runtime.launcher.run(definition);
    expect(first.status).toBe('FAILED');
    expect(stepNamed(first, 'A').status).toBe('COMPLETED');
    expect(stepNamed(first, 'B').status).toBe('FAILED');
    expect(countsOf(stepNamed(first, 'B'))).toEqual(counts({ readCount: 60, writeCount: 50, commitCount: 5, rollbackCount: 1 }));

    failOn = undefined;
    const second = await restart(definition, first);
    expect(second.status).toBe('COMPLETED');
    expect(second.stepExecutions.map((s) => s.stepName)).toEqual(['B']);
    expect(countsOf(stepNamed(second, 'B'))).toEqual(counts({ readCount: 50, writeCount: 50, commitCount: 5 }));
    expect(await committed('out', 'A')).toEqual(range(1, 100));
    expect(await committed('out', 'B')).toEqual(range(1, 100));
  });
});

// ---- stop -----------------------------------------------------------------------------------

describe('stop reaches every concurrent chunk, partition and split', () => {
  /** Calls operator.stop once `after` chunks have committed (counted over the whole job). */
  function stopper(after: number) {
    let commits = 0;
    let executionId: number | undefined;
    let requested = false;
    return {
      listener: {
        beforeStep: (s: StepExecution) => void (executionId = s.jobExecutionId),
        afterChunk: () => {
          if (++commits >= after && !requested && executionId !== undefined) {
            requested = true;
            void runtime.operator.stop(executionId);
          }
        },
      },
      get requested() {
        return requested;
      },
    };
  }

  it('a multi-threaded step ends STOPPED at a chunk boundary; a restart completes it exactly once', async () => {
    let stopAfter = stopper(5);
    const written: number[] = [];
    const definition = job('mt-stop')
      .start(
        step('mt')
          .chunk<number, number>(20)
          .reader(() => new NumberReader(2000))
          .processor(async (n) => {
            await hops(1 + (n % 3));
            return n;
          })
          .writer(() => stagingWriter<number>('out', { written }))
          .taskExecutor({ concurrency: 4 })
          .listener({ beforeStep: (s) => stopAfter.listener.beforeStep(s), afterChunk: () => stopAfter.listener.afterChunk() })
          .build(),
      )
      .build();
    const first = await runtime.launcher.run(definition);
    expect(stopAfter.requested).toBe(true);
    expect(first.status).toBe('STOPPED');
    const s = first.stepExecutions[0]!;
    expect(s.status).toBe('STOPPED');
    expect(s.exitStatus.exitCode).toBe('STOPPED');
    const k = s.commitCount;
    expect(k).toBeGreaterThanOrEqual(5);
    expect(k).toBeLessThan(100);
    expect(countsOf(s)).toEqual(counts({ readCount: k * 20, writeCount: k * 20, commitCount: k }));
    expect(await committed('out')).toEqual(range(1, k * 20));

    stopAfter = stopper(Infinity);
    const second = await restart(definition, first);
    expect(second.status).toBe('COMPLETED');
    expect(countsOf(second.stepExecutions[0]!)).toEqual(counts({ readCount: 2000 - k * 20, writeCount: 2000 - k * 20, commitCount: 100 - k }));
    expect(written).toEqual(range(1, 2000));
    expect(await committed('out')).toEqual(range(1, 2000));
  });

  it('every partition of a partitioned step ends STOPPED (running or not yet started); a restart completes them exactly once', async () => {
    let stopAfter = stopper(6);
    const worker = step('worker')
      .chunk<number, number>(10)
      .reader(() => new PartitionRangeReader())
      .processor(async (n) => {
        await hops(2);
        return n;
      })
      .writer(() => stagingWriter<number>('out'))
      .listener({ beforeStep: (s) => stopAfter.listener.beforeStep(s), afterChunk: () => stopAfter.listener.afterChunk() })
      .build();
    const definition = job('partition-stop')
      .start(step('manager').partitioner(rangePartitioner({ min: 1, max: 2000 }), { gridSize: 4, concurrency: 2 }).step(worker).build())
      .build();
    const first = await runtime.launcher.run(definition);
    expect(stopAfter.requested).toBe(true);
    expect(first.status).toBe('STOPPED');
    const statuses = Object.fromEntries(first.stepExecutions.map((s) => [s.stepName, s.status]));
    expect(statuses).toEqual({
      manager: 'STOPPED',
      'manager:partition0': 'STOPPED',
      'manager:partition1': 'STOPPED',
      'manager:partition2': 'STOPPED',
      'manager:partition3': 'STOPPED',
    });
    const committedFirst = await committed('out');
    const managerFirst = stepNamed(first, 'manager');
    expect(managerFirst.writeCount).toBe(committedFirst.length);
    expect(managerFirst.commitCount).toBe(committedFirst.length / 10);
    for (let p = 0; p < 4; p++) {
      const partition = stepNamed(first, `manager:partition${p}`);
      expect(await committed('out', `manager:partition${p}`)).toEqual(range(p * 500 + 1, p * 500 + partition.writeCount));
    }

    stopAfter = stopper(Infinity);
    const second = await restart(definition, first);
    expect(second.status).toBe('COMPLETED');
    expect(stepNamed(second, 'manager').writeCount).toBe(2000 - committedFirst.length);
    for (let p = 0; p < 4; p++) expect(await committed('out', `manager:partition${p}`)).toEqual(range(p * 500 + 1, p * 500 + 500));
  });

  it('both flows of a split end STOPPED; a restart completes both exactly once', async () => {
    let stopAfter = stopper(4);
    const splitStep = (name: string) =>
      step(name)
        .chunk<number, number>(10)
        .reader(() => new NumberReader(1000))
        .processor(async (n) => {
          await hops(2);
          return n;
        })
        .writer(() => stagingWriter<number>('out'))
        .listener({ beforeStep: (s) => stopAfter.listener.beforeStep(s), afterChunk: () => stopAfter.listener.afterChunk() })
        .build();
    const post = step('post').tasklet(() => RepeatStatus.FINISHED).build();
    const definition = job('split-stop')
      .start(step('pre').tasklet(() => RepeatStatus.FINISHED).build())
      .split({ concurrency: 2 })
      .add(flow('fa').start(splitStep('A')).build(), flow('fb').start(splitStep('B')).build())
      .next(post)
      .build();
    const first = await runtime.launcher.run(definition);
    expect(stopAfter.requested).toBe(true);
    expect(first.status).toBe('STOPPED');
    expect(Object.fromEntries(first.stepExecutions.map((s) => [s.stepName, s.status]))).toEqual({ pre: 'COMPLETED', A: 'STOPPED', B: 'STOPPED' });
    for (const name of ['A', 'B']) {
      const s = stepNamed(first, name);
      expect(s.commitCount).toBeLessThan(100);
      expect(await committed('out', name)).toEqual(range(1, s.writeCount));
    }

    stopAfter = stopper(Infinity);
    const second = await restart(definition, first);
    expect(second.status).toBe('COMPLETED');
    expect(second.stepExecutions.map((s) => s.stepName).sort()).toEqual(['A', 'B', 'post']);
    for (const name of ['A', 'B']) expect(await committed('out', name)).toEqual(range(1, 1000));
  });
});
