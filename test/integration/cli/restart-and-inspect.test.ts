/**
 * A failed run restarted from the command line resumes at its last commit; `executions` and `show`
 * report what the store holds.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REGISTER_JOBS, cleanUp, cli, json, newWorkspace } from './cli-harness.js';

afterEach(cleanUp);

describe('tsbatch restart, executions and show', () => {
  it('restarts a failed execution where it stopped, and lists and shows both executions', async () => {
    const { dir, store } = newWorkspace();

    // Run 1: item 12 fails, so chunks 1-2 (items 1..10) commit and chunk 3 rolls back.
    const first = await cli(['run', REGISTER_JOBS, '--job', 'resumable', `out=${dir}`, '--store', store, '--json'], { RESUMABLE_FAIL: '1' });
    expect(first.code, first.stderr).toBe(1);
    const failed = json(first);
    expect(failed).toMatchObject({ jobName: 'resumable', status: 'FAILED', exitCode: 'FAILED' });
    expect(failed['steps'][0]).toMatchObject({ status: 'FAILED', writeCount: 10, commitCount: 2, rollbackCount: 1 });
    expect(failed['exitDescription']).toContain('item 12 fails');

    // Run 2: the restart resumes at item 11 and completes.
    const second = await cli(['run', REGISTER_JOBS, '--restart', String(failed['id']), '--store', store, '--json']);
    expect(second.code, second.stderr).toBe(0);
    const completed = json(second);
    expect(completed).toMatchObject({ jobName: 'resumable', jobInstanceId: failed['jobInstanceId'], status: 'COMPLETED' });
    expect(completed['id']).not.toBe(failed['id']);
    expect(completed['steps'][0]).toMatchObject({ stepName: 'load', readCount: 10, writeCount: 10, commitCount: 2, rollbackCount: 0 });
    expect(readFileSync(join(dir, 'resumable.txt'), 'utf8')).toBe(Array.from({ length: 20 }, (_, i) => `${i + 1}\n`).join(''));

    const [listed, failedOnly, shown, shownJson, again] = await Promise.all([
      cli(['executions', '--store', store]),
      cli(['executions', '--store', store, '--status', 'failed', '--json']),
      cli(['show', String(completed['id']), '--store', store]),
      cli(['show', String(failed['id']), '--store', store, '--json']),
      // The `restart <id> <module>` form; the instance is complete now, so the runtime refuses.
      cli(['restart', String(failed['id']), REGISTER_JOBS, '--store', store]),
    ]);

    expect(listed.code).toBe(0);
    const rows = listed.stdout.split('\n').filter((line) => /│\s+\d+\s+│/.test(line));
    expect(rows).toHaveLength(2);
    // Newest first.
    expect(rows[0]).toMatch(new RegExp(`│\\s+${completed['id']}\\s+│ resumable\\s+│\\s+${failed['jobInstanceId']}\\s+│ COMPLETED`));
    expect(rows[1]).toMatch(new RegExp(`│\\s+${failed['id']}\\s+│ resumable\\s+│\\s+${failed['jobInstanceId']}\\s+│ FAILED`));

    expect(failedOnly.code).toBe(0);
    expect(json(failedOnly)['executions'].map((e: { id: number }) => e.id)).toEqual([failed['id']]);

    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`Execution ${completed['id']}`);
    expect(shown.stdout).toMatch(/status\s+COMPLETED/);
    expect(shown.stdout).toMatch(/out=.* \(string\)/);
    expect(shown.stdout).toMatch(/│ load\s+│ COMPLETED\s+│ COMPLETED\s+│\s+10 │\s+10 │\s+0 │\s+0\/0\/0 │\s+2 │\s+0 │/);

    expect(shownJson.code).toBe(0);
    expect(json(shownJson)).toMatchObject({ id: failed['id'], status: 'FAILED' });
    expect(json(shownJson)['steps'][0]).toMatchObject({ writeCount: 10, commitCount: 2, rollbackCount: 1 });

    expect(again.code).toBe(1);
    expect(again.stderr).toContain('JOB_INSTANCE_ALREADY_COMPLETE');
  });

  it('exits 2 for an unknown execution or a store that does not exist', async () => {
    const { dir, store } = newWorkspace();
    await cli(['run', REGISTER_JOBS, '--job', 'numbered', '--next', '--store', store]);
    const [unknown, noStore, badId] = await Promise.all([
      cli(['show', '999', '--store', store]),
      cli(['executions', '--store', join(dir, 'elsewhere')]),
      cli(['stop', 'abc', '--store', store]),
    ]);

    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('NO_SUCH_JOB_EXECUTION');
    expect(noStore.code).toBe(2);
    expect(noStore.stderr).toContain('STORE_NOT_FOUND');
    expect(badId.code).toBe(2);
    expect(badId.stderr).toContain('execution id');
  });
});
