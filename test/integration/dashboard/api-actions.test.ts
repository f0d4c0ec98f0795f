/**
 * The dashboard's actions over the JSON API (issue #9): stop, restart, abandon, recover on
 * executions in every state that matters; read-only refusals, the auth hook, basic auth and
 * cross-site refusals.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JobParameters, type BatchRuntime } from '../../../src/index.js';
import { basicAuth, createDashboard, type ExecutionJson } from '../../../src/dashboard/index.js';
import { openLmdbJobRepository } from '../../../src/testing.js';
import { api, cleanUp, failingJob, gate, openRuntime, page, post, quickJob, startBlocked, tempDir, until } from './harness.js';

afterEach(cleanUp);

type ActionBody = { execution: ExecutionJson; previousExecutionId?: number };

describe('POST /api/executions/:id/stop', () => {
  it('makes a running execution STOPPING, and it ends STOPPED at its next chunk boundary', async () => {
    const runtime = await openRuntime();
    const wait = gate();
    const id = await startBlocked(runtime, wait.promise);
    const app = createDashboard({ runtime });
    const { status, body } = await api<ActionBody>(app, `/api/executions/${id}/stop`, post());
    expect(status).toBe(200);
    expect(body.execution).toMatchObject({ id, status: 'STOPPING' });
    wait.release();
    expect((await runtime.operator.waitFor(id)).status).toBe('STOPPED');
    expect((await api(app, `/api/executions/${id}`)).body).toMatchObject({ status: 'STOPPED', restartable: true, abandonable: true, stoppable: false });
  });

  it('answers 409 JOB_EXECUTION_NOT_RUNNING for an ended execution and 404 for an unknown one', async () => {
    const runtime = await openRuntime();
    const done = await runtime.launcher.run(quickJob(), {});
    const app = createDashboard({ runtime });
    const ended = await api(app, `/api/executions/${done.id}/stop`, post());
    expect(ended).toMatchObject({ status: 409, body: { error: { code: 'JOB_EXECUTION_NOT_RUNNING', message: expect.stringContaining('COMPLETED') } } });
    expect(await api(app, '/api/executions/424242/stop', post())).toMatchObject({ status: 404, body: { error: { code: 'NO_SUCH_JOB_EXECUTION' } } });
    expect(await api(app, `/api/executions/${done.id}/explode`, post())).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
  });
});

describe('POST /api/executions/:id/restart', () => {
  it('answers 202 with the new execution, which resumes at the last commit', async () => {
    const runtime = await openRuntime();
    const control = { fail: true };
    runtime.registry.register(failingJob(control));
    const failed = await runtime.launcher.run(runtime.registry.get('failing'), {});
    control.fail = false;
    const app = createDashboard({ runtime });
    const { status, headers, body } = await api<ActionBody>(app, `/api/executions/${failed.id}/restart`, post());
    expect(status).toBe(202);
    expect(body.previousExecutionId).toBe(failed.id);
    const restarted = body.execution.id;
    expect(restarted).toBeGreaterThan(failed.id);
    expect(headers.get('location')).toBe(`/api/executions/${restarted}`);
    const end = await runtime.operator.waitFor(restarted);
    expect(end.status).toBe('COMPLETED');
    // The first chunk (items 1-5) committed before the failure: the restart reads only 6-12.
    expect(end.stepExecutions[0]!.readCount).toBe(7);
  });

  it('answers 409 NO_SUCH_JOB, saying how to register it, when the job is not registered in this runtime', async () => {
    const runtime = await openRuntime();
    const failed = await runtime.launcher.run(failingJob({ fail: true }), {});
    const { status, body } = await api(createDashboard({ runtime }), `/api/executions/${failed.id}/restart`, post());
    expect(status).toBe(409);
    expect(body).toEqual({ error: { code: 'NO_SUCH_JOB', message: expect.stringContaining("Job 'failing' is not registered in the dashboard's runtime") } });
  });

  it('answers 409 with the launch error for a COMPLETED or running execution', async () => {
    const runtime = await openRuntime();
    runtime.registry.register(quickJob());
    const done = await runtime.launcher.run(runtime.registry.get('quick'), {});
    const wait = gate();
    const running = await startBlocked(runtime, wait.promise);
    const app = createDashboard({ runtime });
    expect(await api(app, `/api/executions/${done.id}/restart`, post())).toMatchObject({ status: 409, body: { error: { code: 'JOB_INSTANCE_ALREADY_COMPLETE' } } });
    expect(await api(app, `/api/executions/${running}/restart`, post())).toMatchObject({ status: 409, body: { error: { code: 'JOB_EXECUTION_ALREADY_RUNNING' } } });
  });
});

describe('POST /api/executions/:id/abandon', () => {
  it('abandons a FAILED execution; a second abandon and a running execution get 409 ILLEGAL_STATUS_TRANSITION', async () => {
    const runtime = await openRuntime();
    const failed = await runtime.launcher.run(failingJob({ fail: true }), {});
    const app = createDashboard({ runtime });
    expect(await api<ActionBody>(app, `/api/executions/${failed.id}/abandon`, post())).toMatchObject({ status: 200, body: { execution: { id: failed.id, status: 'ABANDONED' } } });
    expect(await api(app, `/api/executions/${failed.id}/abandon`, post())).toMatchObject({ status: 409, body: { error: { code: 'ILLEGAL_STATUS_TRANSITION' } } });
    const wait = gate();
    const running = await startBlocked(runtime, wait.promise);
    expect(await api(app, `/api/executions/${running}/abandon`, post())).toMatchObject({ status: 409, body: { error: { code: 'ILLEGAL_STATUS_TRANSITION' } } });
  });
});

/** Stores an execution STARTED by a process that is gone (a pid that does not exist on this host). */
async function storeOrphan(path: string): Promise<number> {
  const repository = openLmdbJobRepository(path);
  try {
    const owner = { host: hostname(), pid: 2 ** 22 + 12345, token: 'gone-runtime', processStart: null };
    const execution = await repository.createJobExecution({ jobName: 'orphaned', parameters: JobParameters.of({ run: 1 }), restartable: true, owner });
    execution.status = 'STARTED';
    execution.startTime = new Date();
    await repository.updateJobExecution(execution);
    return execution.id;
  } finally {
    await repository.close();
  }
}

describe('POST /api/executions/:id/recover', () => {
  it('marks an execution whose process is gone FAILED (it was flagged recoverable)', async () => {
    const path = join(tempDir(), 'store');
    const id = await storeOrphan(path);
    const runtime = await openRuntime(path);
    const app = createDashboard({ runtime });
    expect((await api(app, `/api/executions/${id}`)).body).toMatchObject({ status: 'STARTED', recoverable: true, stoppable: true, runningHere: false });
    const { status, body } = await api<ActionBody>(app, `/api/executions/${id}/recover`, post());
    expect(status).toBe(200);
    expect(body.execution).toMatchObject({ id, status: 'FAILED' });
    expect((await api(app, `/api/executions/${id}`)).body).toMatchObject({ recoverable: false, abandonable: true, exitDescription: expect.stringContaining('Recovered') });
  });

  it('answers 409 JOB_EXECUTION_ALREADY_RUNNING for an execution this runtime runs', async () => {
    const runtime = await openRuntime();
    const wait = gate();
    const running = await startBlocked(runtime, wait.promise);
    const { status, body } = await api(createDashboard({ runtime }), `/api/executions/${running}/recover`, post());
    expect(status).toBe(409);
    expect(body).toMatchObject({ error: { code: 'JOB_EXECUTION_ALREADY_RUNNING' } });
  });
});

describe('read-only mode', () => {
  it('refuses every action with 403 READ_ONLY and changes nothing', async () => {
    const runtime = await openRuntime();
    const wait = gate();
    const running = await startBlocked(runtime, wait.promise);
    const app = createDashboard({ runtime, readOnly: true });
    for (const action of ['stop', 'restart', 'abandon', 'recover']) {
      const { status, body } = await api(app, `/api/executions/${running}/${action}`, post());
      expect(status, action).toBe(403);
      expect(body, action).toEqual({ error: { code: 'READ_ONLY', message: expect.stringContaining('read-only') } });
    }
    expect(await api(app, '/api/instances/some-id/cancel', post())).toMatchObject({ status: 403, body: { error: { code: 'READ_ONLY' } } });
    // Page forms too, as an HTML page.
    const form = await page(app, `/executions/${running}/stop`, post());
    expect(form.status).toBe(403);
    expect(form.html).toContain('role="alert"');
    expect((await runtime.explorer.getJobExecution(running))!.status).toBe('STARTED');
    expect((await api(app, '/api/health')).body).toMatchObject({ readOnly: true });
  });
});

describe('auth hook', () => {
  it('answers 401 UNAUTHORIZED to every route when the hook refuses, and lets accepted requests through', async () => {
    const runtime = await openRuntime();
    const seen: string[] = [];
    const app = createDashboard({
      runtime,
      auth: async (request) => {
        seen.push(new URL(request.url).pathname);
        return request.headers.get('x-token') === 'secret';
      },
    });
    for (const path of ['/api/health', '/api/executions', '/api/events']) {
      expect(await api(app, path), path).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHORIZED' } } });
    }
    expect((await app.request('/assets/dashboard.js')).status).toBe(401);
    const refusedPage = await page(app, '/');
    expect(refusedPage.status).toBe(401);
    expect(refusedPage.html).toContain('Unauthorized');
    expect((await api(app, '/api/executions/1/stop', post())).status).toBe(401);
    expect((await api(app, '/api/health', { headers: { 'x-token': 'secret' } })).status).toBe(200);
    expect(seen).toContain('/api/events');
  });

  it('sends a Response the hook returns as it is (basicAuth challenges the browser)', async () => {
    const runtime = await openRuntime();
    const app = createDashboard({ runtime, auth: basicAuth({ username: 'ops', password: 'p4ss' }) });
    const refused = await app.request('/');
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Basic realm="tsbatch", charset="UTF-8"');
    const wrong = await app.request('/api/health', { headers: { authorization: `Basic ${Buffer.from('ops:nope').toString('base64')}` } });
    expect(wrong.status).toBe(401);
    const right = await app.request('/api/health', { headers: { authorization: `Basic ${Buffer.from('ops:p4ss').toString('base64')}` } });
    expect(right.status).toBe(200);
  });
});

describe('cross-site requests', () => {
  it('refuses actions a page of another site sends (Sec-Fetch-Site or Origin), and lets same-origin ones act', async () => {
    const runtime: BatchRuntime = await openRuntime();
    const wait = gate();
    const running = await startBlocked(runtime, wait.promise);
    const app = createDashboard({ runtime });
    const url = `http://localhost/api/executions/${running}/stop`;
    const crossSite = await api(app, url, post({ 'sec-fetch-site': 'cross-site' }));
    expect(crossSite).toMatchObject({ status: 403, body: { error: { code: 'CROSS_SITE_REQUEST' } } });
    expect((await api(app, url, post({ origin: 'http://evil.example' }))).status).toBe(403);
    expect((await runtime.explorer.getJobExecution(running))!.status).toBe('STARTED');
    expect((await api(app, url, post({ 'sec-fetch-site': 'same-origin', origin: 'http://localhost' }))).status).toBe(200);
    await until('STOPPING', async () => (await runtime.explorer.getJobExecution(running))!.status === 'STOPPING');
  });
});
