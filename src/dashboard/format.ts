/** Display formats shared by the pages and the live events (which carry preformatted text). */

/** `850ms`, `12.4s`, `1m 02.3s`, `2h 05m 09.0s`; `-` when unknown (the CLI's format). */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const tenths = Math.round(ms / 100);
  if (tenths < 600) return `${(tenths / 10).toFixed(1)}s`;
  const hours = Math.floor(tenths / 36_000);
  const minutes = Math.floor((tenths % 36_000) / 600);
  const seconds = ((tenths % 600) / 10).toFixed(1).padStart(4, '0');
  return hours > 0 ? `${hours}h ${String(minutes).padStart(2, '0')}m ${seconds}s` : `${minutes}m ${seconds}s`;
}

/** UTC as `2024-01-31 14:05:09Z`; `-` when absent. Pages wrap it in `<time datetime=ISO>`. */
export function formatTime(value: string | Date | null | undefined): string {
  if (value === null || value === undefined) return '-';
  const date = typeof value === 'string' ? new Date(value) : value;
  if (Number.isNaN(date.getTime())) return '-';
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** `1,234,567`. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** `42.0%`, or `-` when unknown. */
export function formatPercent(fraction: number | null | undefined): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return '-';
  return `${(fraction * 100).toFixed(1)}%`;
}
