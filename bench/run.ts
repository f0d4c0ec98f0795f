/**
 * Chunk-commit throughput: tsbatch against a hand-written loop doing the identical durable LMDB
 * transactions, at chunk 100 and chunk 1000, measured in the same run.
 *
 *   npm run bench                                   # 1,000,000 items, 5 repetitions, chunks 100 and 1000
 *   BENCH_ITEMS=100000 BENCH_REPS=1 npm run bench    # a quick run
 *
 * Environment: BENCH_ITEMS (default 1000000), BENCH_REPS (default 5), BENCH_CHUNKS (default "100,1000").
 * Progress goes to stderr; stdout gets the results table and, as its last line, one JSON object.
 *
 * Method: a short warm-up of both sides, then repetitions in which each side runs the full item
 * count once per chunk size, in a fresh store. The side that goes first alternates from one
 * repetition to the next (B T, T B, B T, ...), so a slow phase of the shared disk does not always
 * fall on the same side. Reported: the median items/s of each side and their ratio; the ratios of
 * the adjacent pairs are printed too, as a measure of the noise.
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { runBaseline } from './baseline-side.js';
import { cpuClockKind } from './cpu-clock.js';
import { crossCheck } from './cross-check.js';
import { runTsbatch, type SideRun } from './tsbatch-side.js';

const TARGETS: Readonly<Record<number, number>> = { 100: 0.8, 1000: 0.9 };
const WARMUP_ITEMS = 50_000;

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got '${raw}'`);
  return value;
}

function chunkSizesFromEnv(): number[] {
  const raw = process.env['BENCH_CHUNKS'];
  if (raw === undefined || raw === '') return [100, 1000];
  const sizes = raw.split(',').map((part) => Number(part.trim()));
  if (sizes.some((size) => !Number.isInteger(size) || size < 1)) throw new Error(`BENCH_CHUNKS must be a comma-separated list of positive integers, got '${raw}'`);
  return sizes;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const round = (value: number, digits = 0): number => Number(value.toFixed(digits));
const progress = (line: string): void => void process.stderr.write(`${line}\n`);

type Side = 'tsbatch' | 'baseline';

/**
 * Flushes what earlier runs left dirty in the page cache (and the deletion of their stores), so
 * that the writeback of one run does not land in the fdatasyncs of the next.
 */
function settleDisk(): void {
  spawnSync('sync', { stdio: 'ignore' });
}

interface PairResult {
  readonly itemsPerSec: Record<Side, number>;
  /** CPU time per chunk, in microseconds (see cpu-clock.ts): what each side costs besides waiting for the disk. */
  readonly cpuMicrosPerChunk: Record<Side, number>;
}

/** Runs both sides once on `items` (order given), checks they stored the same records, removes the stores. */
async function runPair(items: number, chunkSize: number, order: readonly Side[]): Promise<PairResult> {
  const runs: Partial<Record<Side, SideRun>> = {};
  try {
    for (const side of order) {
      settleDisk();
      runs[side] = side === 'tsbatch' ? await runTsbatch(items, chunkSize) : await runBaseline(items, chunkSize);
    }
    const tsbatch = runs.tsbatch!;
    const baseline = runs.baseline!;
    crossCheck(tsbatch.dataFile, baseline.dataFile, items, chunkSize);
    const chunks = Math.ceil(items / chunkSize);
    return {
      itemsPerSec: { tsbatch: items / tsbatch.seconds, baseline: items / baseline.seconds },
      cpuMicrosPerChunk: { tsbatch: (tsbatch.cpuSeconds * 1e6) / chunks, baseline: (baseline.cpuSeconds * 1e6) / chunks },
    };
  } finally {
    for (const run of Object.values(runs)) rmSync(run.directory, { recursive: true, force: true });
  }
}

interface ChunkResult {
  readonly chunkSize: number;
  /** Median over the repetitions. */
  readonly tsbatchItemsPerSec: number;
  readonly baselineItemsPerSec: number;
  /** tsbatchItemsPerSec / baselineItemsPerSec. */
  readonly ratio: number;
  readonly target: number | null;
  readonly meetsTarget: boolean | null;
  /** Every repetition, in run order. */
  readonly tsbatchRuns: number[];
  readonly baselineRuns: number[];
  /** tsbatch / baseline of each repetition's adjacent pair: their spread shows the noise. */
  readonly pairRatios: number[];
  /** Median CPU time per chunk, in microseconds (cpuClock says which clock). */
  readonly tsbatchCpuMicrosPerChunk: number;
  readonly baselineCpuMicrosPerChunk: number;
}

interface Measured {
  readonly itemsPerSec: Record<Side, number[]>;
  readonly cpuMicrosPerChunk: Record<Side, number[]>;
}

const formatRate = (value: number): string => round(value).toLocaleString('en-US');
const formatLoad = (): string => loadavg().map((value) => value.toFixed(2)).join(' ');

async function main(): Promise<void> {
  const items = intFromEnv('BENCH_ITEMS', 1_000_000);
  const repetitions = intFromEnv('BENCH_REPS', 5);
  const chunkSizes = chunkSizesFromEnv();
  const began = Date.now();
  const loadBefore = formatLoad();

  progress(`chunk-commit benchmark: ${items} items, chunks ${chunkSizes.join(' and ')}, ${repetitions} repetition(s), durable commits`);
  progress(`load average before: ${loadBefore}`);
  if ((loadavg()[0] ?? 0) > 1) {
    progress(`WARNING: the machine is busy; anything else using the disk or the ${availableParallelism()} cores skews these figures`);
  }
  progress(`warm-up: ${Math.min(items, WARMUP_ITEMS)} items per side and chunk size`);
  for (const chunkSize of chunkSizes) await runPair(Math.min(items, WARMUP_ITEMS), chunkSize, ['baseline', 'tsbatch']);

  const measured = new Map<number, Measured>(
    chunkSizes.map((size) => [size, { itemsPerSec: { tsbatch: [], baseline: [] }, cpuMicrosPerChunk: { tsbatch: [], baseline: [] } }]),
  );
  for (let rep = 0; rep < repetitions; rep++) {
    // Alternate which side goes first (B T, T B, ...), so that neither always runs first.
    const order: Side[] = rep % 2 === 0 ? ['baseline', 'tsbatch'] : ['tsbatch', 'baseline'];
    for (const chunkSize of chunkSizes) {
      const result = await runPair(items, chunkSize, order);
      const bucket = measured.get(chunkSize)!;
      for (const side of ['tsbatch', 'baseline'] as const) {
        bucket.itemsPerSec[side].push(result.itemsPerSec[side]);
        bucket.cpuMicrosPerChunk[side].push(result.cpuMicrosPerChunk[side]);
      }
      progress(
        `  rep ${rep + 1}/${repetitions} chunk ${String(chunkSize).padStart(4)} (${order[0]} first): ` +
          `baseline ${formatRate(result.itemsPerSec.baseline).padStart(9)} items/s, ` +
          `tsbatch ${formatRate(result.itemsPerSec.tsbatch).padStart(9)} items/s, ` +
          `ratio ${(result.itemsPerSec.tsbatch / result.itemsPerSec.baseline).toFixed(3)}`,
      );
    }
  }

  const results: ChunkResult[] = chunkSizes.map((chunkSize) => {
    const { itemsPerSec, cpuMicrosPerChunk } = measured.get(chunkSize)!;
    const tsbatch = median(itemsPerSec.tsbatch);
    const baseline = median(itemsPerSec.baseline);
    const ratio = tsbatch / baseline;
    const target = TARGETS[chunkSize] ?? null;
    return {
      chunkSize,
      tsbatchItemsPerSec: round(tsbatch),
      baselineItemsPerSec: round(baseline),
      ratio: round(ratio, 3),
      target,
      meetsTarget: target === null ? null : ratio >= target,
      tsbatchRuns: itemsPerSec.tsbatch.map((value) => round(value)),
      baselineRuns: itemsPerSec.baseline.map((value) => round(value)),
      pairRatios: itemsPerSec.tsbatch.map((value, i) => round(value / itemsPerSec.baseline[i]!, 3)),
      tsbatchCpuMicrosPerChunk: round(median(cpuMicrosPerChunk.tsbatch), 1),
      baselineCpuMicrosPerChunk: round(median(cpuMicrosPerChunk.baseline), 1),
    };
  });

  const seconds = (Date.now() - began) / 1000;
  const loadAfter = formatLoad();
  const lines = [
    '',
    `chunk-commit throughput: ${items.toLocaleString('en-US')} items, durable commits, median of ${repetitions} run(s) per side`,
    `Node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ${new Date().toISOString()}`,
    '',
    '| chunk | tsbatch items/s | baseline items/s | ratio | target | met | pair ratios (min-max) | CPU us/chunk tsbatch / baseline |',
    '|------:|----------------:|-----------------:|------:|-------:|:---:|:---------------------:|:-------------------------------:|',
    ...results.map(
      (r) =>
        `| ${r.chunkSize} | ${formatRate(r.tsbatchItemsPerSec)} | ${formatRate(r.baselineItemsPerSec)} | ${r.ratio.toFixed(3)} | ` +
        `${r.target === null ? '-' : `>= ${r.target}`} | ${r.meetsTarget === null ? '-' : r.meetsTarget ? 'yes' : 'NO'} | ` +
        `${Math.min(...r.pairRatios).toFixed(3)}-${Math.max(...r.pairRatios).toFixed(3)} | ` +
        `${r.tsbatchCpuMicrosPerChunk.toFixed(0)} / ${r.baselineCpuMicrosPerChunk.toFixed(0)} |`,
    ),
    '',
    `CPU: ${cpuClockKind}, median per chunk; the rest of a chunk's time is waiting for fdatasync.`,
    `total ${seconds.toFixed(1)} s; load average before ${loadBefore}, after ${loadAfter}`,
  ];
  console.log(lines.join('\n'));
  console.log(
    JSON.stringify({
      benchmark: 'chunk-commit',
      items,
      repetitions,
      node: process.version,
      cores: availableParallelism(),
      date: new Date().toISOString(),
      loadAverageBefore: loadBefore,
      loadAverageAfter: loadAfter,
      cpuClock: cpuClockKind,
      results,
    }),
  );
}

await main();
