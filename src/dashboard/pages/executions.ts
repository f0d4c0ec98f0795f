import { formatCount, formatDuration, formatRate } from '../format.js';
import { html, type Html } from '../html.js';
import type { ExecutionDetailJson, ExecutionFilter, ExecutionJson, StepProgressJson } from '../model.js';
import type { ResolvedDashboardOptions } from '../options.js';
import { BATCH_STATUSES } from '../query.js';
import { actionForm, href, statusBadge, time } from './layout.js';
import { progressBar } from './overview.js';
import { stepTimeline } from './timeline.js';

export interface ExecutionListView {
  readonly filter: ExecutionFilter;
  readonly jobNames: readonly string[];
  readonly page: number;
  readonly size: number;
  readonly total: number;
  readonly executions: readonly ExecutionJson[];
}

/** `2024-01-31T10:00:00` for a datetime-local input (UTC, like every time shown). */
function inputTime(value: Date | undefined): string {
  return value ? value.toISOString().slice(0, 19) : '';
}

function listQuery(filter: ExecutionFilter, page: number): string {
  const query = new URLSearchParams();
  if (filter.job !== undefined) query.set('job', filter.job);
  if (filter.status !== undefined) query.set('status', filter.status);
  if (filter.from) query.set('from', filter.from.toISOString());
  if (filter.to) query.set('to', filter.to.toISOString());
  if (page > 1) query.set('page', String(page));
  const text = query.toString();
  return text ? `?${text}` : '';
}

function filterForm(options: ResolvedDashboardOptions, view: ExecutionListView): Html {
  const { filter } = view;
  return html`<form method="get" action="${href(options, '/executions')}" class="filters" role="search" aria-label="Filter executions">
<div class="field"><label for="filter-job">Job</label>
<select id="filter-job" name="job"><option value="">All jobs</option>${view.jobNames.map(
    (name) => html`<option value="${name}"${filter.job === name ? html` selected` : ''}>${name}</option>`,
  )}</select></div>
<div class="field"><label for="filter-status">Status</label>
<select id="filter-status" name="status"><option value="">Any status</option>${BATCH_STATUSES.map(
    (status) => html`<option value="${status}"${filter.status === status ? html` selected` : ''}>${status}</option>`,
  )}</select></div>
<div class="field"><label for="filter-from">Started from (UTC)</label>
<input id="filter-from" name="from" type="datetime-local" step="1" value="${inputTime(filter.from)}"></div>
<div class="field"><label for="filter-to">Started until (UTC)</label>
<input id="filter-to" name="to" type="datetime-local" step="1" value="${inputTime(filter.to)}"></div>
<div class="field buttons"><button type="submit">Apply filters</button> <a href="${href(options, '/executions')}">Clear filters</a></div>
</form>
<form method="get" action="${href(options, '/executions/go')}" class="filters jump" aria-label="Go to execution">
<div class="field"><label for="go-id">Execution id</label><input id="go-id" name="id" inputmode="numeric" pattern="[0-9]+" required></div>
<div class="field buttons"><button type="submit">Go</button></div>
</form>`;
}

export function executionRows(options: ResolvedDashboardOptions, executions: readonly ExecutionJson[]): Html {
  return html`${executions.map(
    (e) => html`<tr data-execution-id="${e.id}" data-status="${e.status}">
<td><a href="${href(options, `/executions/${e.id}`)}">${e.id}</a></td>
<td>${e.jobName}</td>
<td class="num">${e.jobInstanceId}</td>
<td>${statusBadge(e.status, 'data-field')}</td>
<td data-field="exitCode">${e.exitCode}</td>
<td>${time(e.startTime, html`data-field="startTime"`)}</td>
<td>${time(e.endTime, html`data-field="endTime"`)}</td>
<td class="num" data-field="duration">${formatDuration(e.durationMs)}</td>
<td class="num" data-field="readCount">${formatCount(e.readCount)}</td>
<td class="num" data-field="writeCount">${formatCount(e.writeCount)}</td>
<td class="num" data-field="skipCount">${formatCount(e.skipCount)}</td>
</tr>`,
  )}`;
}

/** `/executions`: filters in the query string, newest first, paged. */
export function executionsPage(options: ResolvedDashboardOptions, view: ExecutionListView): Html {
  const pages = Math.max(1, Math.ceil(view.total / view.size));
  const first = view.total === 0 ? 0 : (view.page - 1) * view.size + 1;
  const last = Math.min(view.total, view.page * view.size);
  // Only the first page follows new executions: later pages would shift under the reader.
  const watch = view.page === 1 ? 'executions' : '';
  return html`<h1>Executions</h1>
${filterForm(options, view)}
<section id="executions-results" data-live-region data-watch="${watch}" aria-labelledby="executions-heading">
<h2 id="executions-heading" class="visually-hidden">Executions</h2>
<p data-result-summary>${view.total === 0 ? 'No execution matches.' : `Executions ${first} to ${last} of ${view.total}`}</p>
${view.executions.length === 0
  ? ''
  : html`<table aria-label="Executions">
<thead><tr><th scope="col">ID</th><th scope="col">Job</th><th scope="col" class="num">Instance</th><th scope="col">Status</th><th scope="col">Exit code</th><th scope="col">Started</th><th scope="col">Ended</th><th scope="col" class="num">Duration</th><th scope="col" class="num">Read</th><th scope="col" class="num">Written</th><th scope="col" class="num">Skipped</th></tr></thead>
<tbody>
${executionRows(options, view.executions)}
</tbody>
</table>`}
<nav aria-label="Pagination" class="pagination">
${view.page > 1 ? html`<a rel="prev" href="${href(options, `/executions${listQuery(view.filter, view.page - 1)}`)}">Previous page</a>` : ''}
<span>Page ${view.page} of ${pages}</span>
${view.page < pages ? html`<a rel="next" href="${href(options, `/executions${listQuery(view.filter, view.page + 1)}`)}">Next page</a>` : ''}
</nav>
</section>`;
}

const COUNT_COLUMNS: ReadonlyArray<readonly [keyof ExecutionDetailJson['steps'][number], string]> = [
  ['readCount', 'Read'],
  ['writeCount', 'Written'],
  ['filterCount', 'Filtered'],
  ['commitCount', 'Commits'],
  ['rollbackCount', 'Rollbacks'],
  ['readSkipCount', 'Read skips'],
  ['processSkipCount', 'Process skips'],
  ['writeSkipCount', 'Write skips'],
];

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

function actionsSection(options: ResolvedDashboardOptions, d: ExecutionDetailJson): Html | '' {
  if (options.readOnly) return '';
  const base = `${options.basePath}/executions/${d.id}`;
  const forms: Html[] = [];
  const what = `execution ${d.id} of ${d.jobName}`;
  if (d.stoppable) forms.push(actionForm(`${base}/stop`, 'Stop', `Stop ${what}? It stops at its next chunk boundary.`, true));
  if (d.restartable) forms.push(actionForm(`${base}/restart`, 'Restart', `Restart ${what}? A new execution resumes at its last commit.`));
  if (d.abandonable) forms.push(actionForm(`${base}/abandon`, 'Abandon', `Abandon ${what}? Its instance will never run again.`, true));
  if (d.recoverable) forms.push(actionForm(`${base}/recover`, 'Recover', `Recover ${what}? Do this only if its process is gone: it is marked FAILED so it can be restarted.`, true));
  const hints: string[] = [];
  if ((d.status === 'FAILED' || d.status === 'STOPPED') && !d.jobRegistered) {
    hints.push(`Restart needs job '${d.jobName}' registered in the dashboard's runtime (tsbatch dashboard --module <file>).`);
  }
  if ((d.status === 'FAILED' || d.status === 'STOPPED') && d.jobRegistered && !d.restartable) {
    hints.push(`A later execution of this instance exists (${d.instanceExecutionIds[0]}); restart that one.`);
  }
  if (d.recoverable) hints.push('Recover marks an execution whose process died FAILED; the runtime refuses it while its owner is alive.');
  return html`<section id="execution-actions" aria-labelledby="actions-heading">
<h2 id="actions-heading">Actions</h2>
${forms.length ? html`<div class="actions">${forms}</div>` : html`<p>No action applies to a ${d.status} execution.</p>`}
${hints.map((hint) => html`<p class="hint">${hint}</p>`)}
</section>`;
}

function stepsTable(d: ExecutionDetailJson, progress: ReadonlyMap<number, StepProgressJson>): Html {
  if (d.steps.length === 0) return html`<p>No step has run.</p>`;
  return html`<div class="table-scroll"><table aria-labelledby="steps-heading" data-steps-for="${d.id}">
<thead><tr><th scope="col">Step</th><th scope="col">Status</th><th scope="col">Exit code</th>${COUNT_COLUMNS.map(
    ([, label]) => html`<th scope="col" class="num">${label}</th>`,
  )}<th scope="col">Started</th><th scope="col">Ended</th><th scope="col" class="num">Duration</th><th scope="col">Progress</th></tr></thead>
<tbody>
${d.steps.map((s) => {
  const p = progress.get(s.id);
  return html`<tr data-step-id="${s.id}" data-status="${s.status}">
<th scope="row">${s.stepName}</th>
<td>${statusBadge(s.status, 'data-step-field')}</td>
<td data-step-field="exitCode">${s.exitCode}</td>
${COUNT_COLUMNS.map(([field]) => html`<td class="num" data-step-field="${field}">${formatCount(s[field] as number)}</td>`)}
<td>${time(s.startTime, html`data-step-field="startTime"`)}</td>
<td>${time(s.endTime, html`data-step-field="endTime"`)}</td>
<td class="num" data-step-field="duration">${formatDuration(s.durationMs)}</td>
<td>${p && !p.finished ? html`${progressBar(`step:${s.id}`, p.percentageComplete, `Progress of step ${s.stepName}`)} <span class="hint">${p.message}</span>` : p?.finished ? 'done' : '-'}</td>
</tr>`;
})}
</tbody>
</table></div>`;
}

function failures(d: ExecutionDetailJson): Html | '' {
  const entries: Array<{ id: string; label: string; status: string; text: string }> = [];
  if (d.exitDescription) entries.push({ id: 'failure-job', label: `Job ${d.jobName}`, status: d.status, text: d.exitDescription });
  for (const s of d.steps) {
    if (s.exitDescription) entries.push({ id: `failure-step-${s.id}`, label: `Step ${s.stepName}`, status: s.status, text: s.exitDescription });
  }
  if (entries.length === 0) return '';
  return html`<section id="execution-failures" aria-labelledby="failures-heading">
<h2 id="failures-heading">Failures and exit descriptions</h2>
${entries.map(
  (e) => html`<details id="${e.id}" class="failure" data-status="${e.status}">
<summary><strong>${e.label}</strong> (${e.status}): ${firstLine(e.text)}</summary>
<pre>${e.text}</pre>
</details>`,
)}
</section>`;
}

/** `/executions/:id`: header, actions, steps with every count, timeline, failures, parameters, context. */
export function executionPage(options: ResolvedDashboardOptions, d: ExecutionDetailJson, progress: ReadonlyMap<number, StepProgressJson>, notice: Html | ''): Html {
  const parameters = Object.entries(d.parameters);
  // The step still running, if any: its rate and time left stand for the execution's.
  const running = [...progress.values()].find((p) => !p.finished);
  return html`<h1>Execution ${d.id} <span class="subtitle">${d.jobName}</span></h1>
${notice}
<div id="execution-detail" data-live-region data-watch="execution:${d.id}" data-execution-id="${d.id}" data-status="${d.status}">
<section aria-labelledby="summary-heading">
<h2 id="summary-heading" class="visually-hidden">Summary</h2>
<dl class="summary">
<div><dt>Job</dt><dd><a href="${href(options, `/executions?job=${encodeURIComponent(d.jobName)}`)}">${d.jobName}</a></dd></div>
<div><dt>Instance</dt><dd>${d.jobInstanceId}</dd></div>
<div><dt>Status</dt><dd>${statusBadge(d.status, 'data-field')}</dd></div>
<div><dt>Exit code</dt><dd data-field="exitCode">${d.exitCode}</dd></div>
<div><dt>Created</dt><dd>${time(d.createTime)}</dd></div>
<div><dt>Started</dt><dd>${time(d.startTime, html`data-field="startTime"`)}</dd></div>
<div><dt>Ended</dt><dd>${time(d.endTime, html`data-field="endTime"`)}</dd></div>
<div><dt>Duration</dt><dd data-field="duration">${formatDuration(d.durationMs)}</dd></div>
<div><dt>Read / written / skipped</dt><dd><span data-field="readCount">${formatCount(d.readCount)}</span> / <span data-field="writeCount">${formatCount(d.writeCount)}</span> / <span data-field="skipCount">${formatCount(d.skipCount)}</span></dd></div>
${running ? html`<div><dt>Rate</dt><dd data-field="rate">${formatRate(running.itemsPerSecond)}</dd></div>
<div><dt>ETA</dt><dd data-field="eta">${formatDuration(running.estimatedTimeRemainingMs)}</dd></div>` : ''}
<div><dt>Owner</dt><dd>${d.owner ? `process ${d.owner.pid} on ${d.owner.host}${d.runningHere ? ' (this dashboard)' : ''}` : '-'}</dd></div>
${d.exitDescription ? html`<div><dt>Exit description</dt><dd>${firstLine(d.exitDescription)}</dd></div>` : ''}
</dl>
${d.instanceExecutionIds.length > 1
  ? html`<nav aria-label="Executions of this instance" class="instance-executions">Executions of instance ${d.jobInstanceId}: ${d.instanceExecutionIds.map(
      (id) => (id === d.id ? html`<span aria-current="page">${id}</span> ` : html`<a href="${href(options, `/executions/${id}`)}">${id}</a> `),
    )}</nav>`
  : ''}
</section>
${actionsSection(options, d)}
<section aria-labelledby="steps-heading">
<h2 id="steps-heading">Steps</h2>
${stepsTable(d, progress)}
</section>
<section aria-labelledby="timeline-heading">
<h2 id="timeline-heading">Timeline</h2>
<figure id="execution-timeline">${stepTimeline(d)}<figcaption>Each bar runs from a step's start to its end (to now while it runs), measured from the execution's start.</figcaption></figure>
</section>
${failures(d)}
<section aria-labelledby="parameters-heading">
<h2 id="parameters-heading">Parameters</h2>
${parameters.length === 0
  ? html`<p>No parameters.</p>`
  : html`<table aria-labelledby="parameters-heading"><thead><tr><th scope="col">Name</th><th scope="col">Value</th><th scope="col">Type</th><th scope="col">Identifying</th></tr></thead><tbody>
${parameters.map(([name, p]) => html`<tr><th scope="row">${name}</th><td>${String(p.value)}</td><td>${p.type}</td><td>${p.identifying ? 'Yes' : 'No'}</td></tr>`)}
</tbody></table>`}
</section>
<section aria-labelledby="context-heading">
<h2 id="context-heading">Execution context</h2>
<details id="context-job"><summary>Job execution context</summary><pre>${json(d.executionContext)}</pre></details>
${d.steps.map((s) => html`<details id="context-step-${s.id}"><summary>Step ${s.stepName} (${s.id})</summary><pre>${json(s.executionContext)}</pre></details>`)}
</section>
</div>`;
}
