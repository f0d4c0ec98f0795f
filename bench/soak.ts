/**
 * The SIGKILL soak: many random kill schedules over the crash job, then many concurrent-launch races.
 *
 *   npm run soak                      # 1000 schedules and 100 races
 *   npm run soak -- 200               # 200 schedules (or SOAK_SCHEDULES=200)
 *
 * Environment: SOAK_SCHEDULES (default 1000; the first argument wins), SOAK_RACES (default 100),
 * SOAK_LANES (schedules run at once, default 2), SOAK_SEED (fast-check seed of the schedules,
 * default random; printed, so a run can be repeated).
 *
 * Each schedule (test/integration/fixtures/crash-schedule.ts, shared with
 * test/property/sigkill.property.test.ts) runs the job in a child process, kills it 0..4 times at
 * random moments or at the commit fault points, relaunches it until it completes, and checks the
 * output (every item exactly once, in order), the counts across executions, that no execution is
 * left running and that the store opens. Each race has two processes launch the same instance at
 * the same moment: exactly one may run, the other must get JobExecutionAlreadyRunningError.
 *
 * Progress goes to stderr; stdout gets the tally and, as its last line, one JSON object. The exit
 * code is 1 if any item was lost or duplicated, any schedule or race failed a check, else 0.
 */
import fc from 'fast-check';
import {
  describeSchedule,
  killLiveChildren,
  runLaunchRace,
  runSchedule,
  scheduleArbitrary,
  tallyOutcomes,
  type RaceVariant,
  type ScheduleOutcome,
} from '../test/integration/fixtures/crash-schedule.js';

const schedules = Number(process.argv[2] ?? process.env.SOAK_SCHEDULES ?? 1000);
const races = Number(process.env.SOAK_RACES ?? 100);
const lanes = Math.max(1, Number(process.env.SOAK_LANES ?? 2));
const seed = process.env.SOAK_SEED !== undefined ? Number(process.env.SOAK_SEED) : Date.now() % 2 ** 31;
for (const [name, value] of Object.entries({ schedules, races, seed })) {
  if (!Number.isInteger(value) || value < 0) {
    console.error(`soak: ${name} must be a non-negative integer, got ${value}`);
    process.exit(2);
  }
}

const outcomes: ScheduleOutcome[] = [];
const failures: string[] = [];
let racesRun = 0;
let raceFailures = 0;
const started = Date.now();

function report(): void {
  const t = tallyOutcomes(outcomes);
  const seconds = Math.round((Date.now() - started) / 100) / 10;
  const rows: Array<[string, number | string]> = [
    ['schedules', t.schedules],
    ['kills', `${t.kills} (${t.killsBeforeLaunch} before the launch, ${t.killsBeforeFirstChunk} before the first chunk, ${t.killsMidRun} mid-run)`],
    ['items', t.items],
    ['lost', t.lost],
    ['duplicated', t.duplicated],
    ['failed schedules', t.failed],
    ['races', racesRun],
    ['race failures', raceFailures],
    ['seconds', seconds],
  ];
  if (failures.length > 0) console.log(`\nFailures:\n${failures.join('\n\n')}\n`);
  console.log(`SIGKILL soak (seed ${seed}, ${lanes} lane(s))`);
  for (const [label, value] of rows) console.log(`  ${label.padEnd(17)} ${value}`);
  console.log(JSON.stringify({ soak: 'sigkill', seed, lanes, ...t, races: racesRun, raceFailures, seconds }));
}

let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  console.error('\nsoak: interrupted; killing the children and printing the tally so far');
  killLiveChildren();
  report();
  process.exit(130);
});

const generated = schedules > 0 ? fc.sample(scheduleArbitrary, { numRuns: schedules, seed }) : [];
let next = 0;

function record(index: number, outcome: ScheduleOutcome): void {
  outcomes.push(outcome);
  const ok = outcome.problems.length === 0;
  if (!ok) failures.push(`schedule ${index + 1}: ${describeSchedule(outcome.schedule)}\n  ${JSON.stringify(outcome.schedule)}\n  ${outcome.problems.join('\n  ')}`);
  const runs = outcome.runs.map((r) => r.outcome).join(' ');
  console.error(`[${outcomes.length}/${schedules}] ${ok ? 'ok  ' : 'FAIL'} ${describeSchedule(outcome.schedule)} -> ${runs} (${outcome.ms} ms)`);
  if (!ok) console.error(`  ${outcome.problems.join('\n  ')}`);
}

async function lane(): Promise<void> {
  while (next < generated.length && !interrupted) {
    const index = next++;
    record(index, await runSchedule(generated[index]!));
  }
}

await Promise.all(Array.from({ length: lanes }, () => lane()));

for (let trial = 0; trial < races && !interrupted; trial++) {
  const variant: RaceVariant = trial % 2 === 0 ? 'fresh' : 'orphan';
  const race = await runLaunchRace(variant);
  racesRun += 1;
  const ok = race.problems.length === 0;
  if (!ok) {
    raceFailures += 1;
    failures.push(`race ${trial + 1} (${variant}):\n  ${race.problems.join('\n  ')}`);
  }
  console.error(`[race ${trial + 1}/${races}] ${ok ? 'ok  ' : 'FAIL'} ${variant}: ${race.ran} ran, ${race.refused} refused (${race.ms} ms)`);
}

report();
const final = tallyOutcomes(outcomes);
const bad = final.lost > 0 || final.duplicated > 0 || final.failed > 0 || raceFailures > 0;
process.exit(bad ? 1 : 0);
