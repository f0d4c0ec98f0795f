import { describe, expect, it } from 'vitest';
import {
  BatchStatus,
  batchStatusSeverity,
  isBatchStatus,
  isRunningStatus,
  isUnsuccessfulStatus,
  maxBatchStatus,
  upgradeBatchStatus,
} from '../../../src/domain/batch-status.js';

/** Reference 1.1: declaration order is the severity order used by max and upgradeTo. */
const ORDER: readonly BatchStatus[] = ['COMPLETED', 'STARTING', 'STARTED', 'STOPPING', 'STOPPED', 'FAILED', 'ABANDONED', 'UNKNOWN'];

const pairs = ORDER.flatMap((a) => ORDER.map((b) => [a, b] as const));

describe('BatchStatus ordering', () => {
  it('lists every status from least to most severe, COMPLETED lowest and UNKNOWN highest', () => {
    expect(Object.values(BatchStatus)).toEqual(ORDER);
    expect(ORDER.map(batchStatusSeverity)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('recognises exactly the eight status names', () => {
    for (const status of ORDER) expect(isBatchStatus(status)).toBe(true);
    for (const other of ['completed', 'RUNNING', '', null, undefined, 3]) expect(isBatchStatus(other)).toBe(false);
  });
});

describe('maxBatchStatus', () => {
  it('returns the more severe status, so STARTED outranks COMPLETED', () => {
    expect(maxBatchStatus('COMPLETED', 'STARTED')).toBe('STARTED');
    expect(maxBatchStatus('STARTED', 'COMPLETED')).toBe('STARTED');
    expect(maxBatchStatus('FAILED', 'STOPPED')).toBe('FAILED');
    expect(maxBatchStatus('ABANDONED', 'UNKNOWN')).toBe('UNKNOWN');
  });

  it('for every pair returns the status later in the order, in either argument order', () => {
    for (const [a, b] of pairs) {
      const expected = ORDER.indexOf(a) >= ORDER.indexOf(b) ? a : b;
      expect(maxBatchStatus(a, b), `max(${a}, ${b})`).toBe(expected);
      expect(maxBatchStatus(b, a), `max(${b}, ${a})`).toBe(expected);
    }
  });
});

describe('upgradeBatchStatus (Spring upgradeTo)', () => {
  it.each([
    ['STARTING', 'COMPLETED', 'COMPLETED'],
    ['COMPLETED', 'STARTING', 'COMPLETED'],
    ['STARTING', 'STARTED', 'STARTED'],
    ['FAILED', 'COMPLETED', 'FAILED'],
    ['STARTED', 'COMPLETED', 'COMPLETED'],
    ['COMPLETED', 'STARTED', 'COMPLETED'],
    ['UNKNOWN', 'ABANDONED', 'UNKNOWN'],
    ['STOPPED', 'COMPLETED', 'STOPPED'],
    ['COMPLETED', 'FAILED', 'FAILED'],
  ] as const)('%s upgraded with %s is %s', (current, next, expected) => {
    expect(upgradeBatchStatus(current, next)).toBe(expected);
  });

  it('never downgrades a status worse than STARTED: the result is the max of the two', () => {
    for (const [a, b] of pairs) {
      if (ORDER.indexOf(a) > ORDER.indexOf('STARTED') || ORDER.indexOf(b) > ORDER.indexOf('STARTED')) {
        expect(upgradeBatchStatus(a, b), `${a} upgraded with ${b}`).toBe(maxBatchStatus(a, b));
      }
    }
    for (const status of ORDER.slice(ORDER.indexOf('STOPPING'))) {
      expect(upgradeBatchStatus(status, 'COMPLETED')).toBe(status);
    }
  });

  it('among COMPLETED, STARTING and STARTED, COMPLETED wins; otherwise the more severe running state', () => {
    const low = ['COMPLETED', 'STARTING', 'STARTED'] as const;
    for (const a of low) {
      for (const b of low) {
        const expected = a === 'COMPLETED' || b === 'COMPLETED' ? 'COMPLETED' : maxBatchStatus(a, b);
        expect(upgradeBatchStatus(a, b), `${a} upgraded with ${b}`).toBe(expected);
      }
    }
  });
});

describe('status classification', () => {
  it('isRunningStatus is true exactly for STARTING, STARTED and STOPPING', () => {
    expect(ORDER.filter(isRunningStatus)).toEqual(['STARTING', 'STARTED', 'STOPPING']);
  });

  it('isUnsuccessfulStatus is true exactly for FAILED, ABANDONED and UNKNOWN', () => {
    expect(ORDER.filter(isUnsuccessfulStatus)).toEqual(['FAILED', 'ABANDONED', 'UNKNOWN']);
  });

  it('STOPPED is neither running nor unsuccessful (it is restartable)', () => {
    expect(isRunningStatus('STOPPED')).toBe(false);
    expect(isUnsuccessfulStatus('STOPPED')).toBe(false);
  });
});
