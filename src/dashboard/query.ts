import { BatchStatus, WorkChunkInstanceStatus, WorkChunkStatus } from '../index.js';
import { invalidQuery } from './http-error.js';

/** Query-string parsing shared by the pages and the JSON API; a bad value is a 400 INVALID_QUERY. */

type Query = Record<string, string | undefined>;

/** The value of `name`, or undefined when absent or empty (an empty select means "any"). */
export function text(query: Query, name: string): string | undefined {
  const value = query[name]?.trim();
  return value ? value : undefined;
}

function oneOf<T extends string>(query: Query, name: string, known: readonly T[]): T | undefined {
  const value = text(query, name);
  if (value === undefined) return undefined;
  const upper = value.toUpperCase();
  if (!(known as readonly string[]).includes(upper)) throw invalidQuery(`Unknown ${name} '${value}'; use one of ${known.join(', ')}.`);
  return upper as T;
}

export const BATCH_STATUSES = Object.values(BatchStatus) as BatchStatus[];
export const INSTANCE_STATUSES = Object.values(WorkChunkInstanceStatus) as WorkChunkInstanceStatus[];
export const CHUNK_STATUSES = Object.values(WorkChunkStatus) as WorkChunkStatus[];

export const batchStatus = (query: Query, name = 'status') => oneOf(query, name, BATCH_STATUSES);
export const instanceStatus = (query: Query, name = 'status') => oneOf(query, name, INSTANCE_STATUSES);
export const chunkStatus = (query: Query, name = 'state') => oneOf(query, name, CHUNK_STATUSES);

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * A date or time: `2024-01-31` (UTC; as `to`, the whole day is included), `2024-01-31T10:00`
 * (a datetime-local input, read as UTC), or a full ISO 8601 time with zone.
 */
export function date(query: Query, name: 'from' | 'to'): Date | undefined {
  const value = text(query, name);
  if (value === undefined) return undefined;
  let parsed: Date;
  if (DATE_ONLY.test(value)) {
    parsed = new Date(`${value}T00:00:00.000Z`);
    if (name === 'to') parsed = new Date(parsed.getTime() + 24 * 3600 * 1000 - 1);
  } else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value)) {
    parsed = new Date(`${value}Z`);
  } else {
    parsed = new Date(value);
  }
  if (Number.isNaN(parsed.getTime())) throw invalidQuery(`'${name}' must be a date (2024-01-31) or an ISO 8601 time; got '${value}'.`);
  return parsed;
}

/** A whole number in [min, max], or `fallback` when absent. */
export function integer(query: Query, name: string, fallback: number, min: number, max: number): number {
  const value = text(query, name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw invalidQuery(`'${name}' must be a whole number from ${min} to ${max}; got '${value}'.`);
  }
  return n;
}

/** An execution id from a path segment (a whole number), or a 404 for anything else. */
export function parseExecutionId(value: string): number | undefined {
  if (!/^\d{1,15}$/.test(value)) return undefined;
  return Number(value);
}
