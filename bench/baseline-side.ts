/**
 * The baseline: a hand-written chunk loop on lmdb directly, doing the same LMDB transactions that
 * tsbatch's chunk commit does (src/repository/chunk-commit.ts), with the same durability.
 *
 * Per chunk: read up to chunkSize items from the same kind of lazy generator, process each with the
 * same function, then ONE `db.transactionSync` (durable when it returns: one fdatasync, lmdb's
 * default settings, `compression: false` as LmdbKvStore opens it) that puts
 *   - `se/<id>`: a step record with the fields of codec.ts toStepExecutionRecord (counts, times, version),
 *   - `sc/<id>`: the step context `{ 'bench.read.count': position, 'batch.chunk.sequence': k }`,
 *   - `u/bench\u001f<key>`: one record per item, under the key shape of keys.ts `staged(store, key)`.
 *
 * What it leaves out is tsbatch's own bookkeeping: the optimistic-lock read of the step record and
 * the read of the job record (for a stop request) inside the transaction, and the job's and step's
 * start/end transactions. Those are part of what the ratio measures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { startCpuClock } from './cpu-clock.js';
import type { SideRun } from './tsbatch-side.js';
import { CHUNK_SEQUENCE_KEY, ITEM_STORE, READ_COUNT_KEY, STEP_NAME, itemKey, range, toRecord, type BenchRecord } from './workload.js';

/** The key layout of src/repository/keys.ts, written out as a user without access to it would. */
const pad = (id: number): string => id.toString().padStart(12, '0');
const stepKey = (id: number): string => `se/${pad(id)}`;
const stepContextKey = (id: number): string => `sc/${pad(id)}`;
const itemRecordKey = (store: string, key: string): string => `u/${store}\u001f${key}`;

/** The stored step record, field for field as codec.ts toStepExecutionRecord builds it. */
interface StepRecord {
  readonly id: number;
  readonly stepName: string;
  readonly jobExecutionId: number;
  readonly jobInstanceId: number;
  readonly status: string;
  readonly exitCode: string;
  readonly exitDescription: string;
  readonly createTime: number;
  readonly startTime: number | null;
  readonly endTime: number | null;
  readonly lastUpdated: number | null;
  readonly readCount: number;
  readonly writeCount: number;
  readonly filterCount: number;
  readonly commitCount: number;
  readonly rollbackCount: number;
  readonly readSkipCount: number;
  readonly processSkipCount: number;
  readonly writeSkipCount: number;
  readonly version: number;
}

const BASELINE_DATA_FILE = 'baseline.mdb';

export async function runBaseline(items: number, chunkSize: number): Promise<SideRun> {
  const directory = mkdtempSync(join(tmpdir(), 'tsbatch-bench-baseline-'));
  try {
    const db = open<unknown, string>({ path: join(directory, BASELINE_DATA_FILE), compression: false });
    let seconds: number;
    let cpuSeconds: number;
    try {
      const stepId = 1;
      const createTime = Date.now();
      const cpu = startCpuClock();
      const started = process.hrtime.bigint();
      const startTime = Date.now();

      const source = range(items)[Symbol.iterator]();
      let position = 0;
      let readCount = 0;
      let writeCount = 0;
      let commitCount = 0;
      let exhausted = false;
      while (!exhausted) {
        const records: BenchRecord[] = [];
        for (let i = 0; i < chunkSize; i++) {
          const next = source.next();
          if (next.done) {
            exhausted = true;
            break;
          }
          position++;
          records.push(toRecord(next.value));
        }
        if (records.length === 0) break;
        readCount += records.length;
        writeCount += records.length;
        commitCount += 1;
        const stepRecord: StepRecord = {
          id: stepId,
          stepName: STEP_NAME,
          jobExecutionId: 1,
          jobInstanceId: 1,
          status: 'STARTED',
          exitCode: 'EXECUTING',
          exitDescription: '',
          createTime,
          startTime,
          endTime: null,
          lastUpdated: Date.now(),
          readCount,
          writeCount,
          filterCount: 0,
          commitCount,
          rollbackCount: 0,
          readSkipCount: 0,
          processSkipCount: 0,
          writeSkipCount: 0,
          version: commitCount + 1,
        };
        const context = { [READ_COUNT_KEY]: position, [CHUNK_SEQUENCE_KEY]: commitCount };
        db.transactionSync(() => {
          db.putSync(stepKey(stepId), stepRecord);
          db.putSync(stepContextKey(stepId), context);
          for (const record of records) db.putSync(itemRecordKey(ITEM_STORE, itemKey(record)), record);
        });
      }
      seconds = Number(process.hrtime.bigint() - started) / 1e9;
      cpuSeconds = cpu();
      if (readCount !== items || commitCount !== Math.ceil(items / chunkSize)) {
        throw new Error(`baseline wrote ${readCount} items in ${commitCount} commits, expected ${items} in ${Math.ceil(items / chunkSize)}`);
      }
    } finally {
      await db.close();
    }
    return { seconds, cpuSeconds, dataFile: join(directory, BASELINE_DATA_FILE), directory };
  } catch (error) {
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }
}
