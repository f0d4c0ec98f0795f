export type Awaitable<T> = T | PromiseLike<T>;

/** Lets hot loops skip an `await` (and its microtask) when user code answered synchronously. */
export function isPromiseLike<T>(value: Awaitable<T>): value is PromiseLike<T> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<T>).then === 'function';
}
