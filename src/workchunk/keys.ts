/**
 * The key layout of work-chunk jobs in the embedded stores. Every index holds only live work, so
 * that claiming, lease checks and maintenance cost what is running, never what has completed.
 */
const S = '\u001f';
const time = (ms: number): string => Math.max(0, Math.floor(ms)).toString().padStart(15, '0');

export const WorkChunkKeys = {
  instance: (instanceId: string) => `wd/${instanceId}`,
  /** Every instance, oldest first: the listing. */
  instanceByCreation: (createTime: number, instanceId: string) => `wt/${time(createTime)}${S}${instanceId}`,
  instancesByCreationPrefix: 'wt/',
  /** Instances that have not ended: what maintenance looks at. */
  activeInstance: (instanceId: string) => `wa/${instanceId}`,
  activeInstancesPrefix: 'wa/',
  /** Ended instances whose chunks are still stored, by end time: what the purge looks at. */
  endedInstance: (endTime: number, instanceId: string) => `we/${time(endTime)}${S}${instanceId}`,
  endedInstancesPrefix: 'we/',
  chunk: (instanceId: string, chunkId: string) => `wc/${instanceId}${S}${chunkId}`,
  chunksOfInstancePrefix: (instanceId: string) => `wc/${instanceId}${S}`,
  /** Claimable chunks of one definition version, soonest due first. */
  queued: (definition: string, dueAt: number, instanceId: string, chunkId: string) =>
    `wq/${definition}${S}${time(dueAt)}${S}${instanceId}${S}${chunkId}`,
  queuePrefix: (definition: string) => `wq/${definition}${S}`,
  /** Chunks that a worker holds. */
  lease: (instanceId: string, chunkId: string) => `wl/${instanceId}${S}${chunkId}`,
  leasesPrefix: 'wl/',
  /** Chunks of a gated step that wait for its gate. */
  gateWaiting: (instanceId: string, stepIndex: number, chunkId: string) => `wg/${instanceId}${S}${stepIndex}${S}${chunkId}`,
  gateWaitingPrefix: (instanceId: string, stepIndex: number) => `wg/${instanceId}${S}${stepIndex}${S}`,
  /** Outputs of the last step that the reducer has yet to consume, in chunk order. */
  reductionReady: (instanceId: string, chunkId: string) => `wr/${instanceId}${S}${chunkId}`,
  reductionReadyPrefix: (instanceId: string) => `wr/${instanceId}${S}`,
} as const;

/** The queue name of a definition version. */
export function queueName(definitionId: string, version: number): string {
  return `${definitionId}@${version}`;
}

/** The due time and ids encoded in a queue key (see WorkChunkKeys.queued). */
export function parseQueueKey(key: string): { dueAt: number; instanceId: string; chunkId: string } {
  const [, due, instanceId, chunkId] = key.slice(3).split(S);
  return { dueAt: Number(due), instanceId: instanceId ?? '', chunkId: chunkId ?? '' };
}
