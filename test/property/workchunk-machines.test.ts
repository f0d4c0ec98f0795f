import { getShortestPaths, getSimplePaths } from '@xstate/graph';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jobInstanceMachine, nextChunkStatus, nextInstanceStatus, workChunkMachine } from '../../machines/index.js';
import type { JobInstanceAction, JobInstanceEventType, WorkChunkAction, WorkChunkEventType } from '../../machines/index.js';
import {
  isEndedInstanceStatus,
  isIncompleteChunkStatus,
  WORK_CHUNK_INSTANCE_STATUSES,
  WORK_CHUNK_STATUSES,
  type WorkChunkInstanceStatus,
  type WorkChunkStatus,
} from '../../src/domain/work-chunk-status.js';

// ---- work chunks -------------------------------------------------------------------------------

/** `NEW` is the chunk before the transaction that creates it: a machine state, never a stored status. */
type ChunkState = WorkChunkStatus | 'NEW';

const CHUNK_STATES: readonly ChunkState[] = ['NEW', ...WORK_CHUNK_STATUSES];
const CHUNK_EVENTS: readonly WorkChunkEventType[] = [
  'CREATE',
  'CREATE_BEHIND_GATE',
  'ENQUEUE',
  'CLAIM',
  'SUCCEED',
  'ERROR',
  'FAIL',
  'POLL_LATER',
  'POLL_DUE',
  'LEASE_EXPIRED',
  'OPEN_GATE',
  'OPEN_GATE_FOR_REDUCTION',
  'REDUCED',
  'REDUCTION_ABORTED',
];

type ChunkAllowed = { readonly to: WorkChunkStatus; readonly actions: readonly WorkChunkAction[] };

const claim: ChunkAllowed = { to: 'IN_PROGRESS', actions: ['takeLease', 'stampStartTime'] };

/**
 * DESIGN.md section 6 and reference A.4, with leases instead of broker redelivery, written out:
 * every (status, event) pair not listed here is refused.
 * - a chunk is created claimable (READY) or behind its step's gate (GATE_WAITING);
 * - the gate opens to READY, or to REDUCTION_READY when the next step is the reducer;
 * - READY, QUEUED and ERRORED (its retry) are claimed: lease taken, start time stamped;
 * - only a running chunk (IN_PROGRESS) has an outcome; every outcome releases the lease, and the
 *   ended ones (COMPLETED, FAILED) stamp the end time;
 * - a dead worker's chunk (LEASE_EXPIRED) and a lost queue entry go back to READY;
 * - POLL_WAITING becomes READY when due; the reducer consumes or aborts REDUCTION_READY chunks;
 * - COMPLETED and FAILED accept nothing.
 */
const CHUNK_TABLE: Readonly<Record<ChunkState, Partial<Record<WorkChunkEventType, ChunkAllowed>>>> = {
  NEW: {
    CREATE: { to: 'READY', actions: [] },
    CREATE_BEHIND_GATE: { to: 'GATE_WAITING', actions: [] },
  },
  GATE_WAITING: {
    OPEN_GATE: { to: 'READY', actions: [] },
    OPEN_GATE_FOR_REDUCTION: { to: 'REDUCTION_READY', actions: [] },
  },
  READY: {
    ENQUEUE: { to: 'QUEUED', actions: [] },
    CLAIM: claim,
  },
  QUEUED: {
    CLAIM: claim,
    LEASE_EXPIRED: { to: 'READY', actions: [] },
  },
  IN_PROGRESS: {
    SUCCEED: { to: 'COMPLETED', actions: ['releaseLease', 'stampEndTime'] },
    ERROR: { to: 'ERRORED', actions: ['releaseLease'] },
    FAIL: { to: 'FAILED', actions: ['releaseLease', 'stampEndTime'] },
    POLL_LATER: { to: 'POLL_WAITING', actions: ['releaseLease'] },
    LEASE_EXPIRED: { to: 'READY', actions: ['releaseLease'] },
  },
  ERRORED: {
    CLAIM: claim,
  },
  POLL_WAITING: {
    POLL_DUE: { to: 'READY', actions: [] },
  },
  REDUCTION_READY: {
    REDUCED: { to: 'COMPLETED', actions: ['stampEndTime'] },
    REDUCTION_ABORTED: { to: 'FAILED', actions: ['stampEndTime'] },
  },
  COMPLETED: {},
  FAILED: {},
};

const CHUNK_ENDED: readonly WorkChunkStatus[] = ['COMPLETED', 'FAILED'];

// ---- job instances -----------------------------------------------------------------------------

const INSTANCE_EVENTS: readonly JobInstanceEventType[] = ['CHUNK_STARTED', 'CHUNK_ERRORED', 'ERRORS_CLEARED', 'START_REDUCTION', 'COMPLETE', 'FAIL', 'CANCEL'];

type InstanceAllowed = { readonly to: WorkChunkInstanceStatus; readonly actions: readonly JobInstanceAction[] };

const ends = {
  FAIL: { to: 'FAILED', actions: ['stampEndTime'] },
  CANCEL: { to: 'CANCELLED', actions: ['stampEndTime'] },
} as const satisfies Partial<Record<JobInstanceEventType, InstanceAllowed>>;
const complete: InstanceAllowed = { to: 'COMPLETED', actions: ['stampEndTime'] };

/**
 * Reference A.3 (batch2's StatusEnum), as this runtime drives it, written out:
 * - QUEUED starts when its first chunk is claimed; it cannot complete before a chunk ran;
 * - IN_PROGRESS and ERRORED swap as chunks error and their retries clear; either starts the
 *   reducer (FINALIZE) or completes;
 * - FINALIZE only completes, fails or is cancelled;
 * - every running status fails or is cancelled; COMPLETED, FAILED and CANCELLED accept nothing.
 */
const INSTANCE_TABLE: Readonly<Record<WorkChunkInstanceStatus, Partial<Record<JobInstanceEventType, InstanceAllowed>>>> = {
  QUEUED: { CHUNK_STARTED: { to: 'IN_PROGRESS', actions: ['stampStartTime'] }, ...ends },
  IN_PROGRESS: { CHUNK_ERRORED: { to: 'ERRORED', actions: [] }, START_REDUCTION: { to: 'FINALIZE', actions: [] }, COMPLETE: complete, ...ends },
  ERRORED: { ERRORS_CLEARED: { to: 'IN_PROGRESS', actions: [] }, START_REDUCTION: { to: 'FINALIZE', actions: [] }, COMPLETE: complete, ...ends },
  FINALIZE: { COMPLETE: complete, ...ends },
  COMPLETED: {},
  FAILED: {},
  CANCELLED: {},
};

// ---- reachability ------------------------------------------------------------------------------

interface PathStep {
  readonly event: { readonly type: string };
  readonly state: { readonly value: unknown };
}

/** @xstate/graph 3 starts every path with the `xstate.init` step into the initial state. */
function afterInit<S extends PathStep>(path: { readonly steps: readonly S[] }, initial: string): readonly S[] {
  const [init, ...rest] = path.steps;
  expect(init?.event.type as string).toBe('xstate.init');
  expect(init?.state.value).toBe(initial);
  return rest;
}

describe('work-chunk machine reachability (@xstate/graph)', () => {
  it('reaches every chunk status from NEW, with the expected shortest path lengths', () => {
    const lengths = Object.fromEntries(getShortestPaths(workChunkMachine).map((p) => [p.state.value as string, afterInit(p, 'NEW').length]));
    expect(Object.keys(lengths).sort()).toEqual([...CHUNK_STATES].sort());
    expect(lengths).toEqual({
      NEW: 0,
      READY: 1,
      GATE_WAITING: 1,
      QUEUED: 2,
      IN_PROGRESS: 2, // CREATE, CLAIM: the in-process pool claims READY chunks directly
      REDUCTION_READY: 2,
      COMPLETED: 3,
      FAILED: 3,
      ERRORED: 3,
      POLL_WAITING: 3,
    });
  });

  it('every shortest path, replayed through nextChunkStatus, ends where the graph says', () => {
    for (const path of getShortestPaths(workChunkMachine)) {
      let status: ChunkState = 'NEW';
      for (const step of afterInit(path, 'NEW')) {
        const result = nextChunkStatus(status, step.event as never);
        expect(result.allowed, `${status} --${step.event.type}-->`).toBe(true);
        status = result.status;
        expect(status).toBe(step.state.value);
      }
      expect(status).toBe(path.state.value);
    }
  });

  it('simple paths reach every status; COMPLETED is entered only from IN_PROGRESS or REDUCTION_READY, and READY never from an ended status', () => {
    const paths = getSimplePaths(workChunkMachine);
    expect(new Set(paths.map((p) => p.state.value as string))).toEqual(new Set(CHUNK_STATES));
    for (const path of paths) {
      const steps = afterInit(path, 'NEW');
      steps.forEach((step, index) => {
        const before = index === 0 ? 'NEW' : (steps[index - 1]!.state.value as string);
        if (step.state.value === 'COMPLETED') expect(['IN_PROGRESS', 'REDUCTION_READY']).toContain(before);
        if (step.state.value === 'IN_PROGRESS') expect(['READY', 'QUEUED', 'ERRORED']).toContain(before);
        expect(CHUNK_ENDED).not.toContain(before);
      });
    }
  });
});

describe('job-instance machine reachability (@xstate/graph)', () => {
  it('reaches every instance status from QUEUED, with the expected shortest path lengths', () => {
    const lengths = Object.fromEntries(getShortestPaths(jobInstanceMachine).map((p) => [p.state.value as string, afterInit(p, 'QUEUED').length]));
    expect(Object.keys(lengths).sort()).toEqual([...WORK_CHUNK_INSTANCE_STATUSES].sort());
    expect(lengths).toEqual({ QUEUED: 0, IN_PROGRESS: 1, FAILED: 1, CANCELLED: 1, ERRORED: 2, FINALIZE: 2, COMPLETED: 2 });
  });

  it('every shortest path, replayed through nextInstanceStatus, ends where the graph says', () => {
    for (const path of getShortestPaths(jobInstanceMachine)) {
      let status: WorkChunkInstanceStatus = 'QUEUED';
      for (const step of afterInit(path, 'QUEUED')) {
        const result = nextInstanceStatus(status, step.event as never);
        expect(result.allowed, `${status} --${step.event.type}-->`).toBe(true);
        status = result.status;
        expect(status).toBe(step.state.value);
      }
      expect(status).toBe(path.state.value);
    }
  });

  it('simple paths reach every status, and COMPLETED never follows QUEUED directly (a chunk must have run)', () => {
    const paths = getSimplePaths(jobInstanceMachine);
    expect(new Set(paths.map((p) => p.state.value as string))).toEqual(new Set(WORK_CHUNK_INSTANCE_STATUSES));
    for (const path of paths) {
      const steps = afterInit(path, 'QUEUED');
      steps.forEach((step, index) => {
        const before = index === 0 ? 'QUEUED' : (steps[index - 1]!.state.value as string);
        if (step.state.value === 'COMPLETED') expect(before).not.toBe('QUEUED');
        if (step.state.value === 'FINALIZE') expect(['IN_PROGRESS', 'ERRORED']).toContain(before);
      });
    }
  });
});

// ---- exhaustive tables -------------------------------------------------------------------------

describe('nextChunkStatus: the transition table, exhaustive over every state and event', () => {
  const cases = CHUNK_STATES.flatMap((from) => CHUNK_EVENTS.map((event) => [from, event] as const));

  it('covers 10 states x 14 events', () => {
    expect(cases).toHaveLength(140);
  });

  it.each(cases)('%s + %s', (from, event) => {
    const expected = CHUNK_TABLE[from][event];
    const result = nextChunkStatus(from, { type: event } as never);
    if (expected) expect(result).toEqual({ allowed: true, status: expected.to, actions: expected.actions });
    else expect(result).toEqual({ allowed: false, status: from });
  });

  it('the stored statuses are exactly the machine states but NEW', () => {
    expect(new Set(WORK_CHUNK_STATUSES)).toEqual(new Set(Object.keys(workChunkMachine.config.states ?? {}).filter((s) => s !== 'NEW')));
  });

  it('COMPLETED and FAILED accept no event; every other stored status accepts at least one', () => {
    for (const from of WORK_CHUNK_STATUSES) {
      const accepts = CHUNK_EVENTS.filter((type) => nextChunkStatus(from, { type } as never).allowed);
      if (CHUNK_ENDED.includes(from)) expect(accepts, from).toEqual([]);
      else expect(accepts.length, from).toBeGreaterThan(0);
    }
  });

  it('isIncompleteChunkStatus holds for every status from which COMPLETED or FAILED can still be reached by running', () => {
    // REDUCTION_READY is the one exception by design: the step's work is done, only the reducer is left.
    for (const status of WORK_CHUNK_STATUSES) {
      const expected = !CHUNK_ENDED.includes(status) && status !== 'REDUCTION_READY';
      expect(isIncompleteChunkStatus(status), status).toBe(expected);
    }
  });
});

describe('nextInstanceStatus: the transition table, exhaustive over every status and event', () => {
  const cases = WORK_CHUNK_INSTANCE_STATUSES.flatMap((from) => INSTANCE_EVENTS.map((event) => [from, event] as const));

  it('covers 7 statuses x 7 events', () => {
    expect(cases).toHaveLength(49);
  });

  it.each(cases)('%s + %s', (from, event) => {
    const expected = INSTANCE_TABLE[from][event];
    const result = nextInstanceStatus(from, { type: event });
    if (expected) expect(result).toEqual({ allowed: true, status: expected.to, actions: expected.actions });
    else expect(result).toEqual({ allowed: false, status: from });
  });

  it('isEndedInstanceStatus is true exactly for the statuses that accept no event', () => {
    for (const from of WORK_CHUNK_INSTANCE_STATUSES) {
      const acceptsNothing = INSTANCE_EVENTS.every((type) => !nextInstanceStatus(from, { type }).allowed);
      expect(isEndedInstanceStatus(from), from).toBe(acceptsNothing);
    }
  });
});

// ---- random event sequences --------------------------------------------------------------------

describe('random event sequences (property)', () => {
  it('a chunk only moves along the table, stays in its statuses, holds a lease exactly while IN_PROGRESS, and is stamped ended once COMPLETED or FAILED', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...CHUNK_EVENTS), { maxLength: 30 }), (events) => {
        let status: ChunkState = 'NEW';
        let leased = false;
        let started = false;
        let endStamped = false;
        let endedOnce = false;
        for (const type of events) {
          const result = nextChunkStatus(status, { type } as never);
          const expected = CHUNK_TABLE[status][type];
          expect(result.allowed).toBe(expected !== undefined);
          if (!result.allowed) {
            expect(result.status).toBe(status);
            continue;
          }
          expect(endedOnce, `${status} accepted ${type} after it ended`).toBe(false);
          for (const action of result.actions) {
            if (action === 'takeLease') {
              expect(leased, 'a lease is never taken twice').toBe(false);
              leased = true;
            }
            if (action === 'releaseLease') {
              expect(leased, 'only a held lease is released').toBe(true);
              leased = false;
            }
            if (action === 'stampStartTime') started = true;
            if (action === 'stampEndTime') endStamped = true;
          }
          status = result.status;
          expect(CHUNK_STATES).toContain(status);
          expect(status).not.toBe('NEW');
          expect(leased).toBe(status === 'IN_PROGRESS');
          if (status === 'IN_PROGRESS') expect(started).toBe(true);
          if (CHUNK_ENDED.includes(status)) {
            expect(endStamped).toBe(true);
            endedOnce = true;
          } else {
            expect(endStamped).toBe(false);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('an instance only moves along the table, stays in its statuses, and an ended one accepts nothing and keeps its end time', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...INSTANCE_EVENTS), { maxLength: 20 }), (events) => {
        let status: WorkChunkInstanceStatus = 'QUEUED';
        let startStamped = false;
        let endStamps = 0;
        for (const type of events) {
          const result = nextInstanceStatus(status, { type });
          const expected = INSTANCE_TABLE[status][type];
          expect(result.allowed).toBe(expected !== undefined);
          if (isEndedInstanceStatus(status)) expect(result.allowed, `${status} + ${type}`).toBe(false);
          if (!result.allowed) {
            expect(result.status).toBe(status);
            continue;
          }
          for (const action of result.actions) {
            if (action === 'stampStartTime') startStamped = true;
            if (action === 'stampEndTime') endStamps += 1;
          }
          status = result.status;
          expect(WORK_CHUNK_INSTANCE_STATUSES).toContain(status);
          if (status === 'IN_PROGRESS' || status === 'ERRORED' || status === 'FINALIZE') expect(startStamped).toBe(true);
          expect(endStamps).toBe(isEndedInstanceStatus(status) ? 1 : 0);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('from any status, any sequence of events ends in a status reachable in the machine graph', () => {
    const reachable = new Set(getSimplePaths(jobInstanceMachine).map((p) => p.state.value as string));
    fc.assert(
      fc.property(fc.constantFrom(...WORK_CHUNK_INSTANCE_STATUSES), fc.array(fc.constantFrom(...INSTANCE_EVENTS), { maxLength: 10 }), (from, events) => {
        let status = from;
        for (const type of events) status = nextInstanceStatus(status, { type }).status;
        expect(reachable.has(status)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
