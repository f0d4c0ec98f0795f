/**
 * Serving the dashboard over a real socket (serveDashboard, dashboardRequestListener) and the
 * `tsbatch dashboard` command as a child process: URL on stderr, restart through a loaded job
 * module, read-only, clean stop on SIGINT/SIGTERM.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchRuntime, type Job } from '../../../src/index.js';
import { createDashboard, dashboardRequestListener, serveDashboard } from '../../../src/dashboard/index.js';
import { cleanUp as cleanUpCli, newWorkspace, startCli, TWO_JOBS, waitUntil } from '../cli/cli-harness.js';
import { api, cleanUp, gate, openRuntime, startBlocked, until } from './harness.js';

afterEach(async () => {
  cleanUpCli();
  await cleanUp();
});

describe('serveDashboard', () => {
  it('listens on 127.0.0.1 by default, serves pages, API and events, and close() ends open streams', async () => {
    const runtime = await openRuntime();
    const wait = gate();
    const running = await startBlocked(runtime, wait.promise);
    const app = createDashboard({ runtime, basePath: '/batch', pollIntervalMs: 20 });
    const served = await serveDashboard(app, { port: 0 });
    expect(served.url).toBe(`http://127.0.0.1:${served.port}/batch`);
    const health = await fetch(`${served.url}/api/health`);
    expect(await health.json()).toMatchObject({ status: 'ok', runningExecutions: 1 });
    const overview = await fetch(`${served.url}/`);
    expect(overview.status).toBe(200);
    expect(await overview.text()).toContain(`data-execution-id="${running}"`);

    const events = await fetch(`${served.url}/api/events`);
    expect(events.headers.get('content-type')).toBe('text/event-stream');
    const reader = events.body!.getReader();
    let text = '';
    while (!text.includes('event: progress')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain(`"executionId":${running}`);
    await served.close();
    await until('the stream to end', async () => {
      try {
        return (await reader.read()).done;
      } catch {
        return true;
      }
    });
    await until('no listener', async () => (await api(app, '/batch/api/health')).body['listeners'] === 0);
    await expect(fetch(`${served.url}/api/health`)).rejects.toThrow();
  });

  it('creates the dashboard from options, and rejects a port in use', async () => {
    const runtime = await openRuntime();
    const served = await serveDashboard({ runtime, readOnly: true }, { port: 0 });
    try {
      expect(served.url).toBe(`http://127.0.0.1:${served.port}`);
      const refused = await fetch(`${served.url}/api/executions/1/stop`, { method: 'POST' });
      expect(refused.status).toBe(403);
      await expect(serveDashboard({ runtime }, { port: served.port })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await served.close();
    }
  });

  it('mounts in a plain Node HTTP server through dashboardRequestListener', async () => {
    const runtime = await openRuntime();
    const server = createServer(dashboardRequestListener(createDashboard({ runtime })));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/api/jobs`);
      expect(await response.json()).toEqual({ jobs: [] });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

/** Starts `tsbatch dashboard` and waits for the URL it prints. */
async function startDashboard(args: string[]) {
  const started = startCli(['dashboard', ...args]);
  const url = await waitUntil('the dashboard URL', () => / at (http:\/\/\S+?)\/?\n/.exec(started.stderrSoFar())?.[1], 20_000);
  return { ...started, url };
}

describe('tsbatch dashboard', () => {
  it('serves a store, registers the jobs of --module so that Restart works, and stops cleanly on SIGINT', async () => {
    const { store } = newWorkspace();
    const runtime = await BatchRuntime.open({ path: store, logger: false });
    const jobs = (await import('./../cli/fixtures/two-jobs.js')).default as Job[];
    const failed = await runtime.launcher.run(jobs.find((j) => j.name === 'broken')!, {});
    expect(failed.status).toBe('FAILED');
    await runtime.close();

    const dashboard = await startDashboard(['--store', store, '--port', '0', '--module', TWO_JOBS, '--base-path', '/ops']);
    expect(dashboard.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/ops$/);
    expect(dashboard.stderrSoFar()).toContain('jobs registered for restarts: alpha, beta, broken, halts');
    const detail = await (await fetch(`${dashboard.url}/api/executions/${failed.id}`)).json();
    expect(detail).toMatchObject({ status: 'FAILED', restartable: true, jobRegistered: true });
    const restart = await fetch(`${dashboard.url}/api/executions/${failed.id}/restart`, { method: 'POST' });
    expect(restart.status).toBe(202);
    const { execution } = (await restart.json()) as { execution: { id: number } };
    await waitUntil('the restart to end', async () => {
      const now = (await (await fetch(`${dashboard.url}/api/executions/${execution.id}`)).json()) as { status: string };
      return now.status === 'FAILED' ? now : undefined;
    });

    dashboard.child.kill('SIGINT');
    const result = await dashboard.done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('SIGINT: stopping');
    expect(result.stdout).toBe('');
  });

  it('refuses actions with --read-only and stops on SIGTERM; a missing store exits 2', async () => {
    const { store } = newWorkspace();
    await (await BatchRuntime.open({ path: store, logger: false })).close();
    const dashboard = await startDashboard(['--store', store, '--port', '0', '--read-only']);
    expect(dashboard.stderrSoFar()).toContain('(read-only)');
    const refused = await fetch(`${dashboard.url}/api/executions/1/stop`, { method: 'POST' });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: { code: 'READ_ONLY' } });
    dashboard.child.kill('SIGTERM');
    expect((await dashboard.done).code).toBe(0);

    const missing = await startCli(['dashboard', '--store', `${store}-nope`, '--port', '0']).done;
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('STORE_NOT_FOUND');
  });
});
