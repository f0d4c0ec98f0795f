import { SkipLimitExceededError } from '../../domain/errors.js';

/** An error class to match against a thrown error or any error in its `cause` chain. */
export type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * Decides whether a failed read, process or write is skipped. `skipCount` is the number of items
 * the step has skipped so far; it is -1 when only the kind of error is asked about (before a write
 * scan starts, or while reading ahead), in which case the limit must not be applied.
 * Throw SkipLimitExceededError (or any error) to fail the step instead.
 */
export type SkipPolicy = (error: unknown, skipCount: number) => boolean;

/** Skips nothing: the default of a step that is not fault tolerant. */
export const neverSkip: SkipPolicy = () => false;

/**
 * Spring Batch's default policy: an error is skippable when it, or an error in its cause chain, is
 * an instance of a skippable class and the closest matching class is not a `noSkip` one; the
 * (limit + 1)-th skip throws SkipLimitExceededError.
 */
export function limitCheckingSkipPolicy(options: {
  readonly skippable: readonly ErrorClass[];
  readonly notSkippable: readonly ErrorClass[];
  readonly skipLimit: number;
  readonly stepName: string;
}): SkipPolicy {
  const { skippable, notSkippable, skipLimit, stepName } = options;
  return (error, skipCount) => {
    if (!classify(error, skippable, notSkippable)) return false;
    if (skipCount < 0) return true;
    if (skipCount >= skipLimit) throw new SkipLimitExceededError(skipLimit, stepName, { cause: error });
    return true;
  };
}

/**
 * True when the error (or the first error in its cause chain that matches anything) matches an
 * `include` class more closely than an `exclude` class. "Closer" means fewer prototype steps
 * between the error's class and the matching class, as Spring's exception classifier does.
 */
export function classify(error: unknown, include: readonly ErrorClass[], exclude: readonly ErrorClass[]): boolean {
  const seen = new Set<unknown>();
  for (let current: unknown = error; current instanceof Error && !seen.has(current); current = current.cause) {
    seen.add(current);
    const included = distance(current, include);
    const excluded = distance(current, exclude);
    if (included === undefined && excluded === undefined) continue;
    if (excluded === undefined) return true;
    if (included === undefined) return false;
    return included < excluded;
  }
  return false;
}

function distance(error: Error, classes: readonly ErrorClass[]): number | undefined {
  let best: number | undefined;
  for (const candidate of classes) {
    let steps = 0;
    for (let proto: unknown = Object.getPrototypeOf(error); proto !== null; proto = Object.getPrototypeOf(proto), steps++) {
      if (proto === candidate.prototype) {
        if (best === undefined || steps < best) best = steps;
        break;
      }
    }
  }
  return best;
}
