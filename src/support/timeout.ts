/**
 * Resolves like `work`, or rejects with `onTimeout()` if it takes longer than `ms`. The work itself
 * cannot be cancelled and runs on; callers make sure nothing it does later can be committed.
 */
export function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  // The loser of the race must not surface later as an unhandled rejection.
  work.catch(() => undefined);
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
