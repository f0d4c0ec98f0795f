import { InvalidConfigurationError } from '../domain/errors.js';

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
}

export interface ResolvedChunkOptions {
  readonly chunkSize: number;
  readonly readAhead: number;
  readonly allowStartIfComplete: boolean;
  readonly startLimit: number;
}

/** Validates once, with errors that name the step and the option, and fills every default. */
export function resolveChunkOptions(stepName: string, options: ChunkOptions): ResolvedChunkOptions {
  const { chunkSize, readAhead = 1, allowStartIfComplete = false, startLimit = Infinity } = options;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) {
    throw new InvalidConfigurationError(`Step '${stepName}': chunk size must be an integer >= 1, got ${String(chunkSize)}.`);
  }
  if (!Number.isInteger(readAhead) || readAhead < 0) {
    throw new InvalidConfigurationError(`Step '${stepName}': readAhead must be an integer >= 0, got ${String(readAhead)}.`);
  }
  return { chunkSize, readAhead, allowStartIfComplete, startLimit: resolveStartLimit(stepName, startLimit) };
}

export function resolveStartLimit(stepName: string, startLimit: number): number {
  if (startLimit !== Infinity && (!Number.isInteger(startLimit) || startLimit < 1)) {
    throw new InvalidConfigurationError(`Step '${stepName}': startLimit must be an integer >= 1, got ${String(startLimit)}.`);
  }
  return startLimit;
}
