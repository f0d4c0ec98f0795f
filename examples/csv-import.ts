/**
 * Imports a CSV file of 1,000,000 orders into an NDJSON file, skipping the few malformed lines.
 *
 * The file is generated first, with 5 broken lines (a stray quote, a missing field, amounts that
 * are not numbers, a line with one field). The step is fault tolerant: malformed lines are skipped (each one named by
 * its line number), up to a limit of 10; an 11th would fail the step, and a restart after fixing
 * the input would resume at the last commit.
 *
 * Run: npx tsx examples/csv-import.ts [lines]
 */
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { BatchRuntime, ParseError, csvReader, job, ndjsonWriter, step, type CsvRecord } from '../src/index.js';

interface Order {
  readonly id: number;
  readonly customer: string;
  readonly city: string;
  readonly amount: number;
}

const lines = Number(process.argv[2] ?? 1_000_000);
const brokenLines: ReadonlyArray<readonly [number, string]> = [
  [10_000, '10000,Bad "quote" inside,Paris,12.50'],
  [250_000, '250000,Ada Lovelace,London'],
  [500_000, '500000,Grace Hopper,Arlington,not-a-number'],
  [750_000, '750000,Alan Turing,Wilmslow,1e'],
  [999_000, '999000'],
];
const broken = new Map(brokenLines.filter(([line]) => line <= lines));

async function generate(path: string): Promise<void> {
  const out = createWriteStream(path);
  const cities = ['Paris', 'London', 'Berlin', 'Lisbon', 'Oslo'];
  out.write('id,customer,city,amount\n');
  for (let i = 1; i <= lines; i++) {
    const line = broken.get(i) ?? `${i},Customer ${i},${cities[i % cities.length]},${((i * 7919) % 100_000) / 100}`;
    if (!out.write(`${line}\n`)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  out.end();
  await finished(out);
}

function toOrder(record: CsvRecord): Order {
  const amount = Number(record['amount']);
  if (record['amount'] === undefined || record['amount'] === '' || !Number.isFinite(amount)) {
    throw new Error(`amount '${record['amount'] ?? ''}' is not a number`);
  }
  return { id: Number(record['id']), customer: record['customer']!, city: record['city']!, amount };
}

const directory = mkdtempSync(join(tmpdir(), 'tsbatch-csv-import-'));
const input = join(directory, 'orders.csv');
const output = join(directory, 'orders.ndjson');
const skipped: string[] = [];
try {
  await generate(input);
  const importOrders = step('importOrders')
    .chunk<Order, Order & { currency: string }>(1000)
    .reader(() => csvReader({ path: input, columns: true, map: toOrder }))
    .processor((order) => ({ ...order, city: order.city.toUpperCase(), currency: 'EUR' }))
    .writer(() => ndjsonWriter({ path: output }))
    .faultTolerant()
    .skip(ParseError)
    .skipLimit(10)
    .listener({ onSkipInRead: (error) => void skipped.push((error as Error).message) })
    .build();

  const runtime = await BatchRuntime.open({ path: join(directory, 'store'), logger: false });
  const started = performance.now();
  const execution = await runtime.launcher.run(job('importOrders').start(importOrders).build(), { file: input });
  const seconds = (performance.now() - started) / 1000;
  await runtime.close();

  const stepExecution = execution.stepExecutions[0]!;
  console.log(`status: ${execution.status}, exit code: ${execution.exitStatus.exitCode}`);
  console.log(
    `read ${stepExecution.readCount}, written ${stepExecution.writeCount}, skipped ${stepExecution.readSkipCount}, ` +
      `commits ${stepExecution.commitCount}, rollbacks ${stepExecution.rollbackCount}`,
  );
  for (const message of skipped) console.log(`  skipped: ${message}`);
  console.log(`${lines.toLocaleString('en')} lines in ${seconds.toFixed(2)} s (${Math.round(lines / seconds).toLocaleString('en')} lines/s); output ${statSync(output).size.toLocaleString('en')} bytes`);
} finally {
  rmSync(directory, { recursive: true, force: true });
}
