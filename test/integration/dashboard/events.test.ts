/**
 * Live updates (issue #9): the SSE stream at /api/events (first events, changes polled from the
 * store, work-chunk progress, heartbeats, ids, retry, clean-up on abort and on runtime close), a
 * second runtime writing to the same LMDB store, and /api/snapshot for pages that poll.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDashboard, type ExecutionEventData, type InstanceEventData, type LiveEvent, type ProgressEventData } from '../../../src/dashboard/index.js';
import { api, cleanUp, dataOf, exportDefinition, failingJob, gate, openRuntime, quickJob, readSse, startBlocked, tempDir, until, type SseEvent } from './harness.js';

afterEach(cleanUp);

const ofType = (events: SseEvent[], type: string) => events.filter((e) => e.event === type);
const connected = (events: SseEvent[]) => events.some((e) => e.comments.includes('tsbatch live events'));

describe('GET /api/events', () => {
  it('starts with retry: 3000 and the running executions as execution and progress events with increasing ids', async () => {
    const runtime = await openRuntime();
    const wait = gate();
    const running = await startBlocked(runtime, wait.promise);
    const app = createDashboard({ runtime, pollIntervalMs: 50 });
    const response = await app.request('/api/events');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    const { text, events } = await readSse(response, (e) => ofType(e, 'progress').length > 0);
    expect(text.startsWith(': tsbatch live events\nretry: 3000\n\n')).toBe(true);
    const [execution] = ofType(events, 'execution');
    const [progress] = ofType(events, 'progress');
    expect(dataOf<ExecutionEventData>(execution!)).toMatchObject({
      id: running,
      jobName: 'blocking',
      status: 'STARTED',
      stoppable: true,
      text: { status: 'STARTED', exitCode: 'UNKNOWN', duration: expect.stringMatching(/\d/) },
    });
    const progressData = dataOf<ProgressEventData>(progress!);
    expect(progressData).toMatchObject({ executionId: running, stepName: 'load', readCount: 4, writeCount: 4, percentageComplete: null, text: { readCount: '4', percent: '-' } });
    expect(progressData.steps[0]).toMatchObject({ stepName: 'load', commitCount: 2, text: { commitCount: '2', status: 'STARTED' } });
    expect(Number(progress!.id)).toBeGreaterThan(Number(execution!.id));

    // Reading stopped: the subscription goes, and the store is no longer polled.
    await until('no listener', async () => (await api(app, '/api/health')).body['listeners'] === 0);
  });

  it('pushes executions another caller starts and ends, read from the store', async () => {
    const runtime = await openRuntime();
    const app = createDashboard({ runtime, pollIntervalMs: 20 });
    const response = await app.request('/api/events');
    let launched: number | undefined;
    const reading = readSse(response, (events) => {
      if (connected(events) && launched === undefined) {
        launched = -1;
        void runtime.launcher.run(quickJob(), { run: 1 }).then((e) => (launched = e.id));
      }
      return ofType(events, 'progress').some((e) => dataOf<ProgressEventData>(e).status === 'COMPLETED');
    });
    const { events } = await reading;
    const completed = ofType(events, 'execution').map((e) => dataOf<ExecutionEventData>(e)).find((e) => e.status === 'COMPLETED')!;
    expect(completed).toMatchObject({ jobName: 'quick', readCount: 25, text: { status: 'COMPLETED' } });
    const progress = ofType(events, 'progress').map((e) => dataOf<ProgressEventData>(e)).find((p) => p.executionId === completed.id && p.status === 'COMPLETED')!;
    expect(progress.steps.map((s) => s.stepName)).toEqual(['load', 'report']);
  });

  it('pushes a stop and the end of a running execution', async () => {
    const runtime = await openRuntime();
    const wait = gate();
    const running = await startBlocked(runtime, wait.promise);
    const app = createDashboard({ runtime, pollIntervalMs: 20 });
    let acted = false;
    const { events } = await readSse(await app.request(`/api/events?watch=execution:${running}`), (seen) => {
      if (connected(seen) && ofType(seen, 'progress').length > 0 && !acted) {
        acted = true;
        void Promise.resolve(app.request(`/api/executions/${running}/stop`, { method: 'POST' })).then(() => wait.release());
      }
      return ofType(seen, 'execution').some((e) => dataOf<ExecutionEventData>(e).status === 'STOPPED');
    });
    const statuses = ofType(events, 'execution').map((e) => dataOf<ExecutionEventData>(e).status);
    expect(statuses[0]).toBe('STARTED');
    expect(statuses.at(-1)).toBe('STOPPED');
    const stopped = ofType(events, 'execution').map((e) => dataOf<ExecutionEventData>(e)).at(-1)!;
    expect(stopped).toMatchObject({ restartable: true, abandonable: true, stoppable: false, text: { status: 'STOPPED', exitCode: 'STOPPED' } });
  });

  it("reads this runtime's executions when they start and end, even a quick restart of an old instance between two polls", async () => {
    const runtime = await openRuntime();
    const control = { fail: true };
    runtime.registry.register(failingJob(control));
    const old = await runtime.launcher.run(runtime.registry.get('failing'), { run: 1 });
    control.fail = false;
    await runtime.launcher.run(runtime.registry.get('failing'), { run: 2 });
    const app = createDashboard({ runtime, pollIntervalMs: 60_000 });
    let restarted: Promise<number> | undefined;
    const { events } = await readSse(await app.request('/api/events'), (seen) => {
      if (connected(seen)) restarted ??= runtime.operator.restart(old.id);
      return ofType(seen, 'execution').some((e) => dataOf<ExecutionEventData>(e).status === 'COMPLETED');
    });
    const id = await restarted!;
    expect(ofType(events, 'execution').map((e) => dataOf<ExecutionEventData>(e)).find((e) => e.status === 'COMPLETED')).toMatchObject({ id, jobInstanceId: old.jobInstance.id });
  });

  it('sees what another runtime on the same LMDB store runs', async () => {
    const path = join(tempDir(), 'store');
    const dashboardRuntime = await openRuntime(path);
    const worker = await openRuntime(path);
    const app = createDashboard({ runtime: dashboardRuntime, pollIntervalMs: 20 });
    const wait = gate();
    let started: Promise<number> | undefined;
    const { events } = await readSse(await app.request('/api/events'), (seen) => {
      if (connected(seen)) started ??= startBlocked(worker, wait.promise, 'elsewhere');
      return ofType(seen, 'progress').some((e) => dataOf<ProgressEventData>(e).readCount === 4);
    });
    const id = await started!;
    expect(ofType(events, 'execution').map((e) => dataOf<ExecutionEventData>(e))).toContainEqual(expect.objectContaining({ id, jobName: 'elsewhere', status: 'STARTED' }));
    // The dashboard's runtime does not run it: it may not restart it, and Stop goes through the store.
    expect((await api(app, `/api/executions/${id}`)).body).toMatchObject({ runningHere: false, stoppable: true, recoverable: false });
  });

  it('pushes work-chunk instance progress until the end', async () => {
    const runtime = await openRuntime();
    const open = gate();
    open.release();
    runtime.workChunks.register(exportDefinition(open.promise));
    const app = createDashboard({ runtime, pollIntervalMs: 1000 });
    let instance: Promise<string> | undefined;
    const { events } = await readSse(await app.request('/api/events'), (seen) => {
      if (connected(seen)) instance ??= runtime.workChunks.start('export', { parts: 3 });
      return ofType(seen, 'instance').some((e) => dataOf<InstanceEventData>(e).status === 'COMPLETED');
    });
    const id = await instance!;
    const updates = ofType(events, 'instance').map((e) => dataOf<InstanceEventData>(e));
    expect(updates.every((u) => u.id === id)).toBe(true);
    expect(updates.at(-1)).toMatchObject({ status: 'COMPLETED', progress: 1, completedChunks: 4, recordsProcessed: 30, text: { status: 'COMPLETED', progress: '100.0%', chunks: '4 / 4' } });
  });

  it('sends heartbeat comments while nothing changes', async () => {
    const runtime = await openRuntime();
    const app = createDashboard({ runtime, heartbeatMs: 30 });
    const { events } = await readSse(await app.request('/api/events'), (seen) => seen.filter((e) => e.comments.some((c) => c.startsWith('heartbeat '))).length >= 2);
    expect(events.filter((e) => e.event !== undefined)).toEqual([]);
  });

  it('ends the stream when the runtime closes', async () => {
    const runtime = await openRuntime();
    const app = createDashboard({ runtime, pollIntervalMs: 20 });
    const response = await app.request('/api/events');
    const reader = response.body!.getReader();
    await reader.read();
    await runtime.close();
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
    }
  });
});

describe('GET /api/snapshot', () => {
  it('gives the running executions, the active instances and the watched ones as events', async () => {
    const runtime = await openRuntime();
    const done = await runtime.launcher.run(quickJob(), {});
    const wait = gate();
    const running = await startBlocked(runtime, wait.promise);
    runtime.workChunks.register(exportDefinition(wait.promise));
    const instance = await runtime.workChunks.start('export', { parts: 2 });
    const app = createDashboard({ runtime });
    const snapshot = async (watch: string) => (await api<{ events: LiveEvent[] }>(app, `/api/snapshot?watch=${encodeURIComponent(watch)}`)).body.events;
    const plain = await snapshot('');
    expect(plain.filter((e) => e.type === 'execution').map((e) => e.data)).toEqual([expect.objectContaining({ id: running, status: 'STARTED' })]);
    expect(plain.filter((e) => e.type === 'progress')).toHaveLength(1);
    expect(plain.filter((e) => e.type === 'instance').map((e) => e.data)).toEqual([expect.objectContaining({ id: instance })]);
    const watched = await snapshot(`execution:${done.id},execution:999,instance:nope,bogus,execution:x`);
    expect(watched.filter((e) => e.type === 'execution').map((e) => e.data)).toEqual([
      expect.objectContaining({ id: running }),
      expect.objectContaining({ id: done.id, status: 'COMPLETED' }),
    ]);
  });
});
