import { InvalidConfigurationError } from '../domain/errors.js';
import { NO_RETRY, type BackOffPolicy, type ResolvedRetryPolicy } from './chunk/retry-policy.js';
import { limitCheckingSkipPolicy, neverSkip, type ErrorClass, type SkipPolicy } from './chunk/skip-policy.js';

/** The options of a chunk-oriented step as a user gives them. */
export interface ChunkOptions {
  /** Items per chunk (the commit interval). Required, an integer >= 1. */
  readonly chunkSize: number;
  /**
   * Chunks that may be read ahead while an earlier chunk is processed, written and committed.
   * Memory holds at most (readAhead + 1) × chunkSize items.
   * @default 1
   */
  readonly readAhead?: number;
  /** @default false */
  readonly allowStartIfComplete?: boolean;
  /** Starts allowed per job instance. @default Infinity */
  readonly startLimit?: number;
  /**
   * Chunks processed at once (a multi-threaded step): reads stay serial, writes and commits happen
   * in read order, so restart stays exact. @default 1
   */
  readonly concurrency?: number;
  /** Items of a chunk processed at once (an async processor); output order is kept. @default 1 */
  readonly processorConcurrency?: number;
  /**
   * The longest a chunk may take to be read, or to be processed and written, before it is rolled
   * back and the step fails with ChunkTimeoutError (a reader or writer that hangs). @default none
   */
  readonly chunkTimeoutMs?: number;
}

export interface ResolvedChunkOptions {
  readonly chunkSize: number;
  readonly readAhead: number;
  readonly concurrency: number;
  readonly processorConcurrency: number;
  readonly chunkTimeoutMs: number | undefined;
  readonly allowStartIfComplete: boolean;
  readonly startLimit: number;
}

/** Validates once, with errors that name the step and the option, and fills every default. */
export function resolveChunkOptions(stepName: string, options: ChunkOptions): ResolvedChunkOptions {
  const { chunkSize, readAhead = 1, allowStartIfComplete = false, startLimit = Infinity, concurrency = 1, processorConcurrency = 1, chunkTimeoutMs } = options;
  if (chunkTimeoutMs !== undefined && !(chunkTimeoutMs > 0)) {
    throw new InvalidConfigurationError(`Step '${stepName}': chunkTimeoutMs must be a positive number of milliseconds, got ${String(chunkTimeoutMs)}.`);
  }
  if (!Number.isInteger(chunkSize) || chunkSize < 1) {
    throw new InvalidConfigurationError(`Step '${stepName}': chunk size must be an integer >= 1, got ${String(chunkSize)}.`);
  }
  if (!Number.isInteger(readAhead) || readAhead < 0) {
    throw new InvalidConfigurationError(`Step '${stepName}': readAhead must be an integer >= 0, got ${String(readAhead)}.`);
  }
  for (const [option, value] of [['concurrency', concurrency], ['processor concurrency', processorConcurrency]] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new InvalidConfigurationError(`Step '${stepName}': ${option} must be an integer >= 1, got ${String(value)}.`);
    }
  }
  return { chunkSize, readAhead, concurrency, processorConcurrency, chunkTimeoutMs, allowStartIfComplete, startLimit: resolveStartLimit(stepName, startLimit) };
}

export function resolveStartLimit(stepName: string, startLimit: number): number {
  if (startLimit !== Infinity && (!Number.isInteger(startLimit) || startLimit < 1)) {
    throw new InvalidConfigurationError(`Step '${stepName}': startLimit must be an integer >= 1, got ${String(startLimit)}.`);
  }
  return startLimit;
}

/** The skip and retry settings of a fault-tolerant chunk step, as the builder collects them. */
export interface FaultToleranceOptions {
  readonly skippable: readonly ErrorClass[];
  readonly notSkippable: readonly ErrorClass[];
  /** @default 10 */
  readonly skipLimit?: number;
  /** Replaces the class-based policy and its limit. */
  readonly skipPolicy?: SkipPolicy;
  readonly retryable: readonly ErrorClass[];
  readonly notRetryable: readonly ErrorClass[];
  /** Retries after the first attempt. @default 3 when retryable classes are given, else 0 */
  readonly retryLimit?: number;
  /** @default { type: 'none' } */
  readonly backOff?: BackOffPolicy;
}

export interface ResolvedFaultTolerance {
  readonly skipPolicy: SkipPolicy;
  readonly retry: ResolvedRetryPolicy;
}

/** A step that is not fault tolerant: every failure fails the chunk and the step. */
export const NOT_FAULT_TOLERANT: ResolvedFaultTolerance = { skipPolicy: neverSkip, retry: NO_RETRY };

export const DEFAULT_SKIP_LIMIT = 10;
const DEFAULT_RETRY_LIMIT_WITH_CLASSES = 3;

export function resolveFaultTolerance(stepName: string, options: FaultToleranceOptions): ResolvedFaultTolerance {
  const { skipLimit = DEFAULT_SKIP_LIMIT, skipPolicy, retryLimit, backOff = { type: 'none' } } = options;
  if (!Number.isInteger(skipLimit) || skipLimit < 0) {
    throw new InvalidConfigurationError(`Step '${stepName}': skipLimit must be an integer >= 0, got ${String(skipLimit)}.`);
  }
  if (skipPolicy && (options.skippable.length > 0 || options.notSkippable.length > 0 || options.skipLimit !== undefined)) {
    throw new InvalidConfigurationError(
      `Step '${stepName}': skipPolicy() replaces skip(), noSkip() and skipLimit(); use one or the other.`,
    );
  }
  const resolvedRetryLimit = retryLimit ?? (options.retryable.length > 0 ? DEFAULT_RETRY_LIMIT_WITH_CLASSES : 0);
  if (!Number.isInteger(resolvedRetryLimit) || resolvedRetryLimit < 0) {
    throw new InvalidConfigurationError(`Step '${stepName}': retryLimit must be an integer >= 0, got ${String(retryLimit)}.`);
  }
  checkBackOff(stepName, backOff);
  return {
    skipPolicy:
      skipPolicy ?? limitCheckingSkipPolicy({ skippable: options.skippable, notSkippable: options.notSkippable, skipLimit, stepName }),
    retry: { retryLimit: resolvedRetryLimit, retryable: options.retryable, notRetryable: options.notRetryable, backOff },
  };
}

function checkBackOff(stepName: string, backOff: BackOffPolicy): void {
  const bad = (what: string) => new InvalidConfigurationError(`Step '${stepName}': backOff ${what}.`);
  if (backOff.type === 'fixed' && !(backOff.delayMs >= 0)) throw bad('delayMs must be >= 0');
  if (backOff.type === 'exponential') {
    if (!(backOff.initialMs >= 0)) throw bad('initialMs must be >= 0');
    if (backOff.multiplier !== undefined && !(backOff.multiplier >= 1)) throw bad('multiplier must be >= 1');
    if (backOff.maxMs !== undefined && !(backOff.maxMs >= backOff.initialMs)) throw bad('maxMs must be >= initialMs');
  }
}
