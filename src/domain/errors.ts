/**
 * Every error the runtime raises on purpose is a {@link BatchError} with a stable `code`.
 * Classify errors with {@link isBatchError}, never with `instanceof` alone: an error that crossed a
 * worker thread or was read back from a stored exit description is a copy, not the original class.
 */
export const BatchErrorCode = {
  JOB_INSTANCE_ALREADY_COMPLETE: 'JOB_INSTANCE_ALREADY_COMPLETE',
  JOB_EXECUTION_ALREADY_RUNNING: 'JOB_EXECUTION_ALREADY_RUNNING',
  JOB_RESTART: 'JOB_RESTART',
  START_LIMIT_EXCEEDED: 'START_LIMIT_EXCEEDED',
  NO_SUCH_JOB: 'NO_SUCH_JOB',
  NO_SUCH_JOB_EXECUTION: 'NO_SUCH_JOB_EXECUTION',
  DUPLICATE_JOB: 'DUPLICATE_JOB',
  JOB_PARAMETERS_INVALID: 'JOB_PARAMETERS_INVALID',
  JOB_EXECUTION_NOT_RUNNING: 'JOB_EXECUTION_NOT_RUNNING',
  JOB_INTERRUPTED: 'JOB_INTERRUPTED',
  ILLEGAL_STATUS_TRANSITION: 'ILLEGAL_STATUS_TRANSITION',
  OPTIMISTIC_LOCKING_FAILURE: 'OPTIMISTIC_LOCKING_FAILURE',
  EXECUTION_CONTEXT_VALUE_INVALID: 'EXECUTION_CONTEXT_VALUE_INVALID',
  STORE_UNAVAILABLE: 'STORE_UNAVAILABLE',
  ILLEGAL_STATE: 'ILLEGAL_STATE',
  INVALID_CONFIGURATION: 'INVALID_CONFIGURATION',
  FAULT_INJECTED: 'FAULT_INJECTED',
  PARSE_FAILED: 'PARSE_FAILED',
  ITEM_STREAM_FAILED: 'ITEM_STREAM_FAILED',
  ITEM_VALIDATION_FAILED: 'ITEM_VALIDATION_FAILED',
  SKIP_LIMIT_EXCEEDED: 'SKIP_LIMIT_EXCEEDED',
  NON_SKIPPABLE_READ: 'NON_SKIPPABLE_READ',
  NON_SKIPPABLE_PROCESS: 'NON_SKIPPABLE_PROCESS',
  NON_SKIPPABLE_WRITE: 'NON_SKIPPABLE_WRITE',
  FLOW_EXECUTION: 'FLOW_EXECUTION',
  NON_ERROR_THROWN: 'NON_ERROR_THROWN',
  CHUNK_TIMEOUT: 'CHUNK_TIMEOUT',
  RETRY_LATER: 'RETRY_LATER',
  NON_RETRYABLE: 'NON_RETRYABLE',
  NO_SUCH_WORK_CHUNK_JOB: 'NO_SUCH_WORK_CHUNK_JOB',
  NO_SUCH_WORK_CHUNK_INSTANCE: 'NO_SUCH_WORK_CHUNK_INSTANCE',
  WORK_CHUNK_INSTANCE_ENDED: 'WORK_CHUNK_INSTANCE_ENDED',
} as const;

export type BatchErrorCode = (typeof BatchErrorCode)[keyof typeof BatchErrorCode];

export abstract class BatchError extends Error {
  abstract readonly code: BatchErrorCode;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** True when `error` is (a copy of) a BatchError, optionally of one code. Works across threads. */
export function isBatchError(error: unknown, code?: BatchErrorCode): error is BatchError {
  if (typeof error !== 'object' || error === null) return false;
  const candidate = (error as { code?: unknown }).code;
  if (typeof candidate !== 'string' || !(candidate in BatchErrorCode)) return false;
  return code === undefined || candidate === code;
}

export class JobInstanceAlreadyCompleteError extends BatchError {
  readonly code = BatchErrorCode.JOB_INSTANCE_ALREADY_COMPLETE;
  constructor(
    readonly jobName: string,
    readonly jobInstanceId: number,
    readonly status: string,
  ) {
    super(
      `Job instance ${jobInstanceId} of job '${jobName}' is already ${status} and cannot run again. ` +
        `Launch with different identifying parameters (or an incrementer) to start a new instance.`,
    );
  }
}

export class JobExecutionAlreadyRunningError extends BatchError {
  readonly code = BatchErrorCode.JOB_EXECUTION_ALREADY_RUNNING;
  constructor(
    readonly jobName: string,
    readonly executionId: number,
    readonly status: string,
  ) {
    super(
      `Job '${jobName}' already has execution ${executionId} in status ${status} for these parameters. ` +
        `Wait for it to end, or stop it, before launching the instance again.`,
    );
  }
}

export class JobRestartError extends BatchError {
  readonly code = BatchErrorCode.JOB_RESTART;
  constructor(
    message: string,
    readonly jobName: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class StartLimitExceededError extends BatchError {
  readonly code = BatchErrorCode.START_LIMIT_EXCEEDED;
  constructor(
    readonly stepName: string,
    readonly startLimit: number,
  ) {
    super(
      `Step '${stepName}' has already been started ${startLimit} time(s), its start limit. ` +
        `Raise startLimit() on the step or abandon the job instance.`,
    );
  }
}

export class NoSuchJobError extends BatchError {
  readonly code = BatchErrorCode.NO_SUCH_JOB;
  constructor(
    readonly jobName: string,
    readonly knownJobNames: readonly string[],
  ) {
    super(
      `No job named '${jobName}' is registered. Known jobs: ${
        knownJobNames.length ? knownJobNames.map((n) => `'${n}'`).join(', ') : '(none)'
      }. Register it with runtime.registry.register(job).`,
    );
  }
}

export class NoSuchJobExecutionError extends BatchError {
  readonly code = BatchErrorCode.NO_SUCH_JOB_EXECUTION;
  constructor(readonly executionId: number) {
    super(`No job execution with id ${executionId} exists in this repository.`);
  }
}

export class DuplicateJobError extends BatchError {
  readonly code = BatchErrorCode.DUPLICATE_JOB;
  constructor(readonly jobName: string) {
    super(`A job named '${jobName}' is already registered; unregister it first or choose another name.`);
  }
}

export class JobParametersInvalidError extends BatchError {
  readonly code = BatchErrorCode.JOB_PARAMETERS_INVALID;
  constructor(
    message: string,
    readonly jobName?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class JobExecutionNotRunningError extends BatchError {
  readonly code = BatchErrorCode.JOB_EXECUTION_NOT_RUNNING;
  constructor(
    readonly executionId: number,
    readonly status: string,
  ) {
    super(`Job execution ${executionId} is ${status}, not running, so it cannot be stopped.`);
  }
}

/** Raised inside a job when a step ended STOPPED or a stop was seen between steps; it ends the job STOPPED. */
export class JobInterruptedError extends BatchError {
  readonly code = BatchErrorCode.JOB_INTERRUPTED;
  constructor(
    message: string,
    readonly status: 'STOPPED' | 'UNKNOWN' = 'STOPPED',
  ) {
    super(message);
  }
}

export class IllegalStatusTransitionError extends BatchError {
  readonly code = BatchErrorCode.ILLEGAL_STATUS_TRANSITION;
  constructor(
    readonly entity: string,
    readonly from: string,
    readonly event: string,
    hint = '',
  ) {
    super(`${entity} is ${from}; '${event}' is not allowed from that status.${hint ? ` ${hint}` : ''}`);
  }
}

export class OptimisticLockingFailureError extends BatchError {
  readonly code = BatchErrorCode.OPTIMISTIC_LOCKING_FAILURE;
  constructor(
    readonly entity: string,
    readonly expectedVersion: number,
    readonly actualVersion: number,
  ) {
    super(
      `${entity} was changed by someone else (stored version ${actualVersion}, this copy has ${expectedVersion}); ` +
        `reload it before updating.`,
    );
  }
}

export class ExecutionContextValueError extends BatchError {
  readonly code = BatchErrorCode.EXECUTION_CONTEXT_VALUE_INVALID;
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(
      `ExecutionContext value for '${key}' cannot be stored: ${reason}. ` +
        `Values must survive JSON (strings, finite numbers, booleans, null, arrays and plain objects of them).`,
    );
  }
}

export class StoreUnavailableError extends BatchError {
  readonly code = BatchErrorCode.STORE_UNAVAILABLE;
  constructor(
    readonly path: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`The job repository at '${path}' cannot be opened: ${reason}`, options);
  }
}

export class IllegalStateError extends BatchError {
  readonly code = BatchErrorCode.ILLEGAL_STATE;
  constructor(
    readonly component: string,
    readonly state: string,
    readonly action: string,
  ) {
    super(`${component} is ${state}; cannot ${action}.`);
  }
}

export class InvalidConfigurationError extends BatchError {
  readonly code = BatchErrorCode.INVALID_CONFIGURATION;
}

/** Thrown by a fault point that a test armed; never raised in production. */
export class InjectedFaultError extends BatchError {
  readonly code = BatchErrorCode.FAULT_INJECTED;
  constructor(readonly faultPoint: string) {
    super(`Fault injected at ${faultPoint}`);
  }
}

/**
 * An input record that cannot be turned into an item: a malformed CSV line, a line that is not
 * JSON. Names the resource and the 1-based line so the input can be fixed; skippable by policy.
 */
export class ParseError extends BatchError {
  readonly code = BatchErrorCode.PARSE_FAILED;
  constructor(
    readonly resource: string,
    readonly lineNumber: number,
    readonly reason: string,
    readonly input?: string,
    options?: { cause?: unknown },
  ) {
    super(`${resource}:${lineNumber}: ${reason}`, options);
  }
}

/** A reader or writer could not open, read, write or close its resource (missing file, a directory, no permission). */
export class ItemStreamError extends BatchError {
  readonly code = BatchErrorCode.ITEM_STREAM_FAILED;
  constructor(
    readonly resource: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** An item failed validation (a validating processor with `mode: 'fail'`). */
export class ItemValidationError extends BatchError {
  readonly code = BatchErrorCode.ITEM_VALIDATION_FAILED;
  constructor(
    message: string,
    readonly issues: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** One skip more than the step's skip limit allows: the step fails. */
export class SkipLimitExceededError extends BatchError {
  readonly code = BatchErrorCode.SKIP_LIMIT_EXCEEDED;
  constructor(
    readonly skipLimit: number,
    readonly stepName: string,
    options?: { cause?: unknown },
  ) {
    super(
      `Step '${stepName}' exceeded its skip limit of ${skipLimit}. Fix the input, or raise skipLimit(), and restart: ` +
        `the step resumes at its last commit.`,
      options,
    );
  }
}

/** A read failed with an error the skip policy does not skip. */
export class NonSkippableReadError extends BatchError {
  readonly code = BatchErrorCode.NON_SKIPPABLE_READ;
  constructor(readonly stepName: string, options: { cause: unknown }) {
    super(`Step '${stepName}': a read failed with an error that is not skippable: ${messageOf(options.cause)}`, options);
  }
}

/** Processing an item failed with an error the skip policy does not skip. */
export class NonSkippableProcessError extends BatchError {
  readonly code = BatchErrorCode.NON_SKIPPABLE_PROCESS;
  constructor(readonly stepName: string, options: { cause: unknown }) {
    super(`Step '${stepName}': processing an item failed with an error that is not skippable: ${messageOf(options.cause)}`, options);
  }
}

/** Writing an item (during a scan) failed with an error the skip policy does not skip. */
export class NonSkippableWriteError extends BatchError {
  readonly code = BatchErrorCode.NON_SKIPPABLE_WRITE;
  constructor(readonly stepName: string, options: { cause: unknown }) {
    super(`Step '${stepName}': writing an item failed with an error that is not skippable: ${messageOf(options.cause)}`, options);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** User code threw something that is not an Error (a string, undefined, a plain object). */
export class NonErrorThrownError extends BatchError {
  readonly code = BatchErrorCode.NON_ERROR_THROWN;
  constructor(readonly thrown: unknown) {
    super(`A non-Error value was thrown: ${describeThrown(thrown)}. Throw Error instances so that causes and stacks are kept.`);
  }
}

/** The error itself, or a NonErrorThrownError around a value that is not one. */
export function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new NonErrorThrownError(thrown);
}

function describeThrown(value: unknown): string {
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** A chunk took longer than the step's chunkTimeoutMs to read, or to process and write. */
export class ChunkTimeoutError extends BatchError {
  readonly code = BatchErrorCode.CHUNK_TIMEOUT;
  constructor(
    readonly stepName: string,
    readonly phase: 'read' | 'process and write',
    readonly timeoutMs: number,
  ) {
    super(
      `Step '${stepName}': a chunk took longer than ${timeoutMs} ms to ${phase}; it was rolled back. ` +
        `Check the ${phase === 'read' ? 'reader' : 'processor and writer'} for a hang, or raise chunkTimeoutMs.`,
    );
  }
}

/**
 * Thrown by a work-chunk step to be called again later (an export still being prepared, a rate
 * limit): the chunk waits in POLL_WAITING for `delayMs`, without counting as an error.
 */
export class RetryLaterError extends BatchError {
  readonly code = BatchErrorCode.RETRY_LATER;
  constructor(
    readonly delayMs: number,
    message = `Asked to be called again in ${delayMs} ms`,
  ) {
    super(message);
  }
}

/** Thrown by a work-chunk step whose failure no retry can fix: the chunk and its instance fail at once. */
export class NonRetryableError extends BatchError {
  readonly code = BatchErrorCode.NON_RETRYABLE;
}

export class NoSuchWorkChunkJobError extends BatchError {
  readonly code = BatchErrorCode.NO_SUCH_WORK_CHUNK_JOB;
  constructor(
    readonly definitionId: string,
    readonly version: number | undefined,
    readonly known: readonly string[],
  ) {
    super(
      `No work-chunk job '${definitionId}'${version === undefined ? '' : ` version ${version}`} is registered. ` +
        `Known: ${known.length ? known.join(', ') : '(none)'}. Register it with runtime.workChunks.register(definition).`,
    );
  }
}

export class NoSuchWorkChunkInstanceError extends BatchError {
  readonly code = BatchErrorCode.NO_SUCH_WORK_CHUNK_INSTANCE;
  constructor(readonly instanceId: string) {
    super(`No work-chunk job instance with id '${instanceId}' exists in this repository.`);
  }
}

/** An action that needs a running instance (cancel) was asked of one that has ended. */
export class WorkChunkInstanceEndedError extends BatchError {
  readonly code = BatchErrorCode.WORK_CHUNK_INSTANCE_ENDED;
  constructor(
    readonly instanceId: string,
    readonly status: string,
    action: string,
  ) {
    super(`Work-chunk job instance '${instanceId}' is ${status}; it has ended, so it cannot be ${action}.`);
  }
}
