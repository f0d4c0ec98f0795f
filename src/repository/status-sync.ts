import { isRunningStatus, type BatchStatus } from '../domain/batch-status.js';

/**
 * Decides what a running process may write over a record that someone else changed since it read
 * it. The only outside change a live execution expects is an operator's stop request (STOPPING):
 * a running copy adopts it, a finished copy is the later truth and wins. Anything else is a real
 * conflict, and the caller fails with an optimistic-locking error.
 */
export function reconcileStatus(inMemory: BatchStatus, stored: BatchStatus): { status: BatchStatus; stopRequested: boolean } | undefined {
  if (stored !== 'STOPPING') return undefined;
  if (isRunningStatus(inMemory)) return { status: 'STOPPING', stopRequested: true };
  return { status: inMemory, stopRequested: true };
}
