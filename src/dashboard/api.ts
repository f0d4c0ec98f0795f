import type { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { cancelInstance, isExecutionAction, runExecutionAction } from './actions.js';
import type { DashboardContext } from './context.js';
import { HttpError, notFound } from './http-error.js';
import { chunkJson, executionJson, instanceJson } from './model.js';
import { batchStatus, chunkStatus, date, instanceStatus, integer, parseExecutionId, text } from './query.js';

function executionIdOf(value: string): number {
  const id = parseExecutionId(value);
  if (id === undefined) throw new HttpError(404, 'NO_SUCH_JOB_EXECUTION', `No job execution with id '${value}' exists in this repository.`);
  return id;
}

/** The JSON API under `/api` (see README.md, "Dashboard", for the table). */
export function registerApi(app: Hono, ctx: DashboardContext): void {
  const { data, hub, options } = ctx;
  const { runtime } = options;

  app.get('/api/health', async (c) => {
    if (runtime.state !== 'OPEN') return c.json({ status: 'unavailable', runtime: runtime.state }, 503);
    const running = await data.runningExecutions();
    const instances = await runtime.workChunks.list({ status: ['QUEUED', 'IN_PROGRESS', 'ERRORED', 'FINALIZE'], limit: 1000 });
    return c.json({
      status: 'ok',
      runtime: runtime.state,
      readOnly: options.readOnly,
      runningExecutions: running.length,
      activeInstances: instances.length,
      listeners: hub.listeners,
      time: new Date().toISOString(),
    });
  });

  app.get('/api/jobs', async (c) => c.json({ jobs: await data.jobs() }));

  app.get('/api/executions', async (c) => {
    const query = c.req.query();
    const page = integer(query, 'page', 1, 1, 1_000_000);
    const size = integer(query, 'size', 20, 1, 200);
    const filter = { job: text(query, 'job'), status: batchStatus(query), from: date(query, 'from'), to: date(query, 'to') };
    const { total, executions } = await data.listExecutions(filter, page, size);
    const now = Date.now();
    return c.json({ page, size, total, executions: executions.map((e) => executionJson(e, now)) });
  });

  app.get('/api/executions/:id', async (c) => {
    const execution = await data.execution(executionIdOf(c.req.param('id')));
    return c.json(await data.detail(execution));
  });

  app.get('/api/executions/:id/steps', async (c) => {
    const execution = await data.execution(executionIdOf(c.req.param('id')));
    return c.json({ steps: (await data.detail(execution)).steps });
  });

  app.get('/api/executions/:id/steps/:stepId', async (c) => {
    const execution = await data.execution(executionIdOf(c.req.param('id')));
    const step = data.step(execution, c.req.param('stepId'));
    return c.json((await data.detail(execution)).steps.find((s) => s.id === step.id));
  });

  app.get('/api/executions/:id/steps/:stepId/progress', async (c) => {
    const execution = await data.execution(executionIdOf(c.req.param('id')));
    return c.json(await data.stepProgress(data.step(execution, c.req.param('stepId'))));
  });

  app.post('/api/executions/:id/:action', async (c) => {
    const action = c.req.param('action');
    if (!isExecutionAction(action)) throw notFound(`The action '${action}'`);
    const result = await runExecutionAction(data, action, executionIdOf(c.req.param('id')));
    hub.poke();
    if (result.status === 202) c.header('Location', `${options.basePath}/api/executions/${result.executionId}`);
    return c.json(result.body, result.status);
  });

  app.get('/api/instances', async (c) => {
    const query = c.req.query();
    const page = integer(query, 'page', 1, 1, 100_000);
    const size = integer(query, 'size', 50, 1, 500);
    const definitionId = text(query, 'definition');
    const status = instanceStatus(query);
    const instances = await runtime.workChunks.list({
      ...(definitionId !== undefined ? { definitionId } : {}),
      ...(status !== undefined ? { status } : {}),
      limit: page * size,
    });
    return c.json({ page, size, instances: instances.slice((page - 1) * size).map(instanceJson) });
  });

  app.get('/api/instances/:id', async (c) => c.json(instanceJson(await data.instance(c.req.param('id')))));

  app.get('/api/instances/:id/chunks', async (c) => {
    const query = c.req.query();
    const id = c.req.param('id');
    await data.instance(id);
    const status = chunkStatus(query);
    const stepId = text(query, 'step');
    const limit = integer(query, 'limit', 100, 1, 10_000);
    const chunks = await runtime.workChunks.chunks(id, { ...(status ? { status } : {}), ...(stepId !== undefined ? { stepId } : {}), limit });
    return c.json({ chunks: chunks.map(chunkJson) });
  });

  app.post('/api/instances/:id/cancel', async (c) => {
    const result = await cancelInstance(data, c.req.param('id'));
    hub.poke();
    return c.json(result);
  });

  /** What the SSE stream sends first, for pages that poll instead (EventSource unavailable). */
  app.get('/api/snapshot', async (c) => {
    const events = await hub.snapshot(c.req.query('watch'));
    return c.json({ events: events.map((event) => ({ type: event.type, data: event.data })) });
  });

  app.get('/api/events', (c) => {
    const watch = c.req.query('watch');
    return streamSSE(c, async (stream) => {
      const subscription = hub.subscribe();
      stream.onAbort(() => subscription.close());
      try {
        await hub.ready;
        await stream.write(': tsbatch live events\nretry: 3000\n\n');
        for (const event of await hub.snapshot(watch)) {
          const { seq } = hub.sequence(event);
          await stream.writeSSE({ event: event.type, id: String(seq), data: JSON.stringify(event.data) });
        }
        for (;;) {
          const batch = await subscription.next(options.heartbeatMs);
          if (batch === null || stream.aborted) break;
          if (batch.length === 0) await stream.write(`: heartbeat ${new Date().toISOString()}\n\n`);
          for (const { seq, event } of batch) await stream.writeSSE({ event: event.type, id: String(seq), data: JSON.stringify(event.data) });
        }
      } catch {
        // The store closed or the client left: end the stream; the browser reconnects or falls back to polling.
      } finally {
        subscription.close();
      }
    });
  });
}
