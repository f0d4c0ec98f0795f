import type { ExecutionOwner, OwnerHeartbeat } from '../domain/execution-owner.js';
import { isProcessAlive, processStartOf } from '../support/process-identity.js';

export interface LivenessOptions {
  readonly self: ExecutionOwner;
  /** A heartbeat older than this means the owner on another host is gone. */
  readonly leaseMs: number;
  readonly now: number;
}

/**
 * Whether the owner of a running execution is still there. On this host the operating system
 * knows: the process must exist and be the same process (same start time, so a reused pid does
 * not count). On another host only the heartbeat can tell. An execution without a recorded owner
 * is assumed alive: it is never taken away from anyone.
 */
export function isOwnerAlive(owner: ExecutionOwner | null | undefined, heartbeat: OwnerHeartbeat | undefined, options: LivenessOptions): boolean {
  if (!owner) return true;
  if (owner.token === options.self.token) return true;
  if (owner.host === options.self.host) {
    if (!isProcessAlive(owner.pid)) return false;
    const start = processStartOf(owner.pid);
    if (start !== null && owner.processStart !== null) return start === owner.processStart;
  }
  return heartbeat !== undefined && heartbeat.owner.token === owner.token && options.now - heartbeat.at <= options.leaseMs;
}
