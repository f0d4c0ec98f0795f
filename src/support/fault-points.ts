/**
 * Named places at the chunk-commit boundary where a test can make the runtime fail, to prove
 * that nothing is lost or written twice whatever happens there. They complement the SIGKILL
 * child-process tests: a fault point places a crash exactly, SIGKILL places it anywhere.
 *
 * - `BEFORE_WRITE`: the chunk was read and processed; nothing written.
 * - `AFTER_WRITE`: the writer returned; nothing committed.
 * - `IN_CHUNK_COMMIT`: inside the commit transaction, after its writes, before it ends.
 * - `AFTER_CHUNK_COMMIT`: the commit is durable; listeners not yet told.
 */
export const FaultPoint = {
  BEFORE_WRITE: 'BEFORE_WRITE',
  AFTER_WRITE: 'AFTER_WRITE',
  IN_CHUNK_COMMIT: 'IN_CHUNK_COMMIT',
  AFTER_CHUNK_COMMIT: 'AFTER_CHUNK_COMMIT',
} as const;

export type FaultPoint = (typeof FaultPoint)[keyof typeof FaultPoint];

/** What an armed fault point does when it is reached: raise an error, or kill the process at once (SIGKILL). */
export type FaultAction = { readonly kind: 'throw'; readonly error?: Error } | { readonly kind: 'exit' };

export interface FaultArming {
  readonly point: FaultPoint;
  /** Fire on the n-th time the point is reached (1-based); default 1. */
  readonly onHit?: number;
  readonly action: FaultAction;
}

/**
 * The registry of armed fault points of one runtime. Unarmed points cost one Map lookup per chunk.
 */
export class FaultPoints {
  private readonly armed = new Map<FaultPoint, { remaining: number; action: FaultAction }>();

  arm(arming: FaultArming): void {
    this.armed.set(arming.point, { remaining: arming.onHit ?? 1, action: arming.action });
  }

  disarm(point: FaultPoint): void {
    this.armed.delete(point);
  }

  /** Called by the runtime at each named point. */
  hit(point: FaultPoint, makeError: (point: FaultPoint) => Error): void {
    const entry = this.armed.get(point);
    if (!entry) return;
    entry.remaining -= 1;
    if (entry.remaining > 0) return;
    this.armed.delete(point);
    // A crash, not an exit: exit handlers (LMDB's among them) must not run, or they would wait
    // for the very transaction this thread is inside.
    const { action } = entry;
    if (action.kind === 'exit') {
      process.kill(process.pid, 'SIGKILL');
      return;
    }
    throw action.error ?? makeError(point);
  }

  /**
   * Reads armings from a string such as `IN_CHUNK_COMMIT:3:exit,AFTER_WRITE:1:throw`, so a child
   * process in a crash test can be armed through an environment variable.
   */
  static parse(spec: string | undefined): FaultPoints {
    const faults = new FaultPoints();
    if (!spec) return faults;
    for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
      const [point, hit, kind] = part.split(':');
      if (!point || !(point in FaultPoint)) throw new Error(`Unknown fault point '${point}' in '${spec}'`);
      faults.arm({
        point: point as FaultPoint,
        onHit: hit ? Number(hit) : 1,
        action: kind === 'exit' ? { kind: 'exit' } : { kind: 'throw' },
      });
    }
    return faults;
  }
}
