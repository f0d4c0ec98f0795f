/**
 * CSV to NDJSON with durable commits: tsbatch against a hand-written csv-parse pipeline doing the
 * same work and the same fsyncs (the comparison issue #3 sets), and against the same hand-written
 * pipeline on the parser tsbatch's reader uses (what the runtime itself costs), all measured in the
 * same run; then the time to resume a CSV reader deep inside a large file.
 *
 *   npx tsx bench/csv-to-ndjson.ts
 *
 * Environment (for quick runs): BENCH_LINES (default 1,000,000 records), BENCH_RESUME_LINES
 * (default 10,000,000 records), BENCH_RUNS (default 3 per side; 2 when one run is long).
 *
 * Workload, every side: a generated CSV (header + 10 columns, ~95 bytes a line) → a CSV parser
 * taking the names from the header → map each record to a typed Customer (number id, amount, score)
 * → enrich it (upper-case city, amount in cents, a flag) → JSON.stringify, one line each, chunks of
 * 1000.
 *
 * - tsbatch: one job, one chunk step: csvReader → processor → ndjsonWriter, on an LMDB runtime.
 *   Per chunk: one positional write to the output opened with O_DSYNC (the write returns when
 *   the data is on disk: write and flush in one call, see file-access.ts), then ONE durable LMDB
 *   transactionSync (step counts + step context holding the reader's and writer's byte offsets).
 * - baselines: the same per chunk: one positional write to an output opened the same way (or
 *   write + FileHandle.datasync() where the platform has no O_DSYNC, as the writer does), then one
 *   small durable LMDB transactionSync that stores the input byte offset, the output length and
 *   the line count. One parses with csv-parse (`Parser({ columns: true })`), the other with
 *   tsbatch's CsvRecordParser fed by hand.
 *
 * All outputs must be byte-identical (size + SHA-256), and the input offsets the baselines commit
 * must match the generator's own line lengths; the benchmark fails otherwise. Data files live in a
 * temp directory that is removed at the end; nothing is written into the repository.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants as fsConstants, createReadStream, mkdtempSync, openSync, rmSync, statSync, statfsSync, writeSync } from 'node:fs';
import { open as openFile, type FileHandle } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Parser } from 'csv-parse';
import { open as openLmdb } from 'lmdb';
import { BatchRuntime, JobParameters, csvReader, job, ndjsonWriter, step, type CsvRecord } from '../src/index.js';
// The public API exports ExecutionContext as a type only; a reader resumed by hand needs one.
import { ExecutionContext } from '../src/domain/execution-context.js';
// Internal: the parser the reader uses, driven by hand for the second baseline.
import { CsvRecordParser } from '../src/item/file/csv-record-parser.js';
import { LineAlignedDecoder } from '../src/item/file/text-segment.js';

const CHUNK = 1000;
/** The baselines open their output as the writer does (file-access.ts): every write durable on return where O_DSYNC exists. */
const WRITES_ARE_DURABLE = fsConstants.O_DSYNC !== undefined;
const DURABLE_OUTPUT_FLAGS = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC | (WRITES_ARE_DURABLE ? fsConstants.O_DSYNC : 0);
const TARGET_RATIO = 0.8;
const TARGET_LINES_PER_SEC = 300_000;
const TARGET_RESUME_MS = 1000;
const LONG_RUN_SECONDS = 20;

function envInt(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw.replace(/[_,]/g, ''));
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}, got '${raw}'`);
  return value;
}

const LINES = envInt('BENCH_LINES', 1_000_000, CHUNK);
const REQUESTED_RESUME_LINES = envInt('BENCH_RESUME_LINES', 10_000_000, 10);
const RUNS = envInt('BENCH_RUNS', 3, 1);
const WARMUP_LINES = Math.min(20_000, LINES);

// ---------------------------------------------------------------------------------------------
// Workload: record shape, mapping and transform shared by both sides

type Customer = {
  readonly id: number;
  readonly name: string;
  readonly email: string;
  readonly city: string;
  readonly country: string;
  readonly amount: number;
  readonly currency: string;
  readonly created: string;
  readonly status: string;
  readonly score: number;
};

type EnrichedCustomer = {
  readonly id: number;
  readonly name: string;
  readonly email: string;
  readonly city: string;
  readonly country: string;
  readonly amount: number;
  readonly amountCents: number;
  readonly currency: string;
  readonly created: string;
  readonly status: string;
  readonly score: number;
  readonly vip: boolean;
};

const COLUMNS = ['id', 'name', 'email', 'city', 'country', 'amount', 'currency', 'created', 'status', 'score'] as const;

function text(record: CsvRecord, key: string): string {
  const value = record[key];
  if (value === undefined) throw new Error(`column '${key}' is missing`);
  return value;
}

function num(record: CsvRecord, key: string): number {
  const value = Number(text(record, key));
  if (!Number.isFinite(value)) throw new Error(`column '${key}' is not a number`);
  return value;
}

/** The reader's `map` (tsbatch) and the per-record mapping (baseline). */
function toCustomer(record: CsvRecord): Customer {
  return {
    id: num(record, 'id'),
    name: text(record, 'name'),
    email: text(record, 'email'),
    city: text(record, 'city'),
    country: text(record, 'country'),
    amount: num(record, 'amount'),
    currency: text(record, 'currency'),
    created: text(record, 'created'),
    status: text(record, 'status'),
    score: num(record, 'score'),
  };
}

/** The processor (tsbatch) and the per-record transform (baseline): light on purpose. */
function enrich(c: Customer): EnrichedCustomer {
  return {
    id: c.id,
    name: c.name,
    email: c.email,
    city: c.city.toUpperCase(),
    country: c.country,
    amount: c.amount,
    amountCents: Math.round(c.amount * 100),
    currency: c.currency,
    created: c.created,
    status: c.status,
    score: c.score,
    vip: c.amount >= 5000,
  };
}

// ---------------------------------------------------------------------------------------------
// Input generation: deterministic, streamed in ~1 MB blocks, ASCII only (string length = bytes)

const FIRST = ['Ada', 'Alan', 'Grace', 'Linus', 'Barbara', 'Dennis', 'Margaret', 'Ken', 'Frances', 'Edsger', 'Radia', 'Donald', 'Sophie', 'Niklaus', 'Hedy', 'John'];
const LAST = ['Lovelace', 'Turing', 'Hopper', 'Torvalds', 'Liskov', 'Ritchie', 'Hamilton', 'Thompson', 'Allen', 'Dijkstra', 'Perlman', 'Knuth', 'Wilson', 'Wirth', 'Lamarr', 'Backus'];
const FIRST_LC = FIRST.map((s) => s.toLowerCase());
const LAST_LC = LAST.map((s) => s.toLowerCase());
const CITIES = ['Lyon', 'Berlin', 'Porto', 'Oslo', 'Dublin', 'Krakow', 'Seville', 'Ghent', 'Turin', 'Aarhus', 'Tartu', 'Bern', 'Graz', 'Bologna', 'Utrecht', 'Brno'];
const COUNTRIES = ['FR', 'DE', 'PT', 'NO', 'IE', 'PL', 'ES', 'BE', 'IT', 'DK', 'EE', 'CH', 'AT', 'IT', 'NL', 'CZ'];
const CURRENCIES = ['EUR', 'USD', 'GBP', 'CHF'];
const STATUSES = ['active', 'pending', 'inactive', 'blocked'];
const PAD2 = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));

function mix(n: number): number {
  let x = Math.imul(n ^ 0x9e3779b9, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

function csvLine(id: number): string {
  const h = mix(id);
  const g = mix(h);
  const f = h & 15;
  const l = (h >>> 4) & 15;
  const c = (h >>> 8) & 15;
  const cents = g % 1_000_000;
  return (
    `${id},${FIRST[f]} ${LAST[l]},${FIRST_LC[f]}.${LAST_LC[l]}${id}@example.com,${CITIES[c]},${COUNTRIES[c]},` +
    `${Math.floor(cents / 100)}.${PAD2[cents % 100]},${CURRENCIES[(h >>> 12) & 3]},` +
    `2024-${PAD2[1 + ((h >>> 14) % 12)]}-${PAD2[1 + ((h >>> 18) % 28)]},${STATUSES[(h >>> 23) & 3]},${g >>> 25}\n`
  );
}

interface GeneratedCsv {
  readonly path: string;
  readonly lines: number;
  readonly bytes: number;
  /** checkpoints[k]: byte offset just after record k × CHUNK (header included), k = 0..lines/CHUNK. */
  readonly checkpoints: Float64Array;
  readonly seconds: number;
}

/** The lines are ASCII: encoded as latin1 (the same bytes, cheaper than UTF-8) into a reused 1 MiB block. */
function generateCsv(path: string, lines: number): GeneratedCsv {
  const started = process.hrtime.bigint();
  const fd = openSync(path, 'w');
  const checkpoints = new Float64Array(Math.floor(lines / CHUNK) + 1);
  const block = Buffer.allocUnsafe((1 << 20) + 4096);
  try {
    let used = block.write(`${COLUMNS.join(',')}\n`, 0, 'latin1');
    let offset = used;
    checkpoints[0] = offset;
    for (let id = 1; id <= lines; id++) {
      const written = block.write(csvLine(id), used, 'latin1');
      used += written;
      offset += written;
      if (id % CHUNK === 0) checkpoints[id / CHUNK] = offset;
      if (used >= 1 << 20) {
        writeSync(fd, block, 0, used);
        used = 0;
      }
    }
    if (used > 0) writeSync(fd, block, 0, used);
    return { path, lines, bytes: offset, checkpoints, seconds: secondsSince(started) };
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// The two sides

interface SideRun {
  readonly seconds: number;
  /** user + system CPU seconds of the process during the timed part (fdatasync waits are not in it). */
  readonly cpuSeconds: number;
  readonly output: string;
}

/**
 * tsbatch as a user runs it. Timed: `launcher.run` from launch to COMPLETED (job and step start/end
 * transactions, reader and writer open/close included). Opening and closing the runtime are not.
 */
async function runTsbatch(input: GeneratedCsv, workDir: string, tag: string): Promise<SideRun> {
  const output = join(workDir, `tsbatch-${tag}.ndjson`);
  const storeDir = mkdtempSync(join(workDir, 'tsbatch-store-'));
  try {
    const convert = step('convert')
      .chunk<Customer, EnrichedCustomer>(CHUNK)
      .reader(() => csvReader({ path: input.path, columns: true, map: toCustomer }))
      .processor(enrich)
      .writer(() => ndjsonWriter<EnrichedCustomer>({ path: output }))
      .build();
    const csvToNdjson = job('csvToNdjson').start(convert).build();
    const runtime = await BatchRuntime.open({ path: storeDir, logger: false });
    try {
      const cpuBefore = process.cpuUsage();
      const started = process.hrtime.bigint();
      const execution = await runtime.launcher.run(csvToNdjson, JobParameters.of({ input: input.path, output }));
      const seconds = secondsSince(started);
      const cpuSeconds = cpuSecondsSince(cpuBefore);
      const stepExecution = execution.stepExecutions[0];
      if (execution.status !== 'COMPLETED' || stepExecution === undefined || stepExecution.readCount !== input.lines || stepExecution.writeCount !== input.lines) {
        throw new Error(
          `tsbatch run did not complete as expected: status=${execution.status} read=${stepExecution?.readCount} ` +
            `write=${stepExecution?.writeCount} (expected ${input.lines}); ${stepExecution?.exitStatus.exitDescription ?? ''}`,
        );
      }
      return { seconds, cpuSeconds, output };
    } finally {
      await runtime.close();
    }
  } finally {
    rmSync(storeDir, { recursive: true, force: true });
  }
}

/** What the baseline commits with every chunk. */
type BaselinePosition = { readonly inputOffset: number; readonly outputOffset: number; readonly lines: number };

/** Which parser a hand-written pipeline uses. */
type BaselineParser = 'csv-parse' | 'tsbatch-parser';

/** A parser fed the file's bytes by hand; it calls back with each record and the byte position just after it. */
interface RecordFeed {
  write(bytes: Buffer): void;
  end(): void;
  destroy(): void;
}

interface FeedCallbacks {
  /** `end` is the byte offset, or an object whose `end` getter works it out (read once per chunk). */
  record(record: CsvRecord, end: number | { readonly end: number }): void;
  ended(): void;
  failed(error: Error): void;
}

function csvParseFeed(on: FeedCallbacks): RecordFeed {
  const parser = new Parser({ columns: true });
  // A 'data' listener puts the parser in flowing mode: each record arrives synchronously while
  // csv-parse pushes it, so parser.info.bytes is the position just after that record.
  parser.on('data', (record: CsvRecord) => on.record(record, parser.info.bytes));
  parser.on('end', () => on.ended());
  parser.on('error', (error: Error) => on.failed(error));
  return { write: (bytes) => parser.write(bytes), end: () => parser.end(), destroy: () => parser.destroy() };
}

function tsbatchParserFeed(on: FeedCallbacks): RecordFeed {
  const decoder = new LineAlignedDecoder(0, 'utf8');
  const parser = new CsvRecordParser({ delimiter: ',', quote: '"' }, { kind: 'names', onHeader: () => undefined }, 1, {
    push: (entry) => {
      if (entry.kind === 'record') on.record(entry.value, entry);
      else on.failed(new Error(`line ${entry.line}: ${entry.reason}`));
    },
    end: () => on.ended(),
    fail: (error) => on.failed(error),
  });
  return {
    write: (bytes) => {
      const segment = decoder.write(bytes);
      if (segment !== undefined) parser.parse(segment, false);
    },
    end: () => {
      parser.parse(decoder.end(), true);
      on.ended();
    },
    destroy: () => undefined,
  };
}

/**
 * A hand-written pipeline. Timed: from opening the output file to closing it. Opening the LMDB
 * environment is not timed (as the runtime's open is not on the tsbatch side).
 */
async function runBaseline(input: GeneratedCsv, workDir: string, tag: string, parserKind: BaselineParser): Promise<SideRun> {
  const output = join(workDir, `baseline-${parserKind}-${tag}.ndjson`);
  const storeDir = mkdtempSync(join(workDir, 'baseline-store-'));
  const db = openLmdb<BaselinePosition, string>({ path: join(storeDir, 'baseline.mdb'), compression: false });
  try {
    const cpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    const out = await openFile(output, DURABLE_OUTPUT_FLAGS);
    const committedOffsets: number[] = [];
    const source = createReadStream(input.path, { highWaterMark: 64 * 1024 });
    let feed: RecordFeed | undefined;
    try {
      // Records parsed, mapped and transformed, waiting for their chunk; with the byte offset just after each.
      let items: EnrichedCustomer[] = [];
      let ends: (number | { readonly end: number })[] = [];
      let ended = false;
      let failure: Error | undefined;
      let wake: (() => void) | undefined;
      const notify = (): void => {
        const resolve = wake;
        wake = undefined;
        resolve?.();
      };
      const callbacks: FeedCallbacks = {
        record: (record, end) => {
          items.push(enrich(toCustomer(record)));
          ends.push(end);
          if (items.length >= 2 * CHUNK && !source.isPaused()) source.pause();
          if (items.length >= CHUNK) notify();
        },
        ended: () => {
          ended = true;
          notify();
        },
        failed: (error) => {
          failure = error;
          notify();
        },
      };
      const parser = parserKind === 'csv-parse' ? csvParseFeed(callbacks) : tsbatchParserFeed(callbacks);
      feed = parser;
      source.on('error', (error: Error) => {
        failure = error;
        notify();
      });
      source.on('data', (bytes: Buffer | string) => parser.write(typeof bytes === 'string' ? Buffer.from(bytes) : bytes));
      source.on('end', () => parser.end());

      let outputOffset = 0;
      let lines = 0;
      for (;;) {
        while (items.length < CHUNK && !ended && failure === undefined) await new Promise<void>((resolve) => (wake = resolve));
        if (failure !== undefined) throw failure;
        if (items.length === 0) break;
        const take = Math.min(CHUNK, items.length);
        const chunk = items.length === take ? items : items.slice(0, take);
        const last = ends[take - 1] as number | { readonly end: number };
        const inputOffset = typeof last === 'number' ? last : last.end;
        items = items.length === take ? [] : items.slice(take);
        ends = ends.length === take ? [] : ends.slice(take);
        if (source.isPaused() && items.length < CHUNK) source.resume();

        let json = '';
        for (const item of chunk) json += `${JSON.stringify(item)}\n`;
        const bytes = Buffer.from(json, 'utf8');
        await writeFully(out, bytes, outputOffset);
        if (!WRITES_ARE_DURABLE) await out.datasync();
        outputOffset += bytes.length;
        lines += chunk.length;
        const position: BaselinePosition = { inputOffset, outputOffset, lines };
        db.transactionSync(() => {
          db.putSync('position', position);
        });
        committedOffsets.push(inputOffset);
      }
      if (lines !== input.lines) throw new Error(`baseline wrote ${lines} lines, expected ${input.lines}`);
    } finally {
      source.destroy();
      feed?.destroy();
      await out.close();
    }
    const seconds = secondsSince(started);
    const cpuSeconds = cpuSecondsSince(cpuBefore);
    verifyBaselineOffsets(input, committedOffsets, db.get('position'));
    return { seconds, cpuSeconds, output };
  } finally {
    await db.close();
    rmSync(storeDir, { recursive: true, force: true });
  }
}

/** The offsets the baseline committed are the generator's own line ends: its position is honest. */
function verifyBaselineOffsets(input: GeneratedCsv, committed: readonly number[], stored: BaselinePosition | undefined): void {
  for (let k = 0; k < committed.length; k++) {
    const expected = k + 1 < input.checkpoints.length ? input.checkpoints[k + 1] : input.bytes;
    if (committed[k] !== expected) {
      throw new Error(`baseline committed input offset ${committed[k]} after chunk ${k + 1}, but that chunk ends at byte ${expected}`);
    }
  }
  if (stored === undefined || stored.inputOffset !== input.bytes || stored.lines !== input.lines) {
    throw new Error(`baseline's last durable position ${JSON.stringify(stored)} is not the end of the input (${input.bytes} bytes)`);
  }
}

/** Positional write of all of `bytes`, as abstract-file-item-writer.ts does it. */
async function writeFully(handle: FileHandle, bytes: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    if (bytesWritten === 0) throw new Error('the file system accepted no bytes');
    done += bytesWritten;
  }
}

// ---------------------------------------------------------------------------------------------
// Output check

interface FileDigest {
  readonly size: number;
  readonly sha256: string;
}

async function digest(path: string): Promise<FileDigest> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return { size: statSync(path).size, sha256: hash.digest('hex') };
}

async function checkIdentical(label: string, reference: FileDigest | undefined, path: string): Promise<FileDigest> {
  const actual = await digest(path);
  if (reference !== undefined && (actual.size !== reference.size || actual.sha256 !== reference.sha256)) {
    throw new Error(
      `OUTPUT MISMATCH (${label}): ${path} is ${actual.size} bytes, sha256 ${actual.sha256}; ` +
        `expected ${reference.size} bytes, sha256 ${reference.sha256}`,
    );
  }
  rmSync(path, { force: true });
  return actual;
}

// ---------------------------------------------------------------------------------------------
// Resume

interface ResumeFigure {
  /** Records before the resume point. */
  readonly after: number;
  readonly offset: number;
  readonly firstMs: number;
  readonly medianMs: number;
  readonly maxMs: number;
  /** Records the resumed reader had parsed when it returned its first record. */
  readonly parsed: number;
}

/**
 * Reads the file once with a CsvItemReader and takes the reader's own update() context right after
 * records `points`; checks each offset against the generator's line lengths.
 */
async function captureContexts(input: GeneratedCsv, points: readonly number[]): Promise<Map<number, ExecutionContext>> {
  const reader = csvReader({ path: input.path, columns: true, map: toCustomer });
  const contexts = new Map<number, ExecutionContext>();
  const last = Math.max(...points);
  const wanted = new Set(points);
  await reader.open(new ExecutionContext());
  try {
    for (let n = 1; n <= last; n++) {
      let item = reader.read();
      if (item instanceof Promise) item = await item;
      if (item === null) throw new Error(`the resume file ended after ${n - 1} records`);
      if (wanted.has(n)) {
        const context = new ExecutionContext();
        reader.update(context);
        const offset = context.get('csvReader.offset');
        const expected = input.checkpoints[n / CHUNK];
        if (offset !== expected) throw new Error(`reader's offset after record ${n} is ${String(offset)}, the generator's is ${expected}`);
        contexts.set(n, context);
      }
    }
  } finally {
    await reader.close();
  }
  return contexts;
}

/** From `new CsvItemReader` + open(context) to the first record returned. */
async function timeResume(input: GeneratedCsv, after: number, snapshot: ExecutionContext, repeats: number): Promise<ResumeFigure> {
  const times: number[] = [];
  let parsed = 0;
  for (let r = 0; r < repeats; r++) {
    const context = snapshot.copy();
    const started = process.hrtime.bigint();
    const reader = csvReader({ path: input.path, columns: true, map: toCustomer });
    await reader.open(context);
    let first = reader.read();
    if (first instanceof Promise) first = await first;
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    parsed = reader.parsedCount;
    await reader.close();
    if (first === null || first.id !== after + 1) {
      throw new Error(`resumed after record ${after} but the first record is ${first === null ? 'the end of the file' : `id ${first.id}`}`);
    }
    times.push(ms);
  }
  const offset = snapshot.get('csvReader.offset');
  return {
    after,
    offset: typeof offset === 'number' ? offset : -1,
    firstMs: times[0] as number,
    medianMs: median(times),
    maxMs: Math.max(...times),
    parsed,
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers and main

function secondsSince(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function cpuSecondsSince(before: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
const fmtMb = (bytes: number): string => `${(bytes / 1e6).toFixed(0)} MB`;
const yes = (ok: boolean): string => (ok ? 'yes' : 'NO');

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function freeBytes(path: string): number {
  const stats = statfsSync(path);
  return stats.bavail * stats.bsize;
}

async function main(): Promise<void> {
  const workDir = mkdtempSync(join(tmpdir(), 'tsbatch-csv-bench-'));
  const cleanup = (): void => rmSync(workDir, { recursive: true, force: true });
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    const benchStarted = process.hrtime.bigint();
    const loadAtStart = loadavg()[0] ?? 0;
    console.log(`csv-to-ndjson benchmark: node ${process.version}, ${process.platform}/${process.arch}, work dir ${workDir}`);
    console.log(`load average at start: ${loadAtStart.toFixed(2)} (1 min)${loadAtStart > 0.5 ? ' — other processes are using the CPU: wall times will be noisy, see the cpu columns' : ''}`);
    console.log(
      `chunk ${CHUNK}; every side per chunk: 1 positional write of the NDJSON output ${WRITES_ARE_DURABLE ? '(opened with O_DSYNC: write + flush in one call)' : '+ FileHandle.datasync()'}, then 1 durable LMDB transactionSync`,
    );
    console.log(`  tsbatch  : csvReader (its own CsvRecordParser) → processor → ndjsonWriter; the transaction holds step counts + step context`);
    console.log(`             (reader and writer byte offsets)`);
    console.log(`  baselines: a parser's records → same map + transform → JSON.stringify lines; the transaction holds { inputOffset, outputOffset,`);
    console.log(`             lines }. They do not sync the directory at create, nor keep counts/job records (tsbatch does).`);
    console.log(`    csv-parse      : Parser({ columns: true }) 'data' events, other options at their defaults (the issue's comparison: 'ratio')`);
    console.log(`    tsbatch parser : the reader's LineAlignedDecoder + CsvRecordParser fed by hand ('vs same parser': what the runtime costs)`);

    // Throughput --------------------------------------------------------------------------------
    const warm = generateCsv(join(workDir, 'warmup.csv'), WARMUP_LINES);
    const input = generateCsv(join(workDir, 'input.csv'), LINES);
    console.log(`\ninput: ${fmtInt(input.lines)} records + header, ${fmtMb(input.bytes)} (${(input.bytes / input.lines).toFixed(1)} bytes/line), generated in ${input.seconds.toFixed(2)} s`);

    const warmRef = await checkIdentical('warm-up', undefined, (await runTsbatch(warm, workDir, 'warmup')).output);
    await checkIdentical('warm-up csv-parse baseline vs tsbatch', warmRef, (await runBaseline(warm, workDir, 'warmup', 'csv-parse')).output);
    await checkIdentical('warm-up same-parser baseline vs tsbatch', warmRef, (await runBaseline(warm, workDir, 'warmup', 'tsbatch-parser')).output);
    rmSync(warm.path, { force: true });
    console.log(`warm-up: ${fmtInt(warm.lines)} records each side, outputs identical`);

    const tsbatchRuns: SideRun[] = [];
    const baselineRuns: SideRun[] = [];
    const sameParserRuns: SideRun[] = [];
    let reference: FileDigest | undefined;
    let runs = RUNS;
    for (let r = 0; r < runs; r++) {
      // Interleaved, so a drift of the machine (page cache, other load) hits both sides alike.
      const t = await runTsbatch(input, workDir, String(r));
      reference = await checkIdentical(`tsbatch run ${r + 1}`, reference, t.output);
      tsbatchRuns.push(t);
      const b = await runBaseline(input, workDir, String(r), 'csv-parse');
      await checkIdentical(`csv-parse baseline run ${r + 1} vs tsbatch`, reference, b.output);
      baselineRuns.push(b);
      const p = await runBaseline(input, workDir, String(r), 'tsbatch-parser');
      await checkIdentical(`same-parser baseline run ${r + 1} vs tsbatch`, reference, p.output);
      sameParserRuns.push(p);
      console.log(
        `run ${r + 1}: tsbatch ${t.seconds.toFixed(3)} s (cpu ${t.cpuSeconds.toFixed(2)} s), csv-parse baseline ${b.seconds.toFixed(3)} s ` +
          `(cpu ${b.cpuSeconds.toFixed(2)} s), same-parser baseline ${p.seconds.toFixed(3)} s (cpu ${p.cpuSeconds.toFixed(2)} s), outputs identical`,
      );
      if (r === 0 && runs > 2 && Math.max(t.seconds, b.seconds, p.seconds) > LONG_RUN_SECONDS) runs = 2;
    }
    rmSync(input.path, { force: true });
    if (reference === undefined) throw new Error('no run');

    const tsbatchSeconds = median(tsbatchRuns.map((r) => r.seconds));
    const baselineSeconds = median(baselineRuns.map((r) => r.seconds));
    const tsbatchRate = input.lines / tsbatchSeconds;
    const baselineRate = input.lines / baselineSeconds;
    const ratio = tsbatchRate / baselineRate;
    const tsbatchCpu = median(tsbatchRuns.map((r) => r.cpuSeconds));
    const baselineCpu = median(baselineRuns.map((r) => r.cpuSeconds));
    const cpuRatio = baselineCpu / tsbatchCpu;
    const sameParserSeconds = median(sameParserRuns.map((r) => r.seconds));
    const sameParserRate = input.lines / sameParserSeconds;
    const sameParserCpu = median(sameParserRuns.map((r) => r.cpuSeconds));
    const ratioVsSameParser = tsbatchRate / sameParserRate;
    const cpuRatioVsSameParser = sameParserCpu / tsbatchCpu;
    console.log(`\noutput: ${fmtMb(reference.size)}, sha256 ${reference.sha256.slice(0, 16)}…, byte-identical on every side in every run`);
    console.log(`median of ${runs} runs:\n`);
    console.log(
      table(
        ['side', 'lines', 'seconds', 'lines/s', 'cpu s', 'ratio', 'cpu ratio', 'vs same parser', 'target'],
        [
          ['baseline (csv-parse + fsync + LMDB)', fmtInt(input.lines), baselineSeconds.toFixed(3), fmtInt(baselineRate), baselineCpu.toFixed(2), '1.00', '1.00', '', ''],
          [
            'baseline (tsbatch parser + fsync + LMDB)',
            fmtInt(input.lines),
            sameParserSeconds.toFixed(3),
            fmtInt(sameParserRate),
            sameParserCpu.toFixed(2),
            (sameParserRate / baselineRate).toFixed(2),
            (baselineCpu / sameParserCpu).toFixed(2),
            '1.00',
            '',
          ],
          [
            'tsbatch (csvReader → ndjsonWriter)',
            fmtInt(input.lines),
            tsbatchSeconds.toFixed(3),
            fmtInt(tsbatchRate),
            tsbatchCpu.toFixed(2),
            ratio.toFixed(2),
            cpuRatio.toFixed(2),
            `${ratioVsSameParser.toFixed(2)} (cpu ${cpuRatioVsSameParser.toFixed(2)})`,
            `ratio >= ${TARGET_RATIO}: ${yes(ratio >= TARGET_RATIO)}; >= ${fmtInt(TARGET_LINES_PER_SEC)}/s: ${yes(tsbatchRate >= TARGET_LINES_PER_SEC)}`,
          ],
        ],
      ),
    );
    console.log(
      `(ratio: lines/s ÷ the csv-parse baseline's lines/s from the median wall times; cpu ratio: the csv-parse baseline's cpu s ÷ this side's cpu s,\n` +
        ` less sensitive to other load; vs same parser: tsbatch lines/s ÷ the same-parser baseline's, and the cpu ratio likewise)`,
    );

    // Resume ------------------------------------------------------------------------------------
    // The resume file holds ~bytes/line × N; leave 2 GB of margin for everything else.
    const bytesPerLine = input.bytes / input.lines;
    const fitting = Math.floor((freeBytes(workDir) - 2e9) / bytesPerLine / CHUNK) * CHUNK;
    let resumeLines = Math.floor(REQUESTED_RESUME_LINES / 10) * 10;
    if (fitting < resumeLines) {
      resumeLines = Math.max(10 * CHUNK, Math.floor(fitting / (10 * CHUNK)) * 10 * CHUNK);
      console.log(`\nDISK SPACE: ${fmtMb(freeBytes(workDir))} free, not enough for ${fmtInt(REQUESTED_RESUME_LINES)} records; using ${fmtInt(resumeLines)}.`);
    }
    // Resume points at 10 %, 50 % and 90 %, each at a chunk boundary (a committed position).
    const points = [0.1, 0.5, 0.9].map((f) => Math.max(CHUNK, Math.round((resumeLines * f) / CHUNK) * CHUNK));
    const big = generateCsv(join(workDir, 'resume.csv'), resumeLines);
    console.log(`\nresume file: ${fmtInt(big.lines)} records, ${fmtMb(big.bytes)}, generated in ${big.seconds.toFixed(2)} s`);
    const captureStarted = process.hrtime.bigint();
    const contexts = await captureContexts(big, points);
    console.log(
      `reader contexts captured by reading to record ${fmtInt(Math.max(...points))} once (${secondsSince(captureStarted).toFixed(1)} s); ` +
        `offsets match the generator's line lengths`,
    );
    const figures: ResumeFigure[] = [];
    // Record 0 (a fresh open at the start of the file) as the reference point.
    figures.push(await timeResume(big, 0, new ExecutionContext(), 5));
    for (const point of points) {
      const context = contexts.get(point);
      if (context === undefined) throw new Error(`no context for ${point}`);
      figures.push(await timeResume(big, point, context, 5));
    }
    rmSync(big.path, { force: true });
    console.log(`\nresume: new CsvItemReader + open(context with the reader's own offset) → first record (file in page cache; 5 tries each)\n`);
    console.log(
      table(
        ['resume after record', 'byte offset', 'first ms', 'median ms', 'max ms', 'parsed', `< ${TARGET_RESUME_MS} ms`],
        figures.map((f) => [
          f.after === 0 ? '0 (fresh start)' : fmtInt(f.after),
          fmtInt(f.offset === -1 ? 0 : f.offset),
          f.firstMs.toFixed(2),
          f.medianMs.toFixed(2),
          f.maxMs.toFixed(2),
          fmtInt(f.parsed),
          yes(f.maxMs < TARGET_RESUME_MS),
        ]),
      ),
    );
    console.log(`('parsed': records the resumed reader had parsed when the first one came back — one 64 KiB read, not the file before the offset)`);

    const resumeMs: Record<string, number> = {};
    for (const f of figures) if (f.after > 0) resumeMs[String(f.after)] = round(f.medianMs, 2);
    const targets = {
      ratio: ratio >= TARGET_RATIO,
      linesPerSec: tsbatchRate >= TARGET_LINES_PER_SEC,
      resume: figures.every((f) => f.maxMs < TARGET_RESUME_MS),
    };
    const loadAtEnd = loadavg()[0] ?? 0;
    console.log(`\nload average at end: ${loadAtEnd.toFixed(2)}; whole benchmark ${secondsSince(benchStarted).toFixed(0)} s`);
    console.log(`targets: ratio >= ${TARGET_RATIO}: ${yes(targets.ratio)}; tsbatch >= ${fmtInt(TARGET_LINES_PER_SEC)} lines/s: ${yes(targets.linesPerSec)}; resume < ${TARGET_RESUME_MS} ms: ${yes(targets.resume)}`);
    console.log(
      JSON.stringify({
        benchmark: 'csv-to-ndjson',
        lines: input.lines,
        chunk: CHUNK,
        runs,
        tsbatchSeconds: round(tsbatchSeconds, 3),
        baselineSeconds: round(baselineSeconds, 3),
        tsbatchLinesPerSec: Math.round(tsbatchRate),
        baselineLinesPerSec: Math.round(baselineRate),
        ratio: round(ratio, 3),
        tsbatchCpuSeconds: round(tsbatchCpu, 2),
        baselineCpuSeconds: round(baselineCpu, 2),
        cpuRatio: round(cpuRatio, 3),
        sameParserBaselineSeconds: round(sameParserSeconds, 3),
        sameParserBaselineLinesPerSec: Math.round(sameParserRate),
        sameParserBaselineCpuSeconds: round(sameParserCpu, 2),
        ratioVsSameParser: round(ratioVsSameParser, 3),
        cpuRatioVsSameParser: round(cpuRatioVsSameParser, 3),
        resumeLines: big.lines,
        resumeMs,
        targetsMet: targets,
        loadAverage: { start: round(loadAtStart, 2), end: round(loadAtEnd, 2) },
      }),
    );
  } finally {
    cleanup();
  }
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
