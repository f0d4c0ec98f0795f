/**
 * `tsbatch run` and `tsbatch jobs` as a user runs them: one job by name out of a module with
 * several, the usage errors (exit 2), and the exit code of each kind of end.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REGISTER_JOBS, TWO_JOBS, cleanUp, cli, json, newWorkspace, readStore } from './cli-harness.js';

afterEach(cleanUp);

describe('tsbatch run', () => {
  it('runs only the named job of a module with several, and exits 0 when it completes', async () => {
    const { dir, store } = newWorkspace();
    const result = await cli(['run', TWO_JOBS, '--job', 'alpha', `out=${dir}`, 'count=7,number', '--store', store, '--json']);

    expect(result.code, result.stderr).toBe(0);
    const summary = json(result);
    expect(summary).toMatchObject({ jobName: 'alpha', status: 'COMPLETED', exitCode: 'COMPLETED' });
    expect(summary['parameters']['count']).toEqual({ value: 7, type: 'number', identifying: true });
    expect(summary['steps']).toHaveLength(1);
    expect(summary['steps'][0]).toMatchObject({ stepName: 'count', status: 'COMPLETED', readCount: 7, writeCount: 7, commitCount: 4, rollbackCount: 0, skipCount: 0 });
    expect(readFileSync(join(dir, 'alpha.txt'), 'utf8')).toBe('1\n2\n3\n4\n5\n6\n7\n');
    // beta (in the default export) did not run, and nothing but alpha reached the store.
    expect(existsSync(join(dir, 'beta.txt'))).toBe(false);
    expect(await readStore(store, (runtime) => runtime.explorer.getJobNames())).toEqual(['alpha']);
  });

  it('exits 2 with JOB_NOT_PROVIDED and the job names when --job is missing', async () => {
    const { dir, store } = newWorkspace();
    const result = await cli(['run', TWO_JOBS, `out=${dir}`, '--store', store]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('JOB_NOT_PROVIDED');
    expect(result.stderr).toMatch(/'alpha', 'beta', 'broken', 'halts'/);
    expect(result.stdout).toBe('');
    expect(existsSync(join(dir, 'alpha.txt')) || existsSync(join(dir, 'beta.txt'))).toBe(false);
  });

  it('exits 2 with NO_SUCH_JOB and the known names for an unknown job, as JSON with --json', async () => {
    const { store } = newWorkspace();
    const result = await cli(['run', TWO_JOBS, '--job', 'gamma', '--store', store, '--json']);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('NO_SUCH_JOB');
    expect(json(result)['error']).toMatchObject({ code: 'NO_SUCH_JOB' });
    expect(json(result)['error']['message']).toMatch(/'gamma'.*'alpha', 'beta', 'broken', 'halts'/);
  });

  it('exits 2 naming a parameter whose value does not fit its type, before opening the store', async () => {
    const { store } = newWorkspace();
    const result = await cli(['run', TWO_JOBS, '--job', 'alpha', 'count=abc,number', '--store', store]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('JOB_PARAMETERS_INVALID');
    expect(result.stderr).toContain("'count=abc,number'");
    expect(existsSync(store)).toBe(false);
  });

  it('exits 1 when the job fails and 1 when it ends STOPPED', async () => {
    const { dir, store } = newWorkspace();
    const failed = await cli(['run', TWO_JOBS, '--job', 'broken', `out=${dir}`, '--store', store]);
    const stopped = await cli(['run', TWO_JOBS, '--job', 'halts', '--store', store, '--json']);

    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/Job 'broken' execution \d+ \(instance \d+\): FAILED/);
    expect(failed.stdout).toContain('broken on purpose');
    expect(stopped.code).toBe(1);
    expect(json(stopped)).toMatchObject({ jobName: 'halts', status: 'STOPPED', exitCode: 'STOPPED' });
  });

  it('starts the next instance through the incrementer with --next', async () => {
    const { store } = newWorkspace();
    const first = await cli(['run', REGISTER_JOBS, '--job', 'numbered', '--next', '--store', store, '--json']);
    const second = await cli(['run', REGISTER_JOBS, '--job', 'numbered', '--next', '--store', store, '--json']);

    expect(first.code, first.stderr).toBe(0);
    expect(second.code, second.stderr).toBe(0);
    expect(json(first)['parameters']['run.id']['value']).toBe(1);
    expect(json(second)['parameters']['run.id']['value']).toBe(2);
    expect(json(second)['jobInstanceId']).not.toBe(json(first)['jobInstanceId']);
  });
});

describe('tsbatch jobs', () => {
  it('lists the jobs a module exports or registers', async () => {
    const [exported, registered] = await Promise.all([cli(['jobs', TWO_JOBS, '--json']), cli(['jobs', REGISTER_JOBS])]);

    expect(exported.code).toBe(0);
    expect(json(exported)['jobs'].map((j: { name: string }) => j.name)).toEqual(['alpha', 'beta', 'broken', 'halts']);
    expect(registered.code).toBe(0);
    for (const name of ['numbered', 'resumable', 'slow']) expect(registered.stdout).toContain(name);
  });
});
