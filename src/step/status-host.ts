import { jobExecutionMachine } from '../../machines/job-execution.js';
import { stepExecutionMachine } from '../../machines/step-execution.js';
import type { ExecutionEvent, ExecutionLifecycleMachine } from '../../machines/execution-lifecycle.js';
import { nextStatus } from '../../machines/status-transition.js';
import { IllegalStatusTransitionError } from '../domain/errors.js';
import type { JobExecution } from '../domain/job-execution.js';
import { StepExecution } from '../domain/step-execution.js';
import type { JobRepository, UpdateOutcome } from '../repository/job-repository.js';
import type { Clock } from '../support/clock.js';

/**
 * The host side of the lifecycle machines: every status change of a job or step execution goes
 * through here. The machine decides the next status (or refuses the event); the host stamps the
 * record, writes it to the repository, and only then performs effects outside the record, so no
 * listener or operator ever sees a status that is not stored.
 */
export async function transitionStep(
  repository: JobRepository,
  clock: Clock,
  step: StepExecution,
  event: ExecutionEvent,
): Promise<UpdateOutcome> {
  return apply(stepExecutionMachine, `StepExecution ${step.id} (${step.stepName})`, step, event, clock, () =>
    repository.updateStepExecution(step),
  );
}

export async function transitionJob(
  repository: JobRepository,
  clock: Clock,
  execution: JobExecution,
  event: ExecutionEvent,
): Promise<UpdateOutcome> {
  return apply(jobExecutionMachine, `JobExecution ${execution.id} (${execution.jobName})`, execution, event, clock, () =>
    repository.updateJobExecution(execution),
  );
}

/** Throws IllegalStatusTransitionError, naming the status and the event, when the machine refuses. */
export function assertTransition(machine: ExecutionLifecycleMachine, label: string, execution: JobExecution | StepExecution, event: ExecutionEvent, hint?: string): void {
  if (!nextStatus(machine, execution.status, event).allowed) {
    throw new IllegalStatusTransitionError(label, execution.status, event.type, hint);
  }
}

async function apply(
  machine: ExecutionLifecycleMachine,
  label: string,
  execution: JobExecution | StepExecution,
  event: ExecutionEvent,
  clock: Clock,
  persist: () => Promise<UpdateOutcome>,
): Promise<UpdateOutcome> {
  const result = nextStatus(machine, execution.status, event);
  if (!result.allowed) throw new IllegalStatusTransitionError(label, execution.status, event.type);
  const previous = { status: execution.status, startTime: execution.startTime, endTime: execution.endTime };
  execution.status = result.status;
  for (const action of result.actions) {
    if (action === 'stampStartTime') execution.startTime = clock.now();
    else if (action === 'stampEndTime') execution.endTime = clock.now();
  }
  let outcome: UpdateOutcome;
  try {
    outcome = await persist();
  } catch (error) {
    Object.assign(execution, previous);
    throw error;
  }
  if (result.actions.includes('signalStop') && execution instanceof StepExecution) execution.terminateOnly = true;
  return outcome;
}
