import { transition } from 'xstate';
import type { BatchStatus } from '../src/domain/batch-status.js';
import type { ExecutionAction, ExecutionEvent, ExecutionLifecycleMachine } from './execution-lifecycle.js';

export type StatusTransition =
  | { readonly allowed: true; readonly status: BatchStatus; readonly actions: readonly ExecutionAction[] }
  | { readonly allowed: false; readonly status: BatchStatus };

/**
 * Asks a lifecycle machine, purely, what `event` does to an execution in status `from`.
 * Rebuilds the machine state from the stored status rather than from a persisted xstate snapshot,
 * so the store holds only BatchStatus values.
 */
export function nextStatus(machine: ExecutionLifecycleMachine, from: BatchStatus, event: ExecutionEvent): StatusTransition {
  const snapshot = machine.resolveState({ value: from, context: {} });
  if (!snapshot.can(event)) return { allowed: false, status: from };
  const [next, actions] = transition(machine, snapshot, event);
  return {
    allowed: true,
    status: next.value as BatchStatus,
    actions: actions.map((action) => action.type as ExecutionAction),
  };
}
