import { BatchStatus, type BatchRuntime, type JobExecution } from '../../index.js';
import { CliError } from '../cli-error.js';
import { formatDuration, formatTime, renderTable } from '../format.js';
import { openRuntime, type StoreOptions } from '../open-runtime.js';
import { Output, type OutputOptions } from '../output.js';
import { summarizeExecution } from '../../present/execution-summary.js';

export interface ExecutionsOptions extends StoreOptions, OutputOptions {
  readonly job?: string;
  readonly status?: string;
  /** At most this many, newest first; 0 for all. */
  readonly limit: number;
}

const PAGE = 200;

/** Every execution of `jobName` in the store (the explorer lists instances page by page). */
async function executionsOf(runtime: BatchRuntime, jobName: string): Promise<JobExecution[]> {
  const executions: JobExecution[] = [];
  for (let start = 0; ; start += PAGE) {
    const instances = await runtime.explorer.getJobInstances(jobName, start, PAGE);
    for (const instance of instances) executions.push(...(await runtime.explorer.getJobExecutions(instance.id)));
    if (instances.length < PAGE) return executions;
  }
}

function parseStatus(status: string | undefined): BatchStatus | undefined {
  if (status === undefined) return undefined;
  const upper = status.toUpperCase();
  const known = Object.values(BatchStatus) as string[];
  if (!known.includes(upper)) throw new CliError('USAGE', `Unknown status '${status}'; use one of ${known.join(', ')}.`);
  return upper as BatchStatus;
}

/** `tsbatch executions [--job <name>] [--status <s>]`: executions in the store, newest first. */
export async function executionsCommand(options: ExecutionsOptions): Promise<number> {
  const out = new Output(options);
  const status = parseStatus(options.status);
  const runtime = await openRuntime(options, { create: false, recovery: 'none' });
  try {
    const storedNames = await runtime.explorer.getJobNames();
    if (options.job !== undefined && !storedNames.includes(options.job)) {
      const known = storedNames.length ? storedNames.map((n) => `'${n}'`).join(', ') : '(none)';
      throw new CliError('NO_SUCH_JOB', `The store has no executions of a job named '${options.job}'. Jobs in the store: ${known}.`);
    }
    const names = options.job !== undefined ? [options.job] : storedNames;
    const all: JobExecution[] = [];
    for (const name of names) all.push(...(await executionsOf(runtime, name)));
    const matching = all.filter((e) => status === undefined || e.status === status).sort((a, b) => b.id - a.id);
    const shown = options.limit > 0 ? matching.slice(0, options.limit) : matching;
    const now = Date.now();
    const summaries = shown.map((e) => summarizeExecution(e, now));

    out.document({ total: matching.length, executions: summaries });
    if (summaries.length === 0) {
      out.data('No executions.');
      return 0;
    }
    out.data(
      renderTable(
        ['id', 'job', 'instance', 'status', 'exit code', 'start', 'duration'],
        summaries.map((s) => [s.id, s.jobName, s.jobInstanceId, s.status, s.exitCode, formatTime(s.startTime), formatDuration(s.durationMs)]),
        ['right', 'left', 'right', 'left', 'left', 'left', 'right'],
        out.colour,
      ),
    );
    if (shown.length < matching.length) out.data(`(${shown.length} of ${matching.length} shown; --limit 0 shows all)`);
    return 0;
  } finally {
    await runtime.close();
  }
}
