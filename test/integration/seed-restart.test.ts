/**
 * The seed scenario of tsbatch and its close relatives: a chunk step fails half-way, the job is
 * FAILED with Spring Batch's counts, and a restart resumes at the last commit so that every item is
 * written exactly once. Also: filtering, listener order, custom exit codes and tasklet commits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BatchRuntime,
  ExitStatus,
  JobParameters,
  RepeatStatus,
  job,
  step,
  type ExecutionContext,
  type ItemReader,
  type ItemStream,
  type ItemWriter,
  type JobExecution,
  type StepExecution,
} from '../../src/index.js';

// ---- helpers --------------------------------------------------------------------------------

const POSITION_KEY = 'numbers.position';

interface ReaderHooks {
  /** Throw instead of returning this item (1-based), while it returns true. */
  readonly failOn?: (item: number) => boolean;
  readonly onRead?: (item: number) => void;
  readonly onOpen?: () => void;
  readonly onClose?: () => void;
}

/**
 * Reads 1..total and restarts at its committed position (the number of items read so far).
 * A failing read does not advance the position.
 */
class NumberReader implements ItemReader<number>, ItemStream {
  private position = 0;

  constructor(
    private readonly total: number,
    private readonly hooks: ReaderHooks = {},
  ) {}

  open(context: ExecutionContext): void {
    this.position = context.get<number>(POSITION_KEY) ?? 0;
    this.hooks.onOpen?.();
  }

  read(): number | null {
    if (this.position >= this.total) return null;
    const item = this.position + 1;
    if (this.hooks.failOn?.(item)) throw new Error(`cannot read item ${item}`);
    this.position = item;
    this.hooks.onRead?.(item);
    return item;
  }

  update(context: ExecutionContext): void {
    context.put(POSITION_KEY, this.position);
  }

  close(): void {
    this.hooks.onClose?.();
  }
}

const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
const pad = (n: number): string => String(n).padStart(8, '0');

/**
 * A transactional writer: it stages each item into the chunk's own commit, keyed by the chunk's
 * stable sequence number and the item's place in the chunk, so the store holds what was committed
 * (in commit order) and nothing of a chunk that rolled back. `failWhen` is checked after staging,
 * so a failing chunk has staged items that must vanish with its rollback.
 */
function stagingWriter(failWhen: (items: readonly number[]) => boolean, memory: number[]): ItemWriter<number> {
  return {
    write(chunk, transaction) {
      const sequence = Number(transaction.chunkKey.split('/').pop());
      chunk.items.forEach((item, index) => transaction.put('out', `${pad(sequence)}/${pad(index)}`, item));
      if (failWhen(chunk.items)) throw new Error(`cannot write chunk ${chunk.items.join(',')}`);
      memory.push(...chunk.items);
    },
  };
}

async function stagedOutput(runtime: BatchRuntime): Promise<number[]> {
  return (await runtime.explorer.getStagedValues('out')).map(({ value }) => value as number);
}

function onlyStep(execution: JobExecution): StepExecution {
  expect(execution.stepExecutions).toHaveLength(1);
  return execution.stepExecutions[0]!;
}

function counts(s: StepExecution) {
  return {
    readCount: s.readCount,
    writeCount: s.writeCount,
    filterCount: s.filterCount,
    commitCount: s.commitCount,
    rollbackCount: s.rollbackCount,
  };
}

const runtimes: BatchRuntime[] = [];
const directories: string[] = [];

async function openRuntime(kind: 'memory' | 'lmdb'): Promise<BatchRuntime> {
  let runtime: BatchRuntime;
  if (kind === 'memory') runtime = await BatchRuntime.open({ inMemory: true, logger: false });
  else {
    const directory = mkdtempSync(join(tmpdir(), 'tsbatch-seed-'));
    directories.push(directory);
    runtime = await BatchRuntime.open({ path: directory, logger: false });
  }
  runtimes.push(runtime);
  return runtime;
}

afterEach(async () => {
  for (const runtime of runtimes.splice(0)) await runtime.close();
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

// ---- the seed scenario ----------------------------------------------------------------------

describe('seed scenario: 50 records, chunk 2, failure on the 10th item, then restart', () => {
  for (const store of ['lmdb', 'memory'] as const) {
    for (const phase of ['processor', 'writer'] as const) {
      it(`${phase} fails on item 10 (${store}): FAILED with Spring Batch counts; the restart resumes at item 9`, async () => {
        const runtime = await openRuntime(store);
        let failing = true;
        const firstReadOfRun: number[] = [];
        const written: number[] = [];
        const jobContextSeen: Array<number | undefined> = [];
        let runIndex = -1;

        const load = step('load')
          .chunk<number, number>(2)
          .reader(() => {
            runIndex += 1;
            const run = runIndex;
            return new NumberReader(50, { onRead: (item) => void (firstReadOfRun[run] ??= item) });
          })
          .processor((item) => {
            if (phase === 'processor' && failing && item === 10) throw new Error('cannot process item 10');
            return item;
          })
          .writer(() => stagingWriter((items) => phase === 'writer' && failing && items.includes(10), written))
          .build();
        const seedJob = job('seedJob')
          .start(load)
          .listener({
            beforeJob(execution) {
              // Run 1 puts 1; the restart must find it and puts 2.
              const attempts = execution.executionContext.get<number>('attempts');
              jobContextSeen.push(attempts);
              execution.executionContext.put('attempts', (attempts ?? 0) + 1);
            },
          })
          .build();
        runtime.registry.register(seedJob);

        const first = await runtime.launcher.run(seedJob, JobParameters.of({ 'run.date': '2024-01-01' }));
        expect(first.status).toBe('FAILED');
        expect(first.exitStatus.exitCode).toBe('FAILED');
        const failedStep = onlyStep(first);
        expect(failedStep.status).toBe('FAILED');
        expect(counts(failedStep)).toEqual({ readCount: 10, writeCount: 8, filterCount: 0, commitCount: 4, rollbackCount: 1 });
        expect(failedStep.exitStatus.exitDescription).toContain(phase === 'processor' ? 'cannot process item 10' : 'cannot write chunk 9,10');
        expect(firstReadOfRun[0]).toBe(1);
        expect(written).toEqual(range(1, 8));
        expect(await stagedOutput(runtime)).toEqual(range(1, 8));

        // What the store remembers: the same counts and the reader position of the 4th commit.
        const stored = await runtime.explorer.getJobExecution(first.id);
        expect(stored?.status).toBe('FAILED');
        const storedStep = onlyStep(stored!);
        expect(counts(storedStep)).toEqual({ readCount: 10, writeCount: 8, filterCount: 0, commitCount: 4, rollbackCount: 1 });
        expect(storedStep.executionContext.get(POSITION_KEY)).toBe(8);
        expect(stored?.executionContext.get('attempts')).toBe(1);

        failing = false;
        const restartedId = await runtime.operator.restart(first.id);
        expect(restartedId).not.toBe(first.id);
        const second = await runtime.operator.waitFor(restartedId);
        expect(second.status).toBe('COMPLETED');
        expect(second.exitStatus.exitCode).toBe('COMPLETED');
        expect(second.jobInstance.id).toBe(first.jobInstance.id);
        expect(firstReadOfRun[1]).toBe(9);
        const resumedStep = onlyStep(second);
        expect(resumedStep.status).toBe('COMPLETED');
        expect(counts(resumedStep)).toEqual({ readCount: 42, writeCount: 42, filterCount: 0, commitCount: 21, rollbackCount: 0 });
        expect(resumedStep.executionContext.get(POSITION_KEY)).toBe(50);

        // Every item exactly once, in order: in the writer's memory and in the store.
        expect(written).toEqual(range(1, 50));
        expect(await stagedOutput(runtime)).toEqual(range(1, 50));

        // The job execution context carried over from run 1 to run 2.
        expect(jobContextSeen).toEqual([undefined, 1]);
        expect(second.executionContext.get('attempts')).toBe(2);

        // The instance is done: launching it again is refused.
        await expect(runtime.launcher.run(seedJob, JobParameters.of({ 'run.date': '2024-01-01' }))).rejects.toMatchObject({
          code: 'JOB_INSTANCE_ALREADY_COMPLETE',
        });
      });
    }
  }

  it('reader fails at item 10 (memory): readCount 9, rollback 1, and the restart resumes at item 9', async () => {
    const runtime = await openRuntime('memory');
    let failing = true;
    const firstReadOfRun: number[] = [];
    const written: number[] = [];
    let runIndex = -1;
    const load = step('load')
      .chunk<number, number>(2)
      .reader(() => {
        runIndex += 1;
        const run = runIndex;
        return new NumberReader(50, { failOn: (item) => failing && item === 10, onRead: (item) => void (firstReadOfRun[run] ??= item) });
      })
      .writer(() => stagingWriter(() => false, written))
      .build();
    const readerJob = job('readerFailureJob').start(load).build();
    runtime.registry.register(readerJob);

    const first = await runtime.launcher.run(readerJob, { run: 1 });
    expect(first.status).toBe('FAILED');
    expect(first.exitStatus.exitCode).toBe('FAILED');
    const failedStep = onlyStep(first);
    expect(counts(failedStep)).toEqual({ readCount: 9, writeCount: 8, filterCount: 0, commitCount: 4, rollbackCount: 1 });
    expect(failedStep.exitStatus.exitDescription).toContain('cannot read item 10');
    expect((await runtime.explorer.getJobExecution(first.id))?.stepExecutions[0]?.executionContext.get(POSITION_KEY)).toBe(8);

    failing = false;
    const second = await runtime.operator.waitFor(await runtime.operator.restart(first.id));
    expect(second.status).toBe('COMPLETED');
    expect(firstReadOfRun[1]).toBe(9);
    expect(counts(onlyStep(second))).toEqual({ readCount: 42, writeCount: 42, filterCount: 0, commitCount: 21, rollbackCount: 0 });
    expect(written).toEqual(range(1, 50));
    expect(await stagedOutput(runtime)).toEqual(range(1, 50));
  });
});

// ---- counts, listeners, exit codes, tasklets --------------------------------------------------

describe('chunk step behaviour a user sees', () => {
  it('a processor returning null filters the item: filterCount counts it, the writer never sees it', async () => {
    const runtime = await openRuntime('memory');
    const written: number[] = [];
    const filterJob = job('filterJob')
      .start(
        step('evens')
          .chunk<number, number>(3)
          .reader(() => new NumberReader(10))
          .processor((item) => (item % 2 === 1 ? null : item))
          .writer({ write: (chunk) => void written.push(...chunk.items) })
          .build(),
      )
      .build();
    const execution = await runtime.launcher.run(filterJob);
    expect(execution.status).toBe('COMPLETED');
    expect(counts(onlyStep(execution))).toEqual({ readCount: 10, writeCount: 5, filterCount: 5, commitCount: 4, rollbackCount: 0 });
    expect(written).toEqual([2, 4, 6, 8, 10]);
    const stored = await runtime.explorer.getJobExecution(execution.id);
    expect(stored?.stepExecutions[0]?.filterCount).toBe(5);
  });

  /**
   * With readAhead(0) a chunk is read only once the previous one has committed, so the order is
   * exact. With the default read-ahead of 1 the pipeline reads the next chunk while the current one
   * is processed, written and committed, so the next chunk's beforeRead/afterRead calls may
   * interleave with the current chunk's process, write and chunk callbacks; everything else, and
   * the order of the reads among themselves, stays the same.
   */
  async function listenerTrace(readAhead: number | undefined): Promise<{ execution: JobExecution; calls: string[] }> {
    const runtime = await openRuntime('memory');
    const calls: string[] = [];
    let builder = step('traced')
      .chunk<number, number>(2)
      .reader(() => new NumberReader(3, { onOpen: () => calls.push('open'), onClose: () => calls.push('close') }))
      .processor((item) => item * 10)
      .writer({ write: () => undefined })
      .listener({
        beforeStep: () => void calls.push('beforeStep'),
        afterStep: () => void calls.push('afterStep'),
        beforeRead: () => void calls.push('beforeRead'),
        afterRead: (item) => void calls.push(`afterRead:${item}`),
        beforeChunk: (chunk) => void calls.push(`beforeChunk:${chunk.items.join(',')}`),
        beforeProcess: (item) => void calls.push(`beforeProcess:${item}`),
        afterProcess: (item, result) => void calls.push(`afterProcess:${item}->${result}`),
        beforeWrite: (chunk) => void calls.push(`beforeWrite:${chunk.items.join(',')}`),
        afterWrite: (chunk) => void calls.push(`afterWrite:${chunk.items.join(',')}`),
        afterChunk: (chunk) => void calls.push(`afterChunk:${chunk.items.join(',')}`),
      });
    if (readAhead !== undefined) builder = builder.readAhead(readAhead);
    const tracedJob = job('tracedJob')
      .start(builder.build())
      .listener({ beforeJob: () => void calls.push('beforeJob'), afterJob: () => void calls.push('afterJob') })
      .build();
    const execution = await runtime.launcher.run(tracedJob);
    return { execution, calls };
  }

  const EXACT_ORDER = [
    'beforeJob',
    'beforeStep',
    'open',
    'beforeRead',
    'afterRead:1',
    'beforeRead',
    'afterRead:2',
    'beforeChunk:1,2',
    'beforeProcess:1',
    'afterProcess:1->10',
    'beforeProcess:2',
    'afterProcess:2->20',
    'beforeWrite:10,20',
    'afterWrite:10,20',
    'afterChunk:10,20',
    'beforeRead',
    'afterRead:3',
    'beforeRead', // returns null: the end of the data, no afterRead
    'beforeChunk:3',
    'beforeProcess:3',
    'afterProcess:3->30',
    'beforeWrite:30',
    'afterWrite:30',
    'afterChunk:30',
    'afterStep',
    'close',
    'afterJob',
  ];

  it('listeners are called in Spring Batch order for a successful run (readAhead 0: exact)', async () => {
    const { execution, calls } = await listenerTrace(0);
    expect(execution.status).toBe('COMPLETED');
    expect(calls).toEqual(EXACT_ORDER);
  });

  it('with the default read-ahead of 1 only the reads may move earlier; the rest keeps its order', async () => {
    const { execution, calls } = await listenerTrace(undefined);
    expect(execution.status).toBe('COMPLETED');
    const isRead = (call: string) => call === 'beforeRead' || call.startsWith('afterRead');
    expect(calls.filter((c) => !isRead(c))).toEqual(EXACT_ORDER.filter((c) => !isRead(c)));
    expect(calls.filter(isRead)).toEqual(EXACT_ORDER.filter(isRead));
    // A chunk's own reads still come before its beforeChunk.
    expect(calls.indexOf('afterRead:3')).toBeLessThan(calls.indexOf('beforeChunk:3'));
  });

  it("afterStep returning ExitStatus.of('CUSTOM') makes the step's and the job's exit code CUSTOM", async () => {
    const runtime = await openRuntime('memory');
    const customJob = job('customExitJob')
      .start(
        step('custom')
          .chunk<number, number>(5)
          .reader(() => new NumberReader(7))
          .writer({ write: () => undefined })
          .listener({ afterStep: () => ExitStatus.of('CUSTOM') })
          .build(),
      )
      .build();
    const execution = await runtime.launcher.run(customJob);
    expect(execution.status).toBe('COMPLETED');
    expect(onlyStep(execution).status).toBe('COMPLETED');
    expect(onlyStep(execution).exitStatus.exitCode).toBe('CUSTOM');
    expect(execution.exitStatus.exitCode).toBe('CUSTOM');
    const stored = await runtime.explorer.getJobExecution(execution.id);
    expect(stored?.exitStatus.exitCode).toBe('CUSTOM');
    expect(stored?.stepExecutions[0]?.exitStatus.exitCode).toBe('CUSTOM');
  });

  it('a tasklet returning CONTINUABLE three times, then FINISHED, commits four times', async () => {
    const runtime = await openRuntime('memory');
    let calls = 0;
    const taskletJob = job('taskletJob')
      .start(
        step('repeat')
          .tasklet((_, context) => {
            calls += 1;
            context.stepContext.put('calls', calls);
            return calls < 4 ? RepeatStatus.CONTINUABLE : RepeatStatus.FINISHED;
          })
          .build(),
      )
      .build();
    const execution = await runtime.launcher.run(taskletJob);
    expect(execution.status).toBe('COMPLETED');
    expect(calls).toBe(4);
    const s = onlyStep(execution);
    expect(s.commitCount).toBe(4);
    expect(s.rollbackCount).toBe(0);
    const stored = await runtime.explorer.getJobExecution(execution.id);
    expect(stored?.stepExecutions[0]?.commitCount).toBe(4);
    expect(stored?.stepExecutions[0]?.executionContext.get('calls')).toBe(4);
  });

  it('a value a tasklet puts into the job context on run 1 is there on the restart', async () => {
    const runtime = await openRuntime('lmdb');
    let failLoad = true;
    const seen: Array<string | undefined> = [];
    const prepare = step('prepare')
      .tasklet((_, context) => {
        context.jobContext.put('prepared.by', 'run-1');
        return RepeatStatus.FINISHED;
      })
      .build();
    const load = step('load')
      .tasklet((_, context) => {
        seen.push(context.jobContext.get<string>('prepared.by'));
        if (failLoad) throw new Error('load failed');
        return RepeatStatus.FINISHED;
      })
      .build();
    const contextJob = job('jobContextJob').start(prepare).next(load).build();
    runtime.registry.register(contextJob);

    const first = await runtime.launcher.run(contextJob, { day: 1 });
    expect(first.status).toBe('FAILED');
    expect(first.stepExecutions.map((s) => `${s.stepName}:${s.status}`)).toEqual(['prepare:COMPLETED', 'load:FAILED']);

    failLoad = false;
    const second = await runtime.operator.waitFor(await runtime.operator.restart(first.id));
    expect(second.status).toBe('COMPLETED');
    // 'prepare' completed on run 1, so it is not run again; its job-context value is still there.
    expect(second.stepExecutions.map((s) => s.stepName)).toEqual(['load']);
    expect(seen).toEqual(['run-1', 'run-1']);
    expect(second.executionContext.get('prepared.by')).toBe('run-1');
  });
});
