import { NoSuchJobExecutionError } from '../../index.js';
import { formatDuration, formatTime, renderParameters, renderStepsAndFailures } from '../format.js';
import { openRuntime, type StoreOptions } from '../open-runtime.js';
import { Output, type OutputOptions } from '../output.js';
import { summarizeExecution, type ExecutionSummary } from '../../present/execution-summary.js';

/** The header block of `show`: one `label  value` line per field. */
export function renderExecutionDetails(summary: ExecutionSummary): string {
  const rows: Array<[string, string]> = [
    ['job', summary.jobName],
    ['instance', String(summary.jobInstanceId)],
    ['parameters', renderParameters(summary)],
    ['status', summary.status],
    ['exit code', summary.exitCode],
    ['created', formatTime(summary.createTime)],
    ['started', formatTime(summary.startTime)],
    ['ended', formatTime(summary.endTime)],
    ['duration', formatDuration(summary.durationMs) + (summary.startTime && !summary.endTime ? ' (running)' : '')],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return [`Execution ${summary.id}`, ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`)].join('\n');
}

/** `tsbatch show <executionId>`: one execution with its steps, counts, exit codes and durations. */
export async function showCommand(executionId: number, options: StoreOptions & OutputOptions): Promise<number> {
  const out = new Output(options);
  const runtime = await openRuntime(options, { create: false, recovery: 'none' });
  try {
    const execution = await runtime.explorer.getJobExecution(executionId);
    if (!execution) throw new NoSuchJobExecutionError(executionId);
    const summary = summarizeExecution(execution);
    out.document(summary);
    out.data(`${renderExecutionDetails(summary)}\n${renderStepsAndFailures(summary, out.colour)}`);
    return 0;
  } finally {
    await runtime.close();
  }
}
