import { DashboardErrorCode, HttpError } from './http-error.js';
import { executionJson, instanceJson, type DashboardData, type ExecutionJson, type InstanceJson } from './model.js';

/** The operator actions on an execution, as POST sub-resources. */
export const EXECUTION_ACTIONS = ['stop', 'restart', 'abandon', 'recover'] as const;
export type ExecutionAction = (typeof EXECUTION_ACTIONS)[number];

export function isExecutionAction(value: string): value is ExecutionAction {
  return (EXECUTION_ACTIONS as readonly string[]).includes(value);
}

/** What an action answers: the execution after it (for restart, the new one). */
export interface ActionResult {
  readonly status: 200 | 202;
  readonly executionId: number;
  readonly body: { readonly execution: ExecutionJson; readonly previousExecutionId?: number };
}

/**
 * Runs an operator action. Refusals come from the operator as BatchErrors (409 wrong state,
 * 404 unknown id); a restart whose job is not registered in this runtime is a 409 NO_SUCH_JOB
 * that says how to register it.
 */
export async function runExecutionAction(data: DashboardData, action: ExecutionAction, id: number): Promise<ActionResult> {
  const { operator, registry } = data.runtime;
  switch (action) {
    case 'stop':
      await data.execution(id);
      await operator.stop(id);
      break;
    case 'abandon':
      await operator.abandon(id);
      break;
    case 'recover':
      await operator.recover(id);
      break;
    case 'restart': {
      const previous = await data.execution(id);
      if (!registry.has(previous.jobName)) {
        throw new HttpError(
          409,
          'NO_SUCH_JOB',
          `Job '${previous.jobName}' is not registered in the dashboard's runtime, so execution ${id} cannot be restarted from here. ` +
            'Register the job in that runtime (tsbatch dashboard --module <file>), or restart it where it is defined (tsbatch restart).',
        );
      }
      const restarted = await operator.restart(id);
      return { status: 202, executionId: restarted, body: { execution: executionJson(await data.execution(restarted)), previousExecutionId: id } };
    }
  }
  return { status: 200, executionId: id, body: { execution: executionJson(await data.execution(id)) } };
}

export async function cancelInstance(data: DashboardData, id: string): Promise<{ instance: InstanceJson }> {
  await data.instance(id);
  return { instance: instanceJson(await data.runtime.workChunks.cancel(id)) };
}

export function readOnlyError(): HttpError {
  return new HttpError(403, DashboardErrorCode.READ_ONLY, 'This dashboard is read-only: actions are disabled.');
}
