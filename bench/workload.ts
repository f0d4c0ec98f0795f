/**
 * The workload both sides of the chunk-commit benchmark run: the same items, the same processing,
 * the same item records. Keeping it in one place is what makes the comparison fair.
 */

/** The reader's name; its position is stored in the step context under `<name>.read.count`. */
export const READER_NAME = 'bench';
export const READ_COUNT_KEY = `${READER_NAME}.read.count`;
/** The key under which tsbatch keeps the chunk sequence in the step context (chunk-oriented-step.ts). */
export const CHUNK_SEQUENCE_KEY = 'batch.chunk.sequence';
/** The staged-write store the writer puts its records into. */
export const ITEM_STORE = 'bench';
export const STEP_NAME = 'load';
export const JOB_NAME = 'chunkCommitBench';

/** One small record per item. A type alias (not an interface) so that it is a JsonValue. */
export type BenchRecord = { readonly id: number; readonly value: number };

/** The items 1..count, produced lazily: nothing is held in memory beyond the current chunk. */
export function* range(count: number): Generator<number> {
  for (let n = 1; n <= count; n++) yield n;
}

/** The processor of both sides: trivial, so that the benchmark measures the runtime, not the work. */
export function toRecord(n: number): BenchRecord {
  return { id: n, value: n * 2 };
}

/** The key a record is written under inside the `bench` store (zero-padded, so byte order is id order). */
export function itemKey(record: BenchRecord): string {
  return String(record.id).padStart(10, '0');
}
