import cliProgress from 'cli-progress';
import type { JobExplorer, StepExecution } from '../index.js';
import { formatDuration } from './format.js';

/** Whether a live progress line belongs on stderr: a TTY, and not CI. */
export function progressWanted(stream: NodeJS.WriteStream = process.stderr): boolean {
  const ci = process.env['CI'];
  return Boolean(stream.isTTY) && !(ci && ci !== 'false' && ci !== '0');
}

/**
 * What a step read in the job's last COMPLETED execution, by step name: the best guess of how much
 * the running one will read, which turns the line into a bar. Empty for a job never completed.
 */
export async function readCountsOfLastCompletedRun(explorer: JobExplorer, jobName: string, excludeExecutionId: number): Promise<Map<string, number>> {
  const estimate = new Map<string, number>();
  for (const instance of await explorer.getJobInstances(jobName, 0, 20)) {
    const executions = (await explorer.getJobExecutions(instance.id)).filter((e) => e.id !== excludeExecutionId && e.status === 'COMPLETED');
    const last = executions.sort((a, b) => b.id - a.id)[0];
    if (!last) continue;
    for (const step of last.stepExecutions) if (step.readCount > 0) estimate.set(step.stepName, step.readCount);
    return estimate;
  }
  return estimate;
}

/**
 * A live view of a running execution on stderr: the current step, its read and written counts,
 * the write rate and the elapsed time, with a bar and a percentage when the job's last completed
 * run tells how much the step reads. It polls the store (the CLI cannot add listeners to a user's
 * job), so it shows exactly what has been committed.
 */
export class ProgressLine {
  private readonly bar: cliProgress.SingleBar;
  private readonly timer: NodeJS.Timeout;
  private polling = false;
  private stopped = false;

  private constructor(
    private readonly explorer: JobExplorer,
    private readonly executionId: number,
    jobName: string,
    intervalMs: number,
    stream: NodeJS.WriteStream,
    private readonly estimate: ReadonlyMap<string, number>,
  ) {
    const counts = 'step {step} | read {read} | written {written} | {rate} items/s | {elapsed}';
    this.bar = new cliProgress.SingleBar({
      format: estimate.size > 0 ? `{job} #{id} {status} {bar} {percentage}% | ${counts}` : `{job} #{id} {status} | ${counts}`,
      stream,
      hideCursor: true,
      clearOnComplete: true,
      fps: 4,
      noTTYOutput: false,
      barsize: 24,
    });
    this.bar.start(1, 0, { job: jobName, id: executionId, status: 'STARTING', step: '-', read: 0, written: 0, rate: 0, elapsed: '0ms' });
    this.timer = setInterval(() => void this.poll(), intervalMs);
    void this.poll();
  }

  /** Starts the line when stderr is a TTY outside CI; otherwise returns undefined and shows nothing. */
  static async start(explorer: JobExplorer, executionId: number, jobName: string, intervalMs = 500, stream: NodeJS.WriteStream = process.stderr): Promise<ProgressLine | undefined> {
    if (!progressWanted(stream)) return undefined;
    const estimate = await readCountsOfLastCompletedRun(explorer, jobName, executionId).catch(() => new Map<string, number>());
    return new ProgressLine(explorer, executionId, jobName, intervalMs, stream, estimate);
  }

  private async poll(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    try {
      const execution = await this.explorer.getJobExecution(this.executionId);
      if (!execution || this.stopped) return;
      const steps = execution.stepExecutions;
      const current: StepExecution | undefined = [...steps].reverse().find((s) => !s.endTime) ?? steps[steps.length - 1];
      const now = Date.now();
      const stepMs = current?.startTime ? now - current.startTime.getTime() : 0;
      const rate = current && stepMs > 0 ? Math.round((current.writeCount * 1000) / stepMs) : 0;
      const elapsed = execution.startTime ? formatDuration(now - execution.startTime.getTime()) : '0ms';
      const expected = current ? this.estimate.get(current.stepName) : undefined;
      if (expected !== undefined && current) this.bar.setTotal(Math.max(expected, current.readCount, 1));
      this.bar.update(expected !== undefined && current ? current.readCount : 0, {
        job: execution.jobName,
        id: execution.id,
        status: execution.status,
        step: current?.stepName ?? '-',
        read: current?.readCount ?? 0,
        written: current?.writeCount ?? 0,
        rate,
        elapsed,
      });
    } catch {
      // A failed poll only delays the next redraw.
    } finally {
      this.polling = false;
    }
  }

  /** Removes the line. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.bar.stop();
  }
}
