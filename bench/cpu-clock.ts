/**
 * CPU time of the main thread, which is where both sides do all their work (LMDB's transactionSync
 * runs on the calling thread). On Linux it is read from /proc/self/task/<pid>/schedstat, the
 * scheduler's own nanosecond count; getrusage (process.cpuUsage) is tick-sampled there and adds
 * the GC helper threads, which made it too coarse to compare two sides a few percent apart.
 * Elsewhere it falls back to process.cpuUsage().
 */
import { readFileSync } from 'node:fs';

const SCHEDSTAT = `/proc/self/task/${process.pid}/schedstat`;

function schedstatNanos(): number | undefined {
  try {
    const runNanos = Number(readFileSync(SCHEDSTAT, 'utf8').split(' ')[0]);
    return Number.isFinite(runNanos) ? runNanos : undefined;
  } catch {
    return undefined;
  }
}

const precise = schedstatNanos() !== undefined;

/** What the CPU figures measure on this machine, for the output. */
export const cpuClockKind = precise ? 'main-thread CPU (schedstat)' : 'process CPU (cpuUsage)';

/** Returns a function that gives the CPU seconds used since this call. */
export function startCpuClock(): () => number {
  if (precise) {
    const start = schedstatNanos()!;
    return () => (schedstatNanos()! - start) / 1e9;
  }
  const start = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(start);
    return (used.user + used.system) / 1e6;
  };
}
