import { formatDuration } from '../format.js';
import { html, type Html } from '../html.js';
import type { ExecutionDetailJson } from '../model.js';

const LABEL = 170;
const BARS = 560;
const ROW = 24;
const TOP = 8;
const AXIS = 22;

/**
 * The steps of an execution as a Gantt chart in inline SVG: one bar per step from its start to
 * its end (to now while it runs), on a scale from the execution's start to its end. Each bar has
 * `data-step-id` and `data-status`, and a `<title>` tooltip; `<desc>` says it all in words.
 */
export function stepTimeline(detail: ExecutionDetailJson, now = Date.now()): Html {
  const steps = detail.steps.filter((s) => s.startTime !== null);
  if (steps.length === 0) return html`<p>No step has started yet.</p>`;
  const start = Math.min(...steps.map((s) => Date.parse(s.startTime!)), detail.startTime ? Date.parse(detail.startTime) : Infinity);
  const end = Math.max(...steps.map((s) => (s.endTime ? Date.parse(s.endTime) : now)), detail.endTime ? Date.parse(detail.endTime) : 0, start + 1);
  const span = end - start;
  const x = (t: number) => LABEL + ((t - start) / span) * BARS;
  const height = TOP + steps.length * ROW + AXIS;
  const width = LABEL + BARS + 80;
  const words = steps
    .map((s) => `${s.stepName}: from ${formatDuration(Date.parse(s.startTime!) - start)} to ${formatDuration((s.endTime ? Date.parse(s.endTime) : now) - start)}, ${s.status}`)
    .join('; ');
  const rows = steps.map((s, i) => {
    const from = x(Date.parse(s.startTime!));
    const to = x(s.endTime ? Date.parse(s.endTime) : now);
    const y = TOP + i * ROW;
    const barWidth = Math.max(2, to - from);
    const name = s.stepName.length > 22 ? `${s.stepName.slice(0, 21)}…` : s.stepName;
    return html`<g class="timeline-row" data-step-id="${s.id}" data-status="${s.status}">
<text x="${LABEL - 8}" y="${y + 15}" text-anchor="end" class="timeline-label">${name}</text>
<rect x="${from.toFixed(1)}" y="${y + 3}" width="${barWidth.toFixed(1)}" height="${ROW - 8}" rx="3" class="timeline-bar" data-status="${s.status}"><title>${s.stepName}: ${formatDuration(s.durationMs)}, ${s.status}</title></rect>
<text x="${(from + barWidth + 6).toFixed(1)}" y="${y + 15}" class="timeline-duration">${formatDuration(s.durationMs)}</text>
</g>`;
  });
  const axisY = TOP + steps.length * ROW + 4;
  const ticks = [0, 0.5, 1].map(
    (f) => html`<text x="${(LABEL + f * BARS).toFixed(1)}" y="${axisY + 14}" text-anchor="${f === 0 ? 'start' : f === 1 ? 'end' : 'middle'}" class="timeline-tick">${formatDuration(f * span)}</text>`,
  );
  return html`<svg class="timeline" role="img" aria-labelledby="timeline-title timeline-desc" viewBox="0 0 ${width} ${height}" width="100%" preserveAspectRatio="xMinYMin meet">
<title id="timeline-title">Step timeline of execution ${detail.id}</title>
<desc id="timeline-desc">${words}</desc>
${rows}
<line x1="${LABEL}" y1="${axisY}" x2="${LABEL + BARS}" y2="${axisY}" class="timeline-axis"></line>
${ticks}
</svg>`;
}
