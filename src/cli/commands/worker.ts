import { loadJobModule, registerJobs } from '../load-module.js';
import { openRuntime, type StoreOptions } from '../open-runtime.js';
import { CliError, CliExitCode } from '../cli-error.js';
import { Output, type OutputOptions } from '../output.js';

export interface WorkerOptions extends StoreOptions, OutputOptions {
  /** How many partitions this process runs at once. */
  readonly concurrency: number;
  /** How long a claim holds without renewal. */
  readonly leaseMs?: number;
}

/**
 * `tsbatch worker <module> [--concurrency n]`: registers the module's jobs and runs the partitions
 * of their remotely partitioned steps, whichever process launched the job, until SIGTERM or SIGINT.
 * On the signal, partitions in flight commit their current chunk and are handed back to the queue
 * for another worker; the command then exits 0. A second signal exits at once (the leases expire and
 * the reconciler dispatches those partitions again).
 */
export async function workerCommand(modulePath: string, options: WorkerOptions): Promise<number> {
  const out = new Output(options);
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) throw new CliError('USAGE', `--concurrency must be an integer >= 1, got ${options.concurrency}.`);
  const module = await loadJobModule(modulePath);
  // Work-chunk jobs the module registers run here too, at the same concurrency and lease.
  const workChunks = { concurrency: options.concurrency, ...(options.leaseMs !== undefined ? { leaseMs: options.leaseMs } : {}) };
  const runtime = await openRuntime(options, { create: true, recovery: 'none', workChunks });
  let signals = 0;
  let stopped!: () => void;
  const stop = new Promise<void>((resolve) => (stopped = resolve));
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) process.exit(CliExitCode.INTERRUPTED);
    out.message(`${signal}: handing partitions back at their next chunk boundary (again to exit at once).`);
    stopped();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    const jobs = await registerJobs(runtime, module);
    const worker = await runtime.remote.startWorker({ concurrency: options.concurrency, ...(options.leaseMs !== undefined ? { leaseMs: options.leaseMs } : {}) });
    const names = [...jobs.map((name) => `'${name}'`), ...runtime.workChunks.registered().map((id) => `work-chunk job '${id}'`)];
    out.message(`Worker ready (pid ${process.pid}, concurrency ${options.concurrency}) for ${names.length ? names.join(', ') : 'no jobs (the module registered none)'}.`);
    await stop;
    await worker.stop();
    return CliExitCode.COMPLETED;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await runtime.close();
  }
}
