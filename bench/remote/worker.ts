/**
 * A worker process of the remote-partitioning benchmark: what `tsbatch worker` does, in code, so
 * that the benchmark can give each run a fresh repository table and reconciler settings (the CLI
 * has no options for them). Opens the runtime on PostgreSQL with the pg-boss dispatcher (or BENCH_DISPATCHER), registers
 * the benchmark's job and runs partitions until SIGTERM, then hands back what it holds and exits.
 *
 * Environment: BENCH_PG_URL, BENCH_TABLE, BENCH_QUEUE, BENCH_CONCURRENCY, BENCH_LEASE_MS,
 * BENCH_INTERVAL_MS (reconciler), BENCH_DISPATCHER (pg-boss unless set), and the job's
 * BENCH_REMOTE_* settings (job.ts).
 * stdout: one JSON line per runtime event (event-log.ts), the first `{"event":"bench.ready"}`.
 */
import { BatchRuntime, type DispatcherKind } from '../../src/index.js';
import { eventLogger } from './event-log.js';
import { benchJob, settingsFromEnv } from './job.js';

const env = process.env;
const required = (name: string): string => {
  const value = env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const write = (line: object) => void process.stdout.write(`${JSON.stringify(line)}\n`);
const logger = eventLogger(write);

const concurrency = Number(required('BENCH_CONCURRENCY'));
const leaseMs = Number(required('BENCH_LEASE_MS'));
const runtime = await BatchRuntime.open({
  postgres: { connectionString: required('BENCH_PG_URL'), table: required('BENCH_TABLE') },
  recovery: 'none',
  logger,
  remote: { dispatcher: (env['BENCH_DISPATCHER'] ?? 'pg-boss') as DispatcherKind, queue: required('BENCH_QUEUE'), leaseMs, intervalMs: Number(required('BENCH_INTERVAL_MS')) },
});
runtime.registry.register(benchJob(settingsFromEnv()));
const worker = await runtime.remote.startWorker({ concurrency, leaseMs });
write({ event: 'bench.ready', t: Date.now(), pid: process.pid, level: 'info' });

await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
await worker.stop();
await runtime.close();
write({ event: 'bench.exit', t: Date.now(), pid: process.pid, level: 'info' });
