import { formatTime } from '../format.js';
import { html, type Html, type HtmlChild } from '../html.js';
import type { ResolvedDashboardOptions } from '../options.js';

export type Section = 'overview' | 'executions' | 'instances';

export interface PageOptions {
  readonly title: string;
  readonly section: Section | undefined;
  readonly body: HtmlChild;
}

/** A link inside the dashboard: `path` starts with '/'; the base path is prepended. */
export function href(options: ResolvedDashboardOptions, path: string): string {
  return `${options.basePath}${path}`;
}

/**
 * The page shell. Stable hooks for scripts and tests: `body[data-base-path]`, `body[data-read-only]`,
 * `body[data-live-mode]` (set by the script: connecting, live, polling, paused, offline), the live
 * status `[data-live-state]` (role=status) and the pause toggle `[data-live-toggle]`.
 */
export function layout(options: ResolvedDashboardOptions, page: PageOptions): Html {
  const link = (section: Section, path: string, label: string) =>
    html`<li><a href="${href(options, path)}"${page.section === section ? html` aria-current="page"` : ''}>${label}</a></li>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${page.title} · tsbatch</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${href(options, '/assets/dashboard.css')}">
<script src="${href(options, '/assets/dashboard.js')}" defer></script>
</head>
<body data-base-path="${options.basePath}" data-read-only="${String(options.readOnly)}" data-fallback-poll-ms="${options.fallbackPollMs}" data-live-mode="connecting">
<a class="skip-link" href="#main">Skip to content</a>
<header class="top">
<a class="brand" href="${href(options, '/')}">tsbatch</a>
<nav aria-label="Main"><ul>
${link('overview', '/', 'Overview')}
${link('executions', '/executions', 'Executions')}
${link('instances', '/instances', 'Work-chunk jobs')}
</ul></nav>
${options.readOnly ? html`<span class="badge" data-read-only-badge>Read-only</span>` : ''}
<div class="live">
<span role="status" aria-live="polite" data-live-state="connecting">Connecting…</span>
<button type="button" data-live-toggle aria-pressed="false">Pause live updates</button>
</div>
</header>
<main id="main">
${page.body}
</main>
</body>
</html>`;
}

/** A status badge; `live` marks it as the field the script updates (`data-field="status"`). */
export function statusBadge(status: string, field: 'data-field' | 'data-step-field' | undefined = undefined): Html {
  return field === undefined
    ? html`<span class="status" data-status="${status}">${status}</span>`
    : field === 'data-field'
      ? html`<span class="status" data-status="${status}" data-field="status">${status}</span>`
      : html`<span class="status" data-status="${status}" data-step-field="status">${status}</span>`;
}

/** `<time>` with the ISO value in `datetime` and UTC text. */
export function time(value: string | null | undefined, attributes: Html | '' = ''): Html {
  if (!value) return html`<span ${attributes}>-</span>`;
  return html`<time datetime="${value}" ${attributes}>${formatTime(value)}</time>`;
}

/** A `role=status` notice after an action, or a `role=alert` error. */
export function notice(text: string | undefined, kind: 'status' | 'alert' = 'status'): Html | '' {
  if (!text) return '';
  return html`<div class="notice notice-${kind}" role="${kind}">${text}</div>`;
}

/** A POST form with one button, confirmed in the browser with `data-confirm`. */
export function actionForm(action: string, label: string, confirm: string, danger = false): Html {
  return html`<form method="post" action="${action}" data-confirm="${confirm}" class="action-form"><button type="submit"${danger ? html` class="danger"` : ''}>${label}</button></form>`;
}
