/**
 * End-to-end tests of the dashboard (issue #9) in headless Chromium driven by playwright-core:
 * live progress over SSE, Stop and Restart from the page, a failure's stack trace, the executions
 * filters in the URL, read-only mode, a work-chunk instance's progress, ETA and Cancel, and a
 * second process writing to the same store. Selectors go by role, name, label and table header.
 *
 * Needs /usr/bin/chromium (Debian's package; `.ci/run` installs it). Without it these tests are
 * skipped with a warning, except under CI=true, where they fail.
 *
 * TSBATCH_DOCS_SCREENSHOT=1 also writes the execution page's screenshot to
 * docs/dashboard-execution.png (the README's picture); otherwise it goes to the artifacts directory.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboard, serveDashboard, type ServedDashboard } from '../../src/dashboard/index.js';
import type { BatchRuntime } from '../../src/index.js';
import { cleanUp as cleanUpCli, json, startCli, TWO_JOBS } from '../integration/cli/cli-harness.js';
import {
  ARTIFACTS,
  CHROMIUM,
  FAILURE_MESSAGE,
  chromiumAvailable,
  count,
  deferred,
  exportDefinition,
  failingJob,
  launchChromium,
  openRuntime,
  removeDir,
  slowControl,
  slowJob,
  summaryValue,
  tempDir,
  until,
  withPage,
  type Deferred,
  type SlowControl,
} from './harness.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const available = chromiumAvailable();
const inCi = process.env['CI'] === 'true';
const skip = !available && !inCi;
if (skip) {
  console.warn(
    `[dashboard e2e] SKIPPED: ${CHROMIUM} is missing or not executable. Install Debian's chromium (apt-get install chromium) ` +
      'to run the browser tests; under CI=true they fail instead of skipping.',
  );
}

/** Generous for a loaded two-core machine: waits end as soon as the page shows what they wait for. */
const WAIT = { timeout: 20_000, interval: 100 };

describe.skipIf(skip)('the dashboard in headless Chromium', () => {
  let browser: Browser;
  let runtime: BatchRuntime;
  let store: string;
  let served: ServedDashboard;
  let readOnly: ServedDashboard;
  let control: SlowControl;
  let failedId: number;
  const gates: Deferred[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    if (!available) {
      throw new Error(
        `CI=true but ${CHROMIUM} is missing or not executable: the dashboard's end-to-end tests need Debian's chromium ` +
          '(.ci/run installs it with apt-get install chromium; never npx playwright install).',
      );
    }
    // Chromium starts while the store is prepared; afterAll closes it even when the setup fails.
    const launching = launchChromium().then((launched) => (browser = launched));
    try {
      await prepare();
    } finally {
      await launching;
    }
  }, 120_000);

  async function prepare(): Promise<void> {
    store = tempDir('tsbatch-e2e-store-');
    dirs.push(store);
    runtime = await openRuntime(store);
    control = slowControl();
    runtime.registry.register(slowJob(control));
    runtime.registry.register(failingJob());
    // A first, quick run of 'slow' gives its step a history, so later runs show a percentage.
    const warmup = await runtime.launcher.run(runtime.registry.get('slow'), { run: 'warmup', delayMs: 0 });
    expect(warmup.status).toBe('COMPLETED');
    const failed = await runtime.launcher.run(runtime.registry.get('failing'), { run: 'e2e' });
    expect(failed.status).toBe('FAILED');
    failedId = failed.id;
    served = await serveDashboard(createDashboard({ runtime, pollIntervalMs: 200 }), { port: 0 });
    readOnly = await serveDashboard(createDashboard({ runtime, readOnly: true, pollIntervalMs: 200 }), { port: 0 });
  }

  afterAll(async () => {
    for (const gate of gates) gate.release();
    if (control) {
      control.startGate = undefined;
      control.pauseGate = undefined;
    }
    cleanUpCli();
    await served?.close();
    await readOnly?.close();
    await browser?.close();
    await runtime?.close();
    for (const dir of dirs) removeDir(dir);
  }, 60_000);

  function gate(): Deferred {
    const d = deferred();
    gates.push(d);
    return d;
  }

  const liveState = (page: Page) => page.getByRole('banner').getByRole('status');
  const status = (page: Page) => summaryValue(page, 'Status');

  /** Clicks an action button and accepts its confirmation; resolves with the dialog's message. */
  async function confirmAction(page: Page, name: string): Promise<string> {
    const message = new Promise<string>((resolve) => {
      page.once('dialog', (dialog) => {
        resolve(dialog.message());
        void dialog.accept();
      });
    });
    await page.getByRole('button', { name, exact: true }).click();
    return message;
  }

  async function apiGet<T = Record<string, unknown>>(path: string): Promise<T> {
    const response = await fetch(`${served.url}${path}`);
    expect(response.status, path).toBe(200);
    return (await response.json()) as T;
  }

  it('(a) shows a running execution progress live, (b) stops it from the page (STOPPING, then STOPPED) and restarts it where it stopped', async () => {
    const start = gate();
    const pause = gate();
    control.startGate = start.promise;
    control.pauseAtItem = 1050; // the write of items 1001..1050 waits at `pause`: 1,000 committed by then
    control.pauseGate = pause.promise;
    const id = await runtime.operator.start('slow', { run: 'e2e', delayMs: 2 });
    await control.atStartGate.promise;

    await withPage(browser, 'stop-and-restart', async (page) => {
      await page.goto(`${served.url}/executions/${id}`);
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(`Execution ${id} slow`);
      expect(await status(page).textContent()).toBe('STARTED');
      await expect.poll(() => liveState(page).textContent(), WAIT).toBe('Live');

      // (a) Progress moves without a reload: the read count and the step's <progress> value grow.
      const read = summaryValue(page, 'Read / written / skipped').locator('[data-field="readCount"]');
      const bar = page.getByRole('progressbar', { name: 'Progress of step load' });
      const firstRead = count(await read.textContent());
      const firstBar = Number(await bar.getAttribute('value'));
      expect(firstRead).toBe(0);
      await page.evaluate('window.e2eMarker = "same document"');
      control.startGate = undefined;
      start.release();
      const seen = new Set<number>([firstRead]);
      await expect
        .poll(async () => {
          const n = count(await read.textContent());
          seen.add(n);
          return n;
        }, WAIT)
        .toBe(1000);
      await expect.poll(async () => Number(await bar.getAttribute('value')), WAIT).toBe(50);
      expect(Number(await bar.getAttribute('value'))).toBeGreaterThan(firstBar);
      expect(await page.evaluate('window.e2eMarker')).toBe('same document');
      console.info(`[dashboard e2e] read counts seen live before the pause: ${[...seen].join(', ')}`);

      await control.atPauseGate.promise;
      // The README's picture, held at 50%: reloaded so that the timeline is drawn up to now.
      await page.reload();
      await expect.poll(() => liveState(page).textContent(), WAIT).toBe('Live');
      await saveScreenshot(page);

      // (b) Stop: STOPPING while the chunk in flight is held, STOPPED once it commits.
      const stopMessage = await confirmAction(page, 'Stop');
      expect(stopMessage).toBe(`Stop execution ${id} of slow? It stops at its next chunk boundary.`);
      await page.waitForURL(new RegExp(`/executions/${id}\\?notice=stop-requested$`));
      expect(await page.getByRole('main').getByRole('status').textContent()).toBe(`Stop requested: execution ${id} stops at its next chunk boundary.`);
      expect(await status(page).textContent()).toBe('STOPPING');
      expect((await apiGet(`/api/executions/${id}`))['status']).toBe('STOPPING');
      await page.evaluate('window.e2eMarker = "after stop"');
      pause.release();
      await expect.poll(() => status(page).textContent(), WAIT).toBe('STOPPED');
      expect(await page.evaluate('window.e2eMarker')).toBe('after stop');
      expect(count(await read.textContent())).toBe(1050);

      // Restart: a new execution of the same instance resumes after item 1050 and completes.
      const restartMessage = await confirmAction(page, 'Restart');
      expect(restartMessage).toBe(`Restart execution ${id} of slow? A new execution resumes at its last commit.`);
      await page.waitForURL(/\/executions\/\d+\?notice=restarted&from=\d+$/);
      const restartedId = Number(/\/executions\/(\d+)\?/.exec(page.url())![1]);
      expect(restartedId).toBeGreaterThan(id);
      expect(await page.getByRole('main').getByRole('status').textContent()).toBe(`Restarted execution ${id} as execution ${restartedId}.`);
      await expect.poll(() => status(page).textContent(), WAIT).toBe('COMPLETED');
      await expect.poll(async () => summaryValue(page, 'Read / written / skipped').textContent(), WAIT).toBe('950 / 950 / 0');
      const instanceNav = page.getByRole('navigation', { name: 'Executions of this instance' });
      expect(await instanceNav.getByRole('link', { name: String(id), exact: true }).count()).toBe(1);

      const [stopped, restarted] = await Promise.all([apiGet(`/api/executions/${id}`), apiGet(`/api/executions/${restartedId}`)]);
      expect(stopped).toMatchObject({ status: 'STOPPED', readCount: 1050, writeCount: 1050 });
      expect(restarted).toMatchObject({ status: 'COMPLETED', readCount: 950, writeCount: 950, jobInstanceId: stopped['jobInstanceId'] });
      expect(control.firstWrites.get(restartedId)).toBe(1051);
      expect(control.written.get(id)! + control.written.get(restartedId)!).toBe(2000);
    });
  });

  it('(c) shows a failed execution with its message and its stack trace in a disclosure', async () => {
    await withPage(browser, 'failure', async (page) => {
      await page.goto(`${served.url}/executions/${failedId}`);
      expect(await status(page).textContent()).toBe('FAILED');
      expect(await page.getByRole('heading', { name: 'Failures and exit descriptions' }).count()).toBe(1);
      const details = page.locator('details').filter({ has: page.locator('summary', { hasText: 'Step load (FAILED)' }) });
      const summary = details.locator('summary');
      expect(await summary.textContent()).toContain(FAILURE_MESSAGE);
      const stack = details.locator('pre');
      expect(await details.getAttribute('open')).toBeNull();
      expect(await stack.isVisible()).toBe(false);
      await summary.click();
      await stack.waitFor({ state: 'visible' });
      const text = (await stack.textContent()) ?? '';
      expect(text).toContain(`Error: ${FAILURE_MESSAGE}`);
      expect(text).toMatch(/\n\s+at \S+/);
      expect(text).toContain('harness.ts');
    });
  });

  it('(d) filters the executions by job and status in the URL, and the filter survives a reload', async () => {
    await withPage(browser, 'filters', async (page) => {
      await page.goto(`${served.url}/executions`);
      await page.getByLabel('Job', { exact: true }).selectOption('slow');
      await page.getByLabel('Status', { exact: true }).selectOption('COMPLETED');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await page.waitForURL(/\/executions\?.*status=COMPLETED/);
      const query = new URL(page.url()).searchParams;
      expect(query.get('job')).toBe('slow');
      expect(query.get('status')).toBe('COMPLETED');

      const expected = await apiGet<{ total: number; executions: Array<{ id: number }> }>('/api/executions?job=slow&status=COMPLETED');
      expect(expected.total).toBeGreaterThanOrEqual(1);
      const rowsShown = async () => {
        const table = page.getByRole('table', { name: 'Executions' });
        const headers = await table.getByRole('columnheader').allTextContents();
        const [idColumn, jobColumn, statusColumn] = ['ID', 'Job', 'Status'].map((name) => headers.indexOf(name));
        const rows = await table.locator('tbody').getByRole('row').all();
        return Promise.all(
          rows.map(async (row) => {
            const cells = await row.getByRole('cell').allTextContents();
            return { id: Number(cells[idColumn!]), job: cells[jobColumn!], status: cells[statusColumn!] };
          }),
        );
      };
      const expectedRows = expected.executions.map((e) => ({ id: e.id, job: 'slow', status: 'COMPLETED' }));
      expect(await rowsShown()).toEqual(expectedRows);
      expect(await page.getByText(`Executions 1 to ${expected.total} of ${expected.total}`).count()).toBe(1);

      await page.reload();
      expect(new URL(page.url()).searchParams.get('job')).toBe('slow');
      expect(await page.getByLabel('Job', { exact: true }).inputValue()).toBe('slow');
      expect(await page.getByLabel('Status', { exact: true }).inputValue()).toBe('COMPLETED');
      expect(await rowsShown()).toEqual(expectedRows);

      await page.getByRole('link', { name: 'Clear filters' }).click();
      await page.waitForURL(/\/executions$/);
      expect(await page.getByLabel('Job', { exact: true }).inputValue()).toBe('');
      expect((await rowsShown()).some((row) => row.id === failedId)).toBe(true);
    });
  });

  it('(e) hides every action in read-only mode, where the API answers 403 READ_ONLY', async () => {
    await withPage(browser, 'read-only', async (page) => {
      await page.goto(`${served.url}/executions/${failedId}`);
      expect(await page.getByRole('button', { name: 'Restart', exact: true }).count()).toBe(1);

      await page.goto(`${readOnly.url}/executions/${failedId}`);
      expect(await status(page).textContent()).toBe('FAILED');
      expect(await page.getByRole('banner').getByText('Read-only', { exact: true }).count()).toBe(1);
      expect(await page.getByRole('heading', { name: 'Actions' }).count()).toBe(0);
      expect(await page.getByRole('main').getByRole('button').count()).toBe(0);
      expect(await page.locator('form[method="post"]').count()).toBe(0);

      const refused = await page.request.post(`${readOnly.url}/api/executions/${failedId}/restart`);
      expect(refused.status()).toBe(403);
      expect(await refused.json()).toMatchObject({ error: { code: 'READ_ONLY' } });
      expect((await apiGet(`/api/executions/${failedId}`))['status']).toBe('FAILED');
    });
  });

  it('(f) shows a work-chunk instance progress and ETA live, and cancels it from the page', async () => {
    const hold = gate();
    runtime.workChunks.register(exportDefinition(hold.promise));
    // 24 parts after 'split': 8 runs take 150 ms each, the later ones wait at `hold` (released after the cancel).
    const id = await runtime.workChunks.start('export', { parts: 24, free: 8, chunkMs: 150 });

    await withPage(browser, 'work-chunks', async (page) => {
      await page.goto(`${served.url}/instances/${id}`);
      const chunks = summaryValue(page, 'Chunks done');
      await expect.poll(() => chunks.textContent(), WAIT).toBe('9 / 25');
      const bar = page.getByRole('progressbar', { name: `Progress of instance ${id}` });
      // Progress is the mean over the steps: split 1/1, write 8/24.
      await expect.poll(async () => Number(await bar.getAttribute('value')), WAIT).toBe(66.7);
      await expect.poll(() => summaryValue(page, 'Progress').textContent(), WAIT).toMatch(/66\.7%$/);
      expect(await summaryValue(page, 'ETA').textContent()).toMatch(/^\d+(\.\d)?(ms|s)$|^\d+[mh] /);
      expect(await summaryValue(page, 'Status').textContent()).toBe('IN_PROGRESS');

      const message = await confirmAction(page, 'Cancel');
      expect(message).toContain(`Cancel work-chunk instance ${id} (export)?`);
      await page.waitForURL(/\?notice=cancelled$/);
      await expect.poll(() => summaryValue(page, 'Status').textContent(), WAIT).toBe('CANCELLED');
      expect(await page.getByRole('main').getByRole('status').textContent()).toBe('The instance was cancelled: no new chunk of it starts; running chunks finish.');
      expect(await page.getByRole('button', { name: 'Cancel', exact: true }).count()).toBe(0);
      expect((await apiGet(`/api/instances/${id}`))['status']).toBe('CANCELLED');
    });
    hold.release();
  });

  it('(g) lists an execution that another process (the CLI) wrote to the same store within seconds', async () => {
    const out = tempDir('tsbatch-e2e-out-');
    dirs.push(out);
    await withPage(browser, 'second-process', async (page) => {
      await page.goto(`${served.url}/executions`);
      await expect.poll(() => liveState(page).textContent(), WAIT).toBe('Live');
      await page.evaluate('window.e2eMarker = "same document"');

      const result = await startCli(['run', TWO_JOBS, '--job', 'alpha', 'count=3,number', `out=${out}`, '--store', store, '--json']).done;
      expect(result.code, result.stderr).toBe(0);
      const { id } = json<{ id: number }>(result);
      const endedAt = Date.now();
      const table = page.getByRole('table', { name: 'Executions' });
      const row = table.getByRole('row').filter({ has: page.getByRole('link', { name: String(id), exact: true }) });
      await row.waitFor({ state: 'visible', timeout: 8_000 });
      const shownAfterMs = Date.now() - endedAt;
      console.info(`[dashboard e2e] execution ${id} of the CLI process was listed ${shownAfterMs} ms after that process ended`);
      const cells = await row.getByRole('cell').allTextContents();
      expect(cells).toContain('alpha');
      expect(cells).toContain('COMPLETED');
      expect(await page.evaluate('window.e2eMarker')).toBe('same document');
      expect(await until('the job to end in the store', async () => (await runtime.explorer.getJobExecution(id))?.status)).toBe('COMPLETED');
    });
  });
});

/** The README's picture: the execution page mid-run (TSBATCH_DOCS_SCREENSHOT=1 writes docs/). */
async function saveScreenshot(page: Page): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, 'dashboard-execution.png');
  await page.screenshot({ path, fullPage: true });
  if (process.env['TSBATCH_DOCS_SCREENSHOT'] === '1') {
    mkdirSync(join(ROOT, 'docs'), { recursive: true });
    copyFileSync(path, join(ROOT, 'docs', 'dashboard-execution.png'));
  }
}
