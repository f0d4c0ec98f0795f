/**
 * Example tests of chunk-step fault tolerance, one per case of reference/spring-batch-semantics.md
 * §3 (Spring Batch 6's new chunk engine: §3.1 the chunk cycle, §3.2 errors without fault
 * tolerance, §3.3 skip, retry and the write scan, §3.5 listeners) and DESIGN.md §5. Every test
 * asserts the status, the exit code, all eight counts and the written output.
 *
 * D1–D3 below are cases where an earlier tsbatch disagreed with the reference; they now pass.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  BatchRuntime,
  ExitStatus,
  InvalidConfigurationError,
  JobParameters,
  job,
  listWriter,
  step,
  type Chunk,
  type ExecutionContext,
  type ItemReader,
  type ItemStream,
  type ItemWriter,
  type JobExecution,
  type Step,
  type StepExecution,
  type StepCounts,
} from '../../src/index.js';

// ---- helpers --------------------------------------------------------------------------------

/** Like Spring's FlatFileParseException: a record that cannot be turned into an item. */
class FlatFileParseError extends Error {
  override readonly name = 'FlatFileParseError';
}
/** Like Spring's DataIntegrityViolationException: the store refuses an item. */
class DataIntegrityViolationError extends Error {
  override readonly name = 'DataIntegrityViolationError';
}
/** A failure the tests declare skippable. */
class SkippableError extends Error {
  override readonly name = 'SkippableError';
}
/** A failure no test declares skippable. */
class FatalError extends Error {
  override readonly name = 'FatalError';
}
class TransientError extends Error {
  override readonly name = 'TransientError';
}
class OtherTransientError extends Error {
  override readonly name = 'OtherTransientError';
}

/** The eight counters, as StepExecution.counts() returns them. */
type Counts = StepCounts;

function countsOf(s: StepExecution): Counts {
  return s.counts();
}

/** All eight counts; those not given are 0. */
const expectedCounts = (counts: Partial<Counts>): Counts => ({
  readCount: 0,
  writeCount: 0,
  filterCount: 0,
  commitCount: 0,
  rollbackCount: 0,
  readSkipCount: 0,
  processSkipCount: 0,
  writeSkipCount: 0,
  ...counts,
});

const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

const runtimes: BatchRuntime[] = [];

async function openRuntime(): Promise<BatchRuntime> {
  const runtime = await BatchRuntime.open({ inMemory: true, logger: false });
  runtimes.push(runtime);
  return runtime;
}

afterEach(async () => {
  for (const runtime of runtimes.splice(0)) await runtime.close();
});

let jobCounter = 0;

/** Runs a one-step job on a fresh in-memory runtime; returns the execution and its only step. */
async function runStep(theStep: Step): Promise<{ execution: JobExecution; stepExecution: StepExecution; runtime: BatchRuntime }> {
  const runtime = await openRuntime();
  jobCounter += 1;
  const execution = await runtime.launcher.run(job(`faultToleranceJob${jobCounter}`).start(theStep).build());
  expect(execution.stepExecutions).toHaveLength(1);
  const stepExecution = execution.stepExecutions[0]!;
  // The job reports what its only step reports.
  expect(execution.status).toBe(stepExecution.status);
  expect(execution.exitStatus.exitCode).toBe(stepExecution.exitStatus.exitCode);
  return { execution, stepExecution, runtime };
}

/**
 * Reads 1..total; `failure(item, attempt)` may return an error to throw instead (attempt counts the
 * reads of that item, from 1). `advanceOnFailure`: a failing record is consumed (like a bad line of
 * a file), else the reader stays on it (a transient failure). Counts every read() call.
 */
class NumberReader implements ItemReader<number> {
  calls = 0;
  private position = 0;
  private readonly attempts = new Map<number, number>();

  constructor(
    private readonly total: number,
    private readonly failure: (item: number, attempt: number) => Error | undefined = () => undefined,
    private readonly advanceOnFailure = true,
  ) {}

  read(): number | null {
    this.calls += 1;
    if (this.position >= this.total) return null;
    const item = this.position + 1;
    const attempt = (this.attempts.get(item) ?? 0) + 1;
    this.attempts.set(item, attempt);
    const error = this.failure(item, attempt);
    if (error) {
      if (this.advanceOnFailure) this.position = item;
      throw error;
    }
    this.position = item;
    return item;
  }
}

/** Records every write call; `failure(items)` may return an error to throw instead of writing. */
class RecordingWriter implements ItemWriter<number> {
  readonly calls: number[][] = [];
  readonly written: number[] = [];

  constructor(private readonly failure: (items: readonly number[], call: number) => Error | undefined = () => undefined) {}

  write(chunk: Chunk<number>): void {
    this.calls.push([...chunk.items]);
    const error = this.failure(chunk.items, this.calls.length);
    if (error) throw error;
    this.written.push(...chunk.items);
  }
}

/** Counts process calls per item. */
function countingProcessor(
  calls: Map<number, number>,
  behaviour: (item: number, call: number) => number | null = (item) => item,
): (item: number) => number | null {
  return (item) => {
    const call = (calls.get(item) ?? 0) + 1;
    calls.set(item, call);
    return behaviour(item, call);
  };
}

// ---- §3.3 worked trace ----------------------------------------------------------------------

interface Person {
  readonly id: number;
  readonly name: string;
}

const PERSONS_BAD_DATA = ['1,foo1', '2,foo2', 'f,foo3', '4,foooo4', 'f,foo5', '6,foo6'];

/** Parses "id,name" lines; a line whose id is not a number is a FlatFileParseError (and is consumed). */
function personReader(lines: readonly string[]): ItemReader<Person> {
  let index = 0;
  return {
    read() {
      if (index >= lines.length) return null;
      const line = lines[index++]!;
      const [id, name] = line.split(',');
      if (!/^\d+$/.test(id ?? '')) throw new FlatFileParseError(`Parsing error at line ${index}, input=[${line}]`);
      return { id: Number(id), name: name ?? '' };
    },
  };
}

describe('§3.3 worked trace: persons-bad-data, chunk 2, parse and data-integrity errors skippable', () => {
  it('COMPLETED WITH SKIPS: read 4, write 3, commit 2, rollback 2, readSkip 2, writeSkip 1; skip listeners read, write, read, each after its chunk committed', async () => {
    const runtime = await openRuntime();
    const written: Person[] = [];
    const events: string[] = [];
    const skipCalls: Array<{ kind: string; detail: string }> = [];
    /** What the store held for this step when each skip listener call came. */
    const storedAtSkip: Counts[] = [];
    let live: StepExecution | undefined;

    const storedCounts = async (): Promise<Counts> => {
      const stored = await runtime.explorer.getJobExecution(live!.jobExecutionId);
      return countsOf(stored!.stepExecutions[0]!);
    };

    const personStep = step('persons')
      .chunk<Person, Person>(2)
      .reader(() => personReader(PERSONS_BAD_DATA))
      .processor((person) => ({ ...person, name: person.name.toUpperCase() }))
      .writer({
        write(chunk) {
          // name varchar(5): "FOOOO4" violates it; nothing of a refused chunk is written.
          const tooLong = chunk.items.find((person) => person.name.length > 5);
          if (tooLong) throw new DataIntegrityViolationError(`value too long for type character varying(5): ${tooLong.name}`);
          written.push(...chunk.items);
        },
      })
      .faultTolerant()
      .skip(FlatFileParseError, DataIntegrityViolationError)
      .listener({
        beforeStep: (stepExecution) => void (live = stepExecution),
        beforeChunk: (chunk) => void events.push(`beforeChunk ${chunk.items.map((p) => p.id).join(',')}`),
        afterChunk: (chunk) => void events.push(`afterChunk ${chunk.items.map((p) => p.id).join(',')}`),
        async onSkipInRead(error) {
          const detail = (error as Error).message;
          skipCalls.push({ kind: 'read', detail: `${detail} ${(error as Error).name}` });
          events.push(`onSkipInRead ${detail.slice(detail.indexOf('['))}`);
          storedAtSkip.push(await storedCounts());
        },
        async onSkipInProcess(item) {
          skipCalls.push({ kind: 'process', detail: String(item.id) });
        },
        async onSkipInWrite(item, error) {
          // (An assertion here would be swallowed: a failing skip listener is only logged.)
          skipCalls.push({ kind: 'write', detail: `${item.id},${item.name} ${(error as Error).name}` });
          events.push(`onSkipInWrite ${item.id}`);
          storedAtSkip.push(await storedCounts());
        },
      })
      .build();
    const execution = await runtime.launcher.run(job('personsJob').start(personStep).build(), JobParameters.of({ file: 'data/persons-bad-data.csv' }));
    const s = execution.stepExecutions[0]!;

    expect(execution.status).toBe('COMPLETED');
    expect(s.status).toBe('COMPLETED');
    expect(s.exitStatus.exitCode).toBe('COMPLETED WITH SKIPS');
    expect(execution.exitStatus.exitCode).toBe('COMPLETED WITH SKIPS');
    expect(countsOf(s)).toEqual(
      expectedCounts({ readCount: 4, writeCount: 3, commitCount: 2, rollbackCount: 2, readSkipCount: 2, writeSkipCount: 1 }),
    );
    expect(s.skipCount).toBe(3);
    expect(written.map((p) => p.id)).toEqual([1, 2, 6]);
    expect(written.map((p) => p.name)).toEqual(['FOO1', 'FOO2', 'FOO6']);

    // Each skipped item is reported once, in the order of the trace.
    expect(skipCalls).toEqual([
      { kind: 'read', detail: 'Parsing error at line 3, input=[f,foo3] FlatFileParseError' },
      { kind: 'write', detail: '4,FOOOO4 DataIntegrityViolationError' },
      { kind: 'read', detail: 'Parsing error at line 5, input=[f,foo5] FlatFileParseError' },
    ]);

    // chunk [1,2] commits; "f,foo3" takes a slot of chunk [4], whose write fails and is scanned;
    // its two skips are reported after that chunk ended (committed), before the next chunk begins.
    expect(events).toEqual([
      'beforeChunk 1,2',
      'afterChunk 1,2',
      'beforeChunk 4',
      'afterChunk 4',
      'onSkipInRead [f,foo3]',
      'onSkipInWrite 4',
      'beforeChunk 6',
      'afterChunk 6',
      'onSkipInRead [f,foo5]',
    ]);

    // The store already held each skip (and the rest of its chunk) when the listener was called.
    expect(storedAtSkip).toEqual([
      expectedCounts({ readCount: 3, writeCount: 2, commitCount: 1, rollbackCount: 2, readSkipCount: 1, writeSkipCount: 1 }),
      expectedCounts({ readCount: 3, writeCount: 2, commitCount: 1, rollbackCount: 2, readSkipCount: 1, writeSkipCount: 1 }),
      expectedCounts({ readCount: 4, writeCount: 3, commitCount: 2, rollbackCount: 2, readSkipCount: 2, writeSkipCount: 1 }),
    ]);

    // And the final record agrees with the execution returned.
    const stored = await runtime.explorer.getJobExecution(execution.id);
    expect(stored?.exitStatus.exitCode).toBe('COMPLETED WITH SKIPS');
    expect(countsOf(stored!.stepExecutions[0]!)).toEqual(countsOf(s));
  });

  it('with skipLimit(1) the second skippable failure (FOOOO4, during the scan) fails the step', async () => {
    // Reference (Spring's testFaultTolerantChunkOrientedStepFailure, limit 1): chunk [1,2] commits,
    // "f,foo3" is skip #1, "FOOOO4" then exceeds the limit during the scan of chunk [4].
    const written: Person[] = [];
    const { execution, stepExecution: s } = await runStep(
      step('persons')
        .chunk<Person, Person>(2)
        .reader(() => personReader(PERSONS_BAD_DATA))
        .processor((person) => ({ ...person, name: person.name.toUpperCase() }))
        .writer({
          write(chunk) {
            if (chunk.items.some((person) => person.name.length > 5)) throw new DataIntegrityViolationError('value too long');
            written.push(...chunk.items);
          },
        })
        .faultTolerant()
        .skip(FlatFileParseError, DataIntegrityViolationError)
        .skipLimit(1)
        .build(),
    );
    expect(execution.status).toBe('FAILED');
    expect(s.exitStatus.exitCode).toBe('FAILED');
    expect(s.exitStatus.exitDescription).toContain('SkipLimitExceededError');
    // Rollbacks (reference §3.3 rules): chunk [4]'s write (the scan starts), then the scan transaction that exceeded the limit.
    expect(countsOf(s)).toEqual(expectedCounts({ readCount: 3, writeCount: 2, commitCount: 1, rollbackCount: 2, readSkipCount: 1 }));
    expect(written.map((p) => p.id)).toEqual([1, 2]);
  });
});

// ---- §3.2 without fault tolerance ---------------------------------------------------------------

describe('§3.2 errors without fault tolerance: the chunk rolls back once and the step fails', () => {
  it('reference example: 5 persons, chunk 2, the processor always throws → read 2, write 0, commit 0, rollback 1, FAILED', async () => {
    const processErrors: number[] = [];
    const writer = new RecordingWriter();
    const { execution, stepExecution: s } = await runStep(
      step('persons')
        .chunk<number, number>(2)
        .reader(new NumberReader(5))
        .processor((item: number): number => {
          throw new Error(`Unable to process item Person[id=${item}, name=foo${item}]`);
        })
        .writer(writer)
        .listener({ onProcessError: (item) => void processErrors.push(item) })
        .build(),
    );
    expect(execution.status).toBe('FAILED');
    expect(s.status).toBe('FAILED');
    expect(s.exitStatus.exitCode).toBe('FAILED');
    expect(execution.exitStatus.exitCode).toBe('FAILED');
    expect(s.exitStatus.exitDescription).toContain('Unable to process item Person[id=1, name=foo1]');
    expect(countsOf(s)).toEqual(expectedCounts({ readCount: 2, rollbackCount: 1 }));
    expect(processErrors).toEqual([1]);
    expect(writer.calls).toEqual([]);
  });

  it('a read failure: the items read in the failed chunk are counted, the chunks before it committed', async () => {
    const reader = new NumberReader(7, (item) => (item === 5 ? new Error('cannot read item 5') : undefined));
    const writer = new RecordingWriter();
    const { execution, stepExecution: s } = await runStep(step('numbers').chunk<number, number>(3).reader(reader).writer(writer).build());
    expect(execution.status).toBe('FAILED');
    expect(s.exitStatus.exitCode).toBe('FAILED');
    expect(s.exitStatus.exitDescription).toContain('cannot read item 5');
    expect(countsOf(s)).toEqual(expectedCounts({ readCount: 4, writeCount: 3, commitCount: 1, rollbackCount: 1 }));
    expect(writer.written).toEqual([1, 2, 3]);
  });

  it('a process failure: the whole failed chunk was read, nothing of it written', async () => {
    const writer = new RecordingWriter();
    const { execution, stepExecution: s } = await runStep(
      step('numbers')
        .chunk<number, number>(3)
        .reader(new NumberReader(7))
        .processor((item: number) => {
          if (item === 5) throw new Error('cannot process item 5');
          return item;
        })
        .writer(writer)
        .build(),
    );
    expect(execution.status).toBe('FAILED');
    expect(s.exitStatus.exitCode).toBe('FAILED');
    expect(s.exitStatus.exitDescription).toContain('cannot process item 5');
    expect(countsOf(s)).toEqual(expectedCounts({ readCount: 6, writeCount: 3, commitCount: 1, rollbackCount: 1 }));
    expect(writer.written).toEqual([1, 2, 3]);
  });

  it('a write failure: no scan (the writer is called once for that chunk), rollback 1', async () => {
    const writeErrors: number[][] = [];
    const writer = new RecordingWriter((items) => (items.includes(5) ? new Error('cannot write item 5') : undefined));
    const { execution, stepExecution: s } = await runStep(
      step('numbers')
        .chunk<number, number>(3)
        .reader(new NumberReader(7))
        .writer(writer)
        .listener({ onWriteError: (_error, chunk) => void writeErrors.push([...chunk.items]) })
        .build(),
    );
    expect(execution.status).toBe('FAILED');
    expect(s.exitStatus.exitCode).toBe('FAILED');
    expect(s.exitStatus.exitDescription).toContain('cannot write item 5');
    expect(countsOf(s)).toEqual(expectedCounts({ readCount: 6, writeCount: 3, commitCount: 1, rollbackCount: 1 }));
    expect(writer.calls).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(writer.written).toEqual([1, 2, 3]);
    expect(writeErrors).toEqual([[4, 5, 6]]);
  });

  it('a failure of a class that would be skippable still fails a step that is not fault tolerant', async () => {
    const writer = new RecordingWriter();
    const { execution, stepExecution: s } = await runStep(
      step('numbers')
        .chunk<number, number>(2)
        .reader(new NumberReader(4, (item) => (item === 3 ? new SkippableError('bad record 3') : undefined)))
        .writer(writer)
        .build(),
    );
    expect(execution.status).toBe('FAILED');
    expect(s.exitStatus.exitCode).toBe('FAILED');
    expect(countsOf(s)).toEqual(expectedCounts({ readCount: 2, writeCount: 2, commitCount: 1, rollbackCount: 1 }));
    expect(writer.written).toEqual([1, 2]);
  });
});

// ---- read skips -----------------------------------------------------------------------------------

describe('read skips (§3.3): no rollback, and a skipped read takes a slot of its chunk', () => {
  it('chunk 3, 7 records, record 2 unreadable: chunks [1,3] [4,5,6] [7]; commit 3 (= ceil(7 records / 3), not ceil(6 items / 3)), readSkip 1, rollback 0', async () => {
    const reader = new NumberReader(7, (item) => (item === 2 ? new SkippableError('bad record 2') : undefined));
    const writer = new RecordingWriter();
    const skipped: string[] = [];
    const { execution, stepExecution: s } = await runStep(
      step('numbers')
        .chunk<number, number>(3)
        .reader(reader)
        .writer(writer)
        .faultTolerant()
        .skip(SkippableError)
        .listener({ onSkipInRead: (error) => void skipped.push((error as Error).message) })
        .build(),
    );
    expect(execution.status).toBe('COMPLETED');
    expect(s.exitStatus.exitCode).toBe('COMPLETED WITH SKIPS');
    // The unreadable record fills a slot: [1,X,3] [4,5,6] [7, end of data].
    expect(countsOf(s)).toEqual(expectedCounts({ readCount: 6, writeCount: 6, commitCount: 3, readSkipCount: 1 }));
    expect(writer.calls).toEqual([[1, 3], [4, 5, 6], [7]]);
    expect(writer.written).toEqual([1, 3, 4, 5, 6, 7]);
    expect(skipped).toEqual(['bad record 2']);
  });

  it('chunk 3, 6 records, record 2 unreadable: chunks [1,3] [4,5,6]; the end of the data alone in a chunk counts no commit', async () => {
    const writer = new RecordingWriter();
    const { execution, stepExecution: s } = await runStep(
      step('numbers')
        .chunk<number, number>(3)
        .reader(new NumberReader(6, (item) => (item === 2 ? new SkippableError('bad record 2') : undefined)))
        .writer(writer)
        .faultTolerant()
        .skip(SkippableError)
        .build(),
    );
    expect(execution.status).toBe('COMPLETED');
    expect(s.exitStatus.exitCode).toBe('COMPLETED WITH SKIPS');
    expect(countsOf(s)).toEqual(expectedCounts({ readCount: 5, writeCount: 5, commitCount: 2, readSkipCount: 1 }));
    expect(writer.calls).toEqual([
      [1, 3],
      [4, 5, 6],
    ]);
  });

  /**
   * D1. Reference §3.1: "chunk = read up to chunkSize times (a failed+skipped read consumes a
   * slot …); if chunk empty: return" — before commitCount++, so a chunk whose every slot was a
   * skipped read counts no commit (Spring: `if (inputChunk.isEmpty()) return;` precedes
   * `stepExecution.incrementCommitCount()`). tsbatch counts one for it.
   * Input: records 1..3, chunk 2, record 3 unreadable → chunk [1,2] commits, chunk [X] holds no item.
   * Expected: commitCount 1. tsbatch: 2.
   */
  it('D1: a chunk whose every slot was a skipped read counts no commit', async () => {
    const writer = new RecordingWriter();
    const { execution, stepExecution: s } = await runStep(
      step('numbers')
        .chunk<number, number>(2)
        .reader(new NumberReader(3, (item) => (item === 3 ? new SkippableError('bad record 3') : undefined)))
        .writer(writer)
        .faultTolerant()
        .skip(SkippableError)
        .build(),
    );
    expect(execution.status).toBe('COMPLETED');
    expect(s.exitStatus.exitCode).toBe('COMPLETED WITH SKIPS');
    expect(writer.calls).toEqual([[1, 2]]);
    expect(countsOf(s)).toEqual(expectedCounts({ readCount: 2, writeCount: 2, commitCount: 1, readSkipCount: 1 }));
  });

  /**
   * D2. Reference §3.3 (read row): when the skip policy rejects a read failure, the step fails with
   * NonSkippableReadException (as a process failure fails it with NonSkippableProcessException,
   * which tsbatch does raise as NonSkippableProcessError). tsbatch ends the step with the reader's
   * own error when its class is not skippable: the exit description never names
   * NonSkippableReadError. Counts and status agree.
   */
  it('D2: a non-skippable read failure in a fault-tolerant step fails it with NonSkippableReadError', async () => {
    const writer = new RecordingWriter();
    const { execution, stepExecution: s } = await runStep(
      step('numbers')
        .chunk<number, number>(2)
        .reader(new NumberReader(4, (item) => (item === 3 ? new FatalError('disk on fire at record 3') : undefined)))
        .writer(writer)
        .faultTolerant()
        .skip(SkippableError)
        .build(),
    );
    expect(execution.status).toBe('FAILED');
    expect(countsOf(s)).toEqual(expectedCounts({ readCount: 2, writeCount: 2, commitCount: 1, rollbackCount: 1 }));
    expect(s.exitStatus.exitDescription).toContain('disk on fire at record 3');
    expect(s.exitStatus.exitDescription).toContain('NonSkippableReadError');
  });
});

// ---- process skips ------------------------------------------------------------------------------

describe('process skips (§3.3): no rollback, the item is dropped and not counted as filtered', () => {
  it('chunk 3, items 1..6, item 2 fails (skippable), item 5 filtered → write [1,3] [4,6]; processSkip 1, filter 1, rollback 0', async () => {
    const processCalls = new Map<number, number>();
    const writer = new RecordingWriter();
    const skipped: Array<[number, string]> = [];
    const processErrors: number[] = [];
    const { execution, stepExecution: s } = await runStep(
      step('numbers')
        .chunk<number, number>(3)
        .reader(new NumberReader(6))
        .processor(
          countingProcessor(processCalls, (item) => {
            if (item === 2) throw new SkippableError('item 2 is malformed');
            return item === 5 ? null : item;
          }),
        )
        .writer(writer)
        .faultTolerant()
        .skip(SkippableError)
        .listener({
          onProcessError: (item) => void processErrors.push(item),
          onSkipInProcess: (item, error) => void skipped.push([item, (error as Error).message]),
        })
        .build(),
    );
    expect(execution.status).toBe('COMPLETED');
    expect(s.exitStatus.exitCode).toBe('COMPLETED WITH SKIPS');
    expect(countsOf(s)).toEqual(expectedCounts({ readCount: 6, writeCount: 4, filterCount: 1, commitCount: 2, processSkipCount: 1 }));
    expect(writer.calls).toEqual([
      [1, 3],
      [4, 6],
    ]);
    // Not re-processed: no rollback, no second pass over the chunk.
    expect([...processCalls.values()]).toEqual([1, 1, 1, 1, 1, 1]);
    expect(processErrors).toEqual([2]);
    expect(skipped).toEqual([[2, 'item 2 is malformed']]);
  });
});

// ---- write skips: the scan ------------------------------------------------------------------------

describe('write failures in a fault-tolerant step (§3.3)', () => {
  it('a skippable write failure rolls the chunk back and scans it: one rollback for the chunk and one per failing item; no re-read, no re-process', async () => {
    const reader = new NumberReader(6);
    const processCalls = new Map<number, number>();
    const writer = new RecordingWriter((items) => (items.includes(2) ? new SkippableError('item 2 refused') : undefined));
    const writeSkips: number[] = [];
    const { execution, stepExecution: s } = await runStep(
      step('numbers')
        .chunk<number, number>(3)
        .reader(reader)
        .processor(countingProcessor(processCalls))
        .writer(writer)
        .faultTolerant()
        .skip(SkippableError)
        .listener({ onSkipInWrite: (item) => void writeSkips.push(item) })
        .build(),
    );
    expect(execution.status).toBe('COMPLETED');
    expect(s.exitStatus.exitCode).toBe('COMPLETED WITH SKIPS');
    // The scanned chunk ends with a success (item 3), so it counts a commit.
    expect(countsOf(s)).toEqual(expectedCounts({ readCount: 6, writeCount: 5, commitCount: 2, rollbackCount: 2, writeSkipCount: 1 }));
    expect(writer.calls).toEqual([[1, 2, 3], [1], [2], [3], [4, 5, 6]]);
    expect(writer.written).toEqual([1, 3, 4, 5, 6]);
    expect(writeSkips).toEqual([2]);
    expect(reader.calls).toBe(7); // 6 items and the end, each read once
    expect([...processCalls.entries()]).toEqual(range(1, 6).map((item) => [item, 1]));
  });

  it('the scanned chunk counts a commit only when its last item is written; two failing items, two extra rollbacks', async () => {
    const writer = new RecordingWriter((items) => (items.includes(1) || items.includes(3) ? new SkippableError('refused') : undefined));
    const { execution, stepExecution: s } = await runStep(
      step('numbers').chunk<number, number>(3).reader(new NumberReader(5)).writer(writer).faultTolerant().skip(SkippableError).build(),
    );
    expect(execution.status).toBe('COMPLETED');
    expect(s.exitStatus.exitCode).toBe('COMPLETED WITH SKIPS');
    // Chunk [1,2,3]: its scan ends on a skipped item → no commit; chunk [4,5] commits.
    expect(countsOf(s)).toEqual(expectedCounts({ readCount: 5, writeCount: 3, commitCount: 1, rollbackCount: 3, writeSkipCount: 2 }));
    expect(writer.calls).toEqual([[1, 2, 3], [1], [2], [3], [4, 5]]);
    expect(writer.written).toEqual([2, 4, 5]);
  });

  it('the scan also runs for chunk size 1 (reference #5128)', async () => {
    const writer = new RecordingWriter((items) => (items.includes(2) ? new SkippableError('refused') : undefined));
    const { execution, stepExecution: s } = await runStep(
      step('numbers').chunk<number, number>(1).reader(new NumberReader(3)).writer(writer).faultTolerant().skip(SkippableError).build(),
    );
    expect(execution.status).toBe('COMPLETED');
    expect(s.exitStatus.exitCode).toBe('COMPLETED WITH SKIPS');
    expect(countsOf(s)).toEqual(expectedCounts({ readCount: 3, writeCount: 2, commitCount: 2, rollbackCount: 2, writeSkipCount: 1 }));
    expect(writer.calls).toEqual([[1], [2], [2], [3]]);
    expect(writer.written).toEqual([1, 3]);
  });

  it('a non-skippable write failure fails the step without a scan: the writer is called once for that chunk, rollback 1', async () => {
    const writer = new RecordingWriter((items) => (items.includes(5) ? new FatalError('constraint violated by 5') : undefined));
    const { execution, stepExecution: s } = await runStep(
      step('numbers').chunk<number, number>(3).reader(new NumberReader(7)).writer(writer).faultTolerant().skip(SkippableError).build(),
    );
    expect(execution.status).toBe('FAILED');
    expect(s.exitStatus.exitCode).toBe('FAILED');
    expect(s.exitStatus.exitDescription).toContain('constraint violated by 5');
    expect(countsOf(s)).toEqual(expectedCounts({ readCount: 6, writeCount: 3, commitCount: 1, rollbackCount: 1 }));
    expect(writer.calls).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(writer.written).toEqual([1, 2, 3]);
  });

  it('a non-skippable failure of one item during the scan fails the step with NonSkippableWriteError', async () => {
    const writer = new RecordingWriter((items) => {
      if (items.length > 1 && items.includes(2)) return new SkippableError('chunk refused');
      return items[0] === 2 ? new FatalError('item 2 breaks the store') : undefined;
    });
    const { execution, stepExecution: s } = await runStep(
      step('numbers').chunk<number, number>(3).reader(new NumberReader(6)).writer(writer).faultTolerant().skip(SkippableError).build(),
    );
    expect(execution.status).toBe('FAILED');
    expect(s.exitStatus.exitCode).toBe('FAILED');
    expect(s.exitStatus.exitDescription).toContain('NonSkippableWriteError');
    expect(s.exitStatus.exitDescription).toContain('item 2 breaks the store');
    // The chunk's write, then the scan transaction of item 2; item 1 was written by the scan.
    expect(countsOf(s)).toEqual(expectedCounts({ readCount: 3, writeCount: 1, rollbackCount: 2 }));
    expect(writer.calls).toEqual([[1, 2, 3], [1], [2]]);
  });

  /**
   * D3. Reference §3.3 (scan row) and §3.5: during the scan a failing item whose error the policy
   * skips gets onSkipInWrite only; onWriteError is called for the whole-chunk failure and, in the
   * scan, only for an item that is NOT skippable (Spring's scan(): `shouldSkip → onSkipInWrite`,
   * `else → onWriteError; throw NonSkippableWriteException`). tsbatch calls onWriteError for every
   * failed single-item write of the scan as well, skipped ones included.
   * Input: items 1..3, chunk 3, item 2 refused (skippable). Expected onWriteError calls: [[1,2,3]].
   * tsbatch: [[1,2,3],[2]].
   */
  it('D3: onWriteError is not called for an item the scan skips', async () => {
    const writeErrors: number[][] = [];
    const writer = new RecordingWriter((items) => (items.includes(2) ? new SkippableError('item 2 refused') : undefined));
    const { stepExecution: s } = await runStep(
      step('numbers')
        .chunk<number, number>(3)
        .reader(new NumberReader(3))
        .writer(writer)
        .faultTolerant()
        .skip(SkippableError)
        .listener({ onWriteError: (_error, chunk) => void writeErrors.push([...chunk.items]) })
        .build(),
    );
    expect(countsOf(s)).toEqual(expectedCounts({ readCount: 3, writeCount: 2, commitCount: 1, rollbackCount: 2, writeSkipCount: 1 }));
    expect(writeErrors).toEqual([[1, 2, 3]]);
  });
});

// ---- the skip limit -------------------------------------------------------------------------------

describe('skip limit (§3.3): the (limit + 1)-th skip fails the step with SkipLimitExceededError', () => {
  const failingProcessStep = (bad: readonly number[], total: number, chunkSize: number, limit?: number): { theStep: Step; writer: RecordingWriter } => {
    const writer = new RecordingWriter();
    let builder = step('numbers')
      .chunk<number, number>(chunkSize)
      .reader(new NumberReader(total))
      .processor((item: number) => {
        if (bad.includes(item)) throw new SkippableError(`item ${item} is bad`);
        return item;
      })
      .writer(writer)
      .faultTolerant()
      .skip(SkippableError);
    if (limit !== undefined) builder = builder.skipLimit(limit);
    return { theStep: builder.build(), writer };
  };

  it('skipLimit(2): two skips complete', async () => {
    const { theStep, writer } = failingProcessStep([2, 5], 9, 3, 2);
    const { execution, stepExecution: s } = await runStep(theStep);
    expect(execution.status).toBe('COMPLETED');
    expect(s.exitStatus.exitCode).toBe('COMPLETED WITH SKIPS');
    expect(countsOf(s)).toEqual(expectedCounts({ readCount: 9, writeCount: 7, commitCount: 3, processSkipCount: 2 }));
    expect(writer.written).toEqual([1, 3, 4, 6, 7, 8, 9]);
  });

  it('skipLimit(2): the third skip fails the step; the chunk it happened in rolls back', async () => {
    const { theStep, writer } = failingProcessStep([2, 5, 8], 9, 3, 2);
    const { execution, stepExecution: s } = await runStep(theStep);
    expect(execution.status).toBe('FAILED');
    expect(s.exitStatus.exitCode).toBe('FAILED');
    expect(s.exitStatus.exitDescription).toContain('SkipLimitExceededError');
    expect(s.exitStatus.exitDescription).toContain('item 8 is bad');
    expect(countsOf(s)).toEqual(expectedCounts({ readCount: 9, writeCount: 4, commitCount: 2, rollbackCount: 1, processSkipCount: 2 }));
    expect(writer.written).toEqual([1, 3, 4, 6]);
  });

  it('the limit counts skips of every phase together (read + process + write)', async () => {
    const writer = new RecordingWriter((items) => (items.includes(6) ? new SkippableError('6 refused') : undefined));
    const { execution, stepExecution: s } = await runStep(
      step('numbers')
        .chunk<number, number>(3)
        .reader(new NumberReader(9, (item) => (item === 2 ? new SkippableError('record 2 unreadable') : undefined)))
        .processor((item: number) => {
          if (item === 4) throw new SkippableError('item 4 is bad');
          return item;
        })
        .writer(writer)
        .faultTolerant()
        .skip(SkippableError)
        .skipLimit(2)
        .build(),
    );
    // [1,X,3] read skip 1 · [4,5,6] process skip 2, then writing [5,6] fails → scan: 5 written, 6 is skip 3 → over the limit.
    expect(execution.status).toBe('FAILED');
    expect(s.exitStatus.exitDescription).toContain('SkipLimitExceededError');
    expect(countsOf(s)).toEqual(
      expectedCounts({ readCount: 5, writeCount: 3, commitCount: 1, rollbackCount: 2, readSkipCount: 1, processSkipCount: 1 }),
    );
    expect(writer.calls).toEqual([[1, 3], [5, 6], [5], [6]]);
  });

  it('default limit 10: ten skips complete, the eleventh fails the step', async () => {
    const ten = failingProcessStep(range(1, 10), 20, 5);
    const first = await runStep(ten.theStep);
    expect(first.execution.status).toBe('COMPLETED');
    expect(first.stepExecution.exitStatus.exitCode).toBe('COMPLETED WITH SKIPS');
    // Chunks whose every item was skipped still commit (they hold items; nothing is left to write).
    expect(countsOf(first.stepExecution)).toEqual(expectedCounts({ readCount: 20, writeCount: 10, commitCount: 4, processSkipCount: 10 }));
    expect(ten.writer.written).toEqual(range(11, 20));

    const eleven = failingProcessStep(range(1, 11), 20, 5);
    const second = await runStep(eleven.theStep);
    expect(second.execution.status).toBe('FAILED');
    expect(second.stepExecution.exitStatus.exitCode).toBe('FAILED');
    expect(second.stepExecution.exitStatus.exitDescription).toContain('SkipLimitExceededError');
    expect(countsOf(second.stepExecution)).toEqual(expectedCounts({ readCount: 15, commitCount: 2, rollbackCount: 1, processSkipCount: 10 }));
    expect(eleven.writer.calls).toEqual([]);
  });
});

// ---- which errors are skippable -------------------------------------------------------------------

describe('skippable classes (§3.3 LimitCheckingExceptionHierarchySkipPolicy)', () => {
  it('an error whose cause is of a skippable class is skipped', async () => {
    const writer = new RecordingWriter();
    const { execution, stepExecution: s } = await runStep(
      step('numbers')
        .chunk<number, number>(2)
        .reader(new NumberReader(4))
        .processor((item: number) => {
          if (item === 3) throw new Error('lookup failed', { cause: new Error('driver error', { cause: new SkippableError('row locked') }) });
          return item;
        })
        .writer(writer)
        .faultTolerant()
        .skip(SkippableError)
        .build(),
    );
    expect(execution.status).toBe('COMPLETED');
    expect(s.exitStatus.exitCode).toBe('COMPLETED WITH SKIPS');
    expect(countsOf(s)).toEqual(expectedCounts({ readCount: 4, writeCount: 3, commitCount: 2, processSkipCount: 1 }));
    expect(writer.written).toEqual([1, 2, 4]);
  });

  class ValidationError extends Error {}
  class MissingFieldError extends ValidationError {}
  class FatalValidationError extends ValidationError {}

  it('noSkip of a subclass beats skip of its superclass; other subclasses stay skippable', async () => {
    const writer = new RecordingWriter();
    const { execution, stepExecution: s } = await runStep(
      step('numbers')
        .chunk<number, number>(2)
        .reader(new NumberReader(6))
        .processor((item: number) => {
          if (item === 2) throw new MissingFieldError('item 2 misses a field');
          if (item === 5) throw new FatalValidationError('item 5 is fatally invalid');
          return item;
        })
        .writer(writer)
        .faultTolerant()
        .skip(ValidationError)
        .noSkip(FatalValidationError)
        .build(),
    );
    expect(execution.status).toBe('FAILED');
    expect(s.exitStatus.exitCode).toBe('FAILED');
    expect(s.exitStatus.exitDescription).toContain('item 5 is fatally invalid');
    expect(s.exitStatus.exitDescription).toContain('NonSkippableProcessError');
    expect(countsOf(s)).toEqual(expectedCounts({ readCount: 6, writeCount: 3, commitCount: 2, rollbackCount: 1, processSkipCount: 1 }));
    expect(writer.written).toEqual([1, 3, 4]);
  });

  it('skipPolicy((error, skipCount) => …) decides alone; it sees the step skip count', async () => {
    const seen: number[] = [];
    const writer = new RecordingWriter();
    const { execution, stepExecution: s } = await runStep(
      step('numbers')
        .chunk<number, number>(2)
        .reader(new NumberReader(8))
        .processor((item: number) => {
          if (item === 2 || item === 3 || item === 6) throw new Error(`tolerable glitch on ${item}`);
          return item;
        })
        .writer(writer)
        .faultTolerant()
        .skipPolicy((error, skipCount) => {
          if (skipCount >= 0) seen.push(skipCount);
          return error instanceof Error && error.message.startsWith('tolerable') && skipCount < 2;
        })
        .build(),
    );
    // 2 and 3 are skipped (counts 0 and 1); at 6 the policy says no (count 2) → the step fails.
    expect(execution.status).toBe('FAILED');
    expect(s.exitStatus.exitCode).toBe('FAILED');
    expect(s.exitStatus.exitDescription).toContain('NonSkippableProcessError');
    expect(s.exitStatus.exitDescription).toContain('tolerable glitch on 6');
    expect(seen).toEqual([0, 1, 2]);
    expect(countsOf(s)).toEqual(expectedCounts({ readCount: 6, writeCount: 2, commitCount: 2, rollbackCount: 1, processSkipCount: 2 }));
    expect(writer.written).toEqual([1, 4]);
  });

  it('skip(), skipLimit(), retry() or retryLimit() without faultTolerant() is an InvalidConfigurationError at build()', () => {
    const base = () => step('numbers').chunk<number, number>(2).reader(new NumberReader(1)).writer(new RecordingWriter());
    expect(() => base().skip(SkippableError).build()).toThrow(InvalidConfigurationError);
    expect(() => base().skipLimit(3).build()).toThrow(InvalidConfigurationError);
    expect(() => base().retry(TransientError).build()).toThrow(InvalidConfigurationError);
    expect(() => base().retryLimit(2).build()).toThrow(InvalidConfigurationError);
    expect(() => base().skip(SkippableError).build()).toThrow(/faultTolerant/);
    try {
      base().skip(SkippableError).build();
    } catch (error) {
      expect(error).toMatchObject({ code: 'INVALID_CONFIGURATION' });
    }
    expect(() => base().faultTolerant().skip(SkippableError).build()).not.toThrow();
  });
});

// ---- retry ------------------------------------------------------------------------------------------

describe('retry (§3.3): retried in place, before the skip policy is asked', () => {
  it('retryLimit(2): a processor that fails twice then succeeds → COMPLETED, no skip, 3 calls for that item', async () => {
    const processCalls = new Map<number, number>();
    const writer = new RecordingWriter();
    const { execution, stepExecution: s } = await runStep(
      step('numbers')
        .chunk<number, number>(2)
        .reader(new NumberReader(4))
        .processor(
          countingProcessor(processCalls, (item, call) => {
            if (item === 3 && call <= 2) throw new TransientError(`item 3, attempt ${call}`);
            return item;
          }),
        )
        .writer(writer)
        .faultTolerant()
        .retryLimit(2)
        .build(),
    );
    expect(execution.status).toBe('COMPLETED');
    expect(s.exitStatus.exitCode).toBe('COMPLETED');
    expect(countsOf(s)).toEqual(expectedCounts({ readCount: 4, writeCount: 4, commitCount: 2 }));
    expect(processCalls.get(3)).toBe(3);
    expect([1, 2, 4].map((item) => processCalls.get(item))).toEqual([1, 1, 1]);
    expect(writer.written).toEqual([1, 2, 3, 4]);
  });

  it('a reader that fails once transiently is retried in place: no skip, nothing lost', async () => {
    const reader = new NumberReader(5, (item, attempt) => (item === 3 && attempt === 1 ? new TransientError('connection reset') : undefined), false);
    const writer = new RecordingWriter();
    const { execution, stepExecution: s } = await runStep(
      step('numbers').chunk<number, number>(2).reader(reader).writer(writer).faultTolerant().skip(SkippableError).retryLimit(1).build(),
    );
    expect(execution.status).toBe('COMPLETED');
    expect(s.exitStatus.exitCode).toBe('COMPLETED');
    expect(countsOf(s)).toEqual(expectedCounts({ readCount: 5, writeCount: 5, commitCount: 3 }));
    expect(writer.calls).toEqual([[1, 2], [3, 4], [5]]);
    expect(reader.calls).toBe(7); // 5 items + 1 retry + the end
  });

  it('a writer that fails once is retried with the same items; no rollback, no scan', async () => {
    const writer = new RecordingWriter((_items, call) => (call === 2 ? new TransientError('deadlock, try again') : undefined));
    const { execution, stepExecution: s } = await runStep(
      step('numbers').chunk<number, number>(3).reader(new NumberReader(5)).writer(writer).faultTolerant().retryLimit(1).build(),
    );
    expect(execution.status).toBe('COMPLETED');
    expect(s.exitStatus.exitCode).toBe('COMPLETED');
    expect(countsOf(s)).toEqual(expectedCounts({ readCount: 5, writeCount: 5, commitCount: 2 }));
    expect(writer.calls).toEqual([
      [1, 2, 3],
      [4, 5],
      [4, 5],
    ]);
    expect(writer.written).toEqual([1, 2, 3, 4, 5]);
  });

  it('retries exhausted, then a skippable error is skipped', async () => {
    const processCalls = new Map<number, number>();
    const skipped: number[] = [];
    const writer = new RecordingWriter();
    const { execution, stepExecution: s } = await runStep(
      step('numbers')
        .chunk<number, number>(2)
        .reader(new NumberReader(4))
        .processor(
          countingProcessor(processCalls, (item) => {
            if (item === 2) throw new SkippableError('item 2 never works');
            return item;
          }),
        )
        .writer(writer)
        .faultTolerant()
        .skip(SkippableError)
        .retryLimit(2)
        .listener({ onSkipInProcess: (item) => void skipped.push(item) })
        .build(),
    );
    expect(execution.status).toBe('COMPLETED');
    expect(s.exitStatus.exitCode).toBe('COMPLETED WITH SKIPS');
    expect(countsOf(s)).toEqual(expectedCounts({ readCount: 4, writeCount: 3, commitCount: 2, processSkipCount: 1 }));
    expect(processCalls.get(2)).toBe(3);
    expect(skipped).toEqual([2]);
    expect(writer.written).toEqual([1, 3, 4]);
  });

  it('retry(A) retries only A: an error of another class fails at once', async () => {
    const processCalls = new Map<number, number>();
    const writer = new RecordingWriter();
    const { execution, stepExecution: s } = await runStep(
      step('numbers')
        .chunk<number, number>(2)
        .reader(new NumberReader(6))
        .processor(
          countingProcessor(processCalls, (item, call) => {
            if (item === 2 && call === 1) throw new TransientError('A: try again');
            if (item === 4) throw new OtherTransientError('B: not retryable');
            return item;
          }),
        )
        .writer(writer)
        .faultTolerant()
        .retry(TransientError)
        .retryLimit(3)
        .build(),
    );
    expect(execution.status).toBe('FAILED');
    expect(s.exitStatus.exitCode).toBe('FAILED');
    expect(s.exitStatus.exitDescription).toContain('B: not retryable');
    expect(processCalls.get(2)).toBe(2);
    expect(processCalls.get(4)).toBe(1);
    expect(countsOf(s)).toEqual(expectedCounts({ readCount: 4, writeCount: 2, commitCount: 1, rollbackCount: 1 }));
    expect(writer.written).toEqual([1, 2]);
  });

  it('retryLimit alone retries any Error', async () => {
    const processCalls = new Map<number, number>();
    const writer = new RecordingWriter();
    const { execution, stepExecution: s } = await runStep(
      step('numbers')
        .chunk<number, number>(2)
        .reader(new NumberReader(3))
        .processor(
          countingProcessor(processCalls, (item, call) => {
            if (call === 1) throw (item === 1 ? new Error('plain error') : new TypeError('a TypeError'));
            return item;
          }),
        )
        .writer(writer)
        .faultTolerant()
        .retryLimit(1)
        .build(),
    );
    expect(execution.status).toBe('COMPLETED');
    expect(s.exitStatus.exitCode).toBe('COMPLETED');
    expect(countsOf(s)).toEqual(expectedCounts({ readCount: 3, writeCount: 3, commitCount: 2 }));
    expect([...processCalls.values()]).toEqual([2, 2, 2]);
    expect(writer.written).toEqual([1, 2, 3]);
  });

  it('backOff({ type: "fixed", delayMs }) waits before each retry', async () => {
    const delayMs = 40;
    const attemptsAt: number[] = [];
    const { execution, stepExecution: s } = await runStep(
      step('numbers')
        .chunk<number, number>(2)
        .reader(new NumberReader(2))
        .processor((item: number) => {
          if (item !== 2) return item;
          attemptsAt.push(performance.now());
          if (attemptsAt.length <= 2) throw new TransientError('busy');
          return item;
        })
        .writer(new RecordingWriter())
        .faultTolerant()
        .retryLimit(2)
        .backOff({ type: 'fixed', delayMs })
        .build(),
    );
    expect(execution.status).toBe('COMPLETED');
    expect(countsOf(s)).toEqual(expectedCounts({ readCount: 2, writeCount: 2, commitCount: 1 }));
    expect(attemptsAt).toHaveLength(3);
    const elapsed = attemptsAt[2]! - attemptsAt[0]!;
    // Two retries, each after delayMs (timers may fire a little early; allow 10 %).
    expect(elapsed).toBeGreaterThanOrEqual(2 * delayMs * 0.9);
  });
});

// ---- exit codes -------------------------------------------------------------------------------------

describe('exit codes of a fault-tolerant step', () => {
  it('COMPLETED when nothing was skipped, COMPLETED WITH SKIPS as soon as anything was', async () => {
    const clean = await runStep(step('clean').chunk<number, number>(2).reader(new NumberReader(3)).writer(new RecordingWriter()).faultTolerant().skip(SkippableError).build());
    expect(clean.execution.status).toBe('COMPLETED');
    expect(clean.stepExecution.exitStatus.exitCode).toBe('COMPLETED');
    expect(clean.execution.exitStatus.exitCode).toBe('COMPLETED');
    expect(countsOf(clean.stepExecution)).toEqual(expectedCounts({ readCount: 3, writeCount: 3, commitCount: 2 }));

    const writer = new RecordingWriter((items) => (items.includes(3) ? new SkippableError('3 refused') : undefined));
    const skipped = await runStep(step('skipped').chunk<number, number>(2).reader(new NumberReader(3)).writer(writer).faultTolerant().skip(SkippableError).build());
    expect(skipped.execution.status).toBe('COMPLETED');
    expect(skipped.stepExecution.exitStatus.exitCode).toBe('COMPLETED WITH SKIPS');
    expect(skipped.execution.exitStatus.exitCode).toBe('COMPLETED WITH SKIPS');
    expect(countsOf(skipped.stepExecution)).toEqual(expectedCounts({ readCount: 3, writeCount: 2, commitCount: 1, rollbackCount: 2, writeSkipCount: 1 }));
    expect(writer.written).toEqual([1, 2]);
  });

  it("an afterStep listener returning ExitStatus.of('CUSTOM') wins over COMPLETED WITH SKIPS", async () => {
    const { execution, stepExecution: s, runtime } = await runStep(
      step('custom')
        .chunk<number, number>(2)
        .reader(new NumberReader(3, (item) => (item === 2 ? new SkippableError('record 2 unreadable') : undefined)))
        .writer(new RecordingWriter())
        .faultTolerant()
        .skip(SkippableError)
        .listener({ afterStep: () => ExitStatus.of('CUSTOM') })
        .build(),
    );
    expect(execution.status).toBe('COMPLETED');
    expect(s.status).toBe('COMPLETED');
    expect(s.exitStatus.exitCode).toBe('CUSTOM');
    expect(execution.exitStatus.exitCode).toBe('CUSTOM');
    // [1, X] and [3]: the skipped read took a slot of the first chunk.
    expect(countsOf(s)).toEqual(expectedCounts({ readCount: 2, writeCount: 2, commitCount: 2, readSkipCount: 1 }));
    const stored = await runtime.explorer.getJobExecution(execution.id);
    expect(stored?.stepExecutions[0]?.exitStatus.exitCode).toBe('CUSTOM');
  });
});

// ---- restart after a failed fault-tolerant step ----------------------------------------------------

const POSITION_KEY = 'records.position';

/** Reads records 1..total and restarts at its committed position; a bad record is consumed and throws while `broken()`. */
class RecordReader implements ItemReader<number>, ItemStream {
  private position = 0;
  firstRead: number | undefined;

  constructor(
    private readonly total: number,
    private readonly bad: (record: number) => boolean,
  ) {}

  open(context: ExecutionContext): void {
    this.position = context.get<number>(POSITION_KEY) ?? 0;
  }

  read(): number | null {
    if (this.position >= this.total) return null;
    const record = ++this.position;
    this.firstRead ??= record;
    if (this.bad(record)) throw new SkippableError(`record ${record} is malformed`);
    return record;
  }

  update(context: ExecutionContext): void {
    context.put(POSITION_KEY, this.position);
  }
}

describe('restart after a fault-tolerant step failed on its skip limit', () => {
  it('resumes at the failed chunk: once the input is fixed, the output holds every item exactly once', async () => {
    const runtime = await openRuntime();
    let broken = true;
    const readers: RecordReader[] = [];
    const writer = listWriter<number>();
    const importStep = step('import')
      .chunk<number, number>(3)
      .reader(() => {
        const reader = new RecordReader(9, (record) => broken && (record === 5 || record === 6));
        readers.push(reader);
        return reader;
      })
      .writer(writer)
      .faultTolerant()
      .skip(SkippableError)
      .skipLimit(1)
      .build();
    const importJob = job('importJob').start(importStep).build();
    runtime.registry.register(importJob);

    // [1,2,3] commits; in [4,5,6] record 5 is skip 1 and record 6 exceeds the limit.
    const first = await runtime.launcher.run(importJob, JobParameters.of({ file: 'records.csv' }));
    expect(first.status).toBe('FAILED');
    const failed = first.stepExecutions[0]!;
    expect(failed.exitStatus.exitCode).toBe('FAILED');
    expect(failed.exitStatus.exitDescription).toContain('SkipLimitExceededError');
    expect(countsOf(failed)).toEqual(expectedCounts({ readCount: 4, writeCount: 3, commitCount: 1, rollbackCount: 1, readSkipCount: 1 }));
    expect(writer.written).toEqual([1, 2, 3]);
    const stored = await runtime.explorer.getJobExecution(first.id);
    expect(stored?.stepExecutions[0]?.executionContext.get(POSITION_KEY)).toBe(3);

    broken = false;
    const second = await runtime.operator.waitFor(await runtime.operator.restart(first.id));
    expect(second.status).toBe('COMPLETED');
    expect(second.jobInstance.id).toBe(first.jobInstance.id);
    const resumed = second.stepExecutions[0]!;
    expect(resumed.exitStatus.exitCode).toBe('COMPLETED');
    expect(countsOf(resumed)).toEqual(expectedCounts({ readCount: 6, writeCount: 6, commitCount: 2 }));
    expect(readers[1]?.firstRead).toBe(4);
    expect(writer.written).toEqual(range(1, 9));
  });

  it('a limit exceeded during a write scan: the scanned items of the failed chunk are not kept, so the restart writes each item once', async () => {
    const runtime = await openRuntime();
    let broken = true;
    /** Stages each item into the chunk's own commit (a transactional writer). */
    const stagingWriter: ItemWriter<number> = {
      write(chunk, transaction) {
        for (const item of chunk.items) {
          if (broken && item === 5) throw new SkippableError('item 5 refused');
          transaction.put('out', String(item).padStart(4, '0'), item);
        }
      },
    };
    const exportStep = step('export')
      .chunk<number, number>(3)
      .reader(() => new RecordReader(6, () => false))
      .writer(stagingWriter)
      .faultTolerant()
      .skip(SkippableError)
      .skipLimit(0)
      .build();
    const exportJob = job('exportJob').start(exportStep).build();
    runtime.registry.register(exportJob);
    const staged = async () => (await runtime.explorer.getStagedValues('out')).map(({ value }) => value as number);

    // [4,5,6] fails as a whole → scan: 4 is written, 5 would be skip 1 > limit 0 → FAILED.
    const first = await runtime.launcher.run(exportJob, JobParameters.of({ run: 1 }));
    expect(first.status).toBe('FAILED');
    const failed = first.stepExecutions[0]!;
    expect(failed.exitStatus.exitDescription).toContain('SkipLimitExceededError');
    expect(countsOf(failed)).toEqual(expectedCounts({ readCount: 6, writeCount: 4, commitCount: 1, rollbackCount: 2 }));
    expect(await staged()).toEqual([1, 2, 3]);

    broken = false;
    const second = await runtime.operator.waitFor(await runtime.operator.restart(first.id));
    expect(second.status).toBe('COMPLETED');
    expect(countsOf(second.stepExecutions[0]!)).toEqual(expectedCounts({ readCount: 3, writeCount: 3, commitCount: 1 }));
    expect(await staged()).toEqual(range(1, 6));
  });
});
