/**
 * The process that runs an execution. A running execution whose owner is gone is an orphan:
 * nobody will ever finish it, so it must be recovered (marked FAILED, then restarted).
 */
export interface ExecutionOwner {
  readonly host: string;
  readonly pid: number;
  /** Random per runtime: tells a restarted process apart from the one that owned the execution. */
  readonly token: string;
  /** When the owning process started, as the OS reports it (Linux clock ticks), to detect pid reuse. */
  readonly processStart: number | null;
}

/** What the store remembers of a live runtime: refreshed on every heartbeat. */
export interface OwnerHeartbeat {
  readonly owner: ExecutionOwner;
  readonly at: number;
}

/** A phrase naming an owner, for exit descriptions and logs. */
export function describeOwner(owner: ExecutionOwner): string {
  return `process ${owner.pid} on ${owner.host} (runtime ${owner.token.slice(0, 8)})`;
}
