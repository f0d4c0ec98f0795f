import { NoSuchJobExecutionError, type BatchRuntime, type JobExecution } from '../../index.js';
import { openRuntime, type StoreOptions } from '../open-runtime.js';
import { Output, type OutputOptions } from '../output.js';
import { summarizeExecution } from '../../present/execution-summary.js';

/** The operations on one execution by id that need no job definition. */
export type Operation = 'stop' | 'abandon' | 'recover';

async function load(runtime: BatchRuntime, executionId: number): Promise<JobExecution> {
  const execution = await runtime.explorer.getJobExecution(executionId);
  if (!execution) throw new NoSuchJobExecutionError(executionId);
  return execution;
}

/** Performs the operation and says what happened, in one line. */
async function perform(runtime: BatchRuntime, operation: Operation, executionId: number): Promise<string> {
  const before = await load(runtime, executionId);
  const name = `execution ${executionId} of job '${before.jobName}'`;
  switch (operation) {
    case 'stop':
      // STOPPING in the shared store; the process running it stops at its next chunk boundary.
      await runtime.operator.stop(executionId);
      return `Stop requested: ${name} is ${(await load(runtime, executionId)).status}; it ends STOPPED at its next chunk boundary.`;
    case 'abandon':
      await runtime.operator.abandon(executionId);
      return `Abandoned ${name}: its job instance will not run again.`;
    case 'recover': {
      const after = await runtime.operator.recover(executionId);
      return after.status !== before.status
        ? `Recovered ${name}: ${before.status} -> ${after.status}; restart it with 'tsbatch restart ${executionId} <module>'.`
        : `Nothing to recover: ${name} is ${after.status}, not running.`;
    }
  }
}

/**
 * `tsbatch stop|abandon|recover <executionId>`: operates on an execution through the store, whichever
 * process runs (or ran) it. `recover` is for an execution whose process is gone (killed, crashed):
 * it marks it FAILED so that it can be restarted; do not use it on one that is still running.
 */
export async function operateCommand(operation: Operation, executionId: number, options: StoreOptions & OutputOptions): Promise<number> {
  const out = new Output(options);
  const runtime = await openRuntime(options, { create: false, recovery: 'none' });
  try {
    const message = await perform(runtime, operation, executionId);
    out.document(summarizeExecution(await load(runtime, executionId)));
    out.data(message);
    return 0;
  } finally {
    await runtime.close();
  }
}
