import { resolve } from 'node:path';
import { serveDashboard } from '../../dashboard/index.js';
import { CliError, CliExitCode } from '../cli-error.js';
import { loadJobModule, registerJobs } from '../load-module.js';
import { openRuntime, type StoreOptions } from '../open-runtime.js';

export interface DashboardCommandOptions extends StoreOptions {
  readonly port: number;
  readonly host: string;
  readonly readOnly?: boolean;
  readonly basePath?: string;
  /** A job module whose jobs are registered, so that the dashboard can restart their executions. */
  readonly module?: string;
}

/** How long executions restarted from the dashboard get to stop at a chunk boundary when it stops. */
const SHUTDOWN_TIMEOUT_MS = 30_000;

/** Resolves with the first SIGINT or SIGTERM; a second one exits at once. */
function untilSignal(say: (text: string) => void): { signalled: Promise<NodeJS.Signals>; dispose: () => void } {
  let count = 0;
  let resolveSignal: (signal: NodeJS.Signals) => void = () => undefined;
  const signalled = new Promise<NodeJS.Signals>((resolve) => (resolveSignal = resolve));
  const listener = (signal: NodeJS.Signals) => {
    count += 1;
    if (count > 1) {
      say(`${signal} again: exiting now.`);
      process.exit(CliExitCode.INTERRUPTED);
    }
    resolveSignal(signal);
  };
  process.on('SIGINT', listener);
  process.on('SIGTERM', listener);
  return {
    signalled,
    dispose: () => {
      process.off('SIGINT', listener);
      process.off('SIGTERM', listener);
    },
  };
}

/**
 * `tsbatch dashboard --store <path>`: serves the web dashboard and JSON API on 127.0.0.1 (unless
 * `--host` says otherwise) until SIGINT or SIGTERM, then stops listening, lets any execution it
 * restarted stop at a chunk boundary, and closes the store. Prints the URL on stderr.
 */
export async function dashboardCommand(options: DashboardCommandOptions): Promise<number> {
  const say = (text: string) => process.stderr.write(`tsbatch dashboard: ${text}\n`);
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65_535) {
    throw new CliError('USAGE', `--port must be a whole number from 0 to 65535; got ${options.port}.`);
  }
  const runtime = await openRuntime(options, { create: false, recovery: 'none' });
  const signals = untilSignal(say);
  let served: Awaited<ReturnType<typeof serveDashboard>> | undefined;
  try {
    if (options.module !== undefined) {
      const names = await registerJobs(runtime, await loadJobModule(options.module));
      say(`jobs registered for restarts: ${names.length ? names.join(', ') : '(none)'}`);
    }
    served = await serveDashboard(
      { runtime, readOnly: options.readOnly ?? false, ...(options.basePath !== undefined ? { basePath: options.basePath } : {}) },
      { port: options.port, hostname: options.host },
    ).catch((error: unknown) => {
      const reason = error instanceof Error ? error.message : String(error);
      throw new CliError('LISTEN_FAILED', `Cannot listen on ${options.host}:${options.port}: ${reason}`, CliExitCode.FAILED, { cause: error });
    });
    say(`serving ${resolve(options.store)}${options.readOnly ? ' (read-only)' : ''} at ${served.url}/`);
    say('press Ctrl-C to stop');
    const signal = await signals.signalled;
    say(`${signal}: stopping`);
    return CliExitCode.COMPLETED;
  } finally {
    await served?.close();
    const { timedOut } = await runtime.shutdown({ timeoutMs: SHUTDOWN_TIMEOUT_MS });
    if (timedOut.length) say(`executions still running, left to orphan recovery: ${timedOut.join(', ')}`);
    signals.dispose();
  }
}
