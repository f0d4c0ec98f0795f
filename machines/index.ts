export { jobExecutionMachine } from './job-execution.js';
export { stepExecutionMachine } from './step-execution.js';
export { createExecutionLifecycle } from './execution-lifecycle.js';
export type { ExecutionEvent, ExecutionEventType, ExecutionAction, ExecutionLifecycleMachine } from './execution-lifecycle.js';
export { nextStatus } from './status-transition.js';
export type { StatusTransition } from './status-transition.js';
