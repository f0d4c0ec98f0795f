/**
 * Issue #7. Property: whatever the moments a process running a work-chunk job is SIGKILLed at
 * (random delays, and the IN_CHUNK_COMMIT fault point inside the one commit transaction), starting
 * it again until the instance ends leaves:
 * - the instance COMPLETED with progress 1, no errors, recordsProcessed = the item count, and
 *   exactly one instance in the store (a restarted child resumes it, never starts a second);
 * - the transactional channel exactly once: the staged store 'out' holds exactly the expected item
 *   keys and values, and 'log' (keyed by item, chunk and attempt) one entry per item, written by the
 *   attempt the chunk completed with;
 * - the non-transactional channel (appendFileSync in the step) at least once: every expected item,
 *   nothing unexpected, no torn line;
 * - the chunks: exactly the expected ids (`<parent>.<n>`, so no child duplicated or lost), the
 *   expected count per step, each with the data its parent emitted, all COMPLETED without a lease,
 *   and the instance's per-step counters equal to what the chunks say;
 * - gated variant: the resumable reducer's report counts each item exactly once.
 *
 * Real processes: the job runs in test/integration/fixtures/workchunk/crash-workchunk-job.ts,
 * started with `node --import tsx`.
 *
 * Environment: WC_SIGKILL_RUNS (schedules, default 10), WC_SIGKILL_LANES (schedules run at once,
 * default 2), WC_SIGKILL_SEED (default a fixed seed) and WC_SIGKILL_PATH (replay a failure that
 * fast-check reported: one lane, that seed and path), WC_SIGKILL_VERBOSE (print every schedule's
 * runs). With the defaults the file takes about 25 to 45 s on a 2-core machine (10 schedules, about
 * 20 kills, 2 to 4 children each).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, it } from 'vitest';
import { BatchRuntime } from '../../src/index.js';
import {
  DEFINITION_IDS,
  FIXTURE_PATH,
  expectedChunks,
  expectedItems,
  logKey,
  storeOptionsOf,
  workspaceFiles,
  type ChildResult,
  type JobShape,
  type ReducerReport,
  type Variant,
} from '../integration/fixtures/workchunk/crash-workchunk-job.js';
import {
  describeChildOutput,
  jsonAfter,
  killLiveChildren,
  propertyLanes,
  spawnWatchedChild,
  textAfter,
  type ChildOutput,
} from '../integration/fixtures/sigkill-harness.js';

const LANES = propertyLanes('WC_SIGKILL', { runs: 10, seed: 72_026, singleLaneWhenSet: 'PATH' });
const CHILD_TIMEOUT_MS = 30_000;

// ---- schedules -----------------------------------------------------------------------------------

/**
 * One run of the child that dies:
 * - `signal`: the parent SIGKILLs it `afterMs` after the child printed `STARTING` (it dies opening
 *   the store, registering, reclaiming the dead process's chunks), after the child reported at least
 *   `atChunks` completed chunks of the instance (`PROGRESS`: mid-run, in steps and commits), or
 *   after the instance reached FINALIZE (gated: during the reduction, which commits its state every
 *   100 chunks);
 * - `fault`: the child SIGKILLs itself while committing its `hit`-th finished chunk run, inside the
 *   commit transaction (TSBATCH_FAULTS=`IN_CHUNK_COMMIT:<hit>:exit`): everything that transaction
 *   held (other runs' commits, the next claims) is lost.
 */
type Kill =
  | { readonly kind: 'signal'; readonly anchor: 'STARTING' | 'FINALIZE'; readonly afterMs: number }
  | { readonly kind: 'signal'; readonly anchor: 'PROGRESS'; readonly atChunks: number; readonly afterMs: number }
  | { readonly kind: 'fault'; readonly hit: number };

interface Schedule {
  readonly variant: Variant;
  readonly shape: JobShape;
  readonly stepDelayMs: number;
  readonly concurrency: number;
  readonly kills: readonly Kill[];
  /** The final run's commit transaction number `finalThrow` throws (the store refuses it; the pool retries), if set. */
  readonly finalThrow: number | undefined;
  /**
   * A second child starts when the last killed run prints INSTANCE, and is never killed: the two
   * share the work until the kill, then the survivor's periodic maintenance must reclaim the dead
   * one's chunks (its pid is gone) and complete the instance on its own.
   */
  readonly survivor: boolean;
}

/** Chunk runs one uninterrupted run commits (the reducer's chunks are not run, they are consumed). */
function runsPerInstance(variant: Variant, shape: JobShape): number {
  const perRange = variant === 'plain' ? Math.ceil(shape.perRange / shape.batch) : 0;
  return 1 + shape.ranges + shape.ranges * perRange;
}

const scheduleArbitrary: fc.Arbitrary<Schedule> = fc
  .record({
    variant: fc.constantFrom<Variant>('plain', 'gated'),
    ranges: fc.integer({ min: 2, max: 6 }),
    perRange: fc.integer({ min: 10, max: 60 }),
    batch: fc.integer({ min: 2, max: 8 }),
    stepDelayMs: fc.integer({ min: 2, max: 10 }),
    concurrency: fc.integer({ min: 2, max: 5 }),
    killCount: fc.integer({ min: 1, max: 3 }),
    finalThrow: fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }),
    survivor: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
  })
  .chain(({ killCount, ranges, perRange, batch, ...rest }) => {
    const shape: JobShape = { ranges, perRange, batch };
    const commits = runsPerInstance(rest.variant, shape);
    const items = ranges * perRange;
    const signal = <A extends 'STARTING' | 'FINALIZE'>(anchor: A, maxMs: number) =>
      fc.record({ kind: fc.constant('signal' as const), anchor: fc.constant(anchor), afterMs: fc.integer({ min: 0, max: maxMs }) });
    const kill: fc.Arbitrary<Kill> = fc.oneof(
      { weight: 1, arbitrary: signal('STARTING', 150) },
      {
        weight: 4,
        arbitrary: fc.record({
          kind: fc.constant('signal' as const),
          anchor: fc.constant('PROGRESS' as const),
          atChunks: fc.integer({ min: 0, max: commits - 1 }),
          afterMs: fc.integer({ min: 0, max: 3 * rest.stepDelayMs }),
        }),
      },
      // The reduction consumes a chunk in about 1.1 ms.
      { weight: rest.variant === 'gated' ? 3 : 0, arbitrary: signal('FINALIZE', Math.max(5, Math.round(items * 1.1))) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('fault' as const), hit: fc.integer({ min: 1, max: Math.max(1, Math.ceil(commits / killCount)) }) }) },
    );
    return fc.array(kill, { minLength: killCount, maxLength: killCount }).map((kills): Schedule => ({ ...rest, shape, kills }));
  });

function describeKill(kill: Kill | undefined, finalThrow?: number): string {
  if (!kill) return finalThrow === undefined ? 'final run' : `final run (IN_CHUNK_COMMIT:${finalThrow}:throw)`;
  if (kill.kind === 'fault') return `IN_CHUNK_COMMIT:${kill.hit}:exit`;
  return `SIGKILL ${kill.afterMs} ms after ${kill.anchor === 'PROGRESS' ? `${kill.atChunks} completed chunks` : kill.anchor}`;
}

function describeSchedule(s: Schedule): string {
  const { ranges, perRange, batch } = s.shape;
  return (
    `${s.variant} ranges=${ranges} perRange=${perRange}${s.variant === 'plain' ? ` batch=${batch}` : ''} delay=${s.stepDelayMs}ms ` +
    `concurrency=${s.concurrency} kills=[${s.kills.map((k) => describeKill(k)).join(', ')}]${s.finalThrow === undefined ? '' : ` finalThrow=${s.finalThrow}`}` +
    `${s.survivor ? ' survivor' : ''}`
  );
}

// ---- child processes -----------------------------------------------------------------------------

interface ChildRun extends ChildOutput {
  readonly instance: { readonly how: string; readonly id: string } | undefined;
  readonly result: ChildResult | undefined;
}

afterAll(() => killLiveChildren());

async function runChild(
  schedule: Schedule,
  dir: string,
  kill: Kill | undefined,
  options: { readonly faults?: string; readonly onLine?: (line: string) => void } = {},
): Promise<ChildRun> {
  const faults =
    options.faults ??
    (kill?.kind === 'fault' ? `IN_CHUNK_COMMIT:${kill.hit}:exit` : !kill && schedule.finalThrow !== undefined ? `IN_CHUNK_COMMIT:${schedule.finalThrow}:throw` : '');
  const output = await spawnWatchedChild(FIXTURE_PATH, [schedule.variant, dir], {
    env: {
      RANGES: String(schedule.shape.ranges),
      PER_RANGE: String(schedule.shape.perRange),
      BATCH: String(schedule.shape.batch),
      STEP_DELAY_MS: String(schedule.stepDelayMs),
      REDUCE_DELAY_MS: '1',
      CONCURRENCY: String(schedule.concurrency),
      MAINTENANCE_MS: '500',
      // Longer than CHILD_TIMEOUT_MS: only the dead pid can make a chunk claimable again, so a
      // reclaim that does not happen shows as a hang instead of being hidden by an expired lease.
      LEASE_MS: '60000',
      TSBATCH_FAULTS: faults,
    },
    timeoutMs: CHILD_TIMEOUT_MS,
    onLine: options.onLine,
    killAfterLine: kill?.kind === 'signal' ? { line: (line) => triggers(kill, line), afterMs: kill.afterMs } : undefined,
  }).done;
  const instance = textAfter(output.stdout, 'INSTANCE ')?.split(' ').slice(0, 2);
  return {
    ...output,
    instance: instance && instance.length === 2 ? { how: instance[0]!, id: instance[1]! } : undefined,
    result: jsonAfter<ChildResult>(output.stdout, 'RESULT '),
  };
}

/** Whether a line of the child's stdout is the moment a signal kill counts its delay from. */
function triggers(kill: Extract<Kill, { kind: 'signal' }>, line: string): boolean {
  const [tag, a, b, c] = line.split(' ');
  switch (kill.anchor) {
    case 'STARTING':
      return tag === 'STARTING';
    case 'PROGRESS':
      return tag === 'PROGRESS' && a !== 'COMPLETED' && Number(b) >= kill.atChunks;
    case 'FINALIZE':
      return (tag === 'PROGRESS' && a === 'FINALIZE') || (tag === 'INSTANCE' && c === 'FINALIZE');
  }
}

const describeRun = (run: ChildRun): string => describeChildOutput(run, `instance=${run.instance?.how ?? '-'}`);

// ---- one schedule --------------------------------------------------------------------------------

interface RunRecord {
  readonly kill: string;
  readonly outcome: string;
  readonly ms: number;
}

interface Outcome {
  readonly schedule: Schedule;
  readonly runs: readonly RunRecord[];
  readonly kills: number;
  /** Kills after the run had printed INSTANCE (the instance existed and was running). */
  readonly killsMidRun: number;
  readonly items: number;
  /** Items in the appended file more than once (allowed: at least once). */
  readonly appendedTwice: number;
  /** Chunk runs beyond one per chunk (re-runs after a kill). */
  readonly reruns: number;
  readonly problems: readonly string[];
  readonly ms: number;
}

async function runSchedule(schedule: Schedule, postgresUrl?: string): Promise<Outcome> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'tsbatch-wc-crash-'));
  if (postgresUrl) {
    // Every run of this schedule, and the check, use this table instead of an LMDB store.
    const table = `wc_${basename(dir).replace(/[^A-Za-z0-9]/g, '_').toLowerCase()}`;
    writeFileSync(workspaceFiles(dir).postgres, JSON.stringify({ connectionString: postgresUrl, table }));
  }
  const problems: string[] = [];
  const runs: RunRecord[] = [];
  const instanceIds = new Set<string>();
  let kills = 0;
  let killsMidRun = 0;
  let finished = false;

  /** What a run's end means for the schedule: killed as planned (go on), the instance ended, or a problem. */
  const judge = (run: ChildRun, kill: Kill | undefined, planned: string): 'killed' | 'finished' | 'problem' => {
    const record = (outcome: string) => runs.push({ kill: planned, outcome, ms: run.ms });
    if (run.instance) {
      // A run killed after the start's commit but before INSTANCE leaves an instance the next run
      // must resume; once a run has printed INSTANCE, every later one must say `resumed`.
      if (instanceIds.size > 0 && run.instance.how !== 'resumed') problems.push(`run ${runs.length + 1} (${planned}) ${run.instance.how} an instance after an earlier run had one`);
      instanceIds.add(run.instance.id);
    }
    if (run.timedOut) {
      record('HUNG');
      problems.push(`run ${runs.length} (${planned}) did not end within ${CHILD_TIMEOUT_MS} ms (a stuck instance): ${describeRun(run)}`);
      return 'problem';
    }
    if (run.result) {
      record(`${run.result.status} (${run.instance?.how ?? '?'} instance)${run.signal ? ` then ${run.signal}` : ''}`);
      if (run.result.status === 'COMPLETED' && run.result.progress !== 1) problems.push(`the COMPLETED instance reports progress ${run.result.progress}`);
      // A kill that lands after RESULT (while the runtime closes) changes nothing: the instance ended.
      if (run.result.status === 'COMPLETED' && (run.code === 0 || run.signal === 'SIGKILL')) return 'finished';
      problems.push(`run ${runs.length} (${planned}) ended ${run.result.status}, not COMPLETED: ${run.result.errorMessage}\n${describeRun(run)}`);
      return 'problem';
    }
    if (run.signal === 'SIGKILL' && kill !== undefined && (kill.kind === 'fault' || run.killedByParent)) {
      kills += 1;
      if (run.instance) killsMidRun += 1;
      record(`KILLED${run.instance ? ` (${run.instance.how} instance)` : ' (before the instance)'}`);
      return 'killed';
    }
    record(`exit=${run.code} signal=${run.signal}`);
    problems.push(`run ${runs.length} (${planned}) ended unexpectedly (a crash loop?): ${describeRun(run)}`);
    return 'problem';
  };

  const plan = [...schedule.kills, undefined];
  for (const [index, kill] of plan.entries()) {
    const withSurvivor = schedule.survivor && kill !== undefined && index === schedule.kills.length - 1;
    let survivor: Promise<ChildRun> | undefined;
    const onLine = (line: string) => {
      if (withSurvivor && survivor === undefined && line.startsWith('INSTANCE ')) survivor = runChild(schedule, dir, undefined, { faults: '' });
    };
    const run = await runChild(schedule, dir, kill, { onLine });
    const verdict = judge(run, kill, describeKill(kill, schedule.finalThrow));
    if (survivor) {
      const survived = judge(await survivor, undefined, 'survivor (started at INSTANCE of the run before, never killed)');
      if (survived !== 'finished' && verdict !== 'problem') problems.push('the survivor did not complete the instance');
      finished = survived === 'finished';
      break;
    }
    if (verdict === 'killed') continue;
    finished = verdict === 'finished';
    break;
  }
  if (!finished && problems.length === 0) problems.push('the schedule ended without a completed run');
  if (instanceIds.size > 1) problems.push(`the runs worked on ${instanceIds.size} different instances: ${[...instanceIds].join(', ')}`);

  const tally = await checkStore(schedule, dir, [...instanceIds][0], problems);
  if (problems.length > 0) problems.push(`workspace kept: ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
  return { schedule, runs, kills, killsMidRun, items: schedule.shape.ranges * schedule.shape.perRange, ...tally, problems, ms: Date.now() - started };
}

// ---- the checks ----------------------------------------------------------------------------------

async function checkStore(schedule: Schedule, dir: string, reportedId: string | undefined, problems: string[]): Promise<{ appendedTwice: number; reruns: number }> {
  const files = workspaceFiles(dir);
  const items = expectedItems(schedule.shape);
  const tally = { appendedTwice: 0, reruns: 0 };
  let runtime: BatchRuntime;
  try {
    runtime = await BatchRuntime.open({ ...storeOptionsOf(dir), logger: false, recovery: 'none' });
  } catch (error) {
    problems.push(`the store does not open: ${(error as Error).stack ?? String(error)}`);
    return tally;
  }
  try {
    // One instance, the one the runs reported and the id file names.
    const instances = await runtime.workChunks.list({ definitionId: DEFINITION_IDS[schedule.variant] });
    if (instances.length !== 1) problems.push(`expected exactly one instance, found ${instances.length}: ${instances.map((i) => `${i.id} ${i.status}`).join(', ')}`);
    const instance = instances[0];
    if (!instance) return tally;
    if (reportedId !== undefined && instance.id !== reportedId) problems.push(`the store's instance is ${instance.id}, the runs reported ${reportedId}`);
    if (existsSync(files.instanceId) && readFileSync(files.instanceId, 'utf8') !== instance.id) problems.push(`the id file names ${readFileSync(files.instanceId, 'utf8')}, the store holds ${instance.id}`);

    const chunks = await runtime.workChunks.chunks(instance.id);
    const state = () => {
      const unfinished = chunks.filter((c) => c.status !== 'COMPLETED');
      const byStatus: Record<string, number> = {};
      for (const c of unfinished) byStatus[`${c.stepId}:${c.status}`] = (byStatus[`${c.stepId}:${c.status}`] ?? 0) + 1;
      // The ones that tell what is stuck first: leased or running, then errored or queued, then waiting.
      const rank = (c: (typeof chunks)[number]) => (c.lease ? 0 : c.status === 'IN_PROGRESS' ? 1 : c.status === 'GATE_WAITING' || c.status === 'REDUCTION_READY' ? 3 : 2);
      const shown = [...unfinished].sort((a, b) => rank(a) - rank(b)).slice(0, 8);
      return (
        `instance ${instance.status} step=${instance.currentStep} progress=${instance.progress} errors=${instance.errorCount} ` +
        `records=${instance.recordsProcessed} counts=${JSON.stringify(instance.chunkCounts)} error=${instance.errorMessage}; ` +
        `unfinished chunks ${JSON.stringify(byStatus)}: ${
          shown
            .map((c) => `${c.id}(${c.stepId}) ${c.status} attempts=${c.attempts} lease=${c.lease ? `pid ${c.lease.pid} until ${c.lease.expiresAt.toISOString()}` : '-'}`)
            .join(', ') || 'none'
        }`
      );
    };

    // The instance.
    if (instance.status !== 'COMPLETED' || instance.progress !== 1) problems.push(`the instance did not complete: ${state()}`);
    if (instance.errorCount !== 0 || instance.warnings.length > 0) problems.push(`the instance counts ${instance.errorCount} error(s): ${instance.errorMessage} ${instance.warnings.join('; ')}`);
    if (instance.recordsProcessed !== items.length) problems.push(`recordsProcessed is ${instance.recordsProcessed}, expected ${items.length} (each item once)`);
    if (schedule.variant === 'gated') {
      const n = items.length;
      const expected: ReducerReport = { count: n, sum: (n * (n + 1)) / 2, distinct: n, duplicates: [] };
      if (JSON.stringify(instance.report) !== JSON.stringify(expected)) problems.push(`the reducer reported ${JSON.stringify(instance.report)}, expected ${JSON.stringify(expected)}`);
    } else if (instance.report !== null) problems.push(`a non-gated instance has a report: ${JSON.stringify(instance.report)}`);

    // The chunks: the expected ids, each once, with its parent's data, all COMPLETED.
    const expectedById = expectedChunks(schedule.variant, schedule.shape);
    const ids = chunks.map((c) => c.id);
    if (new Set(ids).size !== ids.length) problems.push(`chunk ids repeat: ${ids.filter((id, i) => ids.indexOf(id) !== i).slice(0, 10).join(', ')}`);
    const byStep = (list: Iterable<{ stepId: string }>) => {
      const counts: Record<string, number> = {};
      for (const { stepId } of list) counts[stepId] = (counts[stepId] ?? 0) + 1;
      return counts;
    };
    const expectedPerStep = byStep(expectedById.values());
    const actualPerStep = byStep(chunks);
    if (JSON.stringify(actualPerStep) !== JSON.stringify(expectedPerStep)) problems.push(`chunks per step ${JSON.stringify(actualPerStep)}, expected ${JSON.stringify(expectedPerStep)}`);
    const unexpected = chunks.filter((c) => !expectedById.has(c.id)).map((c) => `${c.id}(${c.stepId})`);
    const missing = [...expectedById.keys()].filter((id) => !ids.includes(id));
    if (unexpected.length || missing.length) problems.push(`unexpected chunks: ${unexpected.slice(0, 10).join(', ') || '-'}; missing chunks: ${missing.slice(0, 10).join(', ') || '-'}`);
    const byId = new Map(chunks.map((c) => [c.id, c]));
    let badData = 0;
    let badStatus = 0;
    for (const chunk of chunks) {
      const expected = expectedById.get(chunk.id);
      if (expected && (chunk.stepId !== expected.stepId || JSON.stringify(chunk.data) !== JSON.stringify(expected.data))) {
        if (badData++ < 3) problems.push(`chunk ${chunk.id} (${chunk.stepId}) holds ${JSON.stringify(chunk.data)}, expected ${expected.stepId} ${JSON.stringify(expected.data)}`);
      }
      // Deterministic child ids: <parent>.<n>, the parent a chunk of the step before.
      if (chunk.id !== '0') {
        const parentId = chunk.id.slice(0, chunk.id.lastIndexOf('.'));
        const parent = byId.get(parentId);
        if (!parent || !/^\d+$/.test(chunk.id.slice(parentId.length + 1))) problems.push(`chunk ${chunk.id} has no parent chunk ${parentId}`);
      }
      if (chunk.status !== 'COMPLETED' || chunk.lease !== null || chunk.errorCount !== 0) {
        if (badStatus++ < 3) problems.push(`chunk ${chunk.id} (${chunk.stepId}) is ${chunk.status}, lease ${JSON.stringify(chunk.lease)}, errors ${chunk.errorCount}: ${chunk.errorMessage}`);
      }
      if (chunk.stepId !== 'count') tally.reruns += Math.max(0, chunk.attempts - 1);
    }
    // The counters maintenance and gates rely on agree with the chunks.
    const scanned: Record<string, Record<string, number>> = {};
    for (const chunk of chunks) {
      const counts = (scanned[chunk.stepId] ??= {});
      counts[chunk.status] = (counts[chunk.status] ?? 0) + 1;
    }
    for (const stepId of Object.keys(expectedPerStep)) {
      const counted = JSON.stringify(Object.entries(instance.chunkCounts[stepId] ?? {}).sort());
      const found = JSON.stringify(Object.entries(scanned[stepId] ?? {}).sort());
      if (counted !== found) problems.push(`step ${stepId}: the instance counts ${counted}, its chunks are ${found}`);
    }

    // Exactly once through the commit: 'out' is the expected set; 'log' one entry per item, by the completing attempt.
    const out = await runtime.explorer.getStagedValues('out');
    const exact = out.length === items.length && out.every(({ key, value }, i) => key === items[i]!.key && value === items[i]!.value);
    if (!exact) {
      const keys = new Set(out.map((o) => o.key));
      const lost = items.filter((item) => !keys.has(item.key)).map((item) => item.key);
      problems.push(`'out' holds ${out.length} records for ${items.length} items; missing ${lost.slice(0, 8).join(', ') || '-'}`);
    }
    const log = await runtime.explorer.getStagedValues('log');
    const commitsPerItem = new Map<string, string[]>();
    for (const { key } of log) {
      const itemKey = key.slice(0, key.indexOf('/'));
      commitsPerItem.set(itemKey, [...(commitsPerItem.get(itemKey) ?? []), key.slice(itemKey.length + 1)]);
    }
    const twice = [...commitsPerItem].filter(([, runs]) => runs.length > 1);
    if (log.length !== items.length || twice.length > 0) {
      problems.push(`'log' holds ${log.length} commits for ${items.length} items; committed by more than one run: ${twice.slice(0, 5).map(([k, r]) => `${k} by ${r.join(' and ')}`).join('; ') || '-'}`);
    }
    let staleAttempt = 0;
    const stagingStep = schedule.variant === 'plain' ? 'write' : 'split';
    for (const chunk of chunks.filter((c) => c.stepId === stagingStep)) {
      const data = chunk.data as { r: number; from?: number; to?: number };
      const from = data.from ?? 0;
      const to = data.to ?? schedule.shape.perRange;
      for (let i = from; i < to; i++) {
        const item = items[data.r * schedule.shape.perRange + i]!;
        const key = logKey(item.key, chunk.id, chunk.attempts);
        if (!log.some((l) => l.key === key) && staleAttempt++ < 3) {
          problems.push(`item ${item.key}: no 'log' record of chunk ${chunk.id}'s completing attempt ${chunk.attempts}; it has ${commitsPerItem.get(item.key)?.join(', ') ?? 'none'}`);
        }
      }
    }

    // At least once outside the commit: every item, nothing else, no torn line.
    const text = existsSync(files.itemsLog) ? readFileSync(files.itemsLog, 'utf8') : '';
    const lines = text.split('\n');
    if (lines.pop() !== '') problems.push(`the appended file does not end with a line break: ...${JSON.stringify(text.slice(-40))}`);
    const appended = new Map<string, number>();
    for (const line of lines) appended.set(line, (appended.get(line) ?? 0) + 1);
    const expectedKeys = new Set(items.map((i) => i.key));
    const strange = [...appended.keys()].filter((key) => !expectedKeys.has(key));
    const never = items.filter((item) => !appended.has(item.key)).map((item) => item.key);
    if (strange.length || never.length) problems.push(`the appended file: unexpected lines ${JSON.stringify(strange.slice(0, 5))}, items never appended ${never.slice(0, 8).join(', ') || '-'}`);
    tally.appendedTwice = [...appended.values()].filter((n) => n > 1).length;
  } catch (error) {
    problems.push(`reading the store failed: ${(error as Error).stack ?? String(error)}`);
  } finally {
    await runtime.close();
  }
  return tally;
}

// ---- the property --------------------------------------------------------------------------------

const outcomes: Outcome[] = [];
afterAll(() => {
  if (outcomes.length === 0) return;
  const sum = (pick: (o: Outcome) => number) => outcomes.reduce((n, o) => n + pick(o), 0);
  const byVariant = (variant: Variant) => outcomes.filter((o) => o.schedule.variant === variant).length;
  console.log(
    `workchunk sigkill property: ${outcomes.length} schedules (plain ${byVariant('plain')}, gated ${byVariant('gated')}), ` +
      `${sum((o) => o.kills)} kills (${sum((o) => o.killsMidRun)} with the instance running), ${sum((o) => o.items)} items, ` +
      `${sum((o) => o.reruns)} chunk re-runs, ${sum((o) => o.appendedTwice)} items appended more than once, ` +
      `failed ${outcomes.filter((o) => o.problems.length > 0).length}; seed ${LANES.baseSeed}, ${LANES.count} lane(s), ${Math.round(sum((o) => o.ms) / 1000)} s of schedules`,
  );
  if (process.env.WC_SIGKILL_VERBOSE) {
    for (const o of outcomes) console.log(`${describeSchedule(o.schedule)}\n  ${o.runs.map((r) => `${r.kill} -> ${r.outcome} (${r.ms} ms)`).join('\n  ')}`);
  }
});

describe('work-chunk job SIGKILLed at random moments and in its commit, then restarted (issue #7)', () => {
  for (let lane = 0; lane < LANES.count; lane++) {
    const numRuns = LANES.runsOf(lane);
    if (numRuns === 0) continue;
    it.concurrent(
      `lane ${lane + 1}/${LANES.count}: ${numRuns} kill schedules; staged writes exactly once, appends at least once, no chunk duplicated`,
      { timeout: Math.max(120_000, numRuns * 20_000) },
      async ({ expect }) => {
        await fc.assert(
          fc.asyncProperty(scheduleArbitrary, async (schedule) => {
            const outcome = await runSchedule(schedule);
            outcomes.push(outcome);
            const runs = outcome.runs.map((r) => `${r.kill} -> ${r.outcome} (${r.ms} ms)`).join('; ');
            expect(outcome.problems, `${describeSchedule(schedule)}\nruns: ${runs}`).toEqual([]);
          }),
          LANES.assertOptions(lane),
        );
      },
    );
  }
});

const POSTGRES_URL = process.env.TSBATCH_TEST_POSTGRES_URL;
const POSTGRES_RUNS = Number(process.env.WC_SIGKILL_POSTGRES_RUNS ?? 4);

describe.skipIf(!POSTGRES_URL)('the same, with the repository in PostgreSQL (issue #8)', () => {
  it(`${POSTGRES_RUNS} kill schedules against one shared PostgreSQL: staged writes exactly once, no chunk duplicated`, { timeout: Math.max(120_000, POSTGRES_RUNS * 25_000) }, async ({ expect }) => {
    await fc.assert(
      fc.asyncProperty(scheduleArbitrary, async (schedule) => {
        const outcome = await runSchedule(schedule, POSTGRES_URL);
        outcomes.push(outcome);
        const runs = outcome.runs.map((r) => `${r.kill} -> ${r.outcome} (${r.ms} ms)`).join('; ');
        expect(outcome.problems, `postgres: ${describeSchedule(schedule)}\nruns: ${runs}`).toEqual([]);
      }),
      { numRuns: POSTGRES_RUNS, seed: LANES.baseSeed + 1000, endOnFailure: true },
    );
  });
});
