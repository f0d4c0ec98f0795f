/**
 * The dashboard's server-rendered pages (issue #9): the markup the browser tests and the page
 * script rely on (roles, labels, data attributes), state-aware action forms that work without
 * JavaScript, read-only mode, base paths, and the static assets.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createDashboard } from '../../../src/dashboard/index.js';
import { api, cleanUp, failingJob, gate, openRuntime, page, post, quickJob, startBlocked } from './harness.js';

afterEach(cleanUp);

describe('the overview (/)', () => {
  it('shows running executions with a live progress bar, and every job with its last status', async () => {
    const runtime = await openRuntime();
    await runtime.launcher.run(failingJob({ fail: true }), {});
    const wait = gate();
    const running = await startBlocked(runtime, wait.promise);
    const { status, headers, html } = await page(createDashboard({ runtime }), '/');
    expect(status).toBe(200);
    expect(headers.get('content-type')).toContain('text/html');
    expect(headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(html).toContain('<html lang="en">');
    expect(html).toContain('<nav aria-label="Main">');
    expect(html).toContain('<a href="/" aria-current="page">Overview</a>');
    expect(html).toContain('<script src="/assets/dashboard.js" defer></script>');
    expect(html).toContain('<section id="running-executions" data-live-region data-watch="executions" aria-labelledby="running-heading">');
    expect(html).toContain(`<tr data-execution-id="${running}" data-status="STARTED">`);
    expect(html).toContain(`<progress max="100" data-progress-for="execution:${running}" aria-label="Progress of execution ${running}">`);
    expect(html).toContain('<td class="num" data-field="readCount">4</td>');
    expect(html).toContain('<td data-field="stepName">load</td>');
    expect(html).toMatch(/<tr data-job-name="failing">[\s\S]*?<span class="status" data-status="FAILED">FAILED<\/span>/);
    expect(html).toMatch(/<tr data-job-name="blocking">\s*<td><a href="\/executions\?job=blocking">blocking<\/a><\/td>\s*<td>Yes<\/td>/);
    expect(html).toContain('<p data-empty>No work-chunk job instance.</p>');
  });

  it('says so when nothing runs', async () => {
    const runtime = await openRuntime();
    const { html } = await page(createDashboard({ runtime }), '/');
    expect(html).toContain('<p data-empty>No execution is running.</p>');
    expect(html).toContain('<p data-empty>No job has run in this store, and none is registered.</p>');
  });
});

describe('the executions list (/executions)', () => {
  it('has labelled filters that keep their values, rows newest first, and pagination links', async () => {
    const runtime = await openRuntime();
    const ids: number[] = [];
    for (let run = 1; run <= 30; run++) ids.push((await runtime.launcher.run(quickJob(), { run })).id);
    await runtime.launcher.run(failingJob({ fail: true }), {});
    const app = createDashboard({ runtime });
    const { html } = await page(app, '/executions?job=quick&status=COMPLETED&page=2');
    expect(html).toContain('<form method="get" action="/executions" class="filters" role="search" aria-label="Filter executions">');
    expect(html).toContain('<label for="filter-job">Job</label>');
    expect(html).toContain('<option value="quick" selected>quick</option>');
    expect(html).toContain('<option value="COMPLETED" selected>COMPLETED</option>');
    expect(html).toContain('<label for="filter-from">Started from (UTC)</label>');
    expect(html).toContain('<table aria-label="Executions">');
    expect(html).toContain('<p data-result-summary>Executions 26 to 30 of 30</p>');
    const rows = [...html.matchAll(/<tr data-execution-id="(\d+)"/g)].map((m) => Number(m[1]));
    expect(rows).toEqual(ids.slice(0, 5).reverse());
    expect(html).toContain('<a rel="prev" href="/executions?job=quick&amp;status=COMPLETED">Previous page</a>');
    expect(html).not.toContain('rel="next"');
    expect(html).toContain('<span>Page 2 of 2</span>');
    // Only the first page follows new executions live.
    expect(html).toContain('<section id="executions-results" data-live-region data-watch=""');
    expect((await page(app, '/executions')).html).toContain('<section id="executions-results" data-live-region data-watch="executions"');
  });

  it('answers a bad filter value with a 400 page, and jumps to an execution by id', async () => {
    const runtime = await openRuntime();
    const app = createDashboard({ runtime });
    const bad = await page(app, '/executions?status=NOPE');
    expect(bad.status).toBe(400);
    expect(bad.html).toMatch(/<div class="notice notice-alert" role="alert"><p><strong>INVALID_QUERY<\/strong>: Unknown status &#39;NOPE&#39;/);
    const go = await app.request('/executions/go?id=42');
    expect(go.status).toBe(303);
    expect(go.headers.get('location')).toBe('/executions/42');
    expect((await app.request('/executions/go?id=x')).status).toBe(400);
    const missing = await page(app, '/executions/42');
    expect(missing.status).toBe(404);
    expect(missing.html).toContain('NO_SUCH_JOB_EXECUTION');
  });
});

describe('the execution page (/executions/:id)', () => {
  it('shows status, times, parameters, every step count, a timeline, and the failure with its stack in <details>', async () => {
    const runtime = await openRuntime();
    runtime.registry.register(failingJob({ fail: true }));
    const failed = await runtime.launcher.run(runtime.registry.get('failing'), { file: 'in.csv' });
    const step = failed.stepExecutions[0]!;
    const { status, html } = await page(createDashboard({ runtime }), `/executions/${failed.id}`);
    expect(status).toBe(200);
    expect(html).toContain(`<title>Execution ${failed.id} · tsbatch</title>`);
    expect(html).toContain(`<div id="execution-detail" data-live-region data-watch="execution:${failed.id}" data-execution-id="${failed.id}" data-status="FAILED">`);
    expect(html).toContain('<dt>Status</dt><dd><span class="status" data-status="FAILED" data-field="status">FAILED</span></dd>');
    expect(html).toContain('<dt>Exit code</dt><dd data-field="exitCode">FAILED</dd>');
    expect(html).toMatch(/<dt>Duration<\/dt><dd data-field="duration">\d+ms<\/dd>/);
    expect(html).toContain('<tr><th scope="row">file</th><td>in.csv</td><td>string</td><td>Yes</td></tr>');
    // Steps: one row per step, a cell per count.
    expect(html).toContain(`<table aria-labelledby="steps-heading" data-steps-for="${failed.id}">`);
    expect(html).toContain(`<tr data-step-id="${step.id}" data-status="FAILED">`);
    for (const [field, value] of [['readCount', 10], ['writeCount', 5], ['commitCount', 1], ['rollbackCount', 1], ['filterCount', 0], ['readSkipCount', 0], ['processSkipCount', 0], ['writeSkipCount', 0]] as const) {
      expect(html).toContain(`<td class="num" data-step-field="${field}">${value}</td>`);
    }
    // The timeline: inline SVG with a title, a description and a bar per step.
    expect(html).toContain('<svg class="timeline" role="img" aria-labelledby="timeline-title timeline-desc"');
    expect(html).toMatch(new RegExp(`<g class="timeline-row" data-step-id="${step.id}" data-status="FAILED">`));
    expect(html).toMatch(/<rect x="[\d.]+" y="\d+" width="[\d.]+" height="\d+" rx="3" class="timeline-bar" data-status="FAILED"><title>load: \d+ms, FAILED<\/title><\/rect>/);
    // Failures: the message in the summary, the stack inside.
    expect(html).toMatch(new RegExp(`<details id="failure-step-${step.id}" class="failure" data-status="FAILED">\\s*<summary><strong>Step load</strong> \\(FAILED\\): Error: boom at item 7</summary>\\s*<pre>Error: boom at item 7\\n\\s+at `));
    // Actions the state allows, as POST forms with a confirmation text.
    expect(html).toContain(`<form method="post" action="/executions/${failed.id}/restart" data-confirm="Restart execution ${failed.id} of failing?`);
    expect(html).toContain(`<form method="post" action="/executions/${failed.id}/abandon" data-confirm="Abandon execution ${failed.id} of failing?`);
    expect(html).toContain('<button type="submit">Restart</button>');
    expect(html).toContain('<button type="submit" class="danger">Abandon</button>');
    expect(html).not.toContain('>Stop</button>');
    expect(html).not.toContain('>Recover</button>');
  });

  it('offers Stop for a running execution and nothing for a COMPLETED one; explains a restart that needs the job', async () => {
    const runtime = await openRuntime();
    const wait = gate();
    const running = await startBlocked(runtime, wait.promise);
    const done = await runtime.launcher.run(quickJob(), {});
    const failed = await runtime.launcher.run(failingJob({ fail: true }), {});
    const app = createDashboard({ runtime });
    const runningPage = (await page(app, `/executions/${running}`)).html;
    expect(runningPage).toContain('<button type="submit" class="danger">Stop</button>');
    expect(runningPage).not.toContain('>Abandon</button>');
    expect(runningPage).toContain('(this dashboard)');
    expect((await page(app, `/executions/${done.id}`)).html).toContain('<p>No action applies to a COMPLETED execution.</p>');
    const unregistered = (await page(app, `/executions/${failed.id}`)).html;
    expect(unregistered).not.toContain('>Restart</button>');
    expect(unregistered).toContain("Restart needs job &#39;failing&#39; registered in the dashboard&#39;s runtime");
  });

  it('runs a form action without JavaScript: 303 to the page with a notice, or an error page with the status', async () => {
    const runtime = await openRuntime();
    const control = { fail: true };
    runtime.registry.register(failingJob(control));
    const failed = await runtime.launcher.run(runtime.registry.get('failing'), {});
    control.fail = false;
    const app = createDashboard({ runtime });
    const restart = await app.request(`/executions/${failed.id}/restart`, post({ 'content-type': 'application/x-www-form-urlencoded' }));
    expect(restart.status).toBe(303);
    const location = restart.headers.get('location')!;
    const restarted = Number(/^\/executions\/(\d+)\?notice=restarted&from=\d+$/.exec(location)?.[1]);
    expect(restarted).toBeGreaterThan(failed.id);
    await runtime.operator.waitFor(restarted);
    const notice = await page(app, location);
    expect(notice.html).toContain(`<div class="notice notice-status" role="status">Restarted execution ${failed.id} as execution ${restarted}.</div>`);
    expect(notice.html).toMatch(new RegExp(`<nav aria-label="Executions of this instance"[^>]*>Executions of instance \\d+: <span aria-current="page">${restarted}</span> <a href="/executions/${failed.id}">${failed.id}</a>`));

    const refused = await page(app, `/executions/${restarted}/stop`, post());
    expect(refused.status).toBe(409);
    expect(refused.html).toContain(`<title>Could not stop execution ${restarted} · tsbatch</title>`);
    expect(refused.html).toMatch(/role="alert"><p><strong>JOB_EXECUTION_NOT_RUNNING<\/strong>/);
    expect((await page(app, `/executions/${restarted}/explode`, post())).status).toBe(404);
  });
});

describe('read-only mode', () => {
  it('shows a badge and no action forms', async () => {
    const runtime = await openRuntime();
    const wait = gate();
    const running = await startBlocked(runtime, wait.promise);
    const failed = await runtime.launcher.run(failingJob({ fail: true }), {});
    const app = createDashboard({ runtime, readOnly: true });
    for (const path of ['/', `/executions/${running}`, `/executions/${failed.id}`]) {
      const { html } = await page(app, path);
      expect(html, path).toContain('data-read-only="true"');
      expect(html, path).toContain('<span class="badge" data-read-only-badge>Read-only</span>');
      expect(html, path).not.toContain('<form method="post"');
      expect(html, path).not.toContain('id="execution-actions"');
    }
  });
});

describe('basePath', () => {
  it('puts pages, links, the API, assets and the script under the base path', async () => {
    const runtime = await openRuntime();
    const done = await runtime.launcher.run(failingJob({ fail: true }), {});
    runtime.registry.register(failingJob({ fail: true }));
    const app = createDashboard({ runtime, basePath: '/ops/batch/' });
    for (const path of ['/ops/batch', '/ops/batch/', '/ops/batch/executions', `/ops/batch/executions/${done.id}`, '/ops/batch/instances']) {
      expect((await app.request(path)).status, path).toBe(200);
    }
    const { html } = await page(app, `/ops/batch/executions/${done.id}`);
    expect(html).toContain('<body data-base-path="/ops/batch"');
    expect(html).toContain('<script src="/ops/batch/assets/dashboard.js" defer></script>');
    expect(html).toContain('<link rel="stylesheet" href="/ops/batch/assets/dashboard.css">');
    expect(html).toContain('<li><a href="/ops/batch/executions" aria-current="page">Executions</a></li>');
    expect(html).toContain(`action="/ops/batch/executions/${done.id}/abandon"`);
    expect(html).toContain('<a href="/ops/batch/executions?job=failing">failing</a>');
    expect(await api(app, `/ops/batch/api/executions/${done.id}`)).toMatchObject({ status: 200, body: { id: done.id } });
    const restart = await api<{ execution: { id: number } }>(app, `/ops/batch/api/executions/${done.id}/restart`, post());
    expect(restart.headers.get('location')).toBe(`/ops/batch/api/executions/${restart.body.execution.id}`);
    const again = await runtime.operator.waitFor(restart.body.execution.id);
    expect(again.status).toBe('FAILED');
    expect((await app.request('/ops/batch/assets/dashboard.js')).status).toBe(200);
    const form = await app.request(`/ops/batch/executions/${again.id}/abandon`, post());
    expect(form.status).toBe(303);
    expect(form.headers.get('location')).toBe(`/ops/batch/executions/${again.id}?notice=abandoned`);
    // Nothing answers outside it.
    expect((await app.request('/executions')).status).toBe(404);
    expect((await app.request('/api/health')).status).toBe(404);
    const missing = await page(app, '/ops/batch/nothing');
    expect(missing.status).toBe(404);
    expect(missing.html).toContain('href="/ops/batch/"');
  });
});

describe('assets', () => {
  it('serves the script and the stylesheet with their types', async () => {
    const runtime = await openRuntime();
    const app = createDashboard({ runtime });
    const script = await app.request('/assets/dashboard.js');
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const text = await script.text();
    expect(text).toContain("new EventSource(base + '/api/events?watch='");
    expect(text).toContain("'/api/snapshot?watch='");
    expect(text).toContain('window.confirm(message)');
    // It parses as JavaScript.
    expect(() => new Function(text)).not.toThrow();
    const styles = await app.request('/assets/dashboard.css');
    expect(styles.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await styles.text()).toContain('.status');
  });
});
