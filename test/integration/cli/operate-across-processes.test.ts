/**
 * Operating a running job from another process through the shared store: `stop` from a second
 * process, Ctrl-C in the running one (exit 130), and `recover` after the running process was killed
 * with SIGKILL, then a restart that resumes at the last commit.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { REGISTER_JOBS, cleanUp, cli, json, newWorkspace, readStore, startCli, waitForCommits } from './cli-harness.js';

afterEach(cleanUp);

/** The slow fixture job: `count` items in chunks of 5, each chunk write sleeping `delayMs`. */
function startSlow(store: string, count: number, delayMs: number) {
  return startCli(['run', REGISTER_JOBS, '--job', 'slow', `count=${count},number`, '--store', store, '--json'], { SLOW_DELAY_MS: String(delayMs) });
}

describe('operating executions across processes', () => {
  it('stops a running job from a second process: the run ends STOPPED and exits 1', async () => {
    const { store } = newWorkspace();
    const run = startSlow(store, 5000, 40);
    const running = await waitForCommits(run, store, 2);

    const stop = await cli(['stop', String(running.id), '--store', store]);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toContain(`execution ${running.id} of job 'slow' is STOPPING`);

    const result = await run.done;
    expect(result.code, result.stderr).toBe(1);
    const summary = json(result);
    expect(summary).toMatchObject({ id: running.id, status: 'STOPPED', exitCode: 'STOPPED' });
    expect(summary['steps'][0].status).toBe('STOPPED');
    expect(summary['steps'][0].commitCount).toBeGreaterThanOrEqual(2);
    expect(summary['steps'][0].writeCount).toBeLessThan(5000);

    // Stopping it again is refused (exit 1); abandoning it works, and then it cannot restart.
    const stopAgain = await cli(['stop', String(running.id), '--store', store]);
    expect(stopAgain.code).toBe(1);
    expect(stopAgain.stderr).toContain('JOB_EXECUTION_NOT_RUNNING');
    const abandon = await cli(['abandon', String(running.id), '--store', store, '--json']);
    expect(abandon.code, abandon.stderr).toBe(0);
    expect(json(abandon)['status']).toBe('ABANDONED');
  });

  it('stops gracefully on SIGINT and exits 130', async () => {
    const { store } = newWorkspace();
    const run = startSlow(store, 5000, 40);
    const running = await waitForCommits(run, store, 2);

    run.child.kill('SIGINT');
    const result = await run.done;
    expect(result.code, result.stderr).toBe(130);
    expect(result.stderr).toContain('SIGINT: stopping at the next chunk boundary');
    expect(json(result)).toMatchObject({ id: running.id, status: 'STOPPED' });
  });

  it('recovers an execution whose process was killed, then restarts it from its last commit', async () => {
    const { store } = newWorkspace();
    const run = startSlow(store, 1000, 40);
    await waitForCommits(run, store, 2);
    run.child.kill('SIGKILL');
    const killed = await run.done;
    expect(killed.signal).toBe('SIGKILL');

    // The store still says STARTED: nobody is left to say otherwise.
    const orphan = await readStore(store, async (runtime) => (await runtime.explorer.findRunningJobExecutions('slow'))[0]);
    expect(orphan?.status).toBe('STARTED');
    const id = orphan!.id;

    const recover = await cli(['recover', String(id), '--store', store, '--json']);
    expect(recover.code, recover.stderr).toBe(0);
    const recovered = json(recover);
    expect(recovered).toMatchObject({ id, status: 'FAILED' });
    const committed = recovered['steps'][0].commitCount as number;
    expect(committed).toBeGreaterThanOrEqual(2);
    expect(recovered['steps'][0].writeCount).toBe(committed * 5);

    const restart = await cli(['restart', String(id), REGISTER_JOBS, '--store', store, '--json'], { SLOW_DELAY_MS: '0' });
    expect(restart.code, restart.stderr).toBe(0);
    const completed = json(restart);
    expect(completed).toMatchObject({ jobName: 'slow', jobInstanceId: orphan!.jobInstance.id, status: 'COMPLETED' });
    // It resumes right after the last committed chunk: every item once across both executions.
    expect(completed['steps'][0].readCount).toBe(1000 - committed * 5);
    expect(completed['steps'][0].writeCount).toBe(1000 - committed * 5);
  });
});
