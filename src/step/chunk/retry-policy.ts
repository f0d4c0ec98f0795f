import type { Awaitable } from '../../support/awaitable.js';
import { isPromiseLike } from '../../support/awaitable.js';
import { classify, type ErrorClass } from './skip-policy.js';
import { backOffDelay, type BackOffPolicy } from '../../support/back-off.js';

export { backOffDelay, type BackOffPolicy };

export interface ResolvedRetryPolicy {
  /** Retries after the first attempt; 0 never retries. */
  readonly retryLimit: number;
  /** Errors (or causes) of these classes are retried; empty means every error except `notRetryable`. */
  readonly retryable: readonly ErrorClass[];
  readonly notRetryable: readonly ErrorClass[];
  readonly backOff: BackOffPolicy;
}

export const NO_RETRY: ResolvedRetryPolicy = { retryLimit: 0, retryable: [], notRetryable: [], backOff: { type: 'none' } };

/**
 * Calls a read, process or write again, in place, while it fails with a retryable error and
 * retries remain; then rethrows the last error for the skip policy to judge. A call that succeeds
 * synchronously stays synchronous, so a step that retries nothing pays nothing per item.
 */
export class Retrier {
  constructor(
    private readonly policy: ResolvedRetryPolicy,
    private readonly onRetry: (error: unknown, retry: number) => void = () => undefined,
  ) {}

  get enabled(): boolean {
    return this.policy.retryLimit > 0;
  }

  call<T>(work: () => Awaitable<T>): Awaitable<T> {
    if (!this.enabled) return work();
    try {
      const result = work();
      return isPromiseLike(result) ? Promise.resolve(result).catch((error: unknown) => this.retry(work, error)) : result;
    } catch (error) {
      return this.retry(work, error);
    }
  }

  isRetryable(error: unknown): boolean {
    const { retryable, notRetryable } = this.policy;
    if (retryable.length === 0) return error instanceof Error && !classify(error, notRetryable, []);
    return classify(error, retryable, notRetryable);
  }

  /** Retries `work`, whose first attempt already failed with `firstError`, while the policy allows. */
  async retryAfter<T>(work: () => Awaitable<T>, firstError: unknown): Promise<T> {
    return this.retry(work, firstError);
  }

  private async retry<T>(work: () => Awaitable<T>, firstError: unknown): Promise<T> {
    let error = firstError;
    for (let retry = 1; retry <= this.policy.retryLimit && this.isRetryable(error); retry++) {
      this.onRetry(error, retry);
      const delay = backOffDelay(this.policy.backOff, retry);
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      try {
        return await work();
      } catch (next) {
        error = next;
      }
    }
    throw error;
  }
}
