import { isBatchError } from '../index.js';

/** The codes the dashboard adds to BatchErrorCode for what only HTTP can get wrong. */
export const DashboardErrorCode = {
  NOT_FOUND: 'NOT_FOUND',
  /** A step execution id that the job execution does not have. */
  NO_SUCH_STEP_EXECUTION: 'NO_SUCH_STEP_EXECUTION',
  INVALID_QUERY: 'INVALID_QUERY',
  READ_ONLY: 'READ_ONLY',
  UNAUTHORIZED: 'UNAUTHORIZED',
  CROSS_SITE_REQUEST: 'CROSS_SITE_REQUEST',
  INTERNAL_ERROR: 'INTERNAL_ERROR',
} as const;

export type DashboardErrorCode = (typeof DashboardErrorCode)[keyof typeof DashboardErrorCode];

export type HttpStatus = 400 | 401 | 403 | 404 | 409 | 500 | 503;

/** An error with the HTTP status and code to answer with. */
export class HttpError extends Error {
  constructor(
    readonly status: HttpStatus,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** What every error becomes: `{ "error": { "code", "message" } }` with a status. */
export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

const STATUS_BY_CODE: Readonly<Record<string, HttpStatus>> = {
  NO_SUCH_JOB_EXECUTION: 404,
  NO_SUCH_WORK_CHUNK_INSTANCE: 404,
  NO_SUCH_WORK_CHUNK_JOB: 404,
  // The execution exists, but this runtime cannot run its job: a state of the server, not a bad id.
  NO_SUCH_JOB: 409,
  JOB_EXECUTION_NOT_RUNNING: 409,
  JOB_EXECUTION_ALREADY_RUNNING: 409,
  JOB_INSTANCE_ALREADY_COMPLETE: 409,
  JOB_RESTART: 409,
  START_LIMIT_EXCEEDED: 409,
  ILLEGAL_STATUS_TRANSITION: 409,
  OPTIMISTIC_LOCKING_FAILURE: 409,
  WORK_CHUNK_INSTANCE_ENDED: 409,
  JOB_PARAMETERS_INVALID: 400,
  ILLEGAL_STATE: 503,
  STORE_UNAVAILABLE: 503,
};

/** Maps anything thrown by a route to a status and body; unexpected errors hide their details. */
export function toErrorResponse(error: unknown): { status: HttpStatus; body: ErrorBody } {
  if (error instanceof HttpError) return { status: error.status, body: { error: { code: error.code, message: error.message } } };
  if (isBatchError(error)) {
    return { status: STATUS_BY_CODE[error.code] ?? 500, body: { error: { code: error.code, message: error.message } } };
  }
  return { status: 500, body: { error: { code: DashboardErrorCode.INTERNAL_ERROR, message: 'The dashboard failed to answer; see the server log.' } } };
}

export function notFound(what: string): HttpError {
  return new HttpError(404, DashboardErrorCode.NOT_FOUND, `${what} does not exist.`);
}

export function invalidQuery(message: string): HttpError {
  return new HttpError(400, DashboardErrorCode.INVALID_QUERY, message);
}
