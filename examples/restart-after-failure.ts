/**
 * A job that fails half-way and resumes where it stopped.
 *
 * 50 records, chunk size 2. On the first run the processor fails on record 10: chunks 1-4 have
 * committed, chunk 5 (records 9 and 10) rolls back, the job is FAILED. The restart begins at
 * record 9, and every record lands in the output exactly once.
 *
 * Run: npm run example
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchRuntime, JobParameters, iterableReader, job, step, type ItemWriter, type StepExecution } from '../src/index.js';

interface Record {
  readonly id: number;
  readonly name: string;
}

const records: Record[] = Array.from({ length: 50 }, (_, i) => ({ id: i + 1, name: `record-${i + 1}` }));
const output: number[] = [];
let firstReadOfRun: number | undefined;
let failOnRecord: number | undefined = 10;

const importRecords = step('importRecords')
  .chunk<Record, string>(2)
  .reader(() => iterableReader(records, 'records'))
  .processor((record) => {
    firstReadOfRun ??= record.id;
    if (record.id === failOnRecord) throw new Error(`cannot process record ${record.id}`);
    return `${record.id}:${record.name.toUpperCase()}`;
  })
  .writer({ write: (chunk) => void output.push(...chunk.items.map((line) => Number(line.split(':')[0]))) } satisfies ItemWriter<string>)
  .build();

const importJob = job('importJob').start(importRecords).build();

function counts(step: StepExecution): string {
  return `read=${step.readCount} write=${step.writeCount} commit=${step.commitCount} rollback=${step.rollbackCount}`;
}

const directory = mkdtempSync(join(tmpdir(), 'tsbatch-example-'));
const runtime = await BatchRuntime.open({ path: directory, logger: false });
try {
  runtime.registry.register(importJob);
  const parameters = JobParameters.of({ 'run.date': '2024-01-01' });

  const first = await runtime.launcher.run(importJob, parameters);
  const firstStep = first.stepExecutions[0]!;
  console.log(`run 1: ${first.status}  ${counts(firstStep)}  first record read: ${firstReadOfRun}`);
  console.log(`       reason: ${firstStep.exitStatus.exitDescription.split('\n')[0]}`);

  failOnRecord = undefined;
  firstReadOfRun = undefined;
  const restartedId = await runtime.operator.restart(first.id);
  const second = await runtime.operator.waitFor(restartedId);
  const secondStep = second.stepExecutions[0]!;
  console.log(`run 2: ${second.status}  ${counts(secondStep)}  first record read: ${firstReadOfRun}`);

  const once = output.length === records.length && output.every((id, index) => id === index + 1);
  console.log(`output: ${output.length} records, each exactly once and in order: ${once}`);
} finally {
  await runtime.close();
  rmSync(directory, { recursive: true, force: true });
}
