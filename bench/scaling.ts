/**
 * Scaling benchmarks: each scaling feature against its baseline, measured in the same run.
 *
 *   npx tsx bench/scaling.ts                     # the full run (~4-5 min on the 2-core machine)
 *   SCALING_QUICK=1 npx tsx bench/scaling.ts     # every figure on small counts (~30 s)
 *   SCALING_ONLY=async,memory npx tsx bench/scaling.ts
 *
 * 1. async: an async processor with a simulated 1 ms I/O call per item (`setTimeout(1)`),
 *    `processor(io, { concurrency: 64 })` against `concurrency: 1`. Target >= 40x.
 * 2. cpu: a CPU-bound processor (chained SHA-256, calibrated to ~10 us per item, the module
 *    test/integration/fixtures/scaling/hash.mjs), `workerProcessor(module, { threads: 2 })` against
 *    the same step running that module's function on the main thread. Target >= 1.7x on 2 cores.
 *    For information also with `chunksInFlight: 1` (one chunk in the threads at a time) and with
 *    `taskExecutor({ concurrency })`. Every run's writer checks the outputs' order and compares a
 *    checksum of their hashes with the main thread's run. Two hand-written references run too: the
 *    hashing alone on plain threads (the machine's ceiling: no reading, writing or commits), and the
 *    whole step's work written by hand on plain threads (bench/hash-pipeline-thread.mjs: read,
 *    hash in the threads, check and checksum, one durable LMDB commit per chunk), which is what
 *    the runtime's own cost is measured against. SCALING_CPU_REPEAT=n runs the baseline, the
 *    variants and the references n times in turn; each ratio compares runs of one repetition, and
 *    the table shows the median ratio (min-max) and the runs of median time.
 * 3. io: the same 1 ms-per-item processor (no processor concurrency): a multi-threaded step
 *    `taskExecutor({ concurrency: 4 })` and a partitioned step (`rangePartitioner`, gridSize 4)
 *    against the plain step. Ratio reported.
 * 4. memory: each setting (plain; async processor x64; multi-threaded x4; partitioned x4) runs
 *    1,000,000 and 10,000,000 items in a CHILD process (node --expose-gc --import tsx), reporting
 *    its peak RSS (process.resourceUsage().maxRSS) and the reader's largest lead over the committed
 *    items, as test/integration/bounded-memory.test.ts measures it (bound: (readAhead +
 *    concurrency + 1) chunks). Target: peak RSS of 10M within 64 MB of 1M.
 *
 * Every run is a real job on a fresh LMDB store (durable commits) in a temp directory, launched
 * through src/index.ts as a user would; each run checks COMPLETED and its counts. Environment
 * overrides (all optional): SCALING_ONLY, SCALING_QUICK, SCALING_CHUNK (1000),
 * SCALING_ASYNC_ITEMS (100000), SCALING_ASYNC_BASELINE_ITEMS (= SCALING_ASYNC_ITEMS),
 * SCALING_ASYNC_CONCURRENCY (64), SCALING_CPU_ITEMS (1000000), SCALING_CPU_ROUNDS (calibrated),
 * SCALING_THREADS (2), SCALING_CPU_REPEAT (1), SCALING_CPU_IN_FLIGHT ("1,2"; 0 for none), SCALING_CPU_TASK_CONCURRENCY ("2"; 0 for none), SCALING_IO_ITEMS (20000),
 * SCALING_IO_CHUNK (100), SCALING_IO_CONCURRENCY (4), SCALING_MEM_SMALL (1000000),
 * SCALING_MEM_LARGE (10000000), SCALING_MEM_SETTINGS ("plain,async64,mt4,partitioned4").
 *
 * Progress goes to stderr; stdout gets the tables and, as its LAST line, one JSON object with
 * every figure. Other processes on the machine skew the figures: the load average is printed
 * before and after each part.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { open as openLmdb } from 'lmdb';
import { BatchRuntime, job, rangePartitioner, step, workerProcessor, type ExecutionContext, type ItemReader, type ItemStream, type Job, type Step } from '../src/index.js';

// ---- settings ------------------------------------------------------------------------------

const QUICK = process.env['SCALING_QUICK'] === '1';

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got '${raw}'`);
  return value;
}
function listFromEnv(name: string, fallback: string): string[] {
  return (process.env[name] || fallback)
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
}

const HASH_MODULE = new URL('../test/integration/fixtures/scaling/hash.mjs', import.meta.url);
const RAW_HASH_THREAD = new URL('./raw-hash-thread.mjs', import.meta.url);
const PIPELINE_THREAD = new URL('./hash-pipeline-thread.mjs', import.meta.url);
const THIS_FILE = fileURLToPath(import.meta.url);

const round = (value: number, digits = 0): number => Number(value.toFixed(digits));
const fmt = (value: number, digits = 0): string => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const progress = (line: string): void => void process.stderr.write(`${line}\n`);
const load = (): string => loadavg().map((value) => value.toFixed(2)).join(' ');
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---- a run ---------------------------------------------------------------------------------

/** Reads 1..total from a counter (no array), restartable, and reports each read. */
class CountingReader implements ItemReader<number>, ItemStream {
  private position = 0;
  constructor(
    private readonly first: number,
    private readonly last: number,
    private readonly onRead?: () => void,
  ) {}
  open(context: ExecutionContext): void {
    this.position = context.get<number>('bench.position') ?? this.first - 1;
  }
  read(): number | null {
    if (this.position >= this.last) return null;
    this.onRead?.();
    return ++this.position;
  }
  update(context: ExecutionContext): void {
    context.put('bench.position', this.position);
  }
}

/** A reader over the partition's range (rangePartitioner's partition.min / partition.max). */
function partitionReader(context: ExecutionContext, onRead?: () => void): CountingReader {
  return new CountingReader(context.get<number>('partition.min')!, context.get<number>('partition.max')!, onRead);
}

interface Timed {
  readonly seconds: number;
  readonly itemsPerSec: number;
  /** CPU of the whole process: every thread (main, worker threads, V8 and libuv helpers). */
  readonly cpuSeconds: number;
  /** CPU of the main thread alone (Linux /proc/thread-self; undefined elsewhere). */
  readonly mainThreadCpuSeconds: number | undefined;
}

/** The calling thread's CPU time in seconds, from /proc/thread-self/stat (utime + stime, in clock ticks of 1/100 s). */
function threadCpuSeconds(): number | undefined {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Runs `definition` on a fresh LMDB store, checks that it completed with `items` written, and times it. */
async function timedRun(definition: Job, items: number, written: () => number): Promise<Timed> {
  const directory = mkdtempSync(join(tmpdir(), 'tsbatch-scaling-bench-'));
  const runtime = await BatchRuntime.open({ path: directory, logger: false });
  try {
    const cpuBefore = process.cpuUsage();
    const mainBefore = threadCpuSeconds();
    const started = process.hrtime.bigint();
    const execution = await runtime.launcher.run(definition);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.cpuUsage(cpuBefore);
    const mainAfter = threadCpuSeconds();
    const first = execution.stepExecutions[0];
    if (execution.status !== 'COMPLETED' || first?.writeCount !== items || written() !== items) {
      throw new Error(
        `${definition.name}: expected COMPLETED with ${items} items written, got ${execution.status}, ` +
          `writeCount ${first?.writeCount}, writer saw ${written()}: ${first?.exitStatus.exitDescription.slice(0, 300)}`,
      );
    }
    const mainThreadCpuSeconds = mainBefore === undefined || mainAfter === undefined ? undefined : mainAfter - mainBefore;
    return { seconds, itemsPerSec: items / seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, mainThreadCpuSeconds };
  } finally {
    await runtime.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

function countingWriter() {
  let count = 0;
  return { writer: { write: (chunk: { size: number }) => void (count += chunk.size) }, written: () => count };
}

const io = async (n: number): Promise<number> => {
  await sleep(1);
  return n;
};

// ---- 1. async processor ----------------------------------------------------------------------

interface AsyncResult {
  readonly items: number;
  readonly baselineItems: number;
  readonly chunkSize: number;
  readonly concurrency: number;
  readonly concurrent: Timed;
  readonly baseline: Timed;
  readonly ratio: number;
  readonly target: number;
  readonly met: boolean;
  readonly load: { before: string; after: string };
}

async function benchAsync(): Promise<AsyncResult> {
  const items = intFromEnv('SCALING_ASYNC_ITEMS', QUICK ? 10_000 : 100_000);
  const baselineItems = intFromEnv('SCALING_ASYNC_BASELINE_ITEMS', QUICK ? 2_000 : items);
  const chunkSize = intFromEnv('SCALING_CHUNK', 1000);
  const concurrency = intFromEnv('SCALING_ASYNC_CONCURRENCY', 64);
  const before = load();
  const run = (count: number, c: number) => {
    const { writer, written } = countingWriter();
    const definition = job(`async-${c}`)
      .start(step('async').chunk<number, number>(chunkSize).reader(() => new CountingReader(1, count)).processor(io, { concurrency: c }).writer(writer).build())
      .build();
    return timedRun(definition, count, written);
  };
  progress(`async: ${items} items at concurrency ${concurrency}, then ${baselineItems} at concurrency 1 (1 ms each: ~${Math.round(baselineItems * 1.15 / 1000)} s)`);
  const concurrent = await run(items, concurrency);
  progress(`  concurrency ${concurrency}: ${fmt(concurrent.itemsPerSec)} items/s (${concurrent.seconds.toFixed(2)} s)`);
  const baseline = await run(baselineItems, 1);
  progress(`  concurrency 1: ${fmt(baseline.itemsPerSec)} items/s (${baseline.seconds.toFixed(2)} s)`);
  const ratio = concurrent.itemsPerSec / baseline.itemsPerSec;
  return { items, baselineItems, chunkSize, concurrency, concurrent, baseline, ratio: round(ratio, 2), target: 40, met: ratio >= 40, load: { before, after: load() } };
}

// ---- 2. CPU-bound: worker threads ------------------------------------------------------------

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : round((sorted[middle - 1]! + sorted[middle]!) / 2, 2);
}

/** The run of median time (the slower of the middle two for an even count). */
function medianRun(runs: readonly Timed[]): Timed {
  return [...runs].sort((a, b) => a.seconds - b.seconds)[runs.length >> 1]!;
}

interface CpuRun extends Timed {
  readonly label: string;
  /** The median over the repetitions of (this run's items/s / the main thread's in the same repetition). */
  readonly ratio: number;
  readonly ratios: number[];
  readonly runs: Timed[];
}
interface CpuResult {
  readonly items: number;
  readonly rounds: number;
  readonly microsPerItemOnMainThread: number;
  readonly threads: number;
  readonly chunkSize: number;
  readonly repeat: number;
  /** The main-thread run of median time; every repetition's in mainThreadRuns. */
  readonly mainThread: Timed;
  readonly mainThreadRuns: Timed[];
  /** What the machine gives the same work on plain threads: the most any runtime could reach. */
  readonly handWritten: CpuRun;
  /** The step's whole work written by hand on plain threads: read, hash in the threads, write, commit. */
  readonly handWrittenPipeline: CpuRun;
  readonly workers: CpuRun[];
  readonly best: { label: string; ratio: number };
  readonly target: number;
  readonly met: boolean;
  readonly load: { before: string; after: string };
}

async function benchCpu(): Promise<CpuResult> {
  const items = intFromEnv('SCALING_CPU_ITEMS', QUICK ? 100_000 : 1_000_000);
  const chunkSize = intFromEnv('SCALING_CHUNK', 1000);
  const threads = intFromEnv('SCALING_THREADS', 2);
  // The variants run for information; 0 runs none.
  const taskConcurrencies = listFromEnv('SCALING_CPU_TASK_CONCURRENCY', '2').map(Number).filter((n) => n > 1);
  const inFlightVariants = listFromEnv('SCALING_CPU_IN_FLIGHT', '1,2').map(Number).filter((n) => n >= 1);
  const repeat = intFromEnv('SCALING_CPU_REPEAT', 1);
  const { default: hash, hashOf } = (await import(HASH_MODULE.href)) as {
    default: (item: { n: number; rounds: number }) => { n: number; h: string; thread: number };
    hashOf: (n: number, rounds: number) => string;
  };
  // Calibrate the rounds of SHA-256 that take ~10 us on this machine.
  let rounds = intFromEnv('SCALING_CPU_ROUNDS', 1);
  if (!process.env['SCALING_CPU_ROUNDS']) {
    // On CPU time, not wall time: other processes on the machine must not change the workload.
    for (let i = 0; i < 20_000; i++) hashOf(i, 4); // warm up
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < 50_000; i++) hashOf(i, 4);
    const cpu = process.cpuUsage(cpu0);
    const perRound = (cpu.user + cpu.system) / 50_000 / 4;
    rounds = Math.max(1, Math.round(10 / perRound));
  }
  const before = load();
  progress(`cpu: ${items} items, ${rounds} SHA-256 rounds per item, chunk ${chunkSize}, ${threads} worker threads`);

  type Item = { n: number; rounds: number };
  type Out = { n: number; h: string; thread: number };
  // Every run's writer checks the order of the outputs and folds their hashes into a checksum,
  // which must be the main thread's: the runs compare the same work with the same result.
  const checkedWriter = (inWorkers: boolean) => {
    let count = 0;
    let checksum = 0;
    let problem: string | undefined;
    const writer = {
      write: (chunk: { items: readonly Out[] }) => {
        for (const out of chunk.items) {
          count += 1;
          if (problem === undefined && (out.n !== count || (out.thread !== 0) !== inWorkers)) problem = `output ${count}: ${JSON.stringify(out)}`;
          checksum = (Math.imul(checksum, 31) + Number.parseInt(out.h.slice(0, 8), 16)) | 0;
        }
      },
    };
    return { writer, written: () => count, checksum: () => checksum, problem: () => problem };
  };
  let expectedChecksum: number | undefined;
  const checked = async (run: Promise<Timed>, check: ReturnType<typeof checkedWriter>, label: string): Promise<Timed> => {
    const timed = await run;
    if (check.problem() !== undefined) throw new Error(`cpu ${label}: ${check.problem()}`);
    expectedChecksum ??= check.checksum();
    if (check.checksum() !== expectedChecksum) throw new Error(`cpu ${label}: output checksum ${check.checksum()}, the main thread's was ${expectedChecksum}`);
    return timed;
  };
  const reader = (count: number) => () => {
    const inner = new CountingReader(1, count);
    return {
      open: (c: ExecutionContext) => inner.open(c),
      update: (c: ExecutionContext) => inner.update(c),
      read: (): Item | null => {
        const n = inner.read();
        return n === null ? null : { n, rounds };
      },
    };
  };
  const runMain = () => {
    const check = checkedWriter(false);
    const s = step('cpu').chunk<Item, Out>(chunkSize).reader(reader(items)).processor(hash).writer(check.writer).build();
    return checked(timedRun(job('cpu-main').start(s).build(), items, check.written), check, 'main thread');
  };
  /**
   * The machine's ceiling for this work: `threads` plain worker threads, each hashing its share of
   * the items with the same module, no runtime at all. Its checksum must be the main thread's.
   */
  const runHandWritten = async (): Promise<Timed> => {
    const cpuBefore = process.cpuUsage();
    const mainBefore = threadCpuSeconds();
    const started = process.hrtime.bigint();
    const share = Math.ceil(items / threads);
    const parts = await Promise.all(
      Array.from({ length: threads }, (_, index) => {
        const worker = new Worker(RAW_HASH_THREAD, { workerData: { module: HASH_MODULE.href, from: index * share + 1, to: Math.min(items, (index + 1) * share), rounds } });
        return new Promise<number[]>((resolve, reject) => {
          worker.once('message', (checksums: number[]) => void worker.terminate().then(() => resolve(checksums)));
          worker.once('error', reject);
        });
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.cpuUsage(cpuBefore);
    const mainAfter = threadCpuSeconds();
    let checksum = 0;
    for (const part of parts) for (const value of part) checksum = (Math.imul(checksum, 31) + value) | 0;
    if (checksum !== expectedChecksum) throw new Error(`cpu hand-written threads: checksum ${checksum}, the main thread's was ${expectedChecksum}`);
    return {
      seconds,
      itemsPerSec: items / seconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      mainThreadCpuSeconds: mainBefore === undefined || mainAfter === undefined ? undefined : mainAfter - mainBefore,
    };
  };
  /**
   * What a user would write without a runtime for the whole step, not only its hashing: the main
   * thread makes the items, cuts each chunk into one slice per thread, keeps up to 3 chunks in the
   * threads (as workerProcessor does), and for each chunk, in order, checks and checksums the
   * outputs as the step's writer does, then commits the position in one durable LMDB
   * transactionSync. Items and outputs cross by postMessage's structured clone.
   */
  const runHandWrittenPipeline = async (): Promise<Timed> => {
    const directory = mkdtempSync(join(tmpdir(), 'tsbatch-scaling-pipeline-'));
    const db = openLmdb<{ written: number; checksum: number }, string>({ path: join(directory, 'pipeline.mdb'), compression: false, overlappingSync: false });
    const workers = Array.from({ length: threads }, () => new Worker(PIPELINE_THREAD, { workerData: { module: HASH_MODULE.href } }));
    const waiting = new Map<number, (outputs: Out[]) => void>();
    for (const worker of workers) worker.on('message', ({ id, outputs }: { id: number; outputs: Out[] }) => waiting.get(id)?.(outputs));
    let taskId = 0;
    const runSlice = (worker: Worker, items: Item[]) =>
      new Promise<Out[]>((resolve) => {
        const id = taskId++;
        waiting.set(id, (outputs) => {
          waiting.delete(id);
          resolve(outputs);
        });
        worker.postMessage({ id, items });
      });
    try {
      // The threads load the module before the clock starts, as the pool's do when the step opens.
      await Promise.all(workers.map((worker) => runSlice(worker, [{ n: 1, rounds: 1 }])));
      const cpuBefore = process.cpuUsage();
      const mainBefore = threadCpuSeconds();
      const started = process.hrtime.bigint();
      let next = 1;
      // The step's own writer logic (order check and checksum), so the two sides check alike.
      const check = checkedWriter(true);
      const readChunk = (): Item[] => {
        const chunk: Item[] = [];
        while (chunk.length < chunkSize && next <= items) chunk.push({ n: next++, rounds });
        return chunk;
      };
      const startChunk = async (chunk: Item[]): Promise<Out[]> => {
        const slice = Math.ceil(chunk.length / threads);
        const parts = await Promise.all(workers.map((worker, index) => (index * slice < chunk.length ? runSlice(worker, chunk.slice(index * slice, (index + 1) * slice)) : [])));
        return parts.flat();
      };
      const inFlight: Array<Promise<Out[]>> = [];
      for (;;) {
        while (inFlight.length < 3) {
          const chunk = readChunk();
          if (chunk.length === 0) break;
          inFlight.push(startChunk(chunk));
        }
        const chunk = inFlight.shift();
        if (chunk === undefined) break;
        check.writer.write({ items: await chunk });
        db.transactionSync(() => db.putSync('position', { written: check.written(), checksum: check.checksum() }));
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const cpu = process.cpuUsage(cpuBefore);
      const mainAfter = threadCpuSeconds();
      if (check.problem() !== undefined) throw new Error(`cpu hand-written pipeline: ${check.problem()}`);
      if (check.written() !== items || check.checksum() !== expectedChecksum) {
        throw new Error(`cpu hand-written pipeline: ${check.written()} outputs, checksum ${check.checksum()}; the main thread's was ${expectedChecksum}`);
      }
      return {
        seconds,
        itemsPerSec: items / seconds,
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
        mainThreadCpuSeconds: mainBefore === undefined || mainAfter === undefined ? undefined : mainAfter - mainBefore,
      };
    } finally {
      await Promise.all(workers.map((worker) => worker.terminate()));
      await db.close();
      rmSync(directory, { recursive: true, force: true });
    }
  };
  /** `workerProcessor(module, { threads })` as a user writes it, then variants for information. */
  const variants: Array<{ label: string; chunksInFlight?: number; taskConcurrency?: number }> = [
    { label: `workerProcessor(threads ${threads})` },
    ...inFlightVariants.map((chunksInFlight) => ({ label: `workerProcessor(threads ${threads}, chunksInFlight ${chunksInFlight})`, chunksInFlight })),
    ...taskConcurrencies.map((taskConcurrency) => ({ label: `workerProcessor(threads ${threads}) + taskExecutor(${taskConcurrency})`, taskConcurrency })),
  ];
  const runWorkers = (variant: (typeof variants)[number]) => {
    const check = checkedWriter(true);
    const options = variant.chunksInFlight === undefined ? { threads } : { threads, chunksInFlight: variant.chunksInFlight };
    let builder = step('cpu').chunk<Item, Out>(chunkSize).reader(reader(items)).processor(workerProcessor<Item, Out>(HASH_MODULE, options)).writer(check.writer);
    if (variant.taskConcurrency !== undefined) builder = builder.taskExecutor({ concurrency: variant.taskConcurrency });
    return checked(timedRun(job('cpu-workers').start(builder.build()).build(), items, check.written), check, variant.label);
  };

  // The machine's speed drifts over seconds (other processes, and a virtual CPU's host): each
  // repetition runs the baseline, then at once the variants (the target's first), then the two
  // hand-written references, and a ratio compares runs of the same repetition only.
  const mainThreadRuns: Timed[] = [];
  const handWrittenRuns: Timed[] = [];
  const handWrittenRatios: number[] = [];
  const pipelineRuns: Timed[] = [];
  const pipelineRatios: number[] = [];
  const variantRuns: Timed[][] = variants.map(() => []);
  const variantRatios: number[][] = variants.map(() => []);
  for (let repetition = 1; repetition <= repeat; repetition++) {
    if (repeat > 1) progress(`  repetition ${repetition} of ${repeat} (load average ${load()})`);
    const main = await runMain();
    mainThreadRuns.push(main);
    progress(`  main thread: ${fmt(main.itemsPerSec)} items/s (${main.seconds.toFixed(2)} s, ${((main.seconds * 1e6) / items).toFixed(1)} us/item)`);
    for (const [index, variant] of variants.entries()) {
      const timed = await runWorkers(variant);
      variantRuns[index]!.push(timed);
      variantRatios[index]!.push(round(timed.itemsPerSec / main.itemsPerSec, 2));
      progress(`  ${variant.label}: ${fmt(timed.itemsPerSec)} items/s (${timed.seconds.toFixed(2)} s), ${(timed.itemsPerSec / main.itemsPerSec).toFixed(2)}x`);
    }
    const handWritten = await runHandWritten();
    handWrittenRuns.push(handWritten);
    handWrittenRatios.push(round(handWritten.itemsPerSec / main.itemsPerSec, 2));
    progress(`  hand-written ${threads} threads: ${fmt(handWritten.itemsPerSec)} items/s (${handWritten.seconds.toFixed(2)} s), ${(handWritten.itemsPerSec / main.itemsPerSec).toFixed(2)}x`);
    const pipeline = await runHandWrittenPipeline();
    pipelineRuns.push(pipeline);
    pipelineRatios.push(round(pipeline.itemsPerSec / main.itemsPerSec, 2));
    progress(`  hand-written pipeline on ${threads} threads: ${fmt(pipeline.itemsPerSec)} items/s (${pipeline.seconds.toFixed(2)} s), ${(pipeline.itemsPerSec / main.itemsPerSec).toFixed(2)}x`);
  }
  const mainThread = medianRun(mainThreadRuns);
  const workers: CpuRun[] = variants.map((variant, index) => ({
    label: variant.label,
    ...medianRun(variantRuns[index]!),
    ratio: median(variantRatios[index]!),
    ratios: variantRatios[index]!,
    runs: variantRuns[index]!,
  }));
  const best = workers.reduce((a, b) => (b.ratio > a.ratio ? b : a));
  const handWritten: CpuRun = {
    label: `hand-written: ${threads} plain worker threads, no runtime (the ceiling)`,
    ...medianRun(handWrittenRuns),
    ratio: median(handWrittenRatios),
    ratios: handWrittenRatios,
    runs: handWrittenRuns,
  };
  const handWrittenPipeline: CpuRun = {
    label: `hand-written pipeline: read, ${threads} plain threads (structured clone), write, 1 LMDB commit per chunk`,
    ...medianRun(pipelineRuns),
    ratio: median(pipelineRatios),
    ratios: pipelineRatios,
    runs: pipelineRuns,
  };
  return {
    items,
    rounds,
    microsPerItemOnMainThread: round((mainThread.seconds * 1e6) / items, 2),
    threads,
    chunkSize,
    repeat,
    mainThread,
    mainThreadRuns,
    handWritten,
    handWrittenPipeline,
    workers,
    best: { label: best.label, ratio: best.ratio },
    target: 1.7,
    met: workers[0]!.ratio >= 1.7,
    load: { before, after: load() },
  };
}

// ---- 3. multi-threaded and partitioned against plain, I/O-bound --------------------------------

interface IoResult {
  readonly items: number;
  readonly chunkSize: number;
  readonly concurrency: number;
  readonly plain: Timed;
  readonly multiThreaded: Timed & { ratio: number };
  readonly partitioned: Timed & { ratio: number };
  readonly load: { before: string; after: string };
}

async function benchIo(): Promise<IoResult> {
  const items = intFromEnv('SCALING_IO_ITEMS', QUICK ? 2_000 : 20_000);
  const chunkSize = intFromEnv('SCALING_IO_CHUNK', 100);
  const concurrency = intFromEnv('SCALING_IO_CONCURRENCY', 4);
  const before = load();
  progress(`io: ${items} items at 1 ms each, chunk ${chunkSize}: plain, taskExecutor(${concurrency}), partitioned gridSize ${concurrency}`);
  const plainStep = (name: string, writer: { write: (chunk: { size: number }) => void }, partitioned: boolean) =>
    step(name)
      .chunk<number, number>(chunkSize)
      .reader((s) => (partitioned ? partitionReader(s.executionContext) : new CountingReader(1, items)))
      .processor(io)
      .writer(writer);

  let w = countingWriter();
  const plain = await timedRun(job('io-plain').start(plainStep('io', w.writer, false).build()).build(), items, w.written);
  progress(`  plain: ${fmt(plain.itemsPerSec)} items/s (${plain.seconds.toFixed(2)} s)`);
  w = countingWriter();
  const mt = await timedRun(job('io-mt').start(plainStep('io', w.writer, false).taskExecutor({ concurrency }).build()).build(), items, w.written);
  progress(`  multi-threaded x${concurrency}: ${fmt(mt.itemsPerSec)} items/s (${mt.seconds.toFixed(2)} s), ${(mt.itemsPerSec / plain.itemsPerSec).toFixed(2)}x`);
  w = countingWriter();
  const manager: Step = step('io')
    .partitioner(rangePartitioner({ min: 1, max: items }), { gridSize: concurrency })
    .step(plainStep('io-worker', w.writer, true).build())
    .build();
  const partitioned = await timedRun(job('io-partitioned').start(manager).build(), items, w.written);
  progress(`  partitioned x${concurrency}: ${fmt(partitioned.itemsPerSec)} items/s (${partitioned.seconds.toFixed(2)} s), ${(partitioned.itemsPerSec / plain.itemsPerSec).toFixed(2)}x`);
  return {
    items,
    chunkSize,
    concurrency,
    plain,
    multiThreaded: { ...mt, ratio: round(mt.itemsPerSec / plain.itemsPerSec, 2) },
    partitioned: { ...partitioned, ratio: round(partitioned.itemsPerSec / plain.itemsPerSec, 2) },
    load: { before, after: load() },
  };
}

// ---- 4. memory, in child processes ---------------------------------------------------------------

type MemorySetting = 'plain' | 'async64' | 'mt4' | 'partitioned4';
const READ_AHEAD = 1;

interface ChildMemory {
  readonly setting: MemorySetting;
  readonly items: number;
  readonly chunkSize: number;
  readonly seconds: number;
  /** process.resourceUsage().maxRSS at the end, in MB. */
  readonly peakRssMb: number;
  /** heapUsed after a full GC at the end, in MB. */
  readonly heapAfterGcMb: number;
  /** The reader's largest lead over the committed items (max over partitions when partitioned). */
  readonly maxLead: number;
  /** (readAhead + chunk concurrency + 1) x chunkSize (per partition when partitioned). */
  readonly leadBound: number;
}

/** The child side: runs one setting once and prints its figures as one JSON line. */
async function memoryChild(setting: MemorySetting, items: number, chunkSize: number): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'tsbatch-scaling-mem-'));
  const runtime = await BatchRuntime.open({ path: directory, logger: false });
  // Lead = items read - items committed, per reader (one per partition). A chunk's items tell
  // which reader it came from (the processors here return the item itself), so the probe is
  // found by range.
  const probes: Array<{ min: number; max: number; read: number; committed: number; lead: number }> = [];
  const probeFor = (min: number, max: number) => {
    const probe = { min, max, read: 0, committed: 0, lead: 0 };
    probes.push(probe);
    return probe;
  };
  let written = 0;
  const partitioned = setting === 'partitioned4';
  const chunkConcurrency = setting === 'mt4' ? 4 : 1;
  let builder = step(partitioned ? 'mem-worker' : 'mem')
    .chunk<number, number>(chunkSize)
    .readAhead(READ_AHEAD)
    .reader((s) => {
      const min = partitioned ? s.executionContext.get<number>('partition.min')! : 1;
      const max = partitioned ? s.executionContext.get<number>('partition.max')! : items;
      const probe = probeFor(min, max);
      return new CountingReader(min, max, () => void (probe.lead = Math.max(probe.lead, ++probe.read - probe.committed)));
    })
    .writer({ write: (chunk) => void (written += chunk.size) })
    // afterChunk runs just before the chunk's commit: from then on its items no longer count.
    .listener({
      afterChunk: (chunk) => {
        const first = chunk.items[0];
        if (first === undefined) return;
        const probe = probes.find((p) => p.min <= first && first <= p.max)!;
        probe.committed += chunk.size;
      },
    });
  builder = setting === 'async64' ? builder.processor(async (n) => n, { concurrency: 64 }) : builder.processor((n) => n);
  if (setting === 'mt4') builder = builder.taskExecutor({ concurrency: 4 });
  const definition = partitioned
    ? job('mem-partitioned')
        .start(step('mem').partitioner(rangePartitioner({ min: 1, max: items }), { gridSize: 4 }).step(builder.build()).build())
        .build()
    : job(`mem-${setting}`).start(builder.build()).build();

  const started = process.hrtime.bigint();
  const execution = await runtime.launcher.run(definition);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await runtime.close();
  rmSync(directory, { recursive: true, force: true });
  if (execution.status !== 'COMPLETED' || written !== items) {
    throw new Error(`memory child ${setting}: ${execution.status}, wrote ${written} of ${items}`);
  }
  (globalThis as { gc?: () => void }).gc?.();
  const result: ChildMemory = {
    setting,
    items,
    chunkSize,
    seconds: round(seconds, 2),
    peakRssMb: round(process.resourceUsage().maxRSS / 1024, 1),
    heapAfterGcMb: round(process.memoryUsage().heapUsed / 1024 / 1024, 1),
    maxLead: Math.max(...probes.map((probe) => probe.lead)),
    leadBound: (READ_AHEAD + chunkConcurrency + 1) * chunkSize,
  };
  console.log(JSON.stringify(result));
}

async function runMemoryChild(setting: MemorySetting, items: number, chunkSize: number): Promise<ChildMemory> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', THIS_FILE, '--memory-child', setting, String(items), String(chunkSize)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (data: Buffer) => void (stdout += data.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const last = stdout.trim().split('\n').at(-1);
      if (code !== 0 || !last) reject(new Error(`memory child ${setting} ${items} exited ${code}: ${stdout.slice(-500)}`));
      else resolve(JSON.parse(last) as ChildMemory);
    });
  });
}

interface MemoryResult {
  readonly small: number;
  readonly large: number;
  readonly chunkSize: number;
  readonly readAhead: number;
  readonly settings: Array<{
    setting: MemorySetting;
    small: ChildMemory;
    large: ChildMemory;
    rssGrowthMb: number;
    withinTarget: boolean;
    leadWithinBound: boolean;
  }>;
  readonly targetMb: number;
  readonly met: boolean;
  readonly load: { before: string; after: string };
}

async function benchMemory(): Promise<MemoryResult> {
  const small = intFromEnv('SCALING_MEM_SMALL', QUICK ? 100_000 : 1_000_000);
  const large = intFromEnv('SCALING_MEM_LARGE', QUICK ? 1_000_000 : 10_000_000);
  const chunkSize = intFromEnv('SCALING_CHUNK', 1000);
  const settings = listFromEnv('SCALING_MEM_SETTINGS', 'plain,async64,mt4,partitioned4') as MemorySetting[];
  const before = load();
  progress(`memory: ${settings.join(', ')} at ${small} and ${large} items, chunk ${chunkSize}, readAhead ${READ_AHEAD}, each in a child process`);
  const results: MemoryResult['settings'] = [];
  for (const setting of settings) {
    const smallRun = await runMemoryChild(setting, small, chunkSize);
    const largeRun = await runMemoryChild(setting, large, chunkSize);
    const rssGrowthMb = round(largeRun.peakRssMb - smallRun.peakRssMb, 1);
    results.push({
      setting,
      small: smallRun,
      large: largeRun,
      rssGrowthMb,
      withinTarget: rssGrowthMb <= 64,
      leadWithinBound: smallRun.maxLead <= smallRun.leadBound && largeRun.maxLead <= largeRun.leadBound,
    });
    progress(
      `  ${setting}: peak RSS ${smallRun.peakRssMb} MB (${small}) vs ${largeRun.peakRssMb} MB (${large}) = +${rssGrowthMb} MB; ` +
        `max lead ${largeRun.maxLead} (bound ${largeRun.leadBound}); ${fmt(large / largeRun.seconds)} items/s`,
    );
  }
  return { small, large, chunkSize, readAhead: READ_AHEAD, settings: results, targetMb: 64, met: results.every((r) => r.withinTarget && r.leadWithinBound), load: { before, after: load() } };
}

// ---- main ----------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const only = new Set(listFromEnv('SCALING_ONLY', 'async,cpu,io,memory'));
  const began = Date.now();
  const loadBefore = load();
  progress(`scaling benchmarks${QUICK ? ' (quick)' : ''}: ${[...only].join(', ')}; load average ${loadBefore} on ${availableParallelism()} cores`);
  const asyncResult = only.has('async') ? await benchAsync() : undefined;
  const cpuResult = only.has('cpu') ? await benchCpu() : undefined;
  const ioResult = only.has('io') ? await benchIo() : undefined;
  const memoryResult = only.has('memory') ? await benchMemory() : undefined;
  const seconds = (Date.now() - began) / 1000;
  const loadAfter = load();

  const rate = (t: Timed) => fmt(t.itemsPerSec);
  const lines: string[] = ['', `tsbatch scaling benchmarks, Node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ${new Date().toISOString()}`, ''];
  lines.push(
    '| benchmark | setting | items | seconds | items/s | ratio | target | met | CPU us/item (all threads) | main-thread CPU us/item |',
    '|---|---|--:|--:|--:|--:|--:|:-:|--:|--:|',
  );
  const cpuPerItem = (t: Timed, items: number) => ((t.cpuSeconds * 1e6) / items).toFixed(2);
  const mainCpuPerItem = (t: Timed, items: number) => (t.mainThreadCpuSeconds === undefined ? 'n/a' : ((t.mainThreadCpuSeconds * 1e6) / items).toFixed(2));
  if (asyncResult) {
    const a = asyncResult;
    lines.push(`| async processor (1 ms I/O per item, chunk ${a.chunkSize}) | concurrency 1 (baseline) | ${fmt(a.baselineItems)} | ${a.baseline.seconds.toFixed(2)} | ${rate(a.baseline)} | 1.00 | | | ${cpuPerItem(a.baseline, a.baselineItems)} | ${mainCpuPerItem(a.baseline, a.baselineItems)} |`);
    lines.push(
      `| | concurrency ${a.concurrency} | ${fmt(a.items)} | ${a.concurrent.seconds.toFixed(2)} | ${rate(a.concurrent)} | ${a.ratio.toFixed(2)} | >= ${a.target} | ${a.met ? 'yes' : 'NO'} | ${cpuPerItem(a.concurrent, a.items)} | ${mainCpuPerItem(a.concurrent, a.items)} |`,
    );
  }
  if (cpuResult) {
    const c = cpuResult;
    lines.push(
      `| CPU-bound (${c.rounds} SHA-256 rounds = ${c.microsPerItemOnMainThread} us/item incl. step, chunk ${c.chunkSize}${c.repeat > 1 ? `, median of ${c.repeat} repetitions` : ''}) | main thread (baseline) | ${fmt(c.items)} | ${c.mainThread.seconds.toFixed(2)} | ${rate(c.mainThread)} | 1.00 | | | ${cpuPerItem(c.mainThread, c.items)} | ${mainCpuPerItem(c.mainThread, c.items)} |`,
    );
    for (const h of [c.handWritten, c.handWrittenPipeline]) {
      lines.push(
        `| | ${h.label} | ${fmt(c.items)} | ${h.seconds.toFixed(2)} | ${rate(h)} | ${h.ratio.toFixed(2)}${h.ratios.length > 1 ? ` (${Math.min(...h.ratios).toFixed(2)}-${Math.max(...h.ratios).toFixed(2)})` : ''} | (info) | | ${cpuPerItem(h, c.items)} | ${mainCpuPerItem(h, c.items)} |`,
      );
    }
    c.workers.forEach((w, i) =>
      lines.push(`| | ${w.label} | ${fmt(c.items)} | ${w.seconds.toFixed(2)} | ${rate(w)} | ${w.ratio.toFixed(2)}${w.ratios.length > 1 ? ` (${Math.min(...w.ratios).toFixed(2)}-${Math.max(...w.ratios).toFixed(2)})` : ''} | ${i === 0 ? `>= ${c.target}` : '(info)'} | ${i === 0 ? (c.met ? 'yes' : 'NO') : w.ratio >= c.target ? '(yes)' : '(no)'} | ${cpuPerItem(w, c.items)} | ${mainCpuPerItem(w, c.items)} |`),
    );
  }
  if (ioResult) {
    const r = ioResult;
    lines.push(`| I/O-bound (1 ms per item, chunk ${r.chunkSize}) | plain step (baseline) | ${fmt(r.items)} | ${r.plain.seconds.toFixed(2)} | ${rate(r.plain)} | 1.00 | | | ${cpuPerItem(r.plain, r.items)} | ${mainCpuPerItem(r.plain, r.items)} |`);
    lines.push(`| | taskExecutor(${r.concurrency}) | ${fmt(r.items)} | ${r.multiThreaded.seconds.toFixed(2)} | ${rate(r.multiThreaded)} | ${r.multiThreaded.ratio.toFixed(2)} | report | | ${cpuPerItem(r.multiThreaded, r.items)} | ${mainCpuPerItem(r.multiThreaded, r.items)} |`);
    lines.push(`| | partitioned, gridSize ${r.concurrency} | ${fmt(r.items)} | ${r.partitioned.seconds.toFixed(2)} | ${rate(r.partitioned)} | ${r.partitioned.ratio.toFixed(2)} | report | | ${cpuPerItem(r.partitioned, r.items)} | ${mainCpuPerItem(r.partitioned, r.items)} |`);
  }
  if (memoryResult) {
    const m = memoryResult;
    lines.push('', `memory (chunk ${m.chunkSize}, readAhead ${m.readAhead}; each run in its own child process)`, '');
    lines.push(
      `| setting | peak RSS ${fmt(m.small)} (MB) | peak RSS ${fmt(m.large)} (MB) | growth (MB) | <= ${m.targetMb} MB | max lead ${fmt(m.large)} | lead bound | heap after GC (MB) | items/s ${fmt(m.large)} |`,
      '|---|--:|--:|--:|:-:|--:|--:|--:|--:|',
    );
    for (const s of m.settings) {
      lines.push(
        `| ${s.setting} | ${s.small.peakRssMb} | ${s.large.peakRssMb} | ${s.rssGrowthMb} | ${s.withinTarget ? 'yes' : 'NO'} | ${s.large.maxLead} | ${s.large.leadBound} ${s.leadWithinBound ? '' : '(EXCEEDED)'} | ${s.large.heapAfterGcMb} | ${fmt(m.large / s.large.seconds)} |`,
      );
    }
  }
  lines.push('', `total ${seconds.toFixed(1)} s; load average before ${loadBefore}, after ${loadAfter} (${availableParallelism()} cores: a load above ~1 means other work shared them)`);
  console.log(lines.join('\n'));
  console.log(
    JSON.stringify({
      benchmark: 'scaling',
      quick: QUICK,
      node: process.version,
      cores: availableParallelism(),
      date: new Date().toISOString(),
      seconds: round(seconds, 1),
      loadAverageBefore: loadBefore,
      loadAverageAfter: loadAfter,
      async: asyncResult,
      cpu: cpuResult,
      io: ioResult,
      memory: memoryResult,
    }),
  );
}

if (process.argv[2] === '--memory-child') {
  await memoryChild(process.argv[3] as MemorySetting, Number(process.argv[4]), Number(process.argv[5]));
} else {
  await main();
}
