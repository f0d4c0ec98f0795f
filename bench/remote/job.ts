/**
 * The job of the remote-partitioning benchmark (`bench/remote-partitions.ts`): numbers 1..items
 * split by `rangePartitioner` into `grid` remote partitions. Each partition reads its range
 * (restartable: the next number is kept in the step context), awaits a simulated call of `itemMs`
 * per item (a timer, so the work is I/O-bound, not CPU) and stages every number into its chunk's
 * commit under store 'out', key = the zero-padded number. So a number is written exactly when the
 * chunk that read it commits, and the benchmark can count what reached the repository.
 *
 * The manager (the benchmark process) and every worker process build the job from the same
 * settings (`settingsFromEnv`), so a worker finds the job and its worker step by name.
 */
import { job, rangePartitioner, step, type Job } from '../../src/index.js';
// The tests' reader of a partition's range (restartable), as bench/scaling.ts uses the tests' hash module.
import { RangeReader } from '../../test/integration/fixtures/remote/remote-partition-job.js';

export interface BenchJobSettings {
  readonly items: number;
  readonly grid: number;
  readonly chunk: number;
  readonly itemMs: number;
}

export const JOB_NAME = 'bench-remote-numbers';
export const MANAGER_STEP = 'fan-out';
export const OUT_STORE = 'out';
/** One simulated remote call: nothing but a timer. */
export const simulatedCall = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function benchJob(settings: BenchJobSettings): Job {
  const worker = step('numbers')
    .chunk<number, number>(settings.chunk)
    .reader(() => new RangeReader())
    .processor(async (n) => {
      await simulatedCall(settings.itemMs);
      return n;
    })
    .writer({
      write(chunk, transaction) {
        for (const n of chunk.items) transaction.put(OUT_STORE, String(n).padStart(9, '0'), { n });
      },
    })
    .build();
  return job(JOB_NAME)
    .start(step(MANAGER_STEP).partitioner(rangePartitioner({ min: 1, max: settings.items }), { gridSize: settings.grid, remote: true }).step(worker).build())
    .build();
}

/** The settings the benchmark passes to its worker processes. */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): BenchJobSettings {
  const number = (name: string): number => {
    const value = Number(env[name]);
    if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be set to a number, got '${env[name]}'`);
    return value;
  };
  return { items: number('BENCH_REMOTE_ITEMS'), grid: number('BENCH_REMOTE_GRID'), chunk: number('BENCH_REMOTE_CHUNK'), itemMs: number('BENCH_REMOTE_ITEM_MS') };
}

export function settingsToEnv(settings: BenchJobSettings): Record<string, string> {
  return {
    BENCH_REMOTE_ITEMS: String(settings.items),
    BENCH_REMOTE_GRID: String(settings.grid),
    BENCH_REMOTE_CHUNK: String(settings.chunk),
    BENCH_REMOTE_ITEM_MS: String(settings.itemMs),
  };
}
