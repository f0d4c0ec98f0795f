/**
 * Remote partitioning on PostgreSQL with pg-boss (issue #8): scaling over worker processes, and
 * how long a killed worker's partition takes to come back.
 *
 *   npm run bench:remote                          # the full run (~2 min on the 2-core machine)
 *   BENCH_REMOTE_QUICK=1 npm run bench:remote     # small sizes, one kill (~40 s)
 *   BENCH_REMOTE_ONLY=reclaim npm run bench:remote
 *
 * PostgreSQL: TSBATCH_TEST_POSTGRES_URL when set; else a server already answering on
 * 127.0.0.1:${TSBATCH_TEST_POSTGRES_PORT:-55432} (the one `.ci/postgres.sh` starts); else the
 * benchmark runs `.ci/postgres.sh` to start one (and leaves it running).
 *
 * 1. scaling: a job of `grid` remote partitions (rangePartitioner), each of `partitionItems`
 *    numbers; per item a simulated call of `itemMs` (a timer: I/O-bound, no CPU), chunks of
 *    `chunk`, every number staged into its chunk's commit (bench/remote/job.ts). The manager runs
 *    in this process (it starts no worker); the partitions run in 1, 2 and 4 worker PROCESSES
 *    (bench/remote/worker.ts, `runtime.remote.startWorker({ concurrency: 1 })`, what `tsbatch
 *    worker` does), plus one process at concurrency 4 as an extra row, and 1 and 4 processes
 *    through the skip-locked dispatcher for comparison (its ratio is against its own 1 process). Every run gets a fresh kv
 *    table and a fresh pg-boss queue; the workers are up and polling and the manager's pg-boss is
 *    started before the clock starts. Timed: `launcher.launch` to the execution's COMPLETED, as
 *    the manager sees it. Checked after each run: the job COMPLETED; every partition COMPLETED;
 *    the repository holds exactly `items` staged 'out' records, keys and values distinct and
 *    matching, 1..items; the partitions' write counts add up to `items` (a chunk committed twice
 *    would count twice); no claim record left. Any miss stops the benchmark.
 *    Baseline (hand-written): the simulated calls alone, `partitionItems` awaited timers in a loop
 *    in this process, no runtime and no database; the ideal wall time for n slots is
 *    ceil(grid / n) of that, and "efficiency" is ideal / measured.
 *    Breakdown, from the workers' own log events (partition.claimed / partition.finished, stamped
 *    with the host clock): launch to the first claim, the mean time a partition is held, the mean
 *    gap between a worker's partitions, partitions per process, and the tail from the last
 *    partition's end to COMPLETED.
 * 2. reclaim: 2 worker processes (concurrency 1), lease `leaseMs` (renewed every third of it),
 *    reconciler every `intervalMs` in every process, a job of ONE partition of `reclaimItems`
 *    numbers, so that the surviving worker is idle and waiting on the queue (a busy survivor would
 *    take the partition only when its own ends: that measures its partition, not the recovery).
 *    Once a worker has claimed the partition, after a random 1-2 s (a random phase of the renewal
 *    cycle, mid-chunk), it is SIGKILLed. The claim record (`rp/<id>` in the kv table) is then
 *    polled every 10 ms: the reconciler's re-dispatch sets `owner` to null and `dispatchedAt`; the
 *    survivor's claim bumps `attempt` and sets `leaseUntil` = claim time + leaseMs (store time:
 *    PostgreSQL's clock on this host). Reclaim time = that claim time - the kill. Target: under
 *    leaseMs + intervalMs. Each trial then lets the job finish on the survivor and runs the checks
 *    of part 1 (exactly once after a crash and a resume from the last commit).
 *
 * Environment (all optional): BENCH_REMOTE_ONLY (scaling|reclaim), BENCH_REMOTE_QUICK,
 * BENCH_REMOTE_GRID (16), BENCH_REMOTE_PARTITION_ITEMS (500), BENCH_REMOTE_CHUNK (25),
 * BENCH_REMOTE_ITEM_MS (2), BENCH_REMOTE_PROCESSES ("1,2,4"), BENCH_REMOTE_EXTRA_CONCURRENCY (4;
 * 0 for none), BENCH_REMOTE_SKIP_LOCKED (1: also 1 and 4 processes through the skip-locked
 * dispatcher, for comparison: it polls every 100 ms where pg-boss polls every 500; 0 for none), BENCH_REMOTE_TRIALS (3), BENCH_REMOTE_LEASE_MS (3000), BENCH_REMOTE_INTERVAL_MS
 * (1000), BENCH_REMOTE_RECLAIM_ITEMS (3000), BENCH_REMOTE_MAX_LOAD (1.5: waits up to
 * BENCH_REMOTE_LOAD_WAIT_S, 300, for the 1-minute load average to fall below it; measures anyway
 * after that, and says so).
 *
 * Progress goes to stderr; stdout gets the tables and, as its LAST line, one JSON object with
 * every figure.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { BatchRuntime } from '../src/index.js';
import { eventLogger, type EventLine } from './remote/event-log.js';
import { benchJob, settingsToEnv, simulatedCall, type BenchJobSettings } from './remote/job.js';

// ---- settings ------------------------------------------------------------------------------

function intFromEnv(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}, got '${raw}'`);
  return value;
}

const QUICK = process.env['BENCH_REMOTE_QUICK'] === '1';
const ONLY = process.env['BENCH_REMOTE_ONLY'] ?? '';
if (!['', 'scaling', 'reclaim'].includes(ONLY)) throw new Error(`BENCH_REMOTE_ONLY must be scaling or reclaim, got '${ONLY}'`);
const GRID = intFromEnv('BENCH_REMOTE_GRID', 16);
const PARTITION_ITEMS = intFromEnv('BENCH_REMOTE_PARTITION_ITEMS', QUICK ? 100 : 500);
const CHUNK = intFromEnv('BENCH_REMOTE_CHUNK', 25);
const ITEM_MS = intFromEnv('BENCH_REMOTE_ITEM_MS', 2);
const PROCESSES = (process.env['BENCH_REMOTE_PROCESSES'] || '1,2,4').split(',').map((part) => Number(part.trim()));
const EXTRA_CONCURRENCY = intFromEnv('BENCH_REMOTE_EXTRA_CONCURRENCY', 4, 0);
/** For comparison: the same job through the skip-locked dispatcher (polls every 100 ms, pg-boss every 500). */
const SKIP_LOCKED = process.env['BENCH_REMOTE_SKIP_LOCKED'] !== '0';
const TRIALS = intFromEnv('BENCH_REMOTE_TRIALS', QUICK ? 1 : 3, 0);
const LEASE_MS = intFromEnv('BENCH_REMOTE_LEASE_MS', 3000);
const INTERVAL_MS = intFromEnv('BENCH_REMOTE_INTERVAL_MS', 1000);
const RECLAIM_ITEMS = intFromEnv('BENCH_REMOTE_RECLAIM_ITEMS', 3000);
const MAX_LOAD = Number(process.env['BENCH_REMOTE_MAX_LOAD'] ?? 1.5);
const LOAD_WAIT_S = intFromEnv('BENCH_REMOTE_LOAD_WAIT_S', 300, 0);
/** Scaling runs use the runtime's defaults for the lease, the reconciler and the manager's poll. */
const SCALING_REMOTE = { leaseMs: 30_000, intervalMs: 2000, pollMs: 100 } as const;

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WORKER = fileURLToPath(new URL('./remote/worker.ts', import.meta.url));
const TARGET_RATIO_AT_4 = 3.5;

const progress = (line: string): void => void process.stderr.write(`${line}\n`);
const load = (): string => loadavg().map((value) => value.toFixed(2)).join(' ');
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const fmt = (value: number, digits = 0): string => value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const round = (value: number, digits = 0): number => Number(value.toFixed(digits));
const mean = (values: readonly number[]): number => (values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length);
const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const uptime = (): string => {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return `load average: ${load()}`;
  }
};

class BenchFailure extends Error {}
const fail = (message: string): never => {
  throw new BenchFailure(message);
};

// ---- PostgreSQL ------------------------------------------------------------------------------

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The test server's URL; starts it with .ci/postgres.sh when nothing answers (it is left running). */
async function postgresUrl(): Promise<string> {
  const given = process.env['TSBATCH_TEST_POSTGRES_URL'];
  if (given) return given;
  const port = process.env['TSBATCH_TEST_POSTGRES_PORT'] ?? '55432';
  const local = `postgres://postgres@127.0.0.1:${port}/postgres`;
  if (await answers(local)) {
    progress(`PostgreSQL: TSBATCH_TEST_POSTGRES_URL not set; using the server already on ${local}`);
    return local;
  }
  progress('PostgreSQL: none running; starting one with .ci/postgres.sh');
  const output = execFileSync('bash', ['.ci/postgres.sh'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const match = /TSBATCH_TEST_POSTGRES_URL=(\S+)/.exec(output);
  if (!match) throw new Error(`.ci/postgres.sh printed no URL: ${output}`);
  if (!(await answers(match[1]!))) throw new Error(`PostgreSQL at ${match[1]} does not answer`);
  return match[1]!;
}

// ---- worker processes -----------------------------------------------------------------------

interface Worker {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly events: EventLine[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first event matching `predicate` (already seen ones included). */
  waitFor(predicate: (line: EventLine) => boolean, timeoutMs: number, what: string): Promise<EventLine>;
}

const started = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

type Dispatcher = 'pg-boss' | 'skip-locked';

interface Isolation {
  readonly url: string;
  readonly table: string;
  /** The pg-boss queue, or the skip-locked dispatcher's table. */
  readonly queue: string;
  readonly dispatcher: Dispatcher;
}

function startWorker(where: Isolation, settings: BenchJobSettings, concurrency: number, leaseMs: number, intervalMs: number): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
    cwd: ROOT,
    env: {
      ...process.env,
      BENCH_PG_URL: where.url,
      BENCH_TABLE: where.table,
      BENCH_QUEUE: where.queue,
      BENCH_CONCURRENCY: String(concurrency),
      BENCH_LEASE_MS: String(leaseMs),
      BENCH_INTERVAL_MS: String(intervalMs),
      BENCH_DISPATCHER: where.dispatcher,
      ...settingsToEnv(settings),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(child);
  const events: EventLine[] = [];
  const waiters = new Set<{ predicate: (line: EventLine) => boolean; resolve: (line: EventLine) => void }>();
  let stderr = '';
  child.stderr!.on('data', (data: Buffer) => void (stderr = (stderr + data.toString()).slice(-4000)));
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: EventLine;
    try {
      line = JSON.parse(text) as EventLine;
    } catch {
      progress(`  worker ${child.pid}: ${text}`);
      return;
    }
    events.push(line);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(line)) {
        waiters.delete(waiter);
        waiter.resolve(line);
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => {
      started.delete(child);
      resolve({ code, signal });
    }),
  );
  const pid = child.pid ?? fail('could not start a worker process');
  return {
    child,
    pid,
    events,
    exited,
    waitFor(predicate, timeoutMs, what) {
      const seen = events.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise<EventLine>((resolve, reject) => {
        const waiter = {
          predicate,
          resolve: (line: EventLine) => {
            clearTimeout(timer);
            resolve(line);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new BenchFailure(`worker ${pid}: no ${what} within ${timeoutMs} ms (exit ${child.exitCode ?? child.signalCode ?? 'none yet'}); stderr: ${stderr.slice(-1500)}`));
        }, timeoutMs);
        waiters.add(waiter);
        void exited.then(({ code, signal }) => {
          if (!waiters.has(waiter)) return;
          waiters.delete(waiter);
          clearTimeout(timer);
          reject(new BenchFailure(`worker ${pid} exited (${code ?? signal}) before ${what}; stderr: ${stderr.slice(-1500)}`));
        });
      });
    },
  };
}

async function stopWorkers(workers: readonly Worker[]): Promise<void> {
  for (const worker of workers) if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGTERM');
  await Promise.all(
    workers.map(async (worker) => {
      const timer = setTimeout(() => worker.child.kill('SIGKILL'), 30_000);
      await worker.exited;
      clearTimeout(timer);
    }),
  );
}

// ---- one job run ------------------------------------------------------------------------------

let isolationCounter = 0;
const runTag = `${Date.now().toString(36)}_${process.pid}`;
function isolation(url: string, dispatcher: Dispatcher = 'pg-boss'): Isolation {
  isolationCounter += 1;
  const table = `bench_remote_${runTag}_${isolationCounter}`;
  return { url, table, queue: dispatcher === 'pg-boss' ? `bench-remote-${runTag}-${isolationCounter}` : `${table}_queue`, dispatcher };
}

async function dropIsolation(admin: pg.Client, where: Isolation): Promise<void> {
  await admin.query(`DROP TABLE IF EXISTS ${where.table}`);
  if (where.dispatcher === 'skip-locked') {
    await admin.query(`DROP TABLE IF EXISTS ${where.queue}`);
    return;
  }
  // pg-boss's delete_queue refuses while jobs reference the queue (its job table's foreign key).
  try {
    await admin.query('DELETE FROM pgboss.job WHERE name = $1', [where.queue]);
    await admin.query('DELETE FROM pgboss.archive WHERE name = $1', [where.queue]);
    await admin.query('SELECT pgboss.delete_queue($1)', [where.queue]);
  } catch (error) {
    progress(`  (could not delete pg-boss queue ${where.queue}: ${(error as Error).message})`);
  }
}

interface Verified {
  readonly outRecords: number;
  readonly partitions: number;
  readonly writeCount: number;
}

/** Exactly once: every number staged once, by committed chunks counted once; everything COMPLETED. */
async function verify(admin: pg.Client, where: Isolation, settings: BenchJobSettings, status: string, label: string): Promise<Verified> {
  if (status !== 'COMPLETED') fail(`${label}: the job ended ${status}, not COMPLETED`);
  const prefix = 'u/out\u001f';
  const { rows } = await admin.query<{ records: string; distinct_n: string; min_n: number | null; max_n: number | null; mismatched: string }>(
    `SELECT count(*) AS records, count(DISTINCT (value::jsonb->>'n')::int) AS distinct_n,
            min((value::jsonb->>'n')::int) AS min_n, max((value::jsonb->>'n')::int) AS max_n,
            count(*) FILTER (WHERE substr(key, length($1) + 1)::int <> (value::jsonb->>'n')::int) AS mismatched
       FROM ${where.table} WHERE key >= $1 AND key < $2`,
    [prefix, 'u/out\u0020'],
  );
  const row = rows[0]!;
  const records = Number(row.records);
  if (records !== settings.items || Number(row.distinct_n) !== settings.items || row.min_n !== 1 || row.max_n !== settings.items || Number(row.mismatched) !== 0) {
    fail(`${label}: staged 'out' records: ${records} (distinct ${row.distinct_n}, ${row.min_n}..${row.max_n}, ${row.mismatched} key/value mismatches), expected exactly ${settings.items} (1..${settings.items})`);
  }
  const steps = await admin.query<{ value: string }>(`SELECT value FROM ${where.table} WHERE key >= 'se/' AND key < 'se0'`);
  const partitions = steps.rows.map((r) => JSON.parse(r.value) as { stepName: string; status: string; writeCount: number; readCount: number }).filter((s) => s.stepName.includes(':'));
  if (partitions.length !== settings.grid) fail(`${label}: ${partitions.length} partition step executions, expected ${settings.grid}`);
  const notCompleted = partitions.filter((s) => s.status !== 'COMPLETED');
  if (notCompleted.length > 0) fail(`${label}: partitions not COMPLETED: ${notCompleted.map((s) => `${s.stepName}=${s.status}`).join(', ')}`);
  const writeCount = partitions.reduce((sum, s) => sum + s.writeCount, 0);
  const readCount = partitions.reduce((sum, s) => sum + s.readCount, 0);
  if (writeCount !== settings.items || readCount !== settings.items) fail(`${label}: the partitions' write counts add up to ${writeCount} and read counts to ${readCount}, expected ${settings.items}`);
  const claims = await admin.query<{ n: string }>(`SELECT count(*) AS n FROM ${where.table} WHERE key >= 'rp/' AND key < 'rp0'`);
  if (Number(claims.rows[0]!.n) !== 0) fail(`${label}: ${claims.rows[0]!.n} claim records left after COMPLETED`);
  return { outRecords: records, partitions: partitions.length, writeCount };
}

/** The manager's runtime: this process, no worker; its pg-boss is started before any timing. */
async function openManager(where: Isolation, remote: { leaseMs: number; intervalMs: number; pollMs: number }, settings: BenchJobSettings, events: EventLine[]) {
  const runtime = await BatchRuntime.open({
    postgres: { connectionString: where.url, table: where.table },
    recovery: 'none',
    logger: eventLogger((line) => void events.push(line)),
    remote: { dispatcher: where.dispatcher, queue: where.queue, ...remote },
  });
  const definition = benchJob(settings);
  runtime.registry.register(definition);
  await runtime.remote.reconcile();
  return { runtime, definition };
}

// ---- 1. scaling ---------------------------------------------------------------------------------

interface ScalingRun {
  readonly label: string;
  readonly dispatcher: Dispatcher;
  readonly processes: number;
  readonly concurrency: number;
  readonly items: number;
  readonly seconds: number;
  readonly itemsPerSec: number;
  readonly idealSeconds: number;
  readonly efficiency: number;
  /** launch to the manager's partition.dispatched (the one transaction that writes and enqueues them all). */
  readonly dispatchMs: number;
  readonly firstClaimMs: number;
  /** The last process's first claim - the first process's: how far apart pg-boss's polls found the work. */
  readonly firstClaimSpreadMs: number;
  readonly meanPartitionMs: number;
  readonly meanGapMs: number;
  readonly maxGapMs: number;
  readonly partitionsPerProcess: number[];
  readonly tailMs: number;
  /** The first claim to the last partition's end: the wall time without the start (dispatch, pg-boss poll) and the tail. */
  readonly workSpanMs: number;
  readonly claims: number;
  readonly loadBefore: string;
  readonly loadAfter: string;
  readonly verified: Verified;
}

async function scalingRun(url: string, admin: pg.Client, settings: BenchJobSettings, processes: number, concurrency: number, dispatcher: Dispatcher, floorMs: number): Promise<ScalingRun> {
  const label = `${processes} process${processes > 1 ? 'es' : ''} x concurrency ${concurrency}${dispatcher === 'pg-boss' ? '' : ` (${dispatcher})`}`;
  const where = isolation(url, dispatcher);
  const managerEvents: EventLine[] = [];
  const { runtime, definition } = await openManager(where, SCALING_REMOTE, settings, managerEvents);
  const workers: Worker[] = [];
  try {
    for (let i = 0; i < processes; i++) workers.push(startWorker(where, settings, concurrency, SCALING_REMOTE.leaseMs, SCALING_REMOTE.intervalMs));
    await Promise.all(workers.map((worker) => worker.waitFor((line) => line.event === 'bench.ready', 60_000, 'ready')));
    // Every worker has polled the empty queue; the random part puts the launch at a random phase
    // of their polls (a whole number of pg-boss's 0.5 s would start every run just after a poll).
    await sleep(1000 + Math.random() * 500);
    const loadBefore = load();
    progress(`  ${label}: ${settings.items} items in ${settings.grid} partitions; load ${loadBefore}`);
    const launchedAt = Date.now();
    const startedAt = performance.now();
    const { done } = await runtime.launcher.launch(definition);
    const ended = await done;
    const seconds = (performance.now() - startedAt) / 1000;
    const endedAt = Date.now();
    const verified = await verify(admin, where, settings, ended.status, label);

    const claimed = workers.flatMap((w) => w.events.filter((e) => e.event === 'partition.claimed'));
    const finished = workers.flatMap((w) => w.events.filter((e) => e.event === 'partition.finished'));
    const held = finished.map((f) => f.t - claimed.filter((c) => c.stepExecutionId === f.stepExecutionId && c.pid === f.pid && c.attempt === f.attempt)[0]!.t);
    const gaps = workers.flatMap((worker) => {
      const mine = worker.events.filter((e) => e.event === 'partition.claimed' || e.event === 'partition.finished').sort((a, b) => a.t - b.t);
      const result: number[] = [];
      // Only meaningful at concurrency 1: the time between one partition's end and the next claim.
      if (concurrency === 1) for (let i = 1; i < mine.length; i++) if (mine[i - 1]!.event === 'partition.finished' && mine[i]!.event === 'partition.claimed') result.push(mine[i]!.t - mine[i - 1]!.t);
      return result;
    });
    const firstClaims = workers.map((w) => w.events.find((e) => e.event === 'partition.claimed')?.t ?? Number.NaN);
    const dispatched = managerEvents.find((e) => e.event === 'partition.dispatched') ?? fail(`${label}: the manager logged no partition.dispatched`);
    const idealSeconds = (Math.ceil(settings.grid / (processes * concurrency)) * floorMs) / 1000;
    const run: ScalingRun = {
      label,
      dispatcher,
      processes,
      concurrency,
      items: settings.items,
      seconds: round(seconds, 2),
      itemsPerSec: round(settings.items / seconds),
      idealSeconds: round(idealSeconds, 2),
      efficiency: round(idealSeconds / seconds, 3),
      dispatchMs: dispatched.t - launchedAt,
      firstClaimMs: Math.min(...claimed.map((c) => c.t)) - launchedAt,
      firstClaimSpreadMs: Math.max(...firstClaims) - Math.min(...firstClaims),
      meanPartitionMs: round(mean(held)),
      meanGapMs: round(mean(gaps)),
      maxGapMs: gaps.length ? Math.max(...gaps) : Number.NaN,
      partitionsPerProcess: workers.map((w) => w.events.filter((e) => e.event === 'partition.finished').length),
      tailMs: endedAt - Math.max(...finished.map((f) => f.t)),
      workSpanMs: Math.max(...finished.map((f) => f.t)) - Math.min(...claimed.map((c) => c.t)),
      claims: claimed.length,
      loadBefore,
      loadAfter: load(),
      verified,
    };
    if (claimed.length !== settings.grid) progress(`  note: ${claimed.length} claims for ${settings.grid} partitions (a partition claimed more than once)`);
    progress(
      `    ${fmt(run.itemsPerSec)} items/s, ${run.seconds} s (ideal ${run.idealSeconds} s); dispatched +${run.dispatchMs} ms, first claim +${run.firstClaimMs} ms (spread ${run.firstClaimSpreadMs} ms), ` +
        `partition held ${run.meanPartitionMs} ms on average, gap ${run.meanGapMs} ms, per process ${run.partitionsPerProcess.join('/')}, tail ${run.tailMs} ms; exactly once: ok`,
    );
    return run;
  } finally {
    await stopWorkers(workers);
    await runtime.close();
    await dropIsolation(admin, where);
  }
}

// ---- 2. reclaim --------------------------------------------------------------------------------

interface ClaimRecord {
  readonly attempt: number;
  readonly owner: string | null;
  readonly leaseUntil: number;
  readonly dispatchedAt: number;
}

interface ReclaimTrial {
  readonly trial: number;
  readonly killDelayMs: number;
  /** leaseUntil - kill: how much of the lease was left when the worker died. */
  readonly leaseLeftMs: number;
  /** The reconciler's re-dispatch (dispatchedAt) - leaseUntil. */
  readonly expiryToRedispatchMs: number;
  /** The survivor's claim - the re-dispatch: pg-boss's poll and the claim transaction. */
  readonly redispatchToClaimMs: number;
  /** The survivor's claim (store time) - the kill. */
  readonly reclaimMs: number;
  /** The same, from the survivor's partition.claimed log line (a few ms after the claim commits). */
  readonly reclaimByLogMs: number;
  readonly resumed: boolean;
  readonly target: number;
  readonly met: boolean;
  readonly loadBefore: string;
  readonly verified: Verified;
}

async function reclaimTrial(url: string, admin: pg.Client, trial: number): Promise<ReclaimTrial> {
  const settings: BenchJobSettings = { items: RECLAIM_ITEMS, grid: 1, chunk: CHUNK, itemMs: ITEM_MS };
  const where = isolation(url);
  const managerEvents: EventLine[] = [];
  const remote = { leaseMs: LEASE_MS, intervalMs: INTERVAL_MS, pollMs: 250 };
  const { runtime, definition } = await openManager(where, remote, settings, managerEvents);
  const workers: Worker[] = [];
  try {
    for (let i = 0; i < 2; i++) workers.push(startWorker(where, settings, 1, LEASE_MS, INTERVAL_MS));
    await Promise.all(workers.map((worker) => worker.waitFor((line) => line.event === 'bench.ready', 60_000, 'ready')));
    await sleep(1000 + Math.random() * 500);
    const loadBefore = load();
    const { done } = await runtime.launcher.launch(definition);
    const first = await Promise.race(workers.map((worker) => worker.waitFor((line) => line.event === 'partition.claimed', 30_000, 'a claim')));
    const holder = workers.find((worker) => worker.pid === first.pid) ?? fail(`claim by unknown pid ${first.pid}`);
    const survivor = workers.find((worker) => worker !== holder)!;
    const key = `rp/${String(first.stepExecutionId).padStart(12, '0')}`;
    const readClaim = async (): Promise<ClaimRecord | undefined> => {
      const { rows } = await admin.query<{ value: string }>(`SELECT value FROM ${where.table} WHERE key = $1`, [key]);
      return rows[0] ? (JSON.parse(rows[0].value) as ClaimRecord) : undefined;
    };
    const killDelayMs = Math.round(1000 + Math.random() * 1000);
    await sleep(Math.max(0, first.t + killDelayMs - Date.now()));
    const killedAt = Date.now();
    holder.child.kill('SIGKILL');
    await holder.exited;
    const atKill = (await readClaim()) ?? fail(`trial ${trial}: no claim record for ${key} at the kill`);
    if (atKill.attempt !== first.attempt) fail(`trial ${trial}: the claim record's attempt is ${atKill.attempt} at the kill, the holder claimed attempt ${first.attempt}`);
    let redispatched: ClaimRecord | undefined;
    let reclaimed: ClaimRecord | undefined;
    const deadline = Date.now() + LEASE_MS + INTERVAL_MS + 30_000;
    while (!reclaimed) {
      if (Date.now() > deadline) fail(`trial ${trial}: the partition was not claimed again within ${deadline - killedAt} ms of the kill`);
      const claim = await readClaim();
      if (claim && claim.owner === null && claim.attempt === atKill.attempt) redispatched ??= claim;
      if (claim && claim.attempt > atKill.attempt) reclaimed = claim;
      else await sleep(10);
    }
    const claimLine = await survivor.waitFor((line) => line.event === 'partition.claimed', 10_000, 'the claim of the partition');
    const claimedAt = reclaimed.leaseUntil - LEASE_MS;
    // When the poll missed the unowned state (the claim came within 10 ms), the record still
    // carries the re-dispatch time.
    const redispatchedAt = (redispatched ?? reclaimed).dispatchedAt;
    const reclaimMs = claimedAt - killedAt;
    const target = LEASE_MS + INTERVAL_MS;
    const ended = await done;
    const verified = await verify(admin, where, settings, ended.status, `reclaim trial ${trial}`);
    const result: ReclaimTrial = {
      trial,
      killDelayMs,
      leaseLeftMs: atKill.leaseUntil - killedAt,
      expiryToRedispatchMs: redispatchedAt - atKill.leaseUntil,
      redispatchToClaimMs: claimedAt - redispatchedAt,
      reclaimMs,
      reclaimByLogMs: claimLine.t - killedAt,
      resumed: claimLine['resumed'] === true,
      target,
      met: reclaimMs < target,
      loadBefore,
      verified,
    };
    progress(
      `  trial ${trial}: killed pid ${holder.pid} ${killDelayMs} ms after its claim; lease left ${result.leaseLeftMs} ms, ` +
        `re-dispatched ${result.expiryToRedispatchMs} ms after expiry, claimed by pid ${survivor.pid} ${result.redispatchToClaimMs} ms later: ` +
        `reclaim ${reclaimMs} ms (log ${result.reclaimByLogMs} ms), resumed ${result.resumed}; job COMPLETED, exactly once: ok`,
    );
    return result;
  } finally {
    await stopWorkers(workers);
    await runtime.close();
    await dropIsolation(admin, where);
  }
}

// ---- main ----------------------------------------------------------------------------------------

async function waitForQuiet(): Promise<{ waitedS: number; quiet: boolean }> {
  const started = Date.now();
  while (loadavg()[0]! > MAX_LOAD) {
    const waitedS = (Date.now() - started) / 1000;
    if (waitedS >= LOAD_WAIT_S) {
      progress(`load average ${load()} still above ${MAX_LOAD} after ${Math.round(waitedS)} s; measuring anyway`);
      return { waitedS: Math.round(waitedS), quiet: false };
    }
    progress(`load average ${load()} above ${MAX_LOAD}; waiting (${Math.round(waitedS)} s so far, up to ${LOAD_WAIT_S} s)`);
    await sleep(10_000);
  }
  return { waitedS: Math.round((Date.now() - started) / 1000), quiet: true };
}

/** The hand-written floor: one partition's simulated calls, awaited one after another, nothing else. */
async function callFloorMs(): Promise<number> {
  const runs: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    const start = performance.now();
    for (let i = 0; i < PARTITION_ITEMS; i++) await simulatedCall(ITEM_MS);
    runs.push(performance.now() - start);
  }
  return median(runs);
}

function commit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim();
    return dirty ? `${head} (src/ modified)` : head;
  } catch {
    return 'unknown';
  }
}

const url = await postgresUrl();
const admin = new pg.Client({ connectionString: url });
await admin.connect();
/** PostgreSQL's clock (the store time of claims and leases) against this host's, from the quickest of 10 round trips. */
const skew = await (async () => {
  let best = { roundTrip: Number.POSITIVE_INFINITY, skew: Number.NaN };
  for (let i = 0; i < 10; i++) {
    const before = Date.now();
    const { rows } = await admin.query<{ now: number }>('SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now');
    const after = Date.now();
    if (after - before < best.roundTrip) best = { roundTrip: after - before, skew: Math.round(rows[0]!.now - (before + after) / 2) };
  }
  return best;
})();
const uptimeBefore = uptime();
progress(`remote-partitioning benchmark on ${url.replace(/\/\/[^@]*@/, '//')}; ${uptimeBefore}`);
const quiet = await waitForQuiet();
const uptimeAtStart = uptime();
const totalStart = performance.now();

const scaling: ScalingRun[] = [];
let floorMs = Number.NaN;
const settings: BenchJobSettings = { items: GRID * PARTITION_ITEMS, grid: GRID, chunk: CHUNK, itemMs: ITEM_MS };
if (ONLY !== 'reclaim') {
  floorMs = await callFloorMs();
  progress(`scaling: ${GRID} partitions x ${PARTITION_ITEMS} items, chunk ${CHUNK}, ${ITEM_MS} ms per item; floor (the calls alone) ${fmt(floorMs)} ms per partition`);
  const configurations: Array<[number, number, Dispatcher]> = PROCESSES.map((n) => [n, 1, 'pg-boss']);
  if (EXTRA_CONCURRENCY > 1) configurations.push([1, EXTRA_CONCURRENCY, 'pg-boss']);
  if (SKIP_LOCKED) configurations.push([1, 1, 'skip-locked'], [Math.max(...PROCESSES), 1, 'skip-locked']);
  for (const [processes, concurrency, dispatcher] of configurations) scaling.push(await scalingRun(url, admin, settings, processes, concurrency, dispatcher, floorMs));
}
const reclaim: ReclaimTrial[] = [];
if (ONLY !== 'scaling' && TRIALS > 0) {
  progress(`reclaim: 2 worker processes, lease ${LEASE_MS} ms, reconciler every ${INTERVAL_MS} ms, one partition of ${RECLAIM_ITEMS} items; ${TRIALS} trial(s)`);
  for (let trial = 1; trial <= TRIALS; trial++) reclaim.push(await reclaimTrial(url, admin, trial));
}
await admin.end();
const uptimeAfter = uptime();
const totalSeconds = (performance.now() - totalStart) / 1000;

// ---- report ----------------------------------------------------------------------------------------

const singleOf = (dispatcher: Dispatcher) => scaling.find((run) => run.processes === 1 && run.concurrency === 1 && run.dispatcher === dispatcher);
const single = singleOf('pg-boss');
/** Against 1 process x concurrency 1 through the same dispatcher. */
const ratio = (run: ScalingRun) => {
  const base = singleOf(run.dispatcher);
  return base ? run.itemsPerSec / base.itemsPerSec : Number.NaN;
};
const lines: string[] = [
  '',
  `remote partitioning (PostgreSQL + pg-boss), Node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), ${new Date().toISOString()}, commit ${commit()}`,
  `uptime before: ${uptimeBefore}${quiet.waitedS > 0 ? ` (waited ${quiet.waitedS} s for load <= ${MAX_LOAD}${quiet.quiet ? '' : ': never got there'})` : ''}`,
  `uptime at start: ${uptimeAtStart}`,
  `uptime after:  ${uptimeAfter}`,
  `PostgreSQL clock - host clock: ${skew.skew} ms (round trip ${skew.roundTrip} ms)`,
];
if (scaling.length > 0) {
  lines.push(
    '',
    `Scaling: ${GRID} partitions x ${fmt(PARTITION_ITEMS)} items = ${fmt(settings.items)} items, chunk ${CHUNK}, ${ITEM_MS} ms simulated call per item; ` +
      `lease ${SCALING_REMOTE.leaseMs} ms, reconciler ${SCALING_REMOTE.intervalMs} ms, manager poll ${SCALING_REMOTE.pollMs} ms, pg-boss poll 0.5 s (skip-locked: 0.1 s). ` +
      `Baseline: the calls alone, ${fmt(floorMs)} ms per partition.`,
    '',
    '| workers | items/s | wall s | vs 1 process (same dispatcher) | ideal s (baseline) | efficiency | launch -> dispatched ms | first claim ms (spread) | partition held ms (mean) | gap between partitions ms (mean / max) | partitions per process | tail ms | load before |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
    ...scaling.map(
      (run) =>
        `| ${run.label} | ${fmt(run.itemsPerSec)} | ${run.seconds.toFixed(2)} | ${ratio(run).toFixed(2)}x | ${run.idealSeconds.toFixed(2)} | ${(run.efficiency * 100).toFixed(0)}% | ${run.dispatchMs} | ${run.firstClaimMs}${run.processes > 1 ? ` (${run.firstClaimSpreadMs})` : ''} | ${fmt(run.meanPartitionMs)} | ` +
        `${Number.isNaN(run.meanGapMs) ? '-' : `${run.meanGapMs} / ${run.maxGapMs}`} | ${run.partitionsPerProcess.join('/')} | ${run.tailMs} | ${run.loadBefore.split(' ')[0]} |`,
    ),
  );
  const four = scaling.find((run) => run.processes === 4 && run.concurrency === 1 && run.dispatcher === 'pg-boss');
  if (four && single) {
    const r = ratio(four);
    lines.push(
      '',
      `4 processes vs 1: ${r.toFixed(2)}x, target >= ${TARGET_RATIO_AT_4}x: ${r >= TARGET_RATIO_AT_4 ? 'met' : 'NOT met'}. Every run: COMPLETED, ${fmt(settings.items)} 'out' records exactly once, write counts add up.`,
      `Where the 4-process run's ${four.seconds.toFixed(2)} s went: launch -> first claim ${four.firstClaimMs} ms (dispatch transaction done at +${four.dispatchMs} ms, then pg-boss's poll), ` +
        `first claim -> last partition's end ${fmt(four.workSpanMs)} ms (${four.partitionsPerProcess.join('/')} partitions of ${fmt(four.meanPartitionMs)} ms held on average, ` +
        `the calls alone ${fmt(floorMs)} ms; first claims ${four.firstClaimSpreadMs} ms apart; gaps ${four.meanGapMs} ms), last end -> COMPLETED ${four.tailMs} ms. ` +
        `First claim -> last end alone: 1 process ${fmt(single.workSpanMs)} ms, 4 processes ${fmt(four.workSpanMs)} ms = ${(single.workSpanMs / four.workSpanMs).toFixed(2)}x.`,
    );
  }
}
if (reclaim.length > 0) {
  const times = reclaim.map((t) => t.reclaimMs);
  lines.push(
    '',
    `Reclaim: 2 worker processes (concurrency 1), lease ${LEASE_MS} ms (renewed every ${Math.floor(LEASE_MS / 3)} ms), reconciler every ${INTERVAL_MS} ms in each process, ` +
      `one partition of ${fmt(RECLAIM_ITEMS)} items; the holder SIGKILLed 1-2 s after its claim.`,
    '',
    '| trial | lease left at kill ms | expiry -> re-dispatch ms | re-dispatch -> claim ms | kill -> claim ms | (by log) | target | met | resumed, exactly once |',
    '|--:|--:|--:|--:|--:|--:|--:|:-:|:-:|',
    ...reclaim.map(
      (t) =>
        `| ${t.trial} | ${t.leaseLeftMs} | ${t.expiryToRedispatchMs} | ${t.redispatchToClaimMs} | **${t.reclaimMs}** | ${t.reclaimByLogMs} | < ${t.target} | ${t.met ? 'yes' : 'NO'} | ${t.resumed ? 'yes' : 'no'}, yes |`,
    ),
    '',
    `Reclaim time: median ${fmt(median(times))} ms, max ${fmt(Math.max(...times))} ms; target "under lease + one reconciler tick" = ${LEASE_MS + INTERVAL_MS} ms: ` +
      `${reclaim.every((t) => t.met) ? 'met in every trial' : `NOT met in ${reclaim.filter((t) => !t.met).length} of ${reclaim.length} trial(s)`}.`,
  );
}
lines.push('', `total ${totalSeconds.toFixed(1)} s`, '');
process.stdout.write(lines.join('\n'));
process.stdout.write(
  `${JSON.stringify({
    benchmark: 'remote-partitions',
    node: process.version,
    cores: availableParallelism(),
    date: new Date().toISOString(),
    commit: commit(),
    uptimeBefore,
    uptimeAtStart,
    uptimeAfter,
    settings: { grid: GRID, partitionItems: PARTITION_ITEMS, chunk: CHUNK, itemMs: ITEM_MS, scalingRemote: SCALING_REMOTE, leaseMs: LEASE_MS, intervalMs: INTERVAL_MS, reclaimItems: RECLAIM_ITEMS },
    floorMsPerPartition: round(floorMs, 1),
    scaling: scaling.map((run) => ({ ...run, ratio: round(ratio(run), 3) })),
    reclaim,
  })}\n`,
);
