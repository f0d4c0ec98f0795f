/**
 * The dashboard in a real browser (issue #9): Debian's Chromium driven by playwright-core through
 * its executablePath (no browser download), a runtime over a temp LMDB store with jobs whose pace
 * the tests control, and pages that fail their test on a script error or a console error.
 */
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { z } from 'zod';
import { BatchRuntime, iterableReader, job, step, workChunkJob, type Job, type WorkChunkJobDefinition } from '../../src/index.js';

/** Debian's package; `.ci/run` installs it. TSBATCH_E2E_CHROMIUM points elsewhere (to try the missing case). */
export const CHROMIUM = process.env['TSBATCH_E2E_CHROMIUM'] ?? '/usr/bin/chromium';

/** The flags headless Chromium needs as root on a closed network (shared/reference/observability.md 3.4). */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function chromiumAvailable(): boolean {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}

/** Where a failing test leaves its screenshot and HTML. */
export const ARTIFACTS = process.env['TSBATCH_E2E_ARTIFACTS'] ?? join(tmpdir(), 'tsbatch-e2e-artifacts');

import { deferred, type Deferred } from '../integration/dashboard/harness.js';

export { deferred, type Deferred };

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * How the test steers the 'slow' job. Every write sleeps `delayMs` (a job parameter) per item;
 * before the first write it waits at `startGate` when set; the write of the chunk that reaches item
 * `pauseAtItem` waits at `pauseGate` (once). `firstWrites` records the first item each execution wrote.
 */
export interface SlowControl {
  startGate: Promise<void> | undefined;
  atStartGate: Deferred;
  pauseAtItem: number | undefined;
  pauseGate: Promise<void> | undefined;
  atPauseGate: Deferred;
  readonly firstWrites: Map<number, number>;
  readonly written: Map<number, number>;
}

export function slowControl(): SlowControl {
  return {
    startGate: undefined,
    atStartGate: deferred(),
    pauseAtItem: undefined,
    pauseGate: undefined,
    atPauseGate: deferred(),
    firstWrites: new Map(),
    written: new Map(),
  };
}

export const SLOW_ITEMS = 2000;
export const SLOW_CHUNK = 50;

/** 'slow': one chunk step 'load' over 1..2000 in chunks of 50, `delayMs` per item in the writer. */
export function slowJob(control: SlowControl): Job {
  const load = step('load')
    .chunk<number, number>(SLOW_CHUNK)
    .reader(() => iterableReader(Array.from({ length: SLOW_ITEMS }, (_, i) => i + 1)))
    .writer((execution) => ({
      async write(chunk) {
        const id = execution.jobExecutionId;
        const items = chunk.items;
        if (!control.firstWrites.has(id)) control.firstWrites.set(id, items[0]!);
        if (control.startGate) {
          control.atStartGate.release();
          await control.startGate;
        }
        const delayMs = Number(execution.jobParameters.get('delayMs') ?? 0);
        if (delayMs > 0) await sleep(items.length * delayMs);
        if (control.pauseAtItem !== undefined && items[items.length - 1]! >= control.pauseAtItem && control.pauseGate) {
          const gate = control.pauseGate;
          control.pauseAtItem = undefined;
          control.atPauseGate.release();
          await gate;
        }
        control.written.set(id, (control.written.get(id) ?? 0) + items.length);
      },
    }))
    .build();
  return job('slow').start(load).build();
}

export const FAILURE_MESSAGE = 'boom at item 7 (e2e)';

/** 'failing': chunks of 5 over 1..12; the processor throws at item 7. */
export function failingJob(): Job {
  const load = step('load')
    .chunk<number, number>(5)
    .reader(() => iterableReader(Array.from({ length: 12 }, (_, i) => i + 1)))
    .processor((n) => {
      if (n === 7) throw new Error(FAILURE_MESSAGE);
      return n;
    })
    .writer({ write() {} })
    .build();
  return job('failing').start(load).build();
}

/**
 * 'export' (work-chunk): `parts` chunks from 'split'; each run of 'write' takes `chunkMs`, and the
 * runs after the first `free` ones wait at `hold` (whatever part they got: chunks start in no set order).
 */
export function exportDefinition(hold: Promise<void>): WorkChunkJobDefinition<{ parts: number; free: number; chunkMs: number }> {
  let runs = 0;
  return workChunkJob('export', 1)
    .parameters(z.object({ parts: z.number().int().positive(), free: z.number().int().nonnegative(), chunkMs: z.number().int().nonnegative() }))
    .first<{ part: number }>('split', ({ parameters }, sink) => {
      for (let part = 1; part <= parameters.parts; part++) sink.accept({ part });
    })
    .last('write', async ({ parameters }) => {
      const run = ++runs;
      await sleep(parameters.chunkMs);
      if (run > parameters.free) await hold;
      return { recordsProcessed: 10 };
    })
    .build();
}

export async function openRuntime(path: string): Promise<BatchRuntime> {
  return BatchRuntime.open({
    path,
    logger: false,
    recovery: 'none',
    workChunks: { pollIntervalMs: 20, maintenanceIntervalMs: 600_000 },
  });
}

/** Waits until `check` returns a value (every 50 ms), or fails after `timeoutMs`. */
export async function until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** `1,050` → 1050. */
export function count(text: string | null): number {
  return Number((text ?? '').replace(/[^0-9]/g, ''));
}

/** The value (`<dd>`) of a term (`<dt>`) in a page's summary list, e.g. 'Status'. */
export function summaryValue(page: Page, term: string): Locator {
  return page
    .locator('dl.summary > div')
    .filter({ has: page.getByRole('term').filter({ hasText: new RegExp(`^${term.replace(/[/]/g, '\\/')}$`) }) })
    .getByRole('definition');
}

/**
 * Opens a page in a fresh context, runs `body`, and then fails on any uncaught page error or
 * console error it saw. When `body` throws, a screenshot and the HTML go to ARTIFACTS first.
 */
export async function withPage(browser: Browser, name: string, body: (page: Page, context: BrowserContext) => Promise<void>): Promise<void> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.setDefaultNavigationTimeout(30_000);
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.stack ?? error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console.error at ${page.url()}: ${message.text()}`);
  });
  try {
    await body(page, context);
    if (problems.length) throw new Error(`The page reported errors:\n${problems.join('\n')}`);
  } catch (error) {
    await saveArtifacts(page, name, problems).catch(() => undefined);
    throw error;
  } finally {
    await context.close();
  }
}

async function saveArtifacts(page: Page, name: string, problems: readonly string[]): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const base = join(ARTIFACTS, `${name}-${Date.now()}`);
  await page.screenshot({ path: `${base}.png`, fullPage: true, timeout: 10_000 });
  writeFileSync(`${base}.html`, await page.content());
  writeFileSync(`${base}.txt`, `${page.url()}\n${problems.join('\n')}\n`);
  console.error(`[dashboard e2e] ${name} failed: screenshot and HTML in ${base}.{png,html,txt}`);
}
