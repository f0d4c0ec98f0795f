import type { Context, Hono } from 'hono';
import type { StepProgressJson } from '../model.js';
import { cancelInstance, isExecutionAction, runExecutionAction, type ExecutionAction } from '../actions.js';
import type { DashboardContext } from '../context.js';
import { html, type Html } from '../html.js';
import { HttpError, invalidQuery, notFound, toErrorResponse } from '../http-error.js';
import { progressEvent } from '../live-events.js';
import { ACTIVE_INSTANCE_STATUSES, chunkJson, executionJson, instanceJson } from '../model.js';
import type { ResolvedDashboardOptions } from '../options.js';
import { batchStatus, chunkStatus, date, instanceStatus, integer, parseExecutionId, text } from '../query.js';
import { executionPage, executionsPage } from './executions.js';
import { instancePage, instancesPage } from './instances.js';
import { href, layout, notice, type Section } from './layout.js';
import { overviewPage, type RunningRow } from './overview.js';

const PAGE_SIZE = 25;

/** The one-line messages after an action (the redirect names one; nothing else is echoed). */
const NOTICES: Readonly<Record<string, (id: string, from: string | undefined) => string>> = {
  'stop-requested': (id) => `Stop requested: execution ${id} stops at its next chunk boundary.`,
  restarted: (id, from) => `Restarted${from ? ` execution ${from}` : ''} as execution ${id}.`,
  abandoned: (id) => `Execution ${id} was abandoned.`,
  recovered: (id) => `Execution ${id} was recovered: it is FAILED now and can be restarted.`,
  cancelled: () => 'The instance was cancelled: no new chunk of it starts; running chunks finish.',
};

const DONE_NOTICE: Record<ExecutionAction, string> = { stop: 'stop-requested', restart: 'restarted', abandon: 'abandoned', recover: 'recovered' };

function noticeFor(c: Context, id: string): Html | '' {
  const key = c.req.query('notice');
  const from = c.req.query('from');
  const message = key ? NOTICES[key] : undefined;
  return message ? notice(message(id, from && /^\d+$/.test(from) ? from : undefined)) : '';
}

function executionId(value: string): number {
  const id = parseExecutionId(value);
  if (id === undefined) throw new HttpError(404, 'NO_SUCH_JOB_EXECUTION', `No job execution with id '${value}' exists in this repository.`);
  return id;
}

/** An error as a page: the status, the code and message in a `role=alert`, and a way back. */
export function errorPage(options: ResolvedDashboardOptions, error: unknown, title = 'Error'): { status: number; page: Html } {
  const { status, body } = toErrorResponse(error);
  const page = layout(options, {
    title,
    section: undefined,
    body: html`<h1>${title}</h1>
<div class="notice notice-alert" role="alert"><p><strong>${body.error.code}</strong>: ${body.error.message}</p></div>
<p><a href="${href(options, '/')}">Back to the overview</a></p>`,
  });
  return { status, page };
}

function send(c: Context, page: Html, status = 200): Response {
  return c.html(page.value, status as 200);
}

/** The server-rendered pages and the POST forms behind their buttons. */
export function registerPages(app: Hono, ctx: DashboardContext): void {
  const { data, hub, options } = ctx;
  const { runtime } = options;
  const page = (c: Context, title: string, section: Section | undefined, body: Html | string, status = 200) =>
    send(c, layout(options, { title, section, body }), status);

  app.get('/', async (c) => {
    const now = Date.now();
    const running: RunningRow[] = [];
    for (const execution of await data.runningExecutions()) {
      const progress = await progressEvent(data, execution, now);
      if (progress.type === 'progress') running.push({ execution: executionJson(execution, now), progress: progress.data });
    }
    const instances = (await runtime.workChunks.list({ status: ACTIVE_INSTANCE_STATUSES, limit: 50 })).map(instanceJson);
    return page(c, 'Overview', 'overview', overviewPage(options, running, instances, await data.jobs()));
  });

  app.get('/executions', async (c) => {
    const query = c.req.query();
    const pageNumber = integer(query, 'page', 1, 1, 1_000_000);
    const filter = { job: text(query, 'job'), status: batchStatus(query), from: date(query, 'from'), to: date(query, 'to') };
    const { total, executions } = await data.listExecutions(filter, pageNumber, PAGE_SIZE);
    const now = Date.now();
    return page(
      c,
      'Executions',
      'executions',
      executionsPage(options, {
        filter,
        jobNames: await data.jobNames(),
        page: pageNumber,
        size: PAGE_SIZE,
        total,
        executions: executions.map((e) => executionJson(e, now)),
      }),
    );
  });

  app.get('/executions/go', (c) => {
    const value = c.req.query('id')?.trim() ?? '';
    if (!/^\d{1,15}$/.test(value)) throw invalidQuery(`An execution id is a whole number; got '${value}'.`);
    return c.redirect(href(options, `/executions/${value}`), 303);
  });

  app.get('/executions/:id', async (c) => {
    const execution = await data.execution(executionId(c.req.param('id')));
    const detail = await data.detail(execution);
    const progress = new Map<number, StepProgressJson>();
    for (const step of execution.stepExecutions) progress.set(step.id, await data.stepProgress(step));
    return page(c, `Execution ${detail.id}`, 'executions', executionPage(options, detail, progress, noticeFor(c, String(detail.id))));
  });

  app.post('/executions/:id/:action', async (c) => {
    const action = c.req.param('action');
    if (!isExecutionAction(action)) throw notFound(`The action '${action}'`);
    const id = executionId(c.req.param('id'));
    try {
      const result = await runExecutionAction(data, action, id);
      hub.poke();
      const from = action === 'restart' ? `&from=${id}` : '';
      return c.redirect(href(options, `/executions/${result.executionId}?notice=${DONE_NOTICE[action]}${from}`), 303);
    } catch (error) {
      const { status, page: body } = errorPage(options, error, `Could not ${action} execution ${id}`);
      return send(c, body, status);
    }
  });

  app.get('/instances', async (c) => {
    const query = c.req.query();
    const definition = text(query, 'definition');
    const status = instanceStatus(query);
    const limit = 100;
    const instances = await runtime.workChunks.list({
      ...(definition !== undefined ? { definitionId: definition } : {}),
      ...(status !== undefined ? { status } : {}),
      limit,
    });
    const definitions = new Set((await runtime.workChunks.list({ limit: 1000 })).map((i) => i.definitionId));
    if (definition !== undefined) definitions.add(definition);
    return page(
      c,
      'Work-chunk jobs',
      'instances',
      instancesPage(options, { definitions: [...definitions].sort(), definition, status, instances: instances.map(instanceJson), limit }),
    );
  });

  app.get('/instances/:id', async (c) => {
    const id = c.req.param('id');
    const query = c.req.query();
    const instance = instanceJson(await data.instance(id));
    const chunkState = chunkStatus(query);
    const chunkStep = text(query, 'step');
    const chunks = instance.chunksPurged
      ? []
      : (await runtime.workChunks.chunks(id, { ...(chunkState ? { status: chunkState } : {}), ...(chunkStep !== undefined ? { stepId: chunkStep } : {}), limit: 100 })).map(chunkJson);
    return page(c, `Instance ${id}`, 'instances', instancePage(options, { instance, chunks, chunkState, chunkStep }, noticeFor(c, id)));
  });

  app.post('/instances/:id/cancel', async (c) => {
    const id = c.req.param('id');
    try {
      await cancelInstance(data, id);
      hub.poke();
      return c.redirect(href(options, `/instances/${encodeURIComponent(id)}?notice=cancelled`), 303);
    } catch (error) {
      const { status, page: body } = errorPage(options, error, `Could not cancel instance ${id}`);
      return send(c, body, status);
    }
  });
}
