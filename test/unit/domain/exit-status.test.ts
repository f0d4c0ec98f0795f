import { describe, expect, it } from 'vitest';
import { describeError, ExitCode, ExitStatus } from '../../../src/domain/exit-status.js';

const custom = (code: string, description = '') => ExitStatus.of(code, description);

describe('ExitStatus.and severity (reference 1.2)', () => {
  it.each([
    [ExitStatus.EXECUTING, ExitStatus.COMPLETED, 'COMPLETED'],
    [ExitStatus.COMPLETED, ExitStatus.EXECUTING, 'COMPLETED'],
    [ExitStatus.COMPLETED, ExitStatus.FAILED, 'FAILED'],
    [ExitStatus.FAILED, ExitStatus.COMPLETED, 'FAILED'],
    [ExitStatus.COMPLETED, ExitStatus.NOOP, 'NOOP'],
    [ExitStatus.NOOP, ExitStatus.STOPPED, 'STOPPED'],
    [ExitStatus.STOPPED, ExitStatus.FAILED, 'FAILED'],
    [ExitStatus.FAILED, ExitStatus.UNKNOWN, 'UNKNOWN'],
    [ExitStatus.UNKNOWN, ExitStatus.FAILED, 'UNKNOWN'],
  ])('%s.and(%s) has code %s', (a, b, expected) => {
    expect(a.and(b).exitCode).toBe(expected);
  });

  it('a custom code outranks every standard code, in either order', () => {
    for (const standard of Object.values(ExitCode)) {
      expect(ExitStatus.of(standard).and(custom('CUSTOM')).exitCode).toBe('CUSTOM');
      expect(custom('CUSTOM').and(ExitStatus.of(standard)).exitCode).toBe('CUSTOM');
    }
  });

  it("'COMPLETED'.and('COMPLETED WITH SKIPS') is COMPLETED WITH SKIPS (same severity, greater name)", () => {
    expect(ExitStatus.COMPLETED.and(ExitStatus.COMPLETED_WITH_SKIPS).exitCode).toBe('COMPLETED WITH SKIPS');
    expect(ExitStatus.COMPLETED_WITH_SKIPS.and(ExitStatus.COMPLETED).exitCode).toBe('COMPLETED WITH SKIPS');
  });

  it('ranks a code by its standard prefix, so COMPLETED WITH SKIPS still loses to FAILED', () => {
    expect(ExitStatus.COMPLETED_WITH_SKIPS.and(ExitStatus.FAILED).exitCode).toBe('FAILED');
    expect(custom('FAILED: disk full').and(ExitStatus.COMPLETED).exitCode).toBe('FAILED: disk full');
  });

  it('between two custom codes the lexicographically greater one wins', () => {
    expect(custom('ALPHA').and(custom('BETA')).exitCode).toBe('BETA');
    expect(custom('BETA').and(custom('ALPHA')).exitCode).toBe('BETA');
  });

  it('leaves both operands unchanged (immutable values)', () => {
    const a = custom('COMPLETED', 'first');
    const b = custom('FAILED', 'second');
    const combined = a.and(b);
    expect(combined).not.toBe(a);
    expect(a.toJSON()).toEqual({ exitCode: 'COMPLETED', exitDescription: 'first' });
    expect(b.toJSON()).toEqual({ exitCode: 'FAILED', exitDescription: 'second' });
  });

  it('compareTo is negative when the argument is more severe and zero for equal codes', () => {
    expect(ExitStatus.COMPLETED.compareTo(ExitStatus.FAILED)).toBeLessThan(0);
    expect(ExitStatus.FAILED.compareTo(ExitStatus.COMPLETED)).toBeGreaterThan(0);
    expect(ExitStatus.FAILED.compareTo(ExitStatus.of('FAILED'))).toBe(0);
  });
});

describe('ExitStatus descriptions', () => {
  it('joins two descriptions with "; " in order', () => {
    expect(custom('COMPLETED', 'read 10').and(custom('FAILED', 'write failed')).exitDescription).toBe('read 10; write failed');
  });

  it('ignores an empty description on either side', () => {
    expect(custom('COMPLETED', 'only').and(ExitStatus.FAILED).exitDescription).toBe('only');
    expect(ExitStatus.COMPLETED.and(custom('FAILED', 'only')).exitDescription).toBe('only');
    expect(ExitStatus.COMPLETED.and(ExitStatus.FAILED).exitDescription).toBe('');
  });

  it('does not repeat a description it already contains', () => {
    expect(custom('FAILED', 'boom').and(custom('FAILED', 'boom')).exitDescription).toBe('boom');
    expect(custom('FAILED', 'step a: boom').and(custom('FAILED', 'boom')).exitDescription).toBe('step a: boom');
  });

  it('addExitDescription appends text and keeps the code', () => {
    const status = ExitStatus.STOPPED.addExitDescription('stopped by operator').addExitDescription('at chunk 3');
    expect(status.exitCode).toBe('STOPPED');
    expect(status.exitDescription).toBe('stopped by operator; at chunk 3');
  });

  it('addExitDescription with an Error stores its stack and a "Caused by:" line for every cause', () => {
    const root = new RangeError('disk full');
    const middle = new TypeError('write failed', { cause: root });
    const top = new Error('chunk 3 rolled back', { cause: middle });
    const description = ExitStatus.FAILED.addExitDescription(top).exitDescription;
    const lines = description.split('\n');
    expect(lines[0]).toBe('Error: chunk 3 rolled back');
    expect(description).toContain('\nCaused by: TypeError: write failed');
    expect(description).toContain('\nCaused by: RangeError: disk full');
    expect(description.indexOf('TypeError: write failed')).toBeLessThan(description.indexOf('RangeError: disk full'));
    expect(description.match(/^Caused by: /gm)).toHaveLength(2);
    // the stack frames are kept, as in Spring's full stack trace
    expect(description).toMatch(/\n\s+at /);
  });

  it('describes a non-Error cause by its string form', () => {
    const error = new Error('outer', { cause: 'socket closed' });
    expect(describeError(error)).toMatch(/\nCaused by: socket closed$/);
  });

  it('terminates on a cause cycle', () => {
    const error = new Error('loops') as Error & { cause?: unknown };
    error.cause = error;
    const description = describeError(error);
    expect(description.startsWith('Error: loops')).toBe(true);
    expect(description.match(/^Caused by: Error: loops/gm)?.length).toBeGreaterThan(0);
  });

  it('truncates a combined description to 2500 characters, keeping its beginning', () => {
    const long = 'x'.repeat(3000);
    const added = ExitStatus.FAILED.addExitDescription(long);
    expect(added.exitDescription).toHaveLength(2500);
    expect(added.exitDescription).toBe('x'.repeat(2500));
    const joined = custom('FAILED', 'a'.repeat(2000)).and(custom('FAILED', 'b'.repeat(2000)));
    expect(joined.exitDescription).toHaveLength(2500);
    expect(joined.exitDescription.startsWith('a'.repeat(2000) + '; b')).toBe(true);
  });

  it('truncates an Error description with a deep cause chain to 2500 characters', () => {
    let error: Error = new Error('root '.repeat(200));
    for (let i = 0; i < 6; i++) error = new Error(`level ${i} `.repeat(100), { cause: error });
    const description = ExitStatus.FAILED.addExitDescription(error).exitDescription;
    expect(description.length).toBe(2500);
    expect(description.startsWith('Error: level 5')).toBe(true);
  });
});

describe('ExitStatus basics', () => {
  it('EXECUTING and UNKNOWN are running codes; the others are not', () => {
    expect(ExitStatus.EXECUTING.isRunning()).toBe(true);
    expect(ExitStatus.UNKNOWN.isRunning()).toBe(true);
    for (const status of [ExitStatus.COMPLETED, ExitStatus.FAILED, ExitStatus.STOPPED, ExitStatus.NOOP, custom('CUSTOM')]) {
      expect(status.isRunning()).toBe(false);
    }
  });

  it('compares by value and renders the description in toString', () => {
    expect(ExitStatus.of('FAILED', 'x').equals(new ExitStatus('FAILED', 'x'))).toBe(true);
    expect(ExitStatus.of('FAILED', 'x').equals(ExitStatus.of('FAILED', 'y'))).toBe(false);
    expect(ExitStatus.of('FAILED', 'x').toString()).toBe('FAILED (x)');
    expect(ExitStatus.COMPLETED.toString()).toBe('COMPLETED');
  });

  it('replaceExitCode keeps the description', () => {
    expect(ExitStatus.of('COMPLETED', 'done').replaceExitCode('CUSTOM').toJSON()).toEqual({ exitCode: 'CUSTOM', exitDescription: 'done' });
  });
});
