import { NoSuchJobExecutionError, isBatchError, type BatchRuntime, type JobParameters } from '../../index.js';
import { CliError, CliExitCode } from '../cli-error.js';
import { renderHeadline, renderStepsAndFailures } from '../format.js';
import { InterruptHandler } from '../interrupts.js';
import { loadJobModule, registerJobs } from '../load-module.js';
import { openRuntime, type StoreOptions } from '../open-runtime.js';
import { Output, type OutputOptions } from '../output.js';
import { parseParameters } from '../parse-parameters.js';
import { ProgressLine } from '../progress.js';
import { summarizeExecution } from '../../present/execution-summary.js';

export interface RunOptions extends StoreOptions, OutputOptions {
  /** The job to run; not needed with `restart` (the execution names it). */
  readonly job?: string;
  /** Start the next instance through the job's incrementer. */
  readonly next?: boolean;
  /** Restart this execution (FAILED or STOPPED) instead of starting a new one. */
  readonly restart?: number;
}

function quoteList(names: readonly string[]): string {
  return names.length ? names.map((n) => `'${n}'`).join(', ') : '(none)';
}

function noSuchJob(jobName: string, modulePath: string, known: readonly string[]): CliError {
  return new CliError('NO_SUCH_JOB', `No job named '${jobName}' in ${modulePath}. Known jobs: ${quoteList(known)}.`);
}

/** Starts, restarts or starts the next instance of one job; resolves with the new execution's id. */
async function launch(runtime: BatchRuntime, modulePath: string, parameters: JobParameters, options: RunOptions, known: string[]): Promise<number> {
  if (options.restart !== undefined) {
    const previous = await runtime.explorer.getJobExecution(options.restart);
    if (!previous) throw new NoSuchJobExecutionError(options.restart);
    if (options.job !== undefined && options.job !== previous.jobName) {
      throw new CliError('USAGE', `Execution ${options.restart} belongs to job '${previous.jobName}', not '${options.job}'.`);
    }
    if (!runtime.registry.has(previous.jobName)) throw noSuchJob(previous.jobName, modulePath, known);
    return runtime.operator.restart(options.restart);
  }
  if (options.job === undefined || options.job === '') {
    throw new CliError(
      'JOB_NOT_PROVIDED',
      `No job name given; say which job to run with --job <name> (tsbatch runs one job, never all). Jobs in ${modulePath}: ${quoteList(known)}.`,
    );
  }
  if (!runtime.registry.has(options.job)) throw noSuchJob(options.job, modulePath, known);
  if (options.next) return runtime.operator.startNextInstance(options.job);
  return runtime.operator.start(options.job, parameters);
}

/**
 * `tsbatch run <module> --job <name> [key=value[,type[,identifying]] ...]`: loads the module,
 * registers its jobs, runs the named one in this process and waits for its end. Exit code 0 when it
 * ended COMPLETED, 1 for any other end, 2 for usage errors, 130 after Ctrl-C.
 */
export async function runCommand(modulePath: string, parameterArgs: readonly string[], options: RunOptions): Promise<number> {
  const out = new Output(options);
  if (options.restart !== undefined && options.next) throw new CliError('USAGE', '--restart and --next cannot be used together.');
  if ((options.restart !== undefined || options.next) && parameterArgs.length > 0) {
    const flag = options.next ? '--next (the incrementer makes the parameters)' : '--restart (a restart reuses the parameters of the execution)';
    throw new CliError('USAGE', `Job parameters cannot be given with ${flag}: ${parameterArgs.join(' ')}`);
  }
  // Bad parameters are reported before anything is loaded or opened.
  const parameters = parseParameters(parameterArgs);
  const module = await loadJobModule(modulePath);
  const runtime = await openRuntime(options, { create: true, recovery: 'fail' });
  let executionId: number | undefined;
  let progress: ProgressLine | undefined;
  const requestStop = async (id: number) => {
    try {
      await runtime.operator.stop(id);
    } catch (error) {
      if (!isBatchError(error, 'JOB_EXECUTION_NOT_RUNNING')) out.message(`Could not stop execution ${id}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const interrupts = new InterruptHandler(
    () => void (executionId !== undefined ? requestStop(executionId) : undefined),
    (text) => {
      progress?.stop();
      out.message(text);
    },
  );
  try {
    const known = await registerJobs(runtime, module);
    executionId = await launch(runtime, modulePath, parameters, options, known);
    if (interrupts.interrupted) await requestStop(executionId);
    const started = await runtime.explorer.getJobExecution(executionId);
    const jobName = started?.jobName ?? options.job ?? '?';
    const what = options.restart !== undefined ? `restarted execution ${options.restart} as execution ${executionId}` : `started execution ${executionId}`;
    out.message(`Job '${jobName}' ${what} (instance ${started?.jobInstance.id ?? '?'}).`);

    if (!interrupts.interrupted) progress = await ProgressLine.start(runtime.explorer, executionId, jobName);
    await runtime.operator.waitFor(executionId);
    progress?.stop();

    const execution = await runtime.explorer.getJobExecution(executionId);
    if (!execution) throw new NoSuchJobExecutionError(executionId);
    const summary = summarizeExecution(execution);
    out.document(summary);
    out.data(`${renderHeadline(summary)}\n${renderStepsAndFailures(summary, out.colour)}`);
    if (interrupts.interrupted) return CliExitCode.INTERRUPTED;
    return execution.status === 'COMPLETED' ? CliExitCode.COMPLETED : CliExitCode.FAILED;
  } finally {
    progress?.stop();
    interrupts.dispose();
    await runtime.close();
  }
}
