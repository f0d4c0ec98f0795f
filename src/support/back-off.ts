/** How long to wait before each retry. */
export type BackOffPolicy =
  | { readonly type: 'none' }
  | { readonly type: 'fixed'; readonly delayMs: number }
  | {
      readonly type: 'exponential';
      /** Delay before the first retry. */
      readonly initialMs: number;
      /** @default 2 */
      readonly multiplier?: number;
      /** The cap on any one delay. @default 30000 */
      readonly maxMs?: number;
      /** Spread each delay uniformly over [delay/2, delay] so that retries of many items do not align. @default true */
      readonly jitter?: boolean;
    };

/** The delay before retry number `retry` (1-based). */
export function backOffDelay(policy: BackOffPolicy, retry: number, random: () => number = Math.random): number {
  switch (policy.type) {
    case 'none':
      return 0;
    case 'fixed':
      return policy.delayMs;
    case 'exponential': {
      const raw = policy.initialMs * Math.pow(policy.multiplier ?? 2, retry - 1);
      const capped = Math.min(raw, policy.maxMs ?? 30_000);
      return policy.jitter === false ? capped : capped / 2 + random() * (capped / 2);
    }
  }
}
