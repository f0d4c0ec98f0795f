import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  BatchRuntime,
  ItemValidationError,
  classifierWriter,
  compositeProcessor,
  compositeWriter,
  iterableReader,
  job,
  listWriter,
  step,
  validatingProcessor,
  type ExecutionContext,
  type ItemWriter,
  type ItemStream,
  type Step,
  type StepBuilder,
} from '../../../src/index.js';

/** Runs a one-step job whose chunk step `define` builds, and returns the ended execution. */
async function run(define: (builder: StepBuilder) => { build(): Step }) {
  const runtime = await BatchRuntime.open({ inMemory: true, logger: false });
  const execution = await runtime.launcher.run(job('j').start(define(step('s')).build()).build());
  await runtime.close();
  return execution;
}

/** A writer that records its stream calls, to check that composites delegate them. */
function recordingWriter<T>(name: string, log: string[]): ItemWriter<T> & ItemStream & { items: T[] } {
  const items: T[] = [];
  return {
    items,
    write: (chunk) => void items.push(...chunk.items),
    open: () => void log.push(`${name}.open`),
    update: (ctx: ExecutionContext) => {
      ctx.put(`${name}.count`, items.length);
    },
    close: () => void log.push(`${name}.close`),
  };
}

describe('composite processor', () => {
  it('chains processors and stops the chain at a filter', async () => {
    const out = listWriter<string>();
    const seen: number[] = [];
    const execution = await run((s) =>
      s
        .chunk<number, string>(4)
        .reader(iterableReader([1, 2, 3, 4, 5, 6]))
        .processor(
          compositeProcessor(
            (n: number) => (n % 3 === 0 ? null : n * 10),
            async (n: number) => {
              seen.push(n);
              return n + 1;
            },
            (n: number) => `#${n}`,
          ),
        )
        .writer(out),
    );
    expect(execution.status).toBe('COMPLETED');
    expect(out.written).toEqual(['#11', '#21', '#41', '#51']);
    expect(seen).toEqual([10, 20, 40, 50]);
    expect(execution.stepExecutions[0]!.filterCount).toBe(2);
  });
});

describe('composite writer', () => {
  it('writes every chunk to each writer and delegates open, update and close', async () => {
    const log: string[] = [];
    const a = recordingWriter<number>('a', log);
    const b = recordingWriter<number>('b', log);
    const execution = await run((s) => s.chunk<number>(2).reader(iterableReader([1, 2, 3])).writer(compositeWriter(a, b)));
    expect(a.items).toEqual([1, 2, 3]);
    expect(b.items).toEqual([1, 2, 3]);
    expect(log).toEqual(['a.open', 'b.open', 'a.close', 'b.close']);
    const context = execution.stepExecutions[0]!.executionContext;
    expect([context.get('a.count'), context.get('b.count')]).toEqual([3, 3]);
  });
});

describe('classifier writer', () => {
  it('routes items to writers by a function, keeping their order', async () => {
    const log: string[] = [];
    const even = recordingWriter<number>('even', log);
    const odd = recordingWriter<number>('odd', log);
    const execution = await run((s) =>
      s
        .chunk<number>(3)
        .reader(iterableReader([1, 2, 3, 4, 5, 6, 7]))
        .writer(classifierWriter({ classify: (n: number) => (n % 2 === 0 ? 'even' : 'odd'), writers: { even, odd } })),
    );
    expect(execution.status).toBe('COMPLETED');
    expect(even.items).toEqual([2, 4, 6]);
    expect(odd.items).toEqual([1, 3, 5, 7]);
    expect(log).toEqual(['even.open', 'odd.open', 'even.close', 'odd.close']);
  });

  it('fails the chunk for an item with no route, naming the route', async () => {
    const execution = await run((s) =>
      s
        .chunk<number>(3)
        .reader(iterableReader([1, 2]))
        .writer(classifierWriter<number, 'a'>({ classify: (n) => (n === 2 ? ('b' as 'a') : 'a'), writers: { a: listWriter<number>() } })),
    );
    expect(execution.status).toBe('FAILED');
    expect(execution.stepExecutions[0]!.exitStatus.exitDescription).toContain("No writer for route 'b'");
  });
});

describe('validating processor', () => {
  const Person = z.object({ name: z.string().min(1), age: z.coerce.number().int().nonnegative() });
  const input = [
    { name: 'ada', age: '36' },
    { name: '', age: '1' },
    { name: 'bob', age: '-3' },
    { name: 'cy', age: '7' },
  ];

  it('filters invalid items and passes on the parsed values', async () => {
    const out = listWriter<z.output<typeof Person>>();
    const execution = await run((s) => s.chunk<unknown, z.output<typeof Person>>(10).reader(iterableReader(input)).processor(validatingProcessor(Person, { mode: 'filter' })).writer(out));
    expect(out.written).toEqual([
      { name: 'ada', age: 36 },
      { name: 'cy', age: 7 },
    ]);
    expect(execution.stepExecutions[0]!.filterCount).toBe(2);
  });

  it('fails invalid items with ItemValidationError, which a fault-tolerant step can skip', async () => {
    const out = listWriter<z.output<typeof Person>>();
    const skipped: string[] = [];
    const execution = await run((s) =>
      s
        .chunk<unknown, z.output<typeof Person>>(10)
        .reader(iterableReader(input))
        .processor(validatingProcessor(Person))
        .writer(out)
        .faultTolerant()
        .skip(ItemValidationError)
        .listener({ onSkipInProcess: (_item, error) => void skipped.push((error as ItemValidationError).issues.join()) }),
    );
    const stepExecution = execution.stepExecutions[0]!;
    expect(stepExecution.exitStatus.exitCode).toBe('COMPLETED WITH SKIPS');
    expect(stepExecution.processSkipCount).toBe(2);
    expect(out.written.map((p) => p.name)).toEqual(['ada', 'cy']);
    expect(skipped).toHaveLength(2);
    expect(skipped[0]).toContain('name');
    expect(skipped[1]).toContain('age');
  });

  it('without fault tolerance an invalid item fails the step with the issues in the exit description', async () => {
    const execution = await run((s) => s.chunk<unknown>(10).reader(iterableReader(input)).processor(validatingProcessor(Person)).writer(listWriter()));
    expect(execution.status).toBe('FAILED');
    expect(execution.stepExecutions[0]!.exitStatus.exitDescription).toContain('ItemValidationError');
  });
});
