import { formatCount, formatDuration, formatPercent, formatRate } from '../format.js';
import { html, type Html } from '../html.js';
import type { ProgressEventData } from '../live-events.js';
import type { ExecutionJson, InstanceJson, JobJson } from '../model.js';
import type { ResolvedDashboardOptions } from '../options.js';
import { href, statusBadge, time } from './layout.js';

export interface RunningRow {
  readonly execution: ExecutionJson;
  readonly progress: ProgressEventData;
}

/** `<progress>` for an execution or instance: `data-progress-for="execution:12"`; no value = unknown. */
export function progressBar(key: string, fraction: number | null, label: string): Html {
  const value = fraction === null ? '' : html` value="${(Math.round(fraction * 1000) / 10).toFixed(1)}"`;
  return html`<progress max="100"${value} data-progress-for="${key}" aria-label="${label}">${formatPercent(fraction)}</progress>`;
}

export function runningTable(options: ResolvedDashboardOptions, rows: readonly RunningRow[]): Html {
  if (rows.length === 0) return html`<p data-empty>No execution is running.</p>`;
  return html`<table aria-labelledby="running-heading">
<thead><tr><th scope="col">Execution</th><th scope="col">Job</th><th scope="col">Status</th><th scope="col">Step</th><th scope="col">Progress</th><th scope="col" class="num">Read</th><th scope="col" class="num">Written</th><th scope="col" class="num">Skipped</th><th scope="col" class="num">Rate</th><th scope="col" class="num">ETA</th><th scope="col">Started</th><th scope="col" class="num">Duration</th></tr></thead>
<tbody>
${rows.map(
  ({ execution: e, progress: p }) => html`<tr data-execution-id="${e.id}" data-status="${e.status}">
<td><a href="${href(options, `/executions/${e.id}`)}">${e.id}</a></td>
<td>${e.jobName}</td>
<td>${statusBadge(e.status, 'data-field')}</td>
<td data-field="stepName">${p.stepName ?? '-'}</td>
<td class="progress-cell">${progressBar(`execution:${e.id}`, p.percentageComplete, `Progress of execution ${e.id}`)} <span data-field="percent">${formatPercent(p.percentageComplete)}</span></td>
<td class="num" data-field="readCount">${formatCount(p.readCount)}</td>
<td class="num" data-field="writeCount">${formatCount(p.writeCount)}</td>
<td class="num" data-field="skipCount">${formatCount(p.skipCount)}</td>
<td class="num" data-field="rate">${formatRate(p.itemsPerSecond)}</td>
<td class="num" data-field="eta">${formatDuration(p.estimatedTimeRemainingMs)}</td>
<td>${time(e.startTime, html`data-field="startTime"`)}</td>
<td class="num" data-field="duration">${formatDuration(e.durationMs)}</td>
</tr>`,
)}
</tbody>
</table>`;
}

export function instancesTable(options: ResolvedDashboardOptions, instances: readonly InstanceJson[], labelledBy: string): Html {
  if (instances.length === 0) return html`<p data-empty>No work-chunk job instance.</p>`;
  return html`<table aria-labelledby="${labelledBy}">
<thead><tr><th scope="col">Instance</th><th scope="col">Definition</th><th scope="col">Status</th><th scope="col">Progress</th><th scope="col" class="num">Chunks</th><th scope="col" class="num">Errors</th><th scope="col">Created</th><th scope="col" class="num">ETA</th></tr></thead>
<tbody>
${instances.map(
  (i) => html`<tr data-instance-id="${i.id}" data-status="${i.status}">
<td><a href="${href(options, `/instances/${encodeURIComponent(i.id)}`)}">${i.id.slice(0, 8)}</a></td>
<td>${i.definitionId}@${i.definitionVersion}</td>
<td>${statusBadge(i.status, 'data-field')}</td>
<td class="progress-cell">${progressBar(`instance:${i.id}`, i.progress, `Progress of instance ${i.id}`)} <span data-field="progress">${formatPercent(i.progress)}</span></td>
<td class="num" data-field="chunks">${formatCount(i.completedChunks)} / ${formatCount(i.totalChunks)}</td>
<td class="num" data-field="errorCount">${formatCount(i.errorCount)}</td>
<td>${time(i.createTime)}</td>
<td class="num" data-field="eta">${formatDuration(i.estimatedTimeRemainingMs)}</td>
</tr>`,
)}
</tbody>
</table>`;
}

function jobsTable(options: ResolvedDashboardOptions, jobs: readonly JobJson[]): Html {
  if (jobs.length === 0) return html`<p data-empty>No job has run in this store, and none is registered.</p>`;
  return html`<table aria-labelledby="jobs-heading">
<thead><tr><th scope="col">Job</th><th scope="col">Registered here</th><th scope="col">Last execution</th><th scope="col">Last status</th><th scope="col">Last start</th><th scope="col" class="num">Last duration</th><th scope="col" class="num">Running</th></tr></thead>
<tbody>
${jobs.map((j) => {
  const last = j.lastExecution;
  return html`<tr data-job-name="${j.name}">
<td><a href="${href(options, `/executions?job=${encodeURIComponent(j.name)}`)}">${j.name}</a></td>
<td>${j.registered ? 'Yes' : 'No'}</td>
<td>${last ? html`<a href="${href(options, `/executions/${last.id}`)}">${last.id}</a>` : '-'}</td>
<td>${last ? statusBadge(last.status) : '-'}</td>
<td>${last ? time(last.startTime) : '-'}</td>
<td class="num">${last ? formatDuration(last.durationMs) : '-'}</td>
<td class="num">${j.running}</td>
</tr>`;
})}
</tbody>
</table>`;
}

/** `/`: running executions with live progress, active work-chunk instances, and every job's last status. */
export function overviewPage(options: ResolvedDashboardOptions, running: readonly RunningRow[], instances: readonly InstanceJson[], jobs: readonly JobJson[]): Html {
  return html`<h1>Overview</h1>
<section id="running-executions" data-live-region data-watch="executions" aria-labelledby="running-heading">
<h2 id="running-heading">Running executions</h2>
${runningTable(options, running)}
</section>
<section id="active-instances" data-live-region data-watch="instances" aria-labelledby="active-instances-heading">
<h2 id="active-instances-heading">Active work-chunk jobs</h2>
${instancesTable(options, instances, 'active-instances-heading')}
</section>
<section id="jobs" data-live-region data-watch="executions" aria-labelledby="jobs-heading">
<h2 id="jobs-heading">Jobs</h2>
${jobsTable(options, jobs)}
</section>`;
}
