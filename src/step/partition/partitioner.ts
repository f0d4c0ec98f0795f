import type { ExecutionContextSnapshot } from '../../domain/execution-context.js';

/**
 * Splits a step's work: returns one execution context per partition, by partition name. Each
 * partition runs as its own step execution named `<step>:<partition>` with that context.
 */
export type Partitioner = (gridSize: number) => Readonly<Record<string, ExecutionContextSnapshot>>;

/**
 * Splits the integer range [min, max] into `gridSize` contiguous ranges of nearly equal size;
 * each partition's context holds `partition.min` and `partition.max` (inclusive).
 */
export function rangePartitioner(range: { readonly min: number; readonly max: number }): Partitioner {
  return (gridSize) => {
    const partitions: Record<string, ExecutionContextSnapshot> = {};
    const total = range.max - range.min + 1;
    if (total <= 0) return partitions;
    const count = Math.min(gridSize, total);
    let start = range.min;
    for (let index = 0; index < count; index++) {
      const size = Math.floor(total / count) + (index < total % count ? 1 : 0);
      partitions[`partition${index}`] = { 'partition.min': start, 'partition.max': start + size - 1 };
      start += size;
    }
    return partitions;
  };
}

/** One partition per file (gridSize is ignored); each context holds `partition.file`. */
export function filePartitioner(paths: readonly string[]): Partitioner {
  return () => Object.fromEntries(paths.map((path, index) => [`partition${index}`, { 'partition.file': path }]));
}
