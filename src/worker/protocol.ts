/**
 * What crosses the worker-thread boundary. Requests carry a chunk's items (never one item at a
 * time: a round trip costs ~40 µs); responses carry one outcome per item, in order. Errors cross as
 * plain data and are rebuilt on this side, so skip and retry policies can classify them by name and
 * code (never by instanceof: they are copies).
 */
export interface ProcessChunkRequest {
  readonly kind: 'process-chunk';
  /** A URL the worker can import; its default export (or `process` export) processes one item. */
  readonly moduleUrl: string;
  readonly items: readonly unknown[];
}

/**
 * One output per item, in order (null where the item was filtered or failed), and the failures
 * apart as [index, error] pairs: a compact shape, because copying between threads costs per object.
 */
export interface ProcessChunkResponse {
  readonly kind: 'process-chunk-result';
  readonly outputs: readonly unknown[];
  readonly errors: ReadonlyArray<readonly [number, SerializedError]>;
}

export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly stack?: string;
}

/** An error rebuilt from a worker thread: same name, code, message and stack as the original. */
export class WorkerThreadError extends Error {
  readonly code: string | undefined;

  constructor(serialized: SerializedError) {
    super(serialized.message);
    this.name = serialized.name;
    this.code = serialized.code;
    if (serialized.stack) this.stack = serialized.stack;
  }
}
