/** The pages' stylesheet, served as `/assets/dashboard.css`. System fonts, no images. */
export const STYLES = `
:root { color-scheme: light dark; --fg: #1d232a; --muted: #5b6670; --bg: #ffffff; --panel: #f4f6f8; --line: #d8dee4; --link: #0b5cad;
  --ok: #1a7f37; --run: #0b5cad; --warn: #9a6700; --bad: #c62828; --off: #6e7781; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #9aa7b3; --bg: #0d1117; --panel: #161b22; --line: #30363d; --link: #58a6ff;
  --ok: #3fb950; --run: #58a6ff; --warn: #d29922; --bad: #f85149; --off: #8b949e; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--link); }
.skip-link { position: absolute; left: -1000px; }
.skip-link:focus { left: 8px; top: 8px; background: var(--bg); padding: 4px 8px; z-index: 10; }
.top { display: flex; flex-wrap: wrap; align-items: center; gap: 16px; padding: 8px 20px; border-bottom: 1px solid var(--line); background: var(--panel); }
.brand { font-weight: 700; text-decoration: none; color: var(--fg); }
.top nav ul { display: flex; gap: 14px; list-style: none; margin: 0; padding: 0; }
.top nav a[aria-current="page"] { font-weight: 700; text-decoration: none; color: var(--fg); }
.live { margin-left: auto; display: flex; gap: 8px; align-items: center; color: var(--muted); }
.badge { border: 1px solid var(--warn); color: var(--warn); border-radius: 10px; padding: 0 8px; font-size: 12px; }
main { padding: 12px 20px 40px; max-width: 1400px; }
h1 { font-size: 22px; margin: 8px 0 12px; }
h1 .subtitle { color: var(--muted); font-weight: 400; }
h2 { font-size: 17px; margin: 22px 0 8px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; white-space: nowrap; }
thead th { background: var(--panel); font-weight: 600; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.table-scroll { overflow-x: auto; }
.status { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px; font-weight: 600; border: 1px solid currentColor; color: var(--off); }
[data-status="COMPLETED"].status { color: var(--ok); }
[data-status="STARTING"].status, [data-status="STARTED"].status, [data-status="IN_PROGRESS"].status, [data-status="QUEUED"].status, [data-status="READY"].status, [data-status="FINALIZE"].status { color: var(--run); }
[data-status="STOPPING"].status, [data-status="STOPPED"].status, [data-status="ERRORED"].status, [data-status="POLL_WAITING"].status, [data-status="CANCELLED"].status { color: var(--warn); }
[data-status="FAILED"].status, [data-status="UNKNOWN"].status, [data-status="ABANDONED"].status { color: var(--bad); }
progress { width: 140px; height: 12px; vertical-align: middle; }
.progress-cell { white-space: nowrap; }
.filters { display: flex; flex-wrap: wrap; gap: 12px; align-items: end; margin: 6px 0 10px; padding: 10px; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; }
.filters .field { display: flex; flex-direction: column; gap: 3px; }
.filters .buttons { flex-direction: row; align-items: center; gap: 10px; }
.filters.jump { display: inline-flex; }
label { font-size: 12px; color: var(--muted); }
input, select, button { font: inherit; padding: 4px 8px; border: 1px solid var(--line); border-radius: 5px; background: var(--bg); color: var(--fg); }
button { cursor: pointer; background: var(--panel); }
button.danger { border-color: var(--bad); color: var(--bad); }
button:focus-visible, a:focus-visible, input:focus-visible, select:focus-visible, summary:focus-visible { outline: 2px solid var(--link); outline-offset: 2px; }
.actions { display: flex; gap: 10px; flex-wrap: wrap; }
.action-form { margin: 0; }
.hint { color: var(--muted); font-size: 12px; white-space: normal; }
.summary { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 6px 20px; margin: 0; }
.summary div { display: flex; flex-direction: column; }
.summary dt { font-size: 12px; color: var(--muted); }
.summary dd { margin: 0; }
.notice { padding: 8px 12px; border-radius: 6px; margin: 8px 0; border: 1px solid var(--run); }
.notice-alert { border-color: var(--bad); }
details { margin: 6px 0; border: 1px solid var(--line); border-radius: 6px; padding: 4px 10px; }
details.failure[data-status="FAILED"], details.failure[data-status="UNKNOWN"] { border-color: var(--bad); }
summary { cursor: pointer; white-space: normal; }
pre { overflow-x: auto; font-size: 12px; background: var(--panel); padding: 8px; border-radius: 5px; white-space: pre-wrap; word-break: break-word; }
.pagination { display: flex; gap: 14px; margin-top: 10px; }
.instance-executions { margin-top: 8px; color: var(--muted); }
figure { margin: 0; }
figcaption { color: var(--muted); font-size: 12px; }
svg.timeline { max-width: 900px; display: block; }
.timeline-label, .timeline-duration, .timeline-tick { font-size: 12px; fill: var(--fg); }
.timeline-tick { fill: var(--muted); }
.timeline-axis { stroke: var(--line); }
.timeline-bar { fill: var(--off); }
.timeline-bar[data-status="COMPLETED"] { fill: var(--ok); }
.timeline-bar[data-status="STARTED"], .timeline-bar[data-status="STARTING"] { fill: var(--run); }
.timeline-bar[data-status="STOPPING"], .timeline-bar[data-status="STOPPED"] { fill: var(--warn); }
.timeline-bar[data-status="FAILED"], .timeline-bar[data-status="UNKNOWN"], .timeline-bar[data-status="ABANDONED"] { fill: var(--bad); }
.warnings { padding-left: 20px; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;
