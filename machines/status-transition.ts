import { transition, type AnyStateMachine } from 'xstate';
import type { BatchStatus } from '../src/domain/batch-status.js';
import type { ExecutionAction, ExecutionEvent, ExecutionLifecycleMachine } from './execution-lifecycle.js';

/** What an event does to an entity in a stored status: the next status and the named effects, or a refusal. */
export type Transition<Status extends string, Action extends string> =
  | { readonly allowed: true; readonly status: Status; readonly actions: readonly Action[] }
  | { readonly allowed: false; readonly status: Status };

export type StatusTransition = Transition<BatchStatus, ExecutionAction>;

// The lifecycle machines have no guards and no context, so a transition depends only on the
// status and the event type: each answer is computed by xstate once and then remembered, which keeps
// the machines the single source of truth without paying xstate's cost on every work chunk.
const answers = new WeakMap<AnyStateMachine, Map<string, Transition<string, string>>>();

/**
 * Asks a lifecycle machine, purely, what `event` does to an entity in status `from`. Rebuilds the
 * machine state from the stored status rather than from a persisted xstate snapshot, so the store
 * holds only status values.
 */
export function nextState<Status extends string, Action extends string>(
  machine: AnyStateMachine,
  from: Status,
  event: { readonly type: string },
): Transition<Status, Action> {
  let known = answers.get(machine);
  if (!known) answers.set(machine, (known = new Map()));
  const key = `${from}\u0000${event.type}`;
  let answer = known.get(key);
  if (!answer) {
    const snapshot = machine.resolveState({ value: from, context: {} });
    if (!snapshot.can(event)) answer = { allowed: false, status: from };
    else {
      const [next, actions] = transition(machine, snapshot, event);
      answer = { allowed: true, status: next.value as string, actions: actions.map((action) => action.type) };
    }
    known.set(key, answer);
  }
  return answer as Transition<Status, Action>;
}

/** {@link nextState} for job and step executions. */
export function nextStatus(machine: ExecutionLifecycleMachine, from: BatchStatus, event: ExecutionEvent): StatusTransition {
  return nextState<BatchStatus, ExecutionAction>(machine, from, event);
}
