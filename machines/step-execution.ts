import { createExecutionLifecycle } from './execution-lifecycle.js';

/**
 * The StepExecution lifecycle: the same states and events as a job execution, for one step run.
 * A stop request turns a running step STOPPING; it becomes STOPPED at its next chunk boundary,
 * after the chunk in flight has committed. `stopAndRestart` flows ABANDON a stopped step so a
 * restart skips it. A remote partition whose worker let go of it (shutdown or death) is RELEASEd
 * from STARTED back to STARTING, to be claimed and resumed by another worker.
 */
export const stepExecutionMachine = createExecutionLifecycle('stepExecution', { releasable: true });
