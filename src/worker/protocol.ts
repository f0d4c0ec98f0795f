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
  readonly items: PackedValues;
}

/**
 * One output per item, in order (null where the item was filtered or failed), and the failures
 * apart as [index, error] pairs: a compact shape, because copying between threads costs per object.
 */
export interface ProcessChunkResponse {
  readonly kind: 'process-chunk-result';
  readonly outputs: PackedValues;
  readonly errors: ReadonlyArray<readonly [number, SerializedError]>;
}

/**
 * Values on their way across the thread boundary: as they are, or packed as records. Structured
 * clone writes every object's property names again and rebuilds each object one property at a
 * time, which costs about as much per item as a few microseconds of work; records of one shape
 * (the rows of a file, documents of one kind) cross far cheaper as columns, with their keys once,
 * their numbers in a Float64Array and their strings joined into one string. Both sides run the
 * same code (`packValues` and `unpackValues` in processor-worker.mjs), and unpacking yields what
 * structured clone would have: plain objects with the same keys, in the same order, and the same
 * values (one difference: an object that appears twice among the values arrives as two copies).
 */
export type PackedValues = readonly unknown[] | PackedRecords;

export interface PackedRecords {
  readonly kind: 'records';
  readonly length: number;
  readonly keys: readonly string[];
  readonly columns: readonly PackedColumn[];
  /** Where the values were null (an output filtered out or failed). */
  readonly nulls: readonly number[] | undefined;
}

export type PackedColumn =
  | { readonly kind: 'numbers'; readonly values: Float64Array }
  | { readonly kind: 'strings'; readonly text: string; readonly lengths: Uint32Array }
  | { readonly kind: 'values'; readonly values: readonly unknown[] };

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
