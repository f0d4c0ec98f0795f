/**
 * Property: whatever the moments a process running a job is SIGKILLed at (random moments, and the
 * named fault points around the chunk commit: before the write, after the write, inside the commit
 * transaction, after the commit), relaunching it until it finishes leaves:
 * - the output holding every input item exactly once and in order (the NDJSON file of the CSV job;
 *   the 'out' store of the store-writer and multi-threaded jobs, where the 'log' store also shows
 *   that no item was committed by two executions);
 * - the counts adding up across executions (reads, writes and commits of all executions are those of
 *   one uninterrupted run), no rollback;
 * - the last execution COMPLETED, every killed one FAILED / ORPHANED (taken over by the next launch),
 *   none left STARTING, STARTED or STOPPING;
 * - a store that opens cleanly.
 *
 * Real processes: the job runs in test/integration/fixtures/crash-job.ts, started with
 * `node --import tsx`; the schedules, the kills and the checks are in
 * test/integration/fixtures/crash-schedule.ts, shared with the soak (`npm run soak`).
 *
 * Environment: SIGKILL_RUNS (schedules, default 50), SIGKILL_LANES (schedules run at once, default 2:
 * the children are mostly waiting for fsync, so two lanes fit in the time of one on two cores),
 * SIGKILL_SEED and SIGKILL_PATH (replay a failure fast-check reported: one lane, that seed and path).
 * With the defaults the file takes about 1.5 to 2.5 minutes on a 2-core machine (about 100 kills,
 * three quarters of them mid-run); every schedule spawns one child per kill plus one.
 *
 * Also: two processes launching the same instance at the same moment: exactly one runs, the other
 * is refused with JobExecutionAlreadyRunningError (5 trials; the soak runs 100).
 */
import fc from 'fast-check';
import { afterAll, describe, it } from 'vitest';
import {
  describeSchedule,
  killLiveChildren,
  runLaunchRace,
  runSchedule,
  scheduleArbitrary,
  tallyOutcomes,
  type RaceVariant,
  type ScheduleOutcome,
} from '../integration/fixtures/crash-schedule.js';
import { propertyLanes } from '../integration/fixtures/sigkill-harness.js';

const LANES = propertyLanes('SIGKILL', { runs: 50, seed: Date.now() % 2 ** 31, singleLaneWhenSet: 'SEED' });
const RACE_TRIALS = 5;

afterAll(() => killLiveChildren());

const outcomes: ScheduleOutcome[] = [];
afterAll(() => {
  if (outcomes.length === 0) return;
  const t = tallyOutcomes(outcomes);
  const byKind = (kind: string) => outcomes.filter((o) => o.schedule.kind === kind).length;
  console.log(
    `sigkill property: ${t.schedules} schedules (csv ${byKind('csv')}, store ${byKind('store')}, mt ${byKind('mt')}), ` +
      `${t.kills} kills (${t.killsBeforeLaunch} before the launch, ${t.killsBeforeFirstChunk} before the first chunk, ${t.killsMidRun} mid-run), ` +
      `${t.items} items, lost ${t.lost}, duplicated ${t.duplicated}, failed ${t.failed}; seed ${LANES.baseSeed}, ${LANES.count} lane(s)`,
  );
});

describe('SIGKILL at random moments and at the commit fault points, then restart: exactly once', () => {
  it(`two processes launching the same instance at once: one runs, the other gets JOB_EXECUTION_ALREADY_RUNNING (${RACE_TRIALS} trials)`, async ({ expect }) => {
    for (let trial = 0; trial < RACE_TRIALS; trial++) {
      const variant: RaceVariant = trial % 2 === 0 ? 'fresh' : 'orphan';
      const race = await runLaunchRace(variant);
      expect(race.problems, `trial ${trial + 1} (${variant})`).toEqual([]);
      expect({ ran: race.ran, refused: race.refused }).toEqual({ ran: 1, refused: 1 });
    }
  }, 120_000);

  for (let lane = 0; lane < LANES.count; lane++) {
    const numRuns = LANES.runsOf(lane);
    if (numRuns === 0) continue;
    it.concurrent(`lane ${lane + 1}/${LANES.count}: ${numRuns} random kill schedules, each relaunched until it completes`, async ({ expect }) => {
      await fc.assert(
        fc.asyncProperty(scheduleArbitrary, async (schedule) => {
          const outcome = await runSchedule(schedule);
          outcomes.push(outcome);
          const runs = outcome.runs.map((r) => `${r.kill} -> ${r.outcome}${r.executionId ? ` #${r.executionId}` : ''}`).join('; ');
          expect(outcome.problems, `${describeSchedule(schedule)}\nruns: ${runs}`).toEqual([]);
          expect({ lost: outcome.lost, duplicated: outcome.duplicated }).toEqual({ lost: 0, duplicated: 0 });
        }),
        LANES.assertOptions(lane),
      );
    }, 600_000);
  }
});
