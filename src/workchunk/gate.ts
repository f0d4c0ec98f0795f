import { isEndedInstanceStatus, isIncompleteChunkStatus, type WorkChunkStatus } from '../domain/work-chunk-status.js';
import { WorkChunkKeys } from './keys.js';
import type { ChunkCounts, WorkChunkInstanceRecord, WorkChunkRecord } from './records.js';
import type { WorkChunkTransaction } from './work-chunk-transaction.js';

export function incompleteIn(counts: ChunkCounts | undefined): number {
  let total = 0;
  for (const [status, count] of Object.entries(counts ?? {})) if (isIncompleteChunkStatus(status as WorkChunkStatus)) total += count ?? 0;
  return total;
}

/**
 * Brings an instance's status in line with its chunk counters, inside the transaction that changed
 * them: ERRORED while a chunk waits for a retry; a gated step's gate opens the moment its last chunk
 * completes (steps that produced nothing are passed at once); the reducer is called for when every
 * chunk is done; COMPLETED when there is nothing left. The counters make this cost the same at
 * the millionth chunk as at the first. Maintenance runs it too, as a backstop.
 */
export function settleInstance(wtx: WorkChunkTransaction, instance: WorkChunkInstanceRecord): void {
  if (isEndedInstanceStatus(instance.status) || instance.status === 'QUEUED') return;
  const errored = instance.counts.reduce((sum, counts) => sum + (counts?.ERRORED ?? 0), 0);
  if (errored > 0) wtx.moveInstance(instance, { type: 'CHUNK_ERRORED' });
  else wtx.moveInstance(instance, { type: 'ERRORS_CLEARED' });

  if (instance.gated) {
    while (instance.currentStep < instance.steps.length - 1 && incompleteIn(instance.counts[instance.currentStep]) === 0) {
      openGate(wtx, instance, instance.currentStep + 1);
    }
  }
  const remaining = instance.counts.reduce((sum, counts) => sum + incompleteIn(counts), 0);
  if (remaining > 0) return;
  const last = instance.steps[instance.steps.length - 1];
  if (last?.kind === 'reduce') wtx.moveInstance(instance, { type: 'START_REDUCTION' });
  else wtx.moveInstance(instance, { type: 'COMPLETE' });
}

function openGate(wtx: WorkChunkTransaction, instance: WorkChunkInstanceRecord, stepIndex: number): void {
  const forReduction = instance.steps[stepIndex]?.kind === 'reduce';
  for (const { key } of wtx.tx.range<null>(WorkChunkKeys.gateWaitingPrefix(instance.id, stepIndex))) {
    const chunkId = key.slice(WorkChunkKeys.gateWaitingPrefix(instance.id, stepIndex).length);
    const chunk = wtx.tx.get<WorkChunkRecord>(WorkChunkKeys.chunk(instance.id, chunkId));
    if (!chunk) continue;
    chunk.dueAt = wtx.now;
    wtx.move(instance, chunk, { type: forReduction ? 'OPEN_GATE_FOR_REDUCTION' : 'OPEN_GATE' });
  }
  instance.currentStep = stepIndex;
  wtx.markDirty(instance);
}
