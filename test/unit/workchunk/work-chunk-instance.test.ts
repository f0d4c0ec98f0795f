import { describe, expect, it } from 'vitest';
import type { WorkChunkInstanceRecord } from '../../../src/workchunk/records.js';
import { toWorkChunkInstance, toWorkChunkView } from '../../../src/workchunk/work-chunk-instance.js';

const STEPS = [
  { id: 'ranges', kind: 'first' },
  { id: 'fetch', kind: 'step' },
  { id: 'write', kind: 'last' },
] as const;

function record(overrides: Partial<WorkChunkInstanceRecord>): WorkChunkInstanceRecord {
  return {
    id: 'i-1',
    definitionId: 'export',
    definitionVersion: 2,
    status: 'IN_PROGRESS',
    parameters: { types: ['Patient'] },
    gated: false,
    steps: STEPS,
    currentStep: 0,
    counts: [{}, {}, {}],
    createTime: 500,
    startTime: 1_000,
    endTime: null,
    errorCount: 0,
    errorMessage: null,
    warnings: [],
    recordsProcessed: 0,
    report: null,
    reducer: null,
    chunksPurged: false,
    ...overrides,
  };
}

describe('toWorkChunkInstance: progress, rates and ETA', () => {
  it('non-gated: progress is the mean of each step’s completed share; the current step is the first unfinished one', () => {
    const view = toWorkChunkInstance(record({ counts: [{ COMPLETED: 1 }, { COMPLETED: 5, IN_PROGRESS: 3, READY: 2 }, {}], recordsProcessed: 50 }), 11_000);
    expect(view.progress).toBeCloseTo((1 + 0.5 + 0) / 3, 10);
    expect(view).toMatchObject({ totalChunks: 11, completedChunks: 6, currentStep: 'fetch', recordsProcessed: 50 });
    expect(view.chunkCounts).toEqual({ ranges: { COMPLETED: 1 }, fetch: { COMPLETED: 5, IN_PROGRESS: 3, READY: 2 }, write: {} });
    // 10 s since the start
    expect(view.chunksPerSecond).toBeCloseTo(0.6, 10);
    expect(view.recordsPerSecond).toBeCloseTo(5, 10);
    // half done in 10 s: 10 s to go
    expect(view.estimatedTimeRemainingMs).toBe(10_000);
    expect(view.createTime).toEqual(new Date(500));
    expect(view.startTime).toEqual(new Date(1_000));
    expect(view.endTime).toBeNull();
  });

  it('ETA scales with the progress: a quarter done in 3 s leaves 9 s', () => {
    // the first step half done, the second not started: a quarter
    const view = toWorkChunkInstance(record({ steps: STEPS.slice(0, 2), counts: [{ COMPLETED: 1, IN_PROGRESS: 1 }, { READY: 4 }] }), 4_000);
    expect(view.progress).toBe(0.25);
    expect(view.estimatedTimeRemainingMs).toBe(9_000);
  });

  it('gated: steps before the gate that produced nothing count as done; steps after it count as not started', () => {
    const view = toWorkChunkInstance(record({ gated: true, currentStep: 2, counts: [{ COMPLETED: 1 }, {}, { READY: 4 }] }), 2_000);
    expect(view.progress).toBeCloseTo(2 / 3, 10);
    expect(view.currentStep).toBe('write');
    const before = toWorkChunkInstance(record({ gated: true, currentStep: 0, counts: [{ IN_PROGRESS: 1 }, {}, {}] }), 2_000);
    expect(before.progress).toBe(0);
    expect(before.currentStep).toBe('ranges');
    expect(before.estimatedTimeRemainingMs).toBeUndefined();
  });

  it('a queued instance: no progress, no rates, no ETA', () => {
    const view = toWorkChunkInstance(record({ status: 'QUEUED', startTime: null, counts: [{ READY: 1 }, {}, {}] }), 9_999);
    expect(view).toMatchObject({ progress: 0, chunksPerSecond: 0, recordsPerSecond: 0, estimatedTimeRemainingMs: undefined, startTime: null, currentStep: 'ranges' });
  });

  it('a completed instance: progress 1, no ETA, rates over its run time (not until now)', () => {
    const view = toWorkChunkInstance(
      record({ status: 'COMPLETED', endTime: 3_000, counts: [{ COMPLETED: 1 }, { COMPLETED: 2 }, { COMPLETED: 4 }], recordsProcessed: 40 }),
      1_000_000,
    );
    expect(view).toMatchObject({ progress: 1, estimatedTimeRemainingMs: undefined, completedChunks: 7, totalChunks: 7, currentStep: 'write' });
    expect(view.recordsPerSecond).toBe(20); // 40 records in 2 s
    expect(view.endTime).toEqual(new Date(3_000));
  });

  it('a cancelled or failed instance has no ETA', () => {
    for (const status of ['CANCELLED', 'FAILED'] as const) {
      const view = toWorkChunkInstance(record({ status, endTime: 2_000, counts: [{ COMPLETED: 1 }, { COMPLETED: 1, READY: 1 }, {}] }), 5_000);
      expect(view.estimatedTimeRemainingMs, status).toBeUndefined();
      expect(view.progress, status).toBeLessThan(1);
    }
  });

  it('the reducer step counts REDUCTION_READY chunks as not yet done', () => {
    const steps = [STEPS[0], STEPS[1], { id: 'sum', kind: 'reduce' }] as const;
    const view = toWorkChunkInstance(record({ status: 'FINALIZE', gated: true, currentStep: 2, steps, counts: [{ COMPLETED: 1 }, { COMPLETED: 4 }, { REDUCTION_READY: 3, COMPLETED: 1 }] }), 2_000);
    expect(view.progress).toBeCloseTo((1 + 1 + 0.25) / 3, 10);
    expect(view.currentStep).toBe('sum');
  });
});

describe('toWorkChunkView', () => {
  it('names the step, converts times, and shows the lease holder', () => {
    const instance = record({});
    const view = toWorkChunkView(
      {
        id: '0.3',
        instanceId: 'i-1',
        stepIndex: 1,
        status: 'IN_PROGRESS',
        data: { from: 0 },
        attempts: 2,
        errorCount: 1,
        pollAttempts: 0,
        dueAt: 0,
        lease: { owner: { host: 'h1', pid: 42, token: 't', processStart: null }, expiresAt: 9_000 },
        createTime: 100,
        startTime: 200,
        endTime: null,
        recordsProcessed: 0,
        errorMessage: 'Error: once',
        warningMessage: null,
        queueKey: null,
      },
      instance,
    );
    expect(view).toEqual({
      id: '0.3',
      instanceId: 'i-1',
      stepId: 'fetch',
      status: 'IN_PROGRESS',
      data: { from: 0 },
      attempts: 2,
      errorCount: 1,
      pollAttempts: 0,
      createTime: new Date(100),
      startTime: new Date(200),
      endTime: null,
      recordsProcessed: 0,
      errorMessage: 'Error: once',
      warningMessage: null,
      lease: { host: 'h1', pid: 42, expiresAt: new Date(9_000) },
    });
  });
});
