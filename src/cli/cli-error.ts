import { isBatchError } from '../index.js';

/**
 * The exit codes of the tsbatch command (Spring Batch's SimpleJvmExitCodeMapper, plus 130):
 * - `COMPLETED` 0: the job ended COMPLETED, or an operation succeeded.
 * - `FAILED` 1: the job ended in any other way (FAILED, STOPPED, ...), or the launch or operation
 *   was refused by the runtime (instance already complete, execution not running, ...).
 * - `USAGE` 2: a usage or configuration error: bad arguments or parameters, no job name
 *   (JOB_NOT_PROVIDED), an unknown job (NO_SUCH_JOB) or execution, a module that cannot be loaded.
 * - `INTERRUPTED` 130: the run was interrupted with Ctrl-C (SIGINT) or SIGTERM.
 */
export const CliExitCode = {
  COMPLETED: 0,
  FAILED: 1,
  USAGE: 2,
  INTERRUPTED: 130,
} as const;

export type CliExitCode = (typeof CliExitCode)[keyof typeof CliExitCode];

/** Error codes of the command itself, beside the runtime's BatchErrorCode values. */
export type CliErrorCode = 'JOB_NOT_PROVIDED' | 'MODULE_NOT_LOADABLE' | 'NO_JOBS_IN_MODULE' | 'STORE_NOT_FOUND' | 'USAGE';

/** A usage or configuration error found by the command before or instead of the runtime. */
export class CliError extends Error {
  constructor(
    readonly code: CliErrorCode | string,
    message: string,
    readonly exitCode: CliExitCode = CliExitCode.USAGE,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}

/** Runtime error codes that mean the command was used wrongly rather than that the job failed. */
const USAGE_CODES: ReadonlySet<string> = new Set([
  'NO_SUCH_JOB',
  'NO_SUCH_JOB_EXECUTION',
  'JOB_PARAMETERS_INVALID',
  'DUPLICATE_JOB',
  'INVALID_CONFIGURATION',
  'NO_SUCH_WORK_CHUNK_JOB',
  'NO_SUCH_WORK_CHUNK_INSTANCE',
]);

/** The stable code and the exit code that an error thrown by a command maps to. */
export function classifyError(error: unknown): { code: string; message: string; exitCode: CliExitCode; stack?: string } {
  if (error instanceof CliError) return { code: error.code, message: error.message, exitCode: error.exitCode };
  const message = error instanceof Error ? error.message : String(error);
  if (isBatchError(error)) {
    return { code: error.code, message, exitCode: USAGE_CODES.has(error.code) ? CliExitCode.USAGE : CliExitCode.FAILED };
  }
  // Not one of ours: keep the stack, it is most likely a bug or a broken environment.
  return { code: 'ERROR', message, exitCode: CliExitCode.FAILED, ...(error instanceof Error && error.stack ? { stack: error.stack } : {}) };
}
