/**
 * The tsbatch side: one job with one chunk step, run as a user would run it.
 *
 * - reader: iterableReader over the lazy generator 1..N (synchronous, restartable: it puts
 *   `bench.read.count` in update(), which the chunk commit stores in the step context);
 * - processor: n => { id: n, value: 2n };
 * - writer: transactional, stages one record per item into the chunk's commit through the
 *   ChunkTransaction, so every chunk is ONE durable LMDB transaction holding the step record, the
 *   step context and the chunk's item records.
 *
 * Timed: `runtime.launcher.run(...)` from launch to COMPLETED (the job's and step's own start and
 * end transactions included, as a user pays for them). Opening and closing the store are not timed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchRuntime, JobParameters, iterableReader, job, step, type ChunkTransaction, type ItemWriter, type Chunk } from '../src/index.js';
import { startCpuClock } from './cpu-clock.js';
import { ITEM_STORE, JOB_NAME, READER_NAME, STEP_NAME, itemKey, range, toRecord, type BenchRecord } from './workload.js';

export interface SideRun {
  readonly seconds: number;
  /** CPU time of the main thread during the timed part, in seconds (see cpu-clock.ts); fdatasync waits are not in it. */
  readonly cpuSeconds: number;
  /** The LMDB data file the run wrote, for the cross-check (the caller removes `directory`). */
  readonly dataFile: string;
  readonly directory: string;
}

/** The file name LmdbKvStore uses inside the store directory. */
const TSBATCH_DATA_FILE = 'tsbatch.mdb';

const stagingWriter: ItemWriter<BenchRecord> = {
  write(chunk: Chunk<BenchRecord>, transaction: ChunkTransaction): void {
    for (const record of chunk.items) transaction.put(ITEM_STORE, itemKey(record), record);
  },
};

export async function runTsbatch(items: number, chunkSize: number): Promise<SideRun> {
  const directory = mkdtempSync(join(tmpdir(), 'tsbatch-bench-'));
  try {
    const load = step(STEP_NAME)
      .chunk<number, BenchRecord>(chunkSize)
      .reader(() => iterableReader(() => range(items), READER_NAME))
      .processor(toRecord)
      .writer(stagingWriter)
      .build();
    const benchJob = job(JOB_NAME).start(load).build();

    const runtime = await BatchRuntime.open({ path: directory, logger: false });
    let seconds: number;
    let cpuSeconds: number;
    try {
      const cpu = startCpuClock();
      const started = process.hrtime.bigint();
      const execution = await runtime.launcher.run(benchJob, JobParameters.of({ items, chunkSize }));
      seconds = Number(process.hrtime.bigint() - started) / 1e9;
      cpuSeconds = cpu();

      const stepExecution = execution.stepExecutions[0];
      const expectedCommits = Math.ceil(items / chunkSize);
      if (
        execution.status !== 'COMPLETED' ||
        !stepExecution ||
        stepExecution.readCount !== items ||
        stepExecution.writeCount !== items ||
        stepExecution.commitCount !== expectedCommits
      ) {
        throw new Error(
          `tsbatch run did not complete as expected: status=${execution.status} ` +
            `read=${stepExecution?.readCount} write=${stepExecution?.writeCount} commit=${stepExecution?.commitCount} ` +
            `(expected ${items}, ${items}, ${expectedCommits}); ${stepExecution?.exitStatus.exitDescription ?? ''}`,
        );
      }
    } finally {
      await runtime.close();
    }
    return { seconds, cpuSeconds, dataFile: join(directory, TSBATCH_DATA_FILE), directory };
  } catch (error) {
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }
}

