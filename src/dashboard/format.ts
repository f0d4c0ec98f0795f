/** Display formats shared by the pages and the live events (which carry preformatted text). */
import { formatDuration } from '../present/format-duration.js';

export { formatDuration };


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

/** `1,234 items/s`; `-` when unknown. */
export function formatRate(perSecond: number | null | undefined): string {
  if (perSecond === null || perSecond === undefined || !Number.isFinite(perSecond)) return '-';
  return `${formatCount(Math.round(perSecond))} items/s`;
}
