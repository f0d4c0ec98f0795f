/**
 * Shared fixtures of the dashboard tests: real runtimes with real jobs (a quick one, one that
 * fails until told not to, one that blocks at a gate the test opens) and a work-chunk job whose
 * last step waits at a gate; JSON and SSE helpers over `app.request()` (no socket).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Hono } from 'hono';
import { z } from 'zod';
import {
  BatchRuntime,
  RepeatStatus,
  iterableReader,
  job,
  step,
  workChunkJob,
  type ItemReader,
  type Job,
  type WorkChunkJobDefinition,
} from '../../../src/index.js';

export interface Deferred {
  readonly promise: Promise<void>;
  readonly release: () => void;
}

export function deferred(): Deferred {
  let release: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
}

const runtimes: BatchRuntime[] = [];
const directories: string[] = [];
const gates: Deferred[] = [];

/** Opens every gate, then closes every runtime and removes every directory the test made. */
export async function cleanUp(): Promise<void> {
  for (const gate of gates.splice(0)) gate.release();
  for (const runtime of runtimes.splice(0)) await runtime.close();
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
}

/** A gate that cleanUp opens if the test did not. */
export function gate(): Deferred {
  const d = deferred();
  gates.push(d);
  return d;
}

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsbatch-dashboard-'));
  directories.push(dir);
  return dir;
}

export async function openRuntime(path?: string): Promise<BatchRuntime> {
  const runtime = await BatchRuntime.open({
    ...(path ? { path } : { inMemory: true }),
    logger: false,
    recovery: 'none',
    workChunks: { pollIntervalMs: 10, maintenanceIntervalMs: 600_000 },
  });
  runtimes.push(runtime);
  return runtime;
}

function numbers(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i + 1);
}

/** 'quick': one chunk step over `items` numbers (chunks of 10), then a tasklet. */
export function quickJob(name = 'quick', items = 25): Job {
  const load = step('load')
    .chunk<number, number>(10)
    .reader(() => iterableReader(numbers(items)))
    .writer({ write() {} })
    .build();
  const report = step('report').tasklet(() => RepeatStatus.FINISHED).build();
  return job(name).start(load).next(report).build();
}

/** 'failing': fails at item 7 while `control.fail`; a restart after `control.fail = false` completes. */
export function failingJob(control: { fail: boolean }): Job {
  const load = step('load')
    .chunk<number, number>(5)
    .reader(() => iterableReader(numbers(12)))
    .processor((n) => {
      if (control.fail && n === 7) throw new Error('boom at item 7');
      return n;
    })
    .writer({ write() {} })
    .build();
  return job('failing').start(load).build();
}

/** A reader of 1..items that waits at `wait` before reading item `blockAt`. */
function blockingReader(items: number, blockAt: number, wait: Promise<void>): ItemReader<number> {
  let next = 1;
  return {
    async read() {
      if (next === blockAt) await wait;
      return next <= items ? next++ : null;
    },
  };
}

/** 'blocking': chunks of 2 over 1..10 that stop before item 5 until `wait` resolves. */
export function blockingJob(wait: Promise<void>, name = 'blocking'): Job {
  const load = step('load')
    .chunk<number, number>(2)
    .reader(() => blockingReader(10, 5, wait))
    .writer({ write() {} })
    .build();
  return job(name).start(load).build();
}

/** Waits until `check` holds (every 10 ms), or fails after `timeoutMs`. */
export async function until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Starts the blocking job and waits until its first two chunks have committed. */
export async function startBlocked(runtime: BatchRuntime, wait: Promise<void>, name = 'blocking'): Promise<number> {
  if (!runtime.registry.has(name)) runtime.registry.register(blockingJob(wait, name));
  const id = await runtime.operator.start(name, { run: Date.now() + Math.random() });
  await until('two commits', async () => ((await runtime.explorer.getJobExecution(id))?.stepExecutions[0]?.commitCount ?? 0) >= 2);
  return id;
}

/** 'export' (work-chunk): `parts` chunks from the first step; the last step waits at `wait`. */
export function exportDefinition(wait: Promise<void>): WorkChunkJobDefinition<{ parts: number }> {
  return workChunkJob('export', 1)
    .parameters(z.object({ parts: z.number().int().positive() }))
    .first<{ part: number }>('split', ({ parameters }, sink) => {
      for (let part = 1; part <= parameters.parts; part++) sink.accept({ part });
    })
    .last('write', async ({ data }) => {
      if (data.part > 1) await wait;
      return { recordsProcessed: 10 };
    })
    .build();
}

export interface JsonResponse<T = unknown> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

/** A JSON request to the app, without a socket. */
export async function api<T = Record<string, unknown>>(app: Hono, path: string, init?: RequestInit): Promise<JsonResponse<T>> {
  const response = await app.request(path, init);
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${path} answered ${response.status} ${response.headers.get('content-type')}: ${text.slice(0, 300)}`);
  }
  return { status: response.status, headers: response.headers, body: body as T };
}

export async function page(app: Hono, path: string, init?: RequestInit): Promise<{ status: number; headers: Headers; html: string }> {
  const response = await app.request(path, init);
  return { status: response.status, headers: response.headers, html: await response.text() };
}

export const post = (headers: Record<string, string> = {}): RequestInit => ({ method: 'POST', headers });

export interface SseEvent {
  readonly event: string | undefined;
  readonly id: string | undefined;
  readonly retry: string | undefined;
  readonly data: string | undefined;
  readonly comments: readonly string[];
}

/** Parses the complete blocks of an SSE text. */
export function parseSse(text: string): SseEvent[] {
  return text
    .split('\n\n')
    .slice(0, -1)
    .map((block) => {
      const fields: Record<string, string> = {};
      const comments: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) comments.push(line.slice(1).trim());
        else {
          const colon = line.indexOf(':');
          const name = line.slice(0, colon);
          const value = line.slice(colon + 1).replace(/^ /, '');
          fields[name] = name in fields ? `${fields[name]}\n${value}` : value;
        }
      }
      return { event: fields['event'], id: fields['id'], retry: fields['retry'], data: fields['data'], comments };
    });
}

/** Reads an SSE response until `enough` says so (or the timeout), then cancels it. */
export async function readSse(response: Response, enough: (events: SseEvent[]) => boolean, timeoutMs = 5000): Promise<{ text: string; events: SseEvent[] }> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const remaining = Math.max(0, deadline - Date.now());
      const chunk = await Promise.race([reader.read(), sleep(remaining).then(() => 'timeout' as const)]);
      if (chunk === 'timeout') throw new Error(`SSE: timed out; got so far:\n${text}`);
      if (chunk.done) break;
      text += decoder.decode(chunk.value, { stream: true });
      if (enough(parseSse(text))) break;
    }
  } finally {
    await reader.cancel();
  }
  return { text, events: parseSse(text) };
}

export function dataOf<T = Record<string, unknown>>(event: SseEvent): T {
  return JSON.parse(event.data ?? 'null') as T;
}
