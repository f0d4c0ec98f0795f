/**
 * Drives the tsbatch command as a real child process (`node bin/tsbatch.js ...`, the sources
 * through tsx) and gives each test a workspace: a temp directory with `store` (the LMDB store) and
 * room for the fixtures' side-effect files.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BatchRuntime, type JobExecution } from '../../../src/index.js';
import { TSBATCH_BIN, spawnCaptured, waitUntil as pollUntil } from '../fixtures/process-harness.js';

export const TWO_JOBS = fileURLToPath(new URL('./fixtures/two-jobs.ts', import.meta.url));
export const REGISTER_JOBS = fileURLToPath(new URL('./fixtures/register-jobs.ts', import.meta.url));
const CHILD_TIMEOUT_MS = 30_000;

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Workspace {
  readonly dir: string;
  readonly store: string;
}

const workspaces: string[] = [];
const children = new Set<ChildProcess>();

export function newWorkspace(): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'tsbatch-cli-'));
  workspaces.push(dir);
  return { dir, store: join(dir, 'store') };
}

/** Kills what a test left running and removes its workspaces; call from afterEach. */
export function cleanUp(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
  for (const dir of workspaces.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Starts `tsbatch <args>`; `done` resolves when it exits (it is killed after 30 s). */
export function startCli(args: readonly string[], env: Record<string, string> = {}): { child: ChildProcess; done: Promise<CliResult>; stderrSoFar: () => string } {
  // No CI/TTY tricks needed: pipes are not TTYs, so no progress line; no runtime logs.
  const started = spawnCaptured([TSBATCH_BIN, ...args], { env: { TSBATCH_LOG_LEVEL: '', ...env }, killAfterMs: CHILD_TIMEOUT_MS });
  const child = started.process;
  children.add(child);
  const done = started.done.then(({ code, signal }): CliResult => {
    children.delete(child);
    return { code, signal, stdout: started.stdout(), stderr: started.stderr() };
  });
  return { child, done, stderrSoFar: started.stderr };
}

export function cli(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  return startCli(args, env).done;
}

/** The one JSON document a `--json` command printed on stdout. */
export function json<T = Record<string, any>>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`stdout is not one JSON document (exit ${result.code}):\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
}

/** Waits until `check` returns a value (polling every 100 ms), or fails after `timeoutMs`. */
export function waitUntil<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  return pollUntil(what, check, timeoutMs, 100);
}

/**
 * Waits until a `run` child has started its execution (it says so on stderr) and the store shows at
 * least `commits` chunk commits of its first step; resolves with the execution as stored then.
 */
export async function waitForCommits(started: { stderrSoFar: () => string }, store: string, commits: number): Promise<JobExecution> {
  const id = await waitUntil('the execution to start', () => {
    const match = /started execution (\d+)/.exec(started.stderrSoFar());
    return match ? Number(match[1]) : undefined;
  });
  const runtime = await BatchRuntime.open({ path: store, logger: false, recovery: 'none' });
  try {
    return await waitUntil(`${commits} commits of execution ${id}`, async () => {
      const execution = await runtime.explorer.getJobExecution(id);
      return execution && (execution.stepExecutions[0]?.commitCount ?? 0) >= commits ? execution : undefined;
    });
  } finally {
    await runtime.close();
  }
}

/** Reads the store directly (what a second process sees), with nothing recovered on open. */
export async function readStore<T>(store: string, read: (runtime: BatchRuntime) => Promise<T>): Promise<T> {
  const runtime = await BatchRuntime.open({ path: store, logger: false, recovery: 'none' });
  try {
    return await read(runtime);
  } finally {
    await runtime.close();
  }
}
