import { BatchError, BatchErrorCode } from '../domain/errors.js';

/** A flow reached a state whose exit code no transition matches: the job fails with this. */
export class FlowExecutionError extends BatchError {
  readonly code = BatchErrorCode.FLOW_EXECUTION;
  constructor(
    readonly flowName: string,
    readonly stateName: string,
    readonly exitCode: string,
    message: string,
  ) {
    super(message);
  }
}
