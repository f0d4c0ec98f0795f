import { describe, expect, it } from 'vitest';
import { formatDuration } from '../../../src/cli/format.js';
import { isJob } from '../../../src/cli/load-module.js';
import { RepeatStatus, job, step } from '../../../src/index.js';

describe('durations for people', () => {
  it('shows milliseconds below a second, then tenths of seconds, minutes and hours', () => {
    expect(formatDuration(0)).toBe('0ms');
    expect(formatDuration(999.4)).toBe('999ms');
    expect(formatDuration(1000)).toBe('1.0s');
    expect(formatDuration(12_440)).toBe('12.4s');
    expect(formatDuration(59_960)).toBe('1m 00.0s');
    expect(formatDuration(62_300)).toBe('1m 02.3s');
    expect(formatDuration(3_600_000 + 5 * 60_000 + 9_000)).toBe('1h 05m 09.0s');
    expect(formatDuration(null)).toBe('-');
  });
});

describe('what counts as a job in a module', () => {
  it('accepts built jobs and nothing else', () => {
    const built = job('j').start(step('s').tasklet(() => RepeatStatus.FINISHED).build()).build();
    expect(isJob(built)).toBe(true);
    expect(isJob({ name: 'j' })).toBe(false);
    expect(isJob(() => undefined)).toBe(false);
    expect(isJob(null)).toBe(false);
  });
});
