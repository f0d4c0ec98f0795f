import type { WorkChunkInstanceStatus, WorkChunkStatus } from '../../index.js';
import { formatCount, formatDuration, formatPercent } from '../format.js';
import { html, type Html } from '../html.js';
import type { ChunkJson, InstanceJson } from '../model.js';
import type { ResolvedDashboardOptions } from '../options.js';
import { CHUNK_STATUSES, INSTANCE_STATUSES } from '../query.js';
import { actionForm, href, statusBadge, time } from './layout.js';
import { instancesTable, progressBar } from './overview.js';

export interface InstanceListView {
  readonly definitions: readonly string[];
  readonly definition: string | undefined;
  readonly status: WorkChunkInstanceStatus | undefined;
  readonly instances: readonly InstanceJson[];
  readonly limit: number;
}

/** `/instances`: work-chunk job instances, newest first, filtered by definition and status. */
export function instancesPage(options: ResolvedDashboardOptions, view: InstanceListView): Html {
  const filtered = view.definition !== undefined || view.status !== undefined;
  return html`<h1>Work-chunk jobs</h1>
<form method="get" action="${href(options, '/instances')}" class="filters" role="search" aria-label="Filter instances">
<div class="field"><label for="filter-definition">Definition</label>
<select id="filter-definition" name="definition"><option value="">All definitions</option>${view.definitions.map(
    (d) => html`<option value="${d}"${view.definition === d ? html` selected` : ''}>${d}</option>`,
  )}</select></div>
<div class="field"><label for="filter-instance-status">Status</label>
<select id="filter-instance-status" name="status"><option value="">Any status</option>${INSTANCE_STATUSES.map(
    (s) => html`<option value="${s}"${view.status === s ? html` selected` : ''}>${s}</option>`,
  )}</select></div>
<div class="field buttons"><button type="submit">Apply filters</button> <a href="${href(options, '/instances')}">Clear filters</a></div>
</form>
<section id="instances-results" data-live-region data-watch="${filtered ? '' : 'instances'}" aria-labelledby="instances-heading">
<h2 id="instances-heading">Instances</h2>
<p data-result-summary>${view.instances.length === 0 ? 'No instance matches.' : `${view.instances.length} instance(s), newest first${view.instances.length >= view.limit ? ` (the newest ${view.limit})` : ''}`}</p>
${view.instances.length ? instancesTable(options, view.instances, 'instances-heading') : ''}
</section>`;
}

function chunkCountsTable(instance: InstanceJson): Html {
  const steps = Object.keys(instance.chunkCounts);
  // Only the states some step has chunks in, in lifecycle order.
  const states = CHUNK_STATUSES.filter((state) => steps.some((step) => (instance.chunkCounts[step]?.[state] ?? 0) > 0));
  if (steps.length === 0) return html`<p>No chunks.</p>`;
  const total = (step: string) => Object.values(instance.chunkCounts[step] ?? {}).reduce<number>((a, b) => a + (b ?? 0), 0);
  return html`<table aria-labelledby="chunk-counts-heading" data-chunk-counts>
<thead><tr><th scope="col">Step</th>${states.map((s) => html`<th scope="col" class="num">${s}</th>`)}<th scope="col" class="num">Total</th></tr></thead>
<tbody>
${steps.map(
  (step) => html`<tr data-work-step="${step}"${step === instance.currentStep ? html` aria-current="step"` : ''}>
<th scope="row">${step}</th>${states.map((s: WorkChunkStatus) => html`<td class="num" data-chunk-state="${s}">${formatCount(instance.chunkCounts[step]?.[s] ?? 0)}</td>`)}<td class="num">${formatCount(total(step))}</td>
</tr>`,
)}
</tbody>
</table>`;
}

function chunksTable(chunks: readonly ChunkJson[]): Html {
  if (chunks.length === 0) return html`<p>No chunk matches.</p>`;
  return html`<div class="table-scroll"><table aria-labelledby="chunks-heading">
<thead><tr><th scope="col">Chunk</th><th scope="col">Step</th><th scope="col">Status</th><th scope="col" class="num">Attempts</th><th scope="col" class="num">Errors</th><th scope="col" class="num">Records</th><th scope="col">Started</th><th scope="col">Ended</th><th scope="col">Error</th></tr></thead>
<tbody>
${chunks.map(
  (c) => html`<tr data-chunk-id="${c.id}" data-status="${c.status}">
<td><code>${c.id.slice(0, 12)}</code></td><td>${c.stepId}</td><td>${statusBadge(c.status)}</td>
<td class="num">${c.attempts}</td><td class="num">${c.errorCount}</td><td class="num">${formatCount(c.recordsProcessed)}</td>
<td>${time(c.startTime)}</td><td>${time(c.endTime)}</td><td>${c.errorMessage ?? c.warningMessage ?? ''}</td>
</tr>`,
)}
</tbody>
</table></div>`;
}

export interface InstanceView {
  readonly instance: InstanceJson;
  readonly chunks: readonly ChunkJson[];
  readonly chunkState: WorkChunkStatus | undefined;
  readonly chunkStep: string | undefined;
}

/** `/instances/:id`: progress, ETA, chunk counts per step × state, errors, warnings, report, chunks, Cancel. */
export function instancePage(options: ResolvedDashboardOptions, view: InstanceView, notice: Html | ''): Html {
  const i = view.instance;
  const path = `/instances/${encodeURIComponent(i.id)}`;
  return html`<h1>Work-chunk instance <code>${i.id}</code></h1>
${notice}
<div id="instance-detail" data-live-region data-watch="instance:${i.id}" data-instance-id="${i.id}" data-status="${i.status}">
<section aria-labelledby="instance-summary-heading">
<h2 id="instance-summary-heading" class="visually-hidden">Summary</h2>
<dl class="summary">
<div><dt>Definition</dt><dd><a href="${href(options, `/instances?definition=${encodeURIComponent(i.definitionId)}`)}">${i.definitionId}</a>@${i.definitionVersion}</dd></div>
<div><dt>Status</dt><dd>${statusBadge(i.status, 'data-field')}</dd></div>
<div><dt>Progress</dt><dd class="progress-cell">${progressBar(`instance:${i.id}`, i.progress, `Progress of instance ${i.id}`)} <span data-field="progress">${formatPercent(i.progress)}</span></dd></div>
<div><dt>Current step</dt><dd data-field="currentStep">${i.currentStep || '-'}</dd></div>
<div><dt>Chunks done</dt><dd data-field="chunks">${formatCount(i.completedChunks)} / ${formatCount(i.totalChunks)}</dd></div>
<div><dt>Records processed</dt><dd data-field="recordsProcessed">${formatCount(i.recordsProcessed)}</dd></div>
<div><dt>Records per second</dt><dd data-field="recordsPerSecond">${i.recordsPerSecond.toFixed(1)}</dd></div>
<div><dt>ETA</dt><dd data-field="eta">${formatDuration(i.estimatedTimeRemainingMs)}</dd></div>
<div><dt>Errors</dt><dd data-field="errorCount">${formatCount(i.errorCount)}</dd></div>
<div><dt>Created</dt><dd>${time(i.createTime)}</dd></div>
<div><dt>Started</dt><dd>${time(i.startTime, html`data-field="startTime"`)}</dd></div>
<div><dt>Ended</dt><dd>${time(i.endTime, html`data-field="endTime"`)}</dd></div>
</dl>
</section>
${!options.readOnly && i.cancellable
  ? html`<section id="instance-actions" aria-labelledby="instance-actions-heading"><h2 id="instance-actions-heading">Actions</h2>
<div class="actions">${actionForm(`${options.basePath}${path}/cancel`, 'Cancel', `Cancel work-chunk instance ${i.id} (${i.definitionId})? No new chunk of it starts; running chunks finish.`, true)}</div></section>`
  : ''}
<section aria-labelledby="chunk-counts-heading">
<h2 id="chunk-counts-heading">Chunks per step and state</h2>
${chunkCountsTable(i)}
${i.chunksPurged ? html`<p class="hint">The chunks of this ended instance were purged; the counts remain.</p>` : ''}
</section>
${i.errorMessage
  ? html`<section aria-labelledby="error-heading"><h2 id="error-heading">First error</h2>
<details id="instance-error" open><summary>${i.errorMessage.split('\n', 1)[0]}</summary><pre>${i.errorMessage}</pre></details></section>`
  : ''}
${i.warnings.length
  ? html`<section aria-labelledby="warnings-heading"><h2 id="warnings-heading">Warnings (${i.warnings.length})</h2><ul class="warnings">${i.warnings.map((w) => html`<li>${w}</li>`)}</ul></section>`
  : ''}
${i.report !== null ? html`<section aria-labelledby="report-heading"><h2 id="report-heading">Report</h2><pre data-report>${JSON.stringify(i.report, null, 2)}</pre></section>` : ''}
<section aria-labelledby="instance-parameters-heading"><h2 id="instance-parameters-heading">Parameters</h2><pre>${JSON.stringify(i.parameters, null, 2)}</pre></section>
<section aria-labelledby="chunks-heading">
<h2 id="chunks-heading">Chunks</h2>
<form method="get" action="${href(options, path)}" class="filters" role="search" aria-label="Filter chunks">
<div class="field"><label for="filter-chunk-state">State</label>
<select id="filter-chunk-state" name="state"><option value="">Any state</option>${CHUNK_STATUSES.map(
    (s) => html`<option value="${s}"${view.chunkState === s ? html` selected` : ''}>${s}</option>`,
  )}</select></div>
<div class="field"><label for="filter-chunk-step">Step</label>
<select id="filter-chunk-step" name="step"><option value="">Any step</option>${Object.keys(i.chunkCounts).map(
    (s) => html`<option value="${s}"${view.chunkStep === s ? html` selected` : ''}>${s}</option>`,
  )}</select></div>
<div class="field buttons"><button type="submit">Show chunks</button></div>
</form>
${chunksTable(view.chunks)}
</section>
</div>`;
}
