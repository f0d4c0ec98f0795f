import type { DispatchMessage } from './dispatcher.js';

const pad = (id: number): string => id.toString().padStart(12, '0');

/** Keys of remote partitioning, beside the repository's own (same store, same transactions). */
export const RemoteKeys = {
  partitionsPrefix: 'rp/',
  partition: (stepExecutionId: number) => `rp/${pad(stepExecutionId)}`,
} as const;

/**
 * One remote partition that is not finished yet, as the repository sees it: the message that
 * dispatches it and who holds it. It exists from the manager's dispatch until the partition's step
 * execution ends; the reconciler dispatches again from these records alone, so a queue that lost
 * its messages cannot leave a partition without a worker.
 */
export interface RemotePartitionRecord {
  readonly message: DispatchMessage;
  /**
   * Bumped by every claim: the fencing token. A claim also bumps the step execution's version, so
   * any write of a worker that lost its claim fails the version check and changes nothing.
   */
  readonly attempt: number;
  /** The runtime token of the worker that holds the claim; null while it waits for a worker. */
  readonly owner: string | null;
  /** The end of the holder's lease, in the store's time (epoch ms); 0 when nobody holds it. */
  readonly leaseUntil: number;
  /** When the last dispatch was enqueued (store time), so a fresh one is not taken for lost. */
  readonly dispatchedAt: number;
}
