/**
 * Work-chunk job instances in the dashboard (issue #9): the JSON API (list, one instance, its
 * chunks, cancel) and the pages (list, detail with progress, ETA, chunk counts, Cancel form).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { BatchRuntime } from '../../../src/index.js';
import { createDashboard, type ChunkJson, type InstanceJson } from '../../../src/dashboard/index.js';
import { api, cleanUp, exportDefinition, gate, openRuntime, page, post, until } from './harness.js';

afterEach(cleanUp);

/** An 'export' instance of 4 parts whose first part completed and the others wait at the gate. */
async function startExport(runtime: BatchRuntime, wait: Promise<void>): Promise<string> {
  runtime.workChunks.register(exportDefinition(wait));
  const id = await runtime.workChunks.start('export', { parts: 4 });
  await until('part 1 written', async () => ((await runtime.workChunks.get(id))?.chunkCounts['write']?.COMPLETED ?? 0) >= 1);
  return id;
}

describe('GET /api/instances', () => {
  it('lists instances newest first, filtered by definition and status', async () => {
    const runtime = await openRuntime();
    const wait = gate();
    const first = await startExport(runtime, wait.promise);
    const second = await runtime.workChunks.start('export', { parts: 1 });
    await runtime.workChunks.waitFor(second, { timeoutMs: 5000 });
    const app = createDashboard({ runtime });
    const ids = async (query = '') => (await api<{ instances: InstanceJson[] }>(app, `/api/instances${query}`)).body.instances.map((i) => i.id);
    expect(await ids()).toEqual([second, first]);
    expect(await ids('?status=completed')).toEqual([second]);
    expect(await ids('?status=IN_PROGRESS&definition=export')).toEqual([first]);
    expect(await ids('?definition=other')).toEqual([]);
    expect(await ids('?size=1&page=2')).toEqual([first]);
    expect(await api(app, '/api/instances?status=DONE')).toMatchObject({ status: 400, body: { error: { code: 'INVALID_QUERY' } } });
  });
});

describe('GET /api/instances/:id and /chunks', () => {
  it('gives progress, counts per step and state, rate and ETA, and the chunks filtered by state and step', async () => {
    const runtime = await openRuntime();
    const wait = gate();
    const id = await startExport(runtime, wait.promise);
    const app = createDashboard({ runtime });
    const { status, body } = await api<InstanceJson>(app, `/api/instances/${id}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      id,
      definitionId: 'export',
      definitionVersion: 1,
      status: 'IN_PROGRESS',
      parameters: { parts: 4 },
      currentStep: 'write',
      totalChunks: 5,
      completedChunks: 2,
      recordsProcessed: 10,
      errorCount: 0,
      errorMessage: null,
      warnings: [],
      report: null,
      cancellable: true,
      chunkCounts: { split: { COMPLETED: 1 }, write: { COMPLETED: 1, IN_PROGRESS: 3 } },
    });
    expect(body.progress).toBeGreaterThan(0);
    expect(body.progress).toBeLessThan(1);
    expect(typeof body.createTime).toBe('string');

    const chunks = async (query = '') => (await api<{ chunks: ChunkJson[] }>(app, `/api/instances/${id}/chunks${query}`)).body.chunks;
    expect(await chunks()).toHaveLength(5);
    expect((await chunks('?step=write&state=in_progress')).map((c) => c.data)).toEqual(expect.arrayContaining([{ part: 2 }, { part: 3 }, { part: 4 }]));
    expect(await chunks('?step=split&state=IN_PROGRESS')).toEqual([]);
    const [running] = await chunks('?state=IN_PROGRESS&limit=1');
    expect(running).toMatchObject({ instanceId: id, stepId: 'write', status: 'IN_PROGRESS', attempts: 1, lease: { pid: process.pid } });
    expect(await api(app, `/api/instances/${id}/chunks?state=NOPE`)).toMatchObject({ status: 400, body: { error: { code: 'INVALID_QUERY' } } });
  });

  it('answers 404 NO_SUCH_WORK_CHUNK_INSTANCE for an unknown id', async () => {
    const runtime = await openRuntime();
    const app = createDashboard({ runtime });
    for (const path of ['/api/instances/nope', '/api/instances/nope/chunks']) {
      expect(await api(app, path), path).toMatchObject({ status: 404, body: { error: { code: 'NO_SUCH_WORK_CHUNK_INSTANCE' } } });
    }
    expect(await api(app, '/api/instances/nope/cancel', post())).toMatchObject({ status: 404, body: { error: { code: 'NO_SUCH_WORK_CHUNK_INSTANCE' } } });
    expect((await page(app, '/instances/nope')).status).toBe(404);
  });
});

describe('POST /api/instances/:id/cancel', () => {
  it('cancels a running instance; cancelling it again is 409 WORK_CHUNK_INSTANCE_ENDED', async () => {
    const runtime = await openRuntime();
    const wait = gate();
    const id = await startExport(runtime, wait.promise);
    const app = createDashboard({ runtime });
    const { status, body } = await api<{ instance: InstanceJson }>(app, `/api/instances/${id}/cancel`, post());
    expect(status).toBe(200);
    expect(body.instance).toMatchObject({ id, status: 'CANCELLED', cancellable: false, errorMessage: expect.stringContaining('Cancelled') });
    expect(await api(app, `/api/instances/${id}/cancel`, post())).toMatchObject({ status: 409, body: { error: { code: 'WORK_CHUNK_INSTANCE_ENDED' } } });
  });
});

describe('instance pages', () => {
  it('lists instances with a native progress bar and links to each', async () => {
    const runtime = await openRuntime();
    const wait = gate();
    const id = await startExport(runtime, wait.promise);
    const { status, html } = await page(createDashboard({ runtime }), '/instances?definition=export');
    expect(status).toBe(200);
    expect(html).toContain(`<tr data-instance-id="${id}" data-status="IN_PROGRESS">`);
    expect(html).toMatch(new RegExp(`<progress max="100" value="[0-9.]+" data-progress-for="instance:${id}" aria-label="Progress of instance ${id}">`));
    expect(html).toContain(`href="/instances/${id}"`);
    expect(html).toContain('<option value="export" selected>export</option>');
  });

  it('shows progress, ETA, chunk counts per step and state, the chunks, and Cancel behind a confirmation', async () => {
    const runtime = await openRuntime();
    const wait = gate();
    const id = await startExport(runtime, wait.promise);
    const app = createDashboard({ runtime });
    const { status, html } = await page(app, `/instances/${id}`);
    expect(status).toBe(200);
    expect(html).toContain(`data-progress-for="instance:${id}"`);
    expect(html).toMatch(/<dt>ETA<\/dt><dd data-field="eta">[^<]+<\/dd>/);
    expect(html).toContain('<table aria-labelledby="chunk-counts-heading" data-chunk-counts>');
    expect(html).toMatch(/<tr data-work-step="write" aria-current="step">\s*<th scope="row">write<\/th><td class="num" data-chunk-state="IN_PROGRESS">3<\/td><td class="num" data-chunk-state="COMPLETED">1<\/td><td class="num">4<\/td>/);
    expect(html).toContain(`<form method="post" action="/instances/${id}/cancel" data-confirm="Cancel work-chunk instance ${id}`);
    expect(html).toContain('<button type="submit" class="danger">Cancel</button>');
    expect((await page(app, `/instances/${id}?state=IN_PROGRESS&step=write`)).html.match(/<tr data-chunk-id=/g)).toHaveLength(3);

    // The form works without JavaScript: POST, then 303 back to the page with a notice.
    const response = await app.request(`/instances/${id}/cancel`, post());
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(`/instances/${id}?notice=cancelled`);
    const after = await page(app, `/instances/${id}?notice=cancelled`);
    expect(after.html).toContain('<div class="notice notice-status" role="status">The instance was cancelled');
    expect(after.html).not.toContain('data-confirm="Cancel');
    expect(after.html).toMatch(/<details id="instance-error" open><summary>Cancelled/);
    const again = await page(app, `/instances/${id}/cancel`, post());
    expect(again.status).toBe(409);
    expect(again.html).toMatch(/role="alert"><p><strong>WORK_CHUNK_INSTANCE_ENDED<\/strong>/);
  });

  it('shows the report of a completed gated job', async () => {
    const runtime = await openRuntime();
    const { workChunkJob } = await import('../../../src/index.js');
    runtime.workChunks.register(
      workChunkJob('sum', 1)
        .gated()
        .first<number>('emit', (_context, sink) => [1, 2, 3].forEach((n) => sink.accept(n)))
        .step<number>('double', ({ data }, sink) => sink.accept(data * 2))
        .reduce<{ total: number }, number>('total', {
          initial: () => 0,
          consume: (n, total) => total + n,
          complete: (sink, total) => sink.accept({ total }),
        })
        .build(),
    );
    const id = await runtime.workChunks.start('sum', {});
    await runtime.workChunks.waitFor(id, { timeoutMs: 5000 });
    const { html } = await page(createDashboard({ runtime, readOnly: true }), `/instances/${id}`);
    expect(html).toContain('<pre data-report>{\n  &quot;total&quot;: 12\n}</pre>');
    expect(html).toContain('data-status="COMPLETED"');
    expect(html).not.toContain('<form method="post"');
  });
});
