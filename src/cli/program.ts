import { existsSync, readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { CliExitCode, classifyError } from './cli-error.js';
import { dashboardCommand, type DashboardCommandOptions } from './commands/dashboard.js';
import { executionsCommand } from './commands/executions.js';
import { jobsCommand } from './commands/jobs.js';
import { operateCommand, type Operation } from './commands/operate.js';
import { runCommand, type RunOptions } from './commands/run.js';
import { showCommand } from './commands/show.js';
import { workerCommand, type WorkerOptions } from './commands/worker.js';
import { workChunksCancelCommand, workChunksListCommand, workChunksShowCommand } from './commands/workchunks.js';
import { DEFAULT_STORE, type StoreOptions } from './open-runtime.js';
import type { OutputOptions } from './output.js';

type CommonOptions = StoreOptions & OutputOptions;

function executionId(value: string): number {
  const id = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(id) || id < 0) throw new InvalidArgumentError('an execution id is a whole number.');
  return id;
}

function count(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number (0 for all).');
  return n;
}

/** The package version, read from package.json beside src/ (or dist/src/ when built). */
function version(): string {
  for (const relative of ['../../package.json', '../../../package.json']) {
    const url = new URL(relative, import.meta.url);
    if (!existsSync(url)) continue;
    const pkg = JSON.parse(readFileSync(url, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'tsbatch' && pkg.version) return pkg.version;
  }
  return '0.0.0';
}

function withCommonOptions(command: Command, { store = true }: { store?: boolean } = {}): Command {
  if (store) {
    command
      .option('--store <path>', 'the LMDB store directory', DEFAULT_STORE)
      .option('--postgres <url>', 'keep the repository in this PostgreSQL database instead (default: TSBATCH_POSTGRES_URL)')
      .option('--dispatcher <kind>', 'how remote partitions reach workers: store, pg-boss or skip-locked')
      .option('--queue <name>', 'the PostgreSQL queue of remote partitions (pg-boss queue or skip-locked table)')
      .option('--log-level <level>', "the runtime's pino logs on stderr: fatal, error, warn, info, debug, trace (default: none, or TSBATCH_LOG_LEVEL)");
  }
  return command.option('--json', 'print one JSON document on stdout instead of tables').option('--no-color', 'no colour (NO_COLOR is honoured too)');
}

const EXIT_CODES = `
Exit codes:
  0    the job ended COMPLETED (or the operation succeeded)
  1    the job ended otherwise (FAILED, STOPPED, ...) or the runtime refused the launch or operation
  2    usage or configuration error: bad arguments or parameters, JOB_NOT_PROVIDED, NO_SUCH_JOB,
       unknown execution, a module that cannot be loaded, no store at --store
  130  interrupted by Ctrl-C or SIGTERM (the job was stopped at a chunk boundary)`;

const RUN_HELP = `
Parameters are name=value[,type[,identifying]], as in Spring Batch: type is string (default),
number, boolean or date (ISO 8601); identifying is true (default) or false.

Examples:
  tsbatch run ./jobs.ts --job import file=in.csv run.date=2024-01-31,date
  tsbatch run ./jobs.ts --job import attempt=2,number,false
  tsbatch run ./jobs.ts --job nightly --next
  tsbatch run ./jobs.ts --restart 42          (same as: tsbatch restart 42 ./jobs.ts)`;

/**
 * Runs the tsbatch command line with `argv` (as process.argv: node, script, arguments...) and
 * resolves with the process exit code. Errors are reported here: `tsbatch: CODE: message` on
 * stderr, and with --json also `{ "error": { "code", "message" } }` on stdout.
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  let exitCode: number = CliExitCode.COMPLETED;
  const program = new Command('tsbatch');
  program
    .description('Run and operate tsbatch jobs: restartable batch jobs with an LMDB job repository.')
    .version(version(), '-V, --version')
    .exitOverride()
    .showHelpAfterError("(add --help for usage)")
    .addHelpText('after', EXIT_CODES);

  withCommonOptions(
    program
      .command('run')
      .description('run ONE job of a module (never all of them) and wait for its end')
      .argument('<module>', 'a .js/.mjs/.ts module that exports jobs or register(runtime)')
      .argument('[parameters...]', 'job parameters: name=value[,type[,identifying]]')
      .option('--job <name>', 'the job to run')
      .option('--next', "start the job's next instance through its incrementer (runIdIncrementer)")
      .option('--restart <executionId>', 'restart this FAILED or STOPPED execution', executionId)
      .addHelpText('after', RUN_HELP + '\n' + EXIT_CODES),
  ).action(async (module: string, parameters: string[], options: RunOptions) => {
    exitCode = await runCommand(module, parameters, options);
  });

  withCommonOptions(
    program
      .command('restart')
      .description('restart a FAILED or STOPPED execution of a job of the module, in this process')
      .argument('<executionId>', 'the execution to restart', executionId)
      .argument('<module>', 'the module that defines its job'),
  ).action(async (id: number, module: string, options: CommonOptions) => {
    exitCode = await runCommand(module, [], { ...options, restart: id });
  });

  withCommonOptions(
    program.command('jobs').description('list the jobs a module registers or exports').argument('<module>', 'the job module'),
    { store: false },
  ).action(async (module: string, options: OutputOptions) => {
    exitCode = await jobsCommand(module, options);
  });

  withCommonOptions(
    program
      .command('executions')
      .description('list executions in the store, newest first')
      .option('--job <name>', 'only this job')
      .option('--status <status>', 'only this BatchStatus (COMPLETED, FAILED, STOPPED, STARTED, ...)')
      .option('--limit <n>', 'at most n executions (0 for all)', count, 50),
  ).action(async (options: CommonOptions & { job?: string; status?: string; limit: number }) => {
    exitCode = await executionsCommand(options);
  });

  withCommonOptions(
    program
      .command('show')
      .description('show one execution: parameters, status, times, and its steps with every count')
      .argument('<executionId>', 'the execution', executionId),
  ).action(async (id: number, options: CommonOptions) => {
    exitCode = await showCommand(id, options);
  });

  const operations: Array<[Operation, string]> = [
    ['stop', 'ask a running execution (in any process) to stop at its next chunk boundary'],
    ['abandon', 'mark a STOPPED or FAILED execution ABANDONED: its instance never runs again'],
    ['recover', 'mark an execution whose process died (still STARTED in the store) FAILED, so it can be restarted'],
  ];
  for (const [operation, description] of operations) {
    withCommonOptions(program.command(operation).description(description).argument('<executionId>', 'the execution', executionId)).action(
      async (id: number, options: CommonOptions) => {
        exitCode = await operateCommand(operation, id, options);
      },
    );
  }

  withCommonOptions(
    program
      .command('worker')
      .description('run the partitions of remotely partitioned steps (remote: true) of a module\'s jobs until SIGTERM')
      .argument('<module>', 'the module that defines the jobs (the same one the launcher uses)')
      .option('--concurrency <n>', 'partitions (and work chunks) run at once', count, 1)
      .option('--lease-ms <ms>', "how long a claim holds without renewal (default 30000)", count),
  ).action(async (module: string, options: WorkerOptions) => {
    exitCode = await workerCommand(module, options);
  });

  const workChunks = program.command('workchunks').description('work-chunk job instances (the batch2 model): list, show, cancel');
  withCommonOptions(
    workChunks
      .command('list')
      .description('list work-chunk job instances, newest first, with their progress')
      .option('--definition <id>', 'only instances of this definition')
      .option('--status <status>', 'only this status (QUEUED, IN_PROGRESS, ERRORED, FINALIZE, COMPLETED, FAILED, CANCELLED)')
      .option('--limit <n>', 'at most n instances (0 for all)', count, 50),
  ).action(async (options: CommonOptions & { definition?: string; status?: string; limit: number }) => {
    exitCode = await workChunksListCommand(options);
  });
  withCommonOptions(
    workChunks
      .command('show')
      .description('show one instance: progress, ETA, chunk counts per step and state, errors, report')
      .argument('<instanceId>', 'the instance')
      .option('--chunks <n>', 'also list up to n of its chunks', count),
  ).action(async (id: string, options: CommonOptions & { chunks?: number }) => {
    exitCode = await workChunksShowCommand(id, options);
  });
  withCommonOptions(
    workChunks.command('cancel').description('cancel an instance: no new chunk starts; running chunks finish').argument('<instanceId>', 'the instance'),
  ).action(async (id: string, options: CommonOptions) => {
    exitCode = await workChunksCancelCommand(id, options);
  });

  program
    .command('dashboard')
    .description('serve the web dashboard and JSON API for a store until Ctrl-C (127.0.0.1 only unless --host)')
    .option('--store <path>', 'the LMDB store directory', DEFAULT_STORE)
    .option('--port <n>', 'the port (0 picks a free one)', count, 8080)
    .option('--host <address>', 'the interface to listen on', '127.0.0.1')
    .option('--read-only', 'show everything, change nothing: no actions')
    .option('--base-path <path>', 'serve under this path, e.g. /batch behind a reverse proxy')
    .option('--module <file>', 'a job module whose jobs are registered, so that executions can be restarted from the dashboard')
    .option('--log-level <level>', "the runtime's pino logs on stderr: fatal, error, warn, info, debug, trace (default: none, or TSBATCH_LOG_LEVEL)")
    .addHelpText('after', `
Examples:
  tsbatch dashboard --store ./.tsbatch                      then open the URL it prints
  tsbatch dashboard --store ./.tsbatch --port 0 --read-only
  tsbatch dashboard --store ./.tsbatch --module ./jobs.ts   restarts run in this process`)
    .action(async (options: DashboardCommandOptions) => {
      exitCode = await dashboardCommand(options);
    });

  try {
    await program.parseAsync([...argv]);
    return exitCode;
  } catch (error) {
    // Commander has already printed its own message (or the help) on stderr.
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return CliExitCode.COMPLETED;
      if (argv.includes('--json')) process.stdout.write(`${JSON.stringify({ error: { code: 'USAGE', message: error.message } }, null, 2)}\n`);
      return CliExitCode.USAGE;
    }
    const { code, message, exitCode: mapped, stack } = classifyError(error);
    process.stderr.write(`tsbatch: ${code}: ${message}\n${stack && process.env['TSBATCH_DEBUG'] ? `${stack}\n` : ''}`);
    if (argv.includes('--json')) process.stdout.write(`${JSON.stringify({ error: { code, message } }, null, 2)}\n`);
    return mapped;
  }
}
