import Table from 'cli-table3';
import { formatDuration } from '../present/format-duration.js';
import type { ExecutionSummary, StepSummary } from '../present/execution-summary.js';

export { formatDuration };

/**
 * Human output: durations, times and tables. Colour is used only for table headers, only on a TTY,
 * and never when NO_COLOR is set (https://no-color.org/) or `--no-color` was given.
 */


/** Local time as `2024-01-31 14:05:09`; `-` when absent. */
export function formatTime(value: string | Date | null | undefined): string {
  if (value === null || value === undefined) return '-';
  const date = typeof value === 'string' ? new Date(value) : value;
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}

/** Whether to colour output written to `stream`. */
export function colourEnabled(stream: NodeJS.WriteStream, requested = true): boolean {
  if (!requested || process.env['NO_COLOR']) return false;
  if (process.env['FORCE_COLOR'] && process.env['FORCE_COLOR'] !== '0') return true;
  return Boolean(stream.isTTY);
}

export type Alignment = 'left' | 'right';

/** A table with fixed columns; numeric columns are right-aligned by passing 'right'. */
export function renderTable(head: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>, aligns: readonly Alignment[], colour: boolean): string {
  const table = new Table({
    head: [...head],
    colAligns: [...aligns],
    style: { head: colour ? ['cyan'] : [], border: [] },
  });
  for (const row of rows) table.push(row.map(String));
  return table.toString();
}

/** The steps of an execution: status, exit code, every count and the duration. */
export function renderStepTable(steps: readonly StepSummary[], colour: boolean): string {
  return renderTable(
    ['step', 'status', 'exit code', 'read', 'write', 'filter', 'skip r/p/w', 'commit', 'rollback', 'duration'],
    steps.map((s) => [
      s.stepName,
      s.status,
      s.exitCode,
      s.readCount,
      s.writeCount,
      s.filterCount,
      `${s.readSkipCount}/${s.processSkipCount}/${s.writeSkipCount}`,
      s.commitCount,
      s.rollbackCount,
      formatDuration(s.durationMs),
    ]),
    ['left', 'left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    colour,
  );
}

/** At most `lines` lines of a (possibly long, stack-bearing) description, indented. */
export function excerpt(text: string, lines = 6, indent = '  '): string {
  const all = text.split('\n');
  const shown = all.slice(0, lines).map((line) => indent + line);
  if (all.length > lines) shown.push(`${indent}... (${all.length - lines} more lines; --json shows all)`);
  return shown.join('\n');
}

/** One line: `Job 'load' execution 7 (instance 3): COMPLETED, exit code COMPLETED, in 1m 02.3s`. */
export function renderHeadline(summary: ExecutionSummary): string {
  return (
    `Job '${summary.jobName}' execution ${summary.id} (instance ${summary.jobInstanceId}): ${summary.status}, ` +
    `exit code ${summary.exitCode}, in ${formatDuration(summary.durationMs)}`
  );
}

/** The parameters as `name=value (type[, non-identifying])` joined with commas, or `(none)`. */
export function renderParameters(summary: ExecutionSummary): string {
  const entries = Object.entries(summary.parameters);
  if (entries.length === 0) return '(none)';
  return entries.map(([name, p]) => `${name}=${String(p.value)} (${p.type}${p.identifying ? '' : ', non-identifying'})`).join(', ');
}

/** The step table and any non-empty step and job exit descriptions, for `run` and `show`. */
export function renderStepsAndFailures(summary: ExecutionSummary, colour: boolean): string {
  const parts: string[] = [];
  parts.push(summary.steps.length ? renderStepTable(summary.steps, colour) : '(no steps ran in this execution)');
  for (const step of summary.steps) {
    if (step.exitDescription) parts.push(`Step '${step.stepName}' ${step.exitCode}:\n${excerpt(step.exitDescription)}`);
  }
  if (summary.exitDescription && !summary.steps.some((s) => s.exitDescription === summary.exitDescription)) {
    parts.push(`Job exit description:\n${excerpt(summary.exitDescription)}`);
  }
  return parts.join('\n');
}
