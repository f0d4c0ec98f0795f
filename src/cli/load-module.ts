import { existsSync, statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BatchRuntime, Job } from '../index.js';
import { CliError } from './cli-error.js';

/** `export function register(runtime)`: registers jobs in `runtime.registry` (may be async). */
export type RegisterFunction = (runtime: BatchRuntime) => unknown;

/** What a job module offers: the jobs it exports and its register function, if any. */
export interface JobModule {
  /** The absolute path of the module. */
  readonly path: string;
  /** The jobs exported directly (default export, arrays, named exports), without duplicates. */
  readonly jobs: readonly Job[];
  readonly register: RegisterFunction | undefined;
}

const TYPESCRIPT_EXTENSIONS = new Set(['.ts', '.mts', '.cts']);
/** Set by whoever registered tsx's loader in this process (bin/tsbatch.js does when it runs the sources). */
const TSX_REGISTERED = Symbol.for('tsbatch.tsx-registered');

/** True for anything that looks like a job built with `job(name)...build()`. */
export function isJob(value: unknown): value is Job {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Job>;
  return typeof candidate.name === 'string' && typeof candidate.execute === 'function' && typeof candidate.validateParameters === 'function';
}

async function ensureTypeScriptLoader(): Promise<void> {
  const global = globalThis as Record<symbol, unknown>;
  if (global[TSX_REGISTERED]) return;
  const { register } = await import('tsx/esm/api');
  register();
  global[TSX_REGISTERED] = true;
}

function collect(value: unknown, into: Set<Job>): void {
  if (isJob(value)) into.add(value);
  else if (Array.isArray(value)) for (const item of value) if (isJob(item)) into.add(item);
}

/**
 * Imports a job module and finds its jobs. A module may
 * - `export default` a job or an array of jobs,
 * - export jobs (or arrays of jobs) under any names,
 * - `export function register(runtime)` that registers jobs in `runtime.registry` (it may be async),
 * or any mix of these. TypeScript modules (.ts, .mts, .cts) are loaded through tsx. Importing the
 * module must not run jobs; the command runs only the one it is asked for.
 */
export async function loadJobModule(specifier: string, cwd = process.cwd()): Promise<JobModule> {
  const path = resolve(cwd, specifier);
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw new CliError('MODULE_NOT_LOADABLE', `Cannot find the job module '${specifier}' (looked for ${path}).`);
  }
  if (TYPESCRIPT_EXTENSIONS.has(extname(path))) await ensureTypeScriptLoader();
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CliError('MODULE_NOT_LOADABLE', `Cannot load the job module '${specifier}': ${reason}`, undefined, { cause: error });
  }

  const jobs = new Set<Job>();
  let register: RegisterFunction | undefined;
  const sources: Array<Record<string, unknown>> = [namespace];
  // A CommonJS module arrives as { default: module.exports }: look inside that object too.
  const fallback = namespace['default'];
  if (typeof fallback === 'object' && fallback !== null && !Array.isArray(fallback) && !isJob(fallback)) {
    sources.push(fallback as Record<string, unknown>);
  }
  for (const source of sources) {
    for (const [name, value] of Object.entries(source)) {
      if (name === 'register' && typeof value === 'function') register ??= value as RegisterFunction;
      else collect(value, jobs);
    }
  }
  if (jobs.size === 0 && !register) {
    throw new CliError(
      'NO_JOBS_IN_MODULE',
      `The module '${specifier}' exports no jobs: export a job (or an array of jobs), as default or named exports, ` +
        'or a function register(runtime) that calls runtime.registry.register(job).',
    );
  }
  return { path, jobs: [...jobs], register };
}

/**
 * Registers a module's jobs in `runtime.registry`: first through its register function, then every
 * exported job that is not registered yet. Two different jobs with one name fail with DUPLICATE_JOB.
 */
export async function registerJobs(runtime: BatchRuntime, module: JobModule): Promise<string[]> {
  if (module.register) {
    try {
      await module.register(runtime);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new CliError('MODULE_NOT_LOADABLE', `register(runtime) of '${module.path}' failed: ${reason}`, undefined, { cause: error });
    }
  }
  for (const job of module.jobs) {
    if (runtime.registry.has(job.name) && runtime.registry.get(job.name) === job) continue;
    runtime.registry.register(job);
  }
  return runtime.registry.names();
}
