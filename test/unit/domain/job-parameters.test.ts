import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JobParametersInvalidError } from '../../../src/domain/errors.js';
import { JobParameters, type JobParameterInput, type JobParameterValue } from '../../../src/domain/job-parameters.js';

const when = new Date('2024-01-01T10:20:30.456Z');

function invalid(record: unknown): JobParametersInvalidError {
  try {
    JobParameters.of(record as Record<string, JobParameterInput>);
  } catch (error) {
    expect(error).toBeInstanceOf(JobParametersInvalidError);
    return error as JobParametersInvalidError;
  }
  throw new Error(`JobParameters.of(${String(record)}) did not throw`);
}

describe('JobParameters.of', () => {
  it('accepts string, number, boolean and Date values and records their types', () => {
    const params = JobParameters.of({ name: 'orders', limit: 100, ratio: 0.5, dryRun: false, runDate: when });
    expect(params.toRecord()).toEqual({ name: 'orders', limit: 100, ratio: 0.5, dryRun: false, runDate: when });
    expect(params.getParameter('name')).toEqual({ value: 'orders', type: 'string', identifying: true });
    expect(params.getParameter('limit')).toEqual({ value: 100, type: 'number', identifying: true });
    expect(params.getParameter('dryRun')).toEqual({ value: false, type: 'boolean', identifying: true });
    expect(params.getParameter('runDate')?.type).toBe('date');
    expect(params.get('runDate')).toBeInstanceOf(Date);
    expect((params.get('runDate') as Date).getTime()).toBe(when.getTime());
    expect(params.size).toBe(5);
    expect(params.names()).toEqual(['dryRun', 'limit', 'name', 'ratio', 'runDate']);
    expect(params.has('limit')).toBe(true);
    expect(params.has('missing')).toBe(false);
    expect(params.get('missing')).toBeUndefined();
  });

  it('is identifying by default; { value, identifying: false } marks a parameter non-identifying', () => {
    const params = JobParameters.of({ date: '2024-01-01', attempt: { value: 3, identifying: false }, mode: { value: 'full' } });
    expect(params.getParameter('date')?.identifying).toBe(true);
    expect(params.getParameter('mode')).toEqual({ value: 'full', type: 'string', identifying: true });
    expect(params.getParameter('attempt')).toEqual({ value: 3, type: 'number', identifying: false });
    expect(params.identifying().names()).toEqual(['date', 'mode']);
  });

  it('of() with nothing is empty and equals JobParameters.EMPTY', () => {
    expect(JobParameters.of().isEmpty()).toBe(true);
    expect(JobParameters.of({}).equals(JobParameters.EMPTY)).toBe(true);
    expect(JobParameters.of().instanceKey()).toBe(JobParameters.EMPTY.instanceKey());
  });

  it('with() adds or overrides values and keeps the identifying flags', () => {
    const base = JobParameters.of({ a: 1, note: { value: 'x', identifying: false } });
    const next = base.with({ a: 2, b: true });
    expect(next.toRecord()).toEqual({ a: 2, b: true, note: 'x' });
    expect(next.getParameter('note')?.identifying).toBe(false);
    expect(base.get('a')).toBe(1);
  });
});

describe('JobParameters.instanceKey', () => {
  it('does not depend on the order the keys were given in', () => {
    expect(JobParameters.of({ a: 1, b: 'x', c: when }).instanceKey()).toBe(JobParameters.of({ c: when, b: 'x', a: 1 }).instanceKey());
  });

  it("differs by type: '1' and 1, 'true' and true, a Date and its ISO string are different instances", () => {
    expect(JobParameters.of({ v: '1' }).instanceKey()).not.toBe(JobParameters.of({ v: 1 }).instanceKey());
    expect(JobParameters.of({ v: 'true' }).instanceKey()).not.toBe(JobParameters.of({ v: true }).instanceKey());
    expect(JobParameters.of({ v: when.toISOString() }).instanceKey()).not.toBe(JobParameters.of({ v: when }).instanceKey());
  });

  it('differs by identifying values and names', () => {
    const key = JobParameters.of({ date: '2024-01-01' }).instanceKey();
    expect(JobParameters.of({ date: '2024-01-02' }).instanceKey()).not.toBe(key);
    expect(JobParameters.of({ day: '2024-01-01' }).instanceKey()).not.toBe(key);
    expect(JobParameters.of({ date: '2024-01-01', extra: 1 }).instanceKey()).not.toBe(key);
    expect(JobParameters.of({ d: new Date(0) }).instanceKey()).not.toBe(JobParameters.of({ d: new Date(1) }).instanceKey());
  });

  it('ignores non-identifying parameters, whatever their value', () => {
    const key = JobParameters.of({ date: '2024-01-01' }).instanceKey();
    expect(JobParameters.of({ date: '2024-01-01', attempt: { value: 1, identifying: false } }).instanceKey()).toBe(key);
    expect(JobParameters.of({ date: '2024-01-01', attempt: { value: 'two', identifying: false } }).instanceKey()).toBe(key);
    expect(JobParameters.of({ attempt: { value: 1, identifying: false } }).instanceKey()).toBe(JobParameters.EMPTY.instanceKey());
  });

  it('changes when a parameter switches from identifying to non-identifying', () => {
    expect(JobParameters.of({ a: 1, b: 2 }).instanceKey()).not.toBe(JobParameters.of({ a: 1, b: { value: 2, identifying: false } }).instanceKey());
  });

  it('is invariant under any permutation of the keys (property)', () => {
    const value: fc.Arbitrary<JobParameterValue> = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.date({ noInvalidDate: true }),
    );
    const input: fc.Arbitrary<JobParameterInput> = fc.oneof(
      value,
      fc.record({ value, identifying: fc.boolean() }),
    );
    const entries = fc.uniqueArray(fc.tuple(fc.string(), input), { selector: ([name]) => name, maxLength: 8 });
    fc.assert(
      fc.property(
        entries.chain((list) => fc.tuple(fc.constant(list), fc.shuffledSubarray(list, { minLength: list.length, maxLength: list.length }))),
        ([original, shuffled]) => {
          const a = JobParameters.of(Object.fromEntries(original));
          const b = JobParameters.of(Object.fromEntries(shuffled));
          expect(b.instanceKey()).toBe(a.instanceKey());
          expect(b.equals(a)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('JobParameters.of rejects unsupported values', () => {
  it.each([
    ['null', null],
    ['an object', { nested: 1 }],
    ['an array', [1, 2]],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['an invalid Date', new Date('not a date')],
    ['a bigint', 10n],
    ['undefined', undefined],
    ['a function', () => 1],
    ['a boxed null', { value: null }],
    ['a boxed array', { value: ['a'] }],
  ])('%s, with JOB_PARAMETERS_INVALID naming the key', (_label, bad) => {
    const error = invalid({ good: 'ok', 'bad.key': bad });
    expect(error.code).toBe('JOB_PARAMETERS_INVALID');
    expect(error.message).toContain("'bad.key'");
  });

  it('a non-boolean identifying flag', () => {
    const error = invalid({ flag: { value: 1, identifying: 'no' } });
    expect(error.code).toBe('JOB_PARAMETERS_INVALID');
    expect(error.message).toContain("'flag'");
    expect(error.message).toContain('identifying');
  });

  it('a record that is not a plain object', () => {
    expect(invalid(null).code).toBe('JOB_PARAMETERS_INVALID');
    expect(invalid([1, 2]).code).toBe('JOB_PARAMETERS_INVALID');
  });
});

describe('JobParameters stored form', () => {
  it('toStored is plain JSON (dates as ISO strings) and fromStored rebuilds equal parameters', () => {
    const params = JobParameters.of({ s: 'x', n: 1.5, b: true, d: when, hidden: { value: 7, identifying: false } });
    const stored = params.toStored();
    expect(stored).toEqual({
      b: { value: true, type: 'boolean', identifying: true },
      d: { value: '2024-01-01T10:20:30.456Z', type: 'date', identifying: true },
      hidden: { value: 7, type: 'number', identifying: false },
      n: { value: 1.5, type: 'number', identifying: true },
      s: { value: 'x', type: 'string', identifying: true },
    });
    const back = JobParameters.fromStored(JSON.parse(JSON.stringify(stored)));
    expect(back.equals(params)).toBe(true);
    expect(back.instanceKey()).toBe(params.instanceKey());
    expect(back.get('d')).toBeInstanceOf(Date);
    expect((back.get('d') as Date).getTime()).toBe(when.getTime());
    expect(back.getParameter('hidden')).toEqual({ value: 7, type: 'number', identifying: false });
  });
});
