import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BatchRuntime, job, step } from '../../../src/index.js';
import { ParseError } from '../../../src/domain/errors.js';
import { FaultPoint, FaultPoints } from '../../../src/testing.js';
import { csvReader } from '../../../src/item/file/csv-item-reader.js';
import { ndjsonWriter } from '../../../src/item/file/ndjson-item-writer.js';
import { temporaryDirectory } from './fixtures/files.js';

interface Row {
  readonly id: number;
  readonly name: string;
  readonly line: number;
}

const RECORDS = 95;

let dir: ReturnType<typeof temporaryDirectory>;
let input: string;
let output: string;
beforeEach(() => {
  dir = temporaryDirectory('csv-to-ndjson');
  input = dir.file('people.csv');
  output = dir.file('people.ndjson');
  const lines = ['id,name'];
  // Every 7th name holds a quoted line break, so records and lines do not coincide.
  for (let id = 1; id <= RECORDS; id++) lines.push(id % 7 === 0 ? `${id},"name\n${id}"` : `${id},"name, ${id}"`);
  writeFileSync(input, lines.join('\r\n') + '\r\n');
});
afterEach(() => dir.remove());

function outputIds(): number[] {
  return readFileSync(output, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as Row).id);
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function convertJob(runtime: BatchRuntime, failOn: { line: number | undefined }) {
  const convert = step('convert')
    .chunk<Row, Row>(10)
    .reader(() => csvReader({ path: input, columns: true, map: (r, line) => ({ id: Number(r.id), name: r.name ?? '', line }) }))
    .processor((row) => {
      if (row.line === failOn.line) throw new Error(`cannot convert line ${row.line}`);
      return row;
    })
    .writer(() => ndjsonWriter<Row>({ path: output }))
    .build();
  const definition = job('csvToNdjson').start(convert).build();
  runtime.registry.register(definition);
  return definition;
}

describe('a CSV to NDJSON job', () => {
  it('fails at a bad line, and its restart writes every record exactly once, in order', async () => {
    const runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    try {
      const failOn = { line: undefined as number | undefined };
      await convertJob(runtime, failOn);
      // Record 47 starts on line 48 + 6 extra lines (ids 7..42 hold a line break): line 54.
      failOn.line = 54;
      const firstId = await runtime.operator.start('csvToNdjson', { file: input });
      const first = await runtime.operator.waitFor(firstId);
      expect(first.status).toBe('FAILED');
      expect(first.stepExecutions[0]!.exitStatus.exitDescription).toContain('cannot convert line 54');
      expect(first.stepExecutions[0]!.commitCount).toBe(4);
      expect(outputIds()).toEqual(range(1, 40));

      failOn.line = undefined;
      const secondId = await runtime.operator.restart(firstId);
      const second = await runtime.operator.waitFor(secondId);
      expect(second.status).toBe('COMPLETED');
      expect(second.stepExecutions[0]!.readCount).toBe(RECORDS - 40);
      expect(second.stepExecutions[0]!.writeCount).toBe(RECORDS - 40);
      expect(outputIds()).toEqual(range(1, RECORDS));
    } finally {
      await runtime.close();
    }
  });

  it('drops the output of a chunk written but not committed when the job restarts', async () => {
    const faults = new FaultPoints();
    // The 5th chunk reaches the file, then the step dies before its commit.
    faults.arm({ point: FaultPoint.AFTER_WRITE, onHit: 5, action: { kind: 'throw' } });
    const runtime = await BatchRuntime.open({ path: dir.file('store'), logger: false, faults });
    try {
      await convertJob(runtime, { line: undefined });
      const firstId = await runtime.operator.start('csvToNdjson', { file: input });
      const first = await runtime.operator.waitFor(firstId);
      expect(first.status).toBe('FAILED');
      expect(outputIds()).toEqual(range(1, 50)); // chunk 5 is in the file, uncommitted

      const secondId = await runtime.operator.restart(firstId);
      const second = await runtime.operator.waitFor(secondId);
      expect(second.status).toBe('COMPLETED');
      expect(outputIds()).toEqual(range(1, RECORDS));
      const rows = readFileSync(output, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Row);
      expect(rows[6]).toEqual({ id: 7, name: 'name\n7', line: 8 });
      expect(rows[7]).toEqual({ id: 8, name: 'name, 8', line: 10 });
    } finally {
      await runtime.close();
    }
  });

  it('skips malformed lines once across a restart, even one read last before the commit', async () => {
    const lines = ['id,name'];
    // Record 20 is the last read of chunk 2, so that commit records a reported error after its offset.
    for (let id = 1; id <= 60; id++) lines.push(id === 20 || id === 33 ? `${id},too,many` : `${id},name ${id}`);
    writeFileSync(input, lines.join('\n') + '\n');
    const runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    try {
      const failOn = { id: 25 as number | undefined };
      const convert = step('convert')
        .chunk<Row, Row>(10)
        .reader(() => csvReader({ path: input, columns: true, map: (r, line) => ({ id: Number(r.id), name: r.name ?? '', line }) }))
        .processor((row) => {
          if (row.id === failOn.id) throw new Error(`cannot convert record ${row.id}`);
          return row;
        })
        .writer(() => ndjsonWriter<Row>({ path: output }))
        .faultTolerant()
        .skip(ParseError)
        .skipLimit(5)
        .build();
      runtime.registry.register(job('tolerantCsvToNdjson').start(convert).build());

      const firstId = await runtime.operator.start('tolerantCsvToNdjson', { file: input });
      const first = await runtime.operator.waitFor(firstId);
      expect(first.status).toBe('FAILED');
      expect(first.stepExecutions[0]!.executionContext.get('csvReader.errors')).toBe(1);

      failOn.id = undefined;
      const second = await runtime.operator.waitFor(await runtime.operator.restart(firstId));
      expect(second.status).toBe('COMPLETED');
      expect(first.stepExecutions[0]!.readSkipCount + second.stepExecutions[0]!.readSkipCount).toBe(2);
      expect(outputIds()).toEqual(range(1, 60).filter((id) => id !== 20 && id !== 33));
    } finally {
      await runtime.close();
    }
  });
});
