/**
 * The dashboard's read-only JSON API (issue #9): health, jobs, executions (filters, paging, bad
 * values), one execution with its steps and action flags, step progress, and the error shape.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createDashboard, type ExecutionDetailJson, type ExecutionJson, type JobJson, type StepProgressJson } from '../../../src/dashboard/index.js';
import { api, blockingJob, cleanUp, failingJob, gate, openRuntime, quickJob, startBlocked } from './harness.js';

afterEach(cleanUp);

interface ListBody {
  page: number;
  size: number;
  total: number;
  executions: ExecutionJson[];
}

describe('GET /api/health and /api/jobs', () => {
  it('reports the runtime, running executions and listeners', async () => {
    const runtime = await openRuntime();
    const app = createDashboard({ runtime });
    const health = await api(app, '/api/health');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', runtime: 'OPEN', readOnly: false, runningExecutions: 0, activeInstances: 0, listeners: 0 });
    await runtime.close();
    expect((await api(app, '/api/health')).body).toMatchObject({ status: 'unavailable', runtime: 'CLOSED' });
  });

  it('lists stored and registered jobs with their last execution and running count', async () => {
    const runtime = await openRuntime();
    const stopper = gate();
    await runtime.launcher.run(quickJob(), { run: 1 });
    const last = await runtime.launcher.run(quickJob(), { run: 2 });
    runtime.registry.register(failingJob({ fail: true }));
    await startBlocked(runtime, stopper.promise);
    const { status, body } = await api<{ jobs: JobJson[] }>(createDashboard({ runtime }), '/api/jobs');
    expect(status).toBe(200);
    expect(body.jobs.map((j) => j.name)).toEqual(['blocking', 'failing', 'quick']);
    const quick = body.jobs.find((j) => j.name === 'quick')!;
    expect(quick).toMatchObject({ registered: false, stored: true, running: 0, lastExecution: { id: last.id, status: 'COMPLETED' } });
    expect(body.jobs.find((j) => j.name === 'failing')).toMatchObject({ registered: true, stored: false, lastExecution: null });
    expect(body.jobs.find((j) => j.name === 'blocking')).toMatchObject({ registered: true, stored: true, running: 1 });
  });
});

describe('GET /api/executions', () => {
  it('lists executions newest first, thin, with summed counts, paged', async () => {
    const runtime = await openRuntime();
    const ids: number[] = [];
    for (let run = 1; run <= 5; run++) ids.push((await runtime.launcher.run(quickJob(), { run })).id);
    const app = createDashboard({ runtime });
    const first = await api<ListBody>(app, '/api/executions?size=2');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ page: 1, size: 2, total: 5 });
    expect(first.body.executions.map((e) => e.id)).toEqual([ids[4], ids[3]]);
    expect(first.body.executions[0]).toMatchObject({ jobName: 'quick', status: 'COMPLETED', exitCode: 'COMPLETED', stepCount: 2, readCount: 25, writeCount: 25, skipCount: 0 });
    expect(first.body.executions[0]).not.toHaveProperty('steps');
    const third = await api<ListBody>(app, '/api/executions?size=2&page=3');
    expect(third.body.executions.map((e) => e.id)).toEqual([ids[0]]);
    expect((await api<ListBody>(app, '/api/executions?size=2&page=4')).body.executions).toEqual([]);
  });

  it('filters by job, status (any case) and start time', async () => {
    const runtime = await openRuntime();
    const control = { fail: true };
    const failed = await runtime.launcher.run(failingJob(control), {});
    const done = await runtime.launcher.run(quickJob(), { run: 1 });
    const app = createDashboard({ runtime });
    const ids = async (query: string) => (await api<ListBody>(app, `/api/executions${query}`)).body.executions.map((e) => e.id);
    expect(await ids('?job=failing')).toEqual([failed.id]);
    expect(await ids('?status=completed')).toEqual([done.id]);
    expect(await ids('?job=quick&status=FAILED')).toEqual([]);
    expect(await ids('?job=nothing-like-it')).toEqual([]);
    const start = done.startTime!;
    expect(await ids(`?from=${encodeURIComponent(new Date(start.getTime() - 1).toISOString())}`)).toEqual([done.id]);
    expect(await ids(`?to=${encodeURIComponent(new Date(start.getTime() - 1).toISOString())}`)).toEqual([failed.id]);
    const day = start.toISOString().slice(0, 10);
    expect(await ids(`?from=${day}&to=${day}`)).toEqual([done.id, failed.id]);
    // A datetime-local value (no zone) is read as UTC, like every time the pages show.
    expect(await ids(`?from=${start.toISOString().slice(0, 16)}`)).toEqual(expect.arrayContaining([done.id]));
  });

  it.each([
    ['status=RUNNING', /Unknown status 'RUNNING'/],
    ['page=0', /'page' must be a whole number/],
    ['size=1000', /'size' must be a whole number from 1 to 200/],
    ['from=yesterday', /'from' must be a date/],
    ['to=2024-13-45', /'to' must be a date/],
  ])('answers 400 INVALID_QUERY to %s', async (query, message) => {
    const runtime = await openRuntime();
    const { status, body } = await api(createDashboard({ runtime }), `/api/executions?${query}`);
    expect(status).toBe(400);
    expect(body).toEqual({ error: { code: 'INVALID_QUERY', message: expect.stringMatching(message) } });
  });
});

describe('GET /api/executions/:id', () => {
  it('gives parameters, status, exit status, steps with every count, and the actions the state allows', async () => {
    const runtime = await openRuntime();
    const control = { fail: true };
    runtime.registry.register(failingJob(control));
    const failed = await runtime.launcher.run(runtime.registry.get('failing'), { file: 'in.csv', 'run.date': new Date('2024-01-31T00:00:00Z') });
    const app = createDashboard({ runtime });
    const { status, body } = await api<ExecutionDetailJson>(app, `/api/executions/${failed.id}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      id: failed.id,
      jobName: 'failing',
      status: 'FAILED',
      exitCode: 'FAILED',
      exitDescription: expect.stringContaining('boom at item 7'),
      parameters: {
        file: { value: 'in.csv', type: 'string', identifying: true },
        'run.date': { value: '2024-01-31T00:00:00.000Z', type: 'date', identifying: true },
      },
      stoppable: false,
      restartable: true,
      abandonable: true,
      recoverable: false,
      jobRegistered: true,
      runningHere: false,
      instanceExecutionIds: [failed.id],
      owner: { pid: process.pid },
    });
    expect(body.steps).toHaveLength(1);
    expect(body.steps[0]).toMatchObject({
      stepName: 'load',
      status: 'FAILED',
      readCount: 10,
      writeCount: 5,
      commitCount: 1,
      rollbackCount: 1,
      filterCount: 0,
      readSkipCount: 0,
      processSkipCount: 0,
      writeSkipCount: 0,
      exitDescription: expect.stringMatching(/Error: boom at item 7\n\s+at /),
      executionContext: expect.any(Object),
    });
    expect(body.durationMs).toBeGreaterThanOrEqual(0);

    const steps = await api<{ steps: unknown[] }>(app, `/api/executions/${failed.id}/steps`);
    expect(steps.body.steps).toEqual(body.steps);
    const one = await api(app, `/api/executions/${failed.id}/steps/${body.steps[0]!.id}`);
    expect(one.body).toEqual(body.steps[0]);
  });

  it('flags a running execution stoppable, and an older execution of a restarted instance not restartable', async () => {
    const runtime = await openRuntime();
    const wait = gate();
    const running = await startBlocked(runtime, wait.promise);
    const app = createDashboard({ runtime });
    expect((await api(app, `/api/executions/${running}`)).body).toMatchObject({
      status: 'STARTED',
      stoppable: true,
      restartable: false,
      abandonable: false,
      // This runtime runs it: recovering it would take it from under itself.
      recoverable: false,
      runningHere: true,
    });

    const control = { fail: true };
    runtime.registry.register(failingJob(control));
    const first = await runtime.launcher.run(runtime.registry.get('failing'), {});
    const second = await runtime.launcher.run(runtime.registry.get('failing'), {});
    expect((await api(app, `/api/executions/${first.id}`)).body).toMatchObject({ restartable: false, abandonable: true, instanceExecutionIds: [second.id, first.id] });
    expect((await api(app, `/api/executions/${second.id}`)).body).toMatchObject({ restartable: true });
  });

  it('answers 404 NO_SUCH_JOB_EXECUTION for unknown and malformed ids, and 404 for an unknown step', async () => {
    const runtime = await openRuntime();
    const done = await runtime.launcher.run(quickJob(), {});
    const app = createDashboard({ runtime });
    for (const path of ['/api/executions/999', '/api/executions/abc', '/api/executions/999/steps', '/api/executions/-1/steps/1/progress']) {
      const { status, body } = await api(app, path);
      expect(status, path).toBe(404);
      expect(body, path).toEqual({ error: { code: 'NO_SUCH_JOB_EXECUTION', message: expect.stringContaining('No job execution with id') } });
    }
    for (const path of [`/api/executions/${done.id}/steps/999`, `/api/executions/${done.id}/steps/x/progress`]) {
      const { status, body } = await api(app, path);
      expect(status, path).toBe(404);
      expect(body, path).toMatchObject({ error: { code: 'NO_SUCH_STEP_EXECUTION' } });
    }
    expect(await api(app, '/api/nothing')).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
  });
});

describe('GET /api/executions/:id/steps/:stepId/progress', () => {
  it('estimates a running step from the read counts of earlier completed runs, and says so', async () => {
    const runtime = await openRuntime();
    // An earlier run of the same job and step completed after reading 10 items.
    const open = gate();
    open.release();
    expect((await runtime.launcher.run(blockingJob(open.promise), { run: 0 })).status).toBe('COMPLETED');
    const wait = gate();
    const running = await startBlocked(runtime, wait.promise);
    const execution = (await runtime.explorer.getJobExecution(running))!;
    const app = createDashboard({ runtime });
    const { status, body } = await api<StepProgressJson>(app, `/api/executions/${running}/steps/${execution.stepExecutions[0]!.id}/progress`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      stepName: 'load',
      status: 'STARTED',
      finished: false,
      basis: 'read-count',
      readCount: 4,
      percentageComplete: 0.4,
      history: { count: 1, readCount: { min: 10, max: 10, mean: 10, stddev: 0 } },
      message: expect.stringContaining('40.0%'),
    });
    // Rate from the items read so far over the step's time; time left from 40 % in that time: 1.5x it.
    expect(body.itemsPerSecond).toBeCloseTo((4 * 1000) / body.durationMs!, 6);
    expect(body.estimatedTimeRemainingMs).toBe(Math.round((body.durationMs! * 0.6) / 0.4));
    const page = await (await app.request('/')).text();
    expect(page).toMatch(/<td class="num" data-field="rate">[\d,]+ items\/s<\/td>/);
    expect(page).toMatch(/<td class="num" data-field="eta">[\d.ms ]+<\/td>/);
    const detail = await (await app.request(`/executions/${running}`)).text();
    expect(detail).toMatch(/<dt>Rate<\/dt><dd data-field="rate">[\d,]+ items\/s<\/dd>/);
    expect(detail).toMatch(/<dt>ETA<\/dt><dd data-field="eta">[\d.ms ]+<\/dd>/);
    wait.release();
    await runtime.operator.waitFor(running);
    const finished = await api<StepProgressJson>(app, `/api/executions/${running}/steps/${execution.stepExecutions[0]!.id}/progress`);
    expect(finished.body).toMatchObject({ finished: true, percentageComplete: 1, basis: 'finished', estimatedTimeRemainingMs: null });
  });

  it('has no estimate without history', async () => {
    const runtime = await openRuntime();
    const wait = gate();
    const running = await startBlocked(runtime, wait.promise);
    const stepId = (await runtime.explorer.getJobExecution(running))!.stepExecutions[0]!.id;
    const { body } = await api<StepProgressJson>(createDashboard({ runtime }), `/api/executions/${running}/steps/${stepId}/progress`);
    expect(body).toMatchObject({ percentageComplete: null, basis: 'no-history', estimatedTimeRemainingMs: null, history: { count: 0, readCount: null } });
  });
});
