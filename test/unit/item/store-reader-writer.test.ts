import { describe, expect, it } from 'vitest';
import { BatchRuntime, JobParameters, iterableReader, job, listWriter, step, storeReader, storeWriter, type JsonValue } from '../../../src/index.js';

const pad = (n: number) => n.toString().padStart(6, '0');

describe('store writer and store reader', () => {
  it('stage items into the chunk commit, so a failed chunk leaves none of its items behind', async () => {
    const runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    let failAt: number | undefined = 23;
    const load = step('load')
      .chunk<number>(5)
      .reader(() => iterableReader(Array.from({ length: 40 }, (_, i) => i + 1)))
      .writer(() => ({
        write(chunk, transaction) {
          storeWriter<number>({ store: 'numbers', key: pad, value: (n) => ({ n }) }).write(chunk, transaction);
          if (failAt !== undefined && chunk.items.includes(failAt)) throw new Error(`writer refused ${failAt}`);
        },
      }))
      .build();
    const loadJob = job('load').start(load).build();
    runtime.registry.register(loadJob);

    const first = await runtime.launcher.run(loadJob, JobParameters.of({ run: 1 }));
    expect(first.status).toBe('FAILED');
    const afterFailure = await runtime.explorer.getStagedValues('numbers');
    expect(afterFailure.map((e) => e.key)).toEqual(Array.from({ length: 20 }, (_, i) => pad(i + 1)));

    failAt = undefined;
    const second = await runtime.operator.waitFor(await runtime.operator.restart(first.id));
    expect(second.status).toBe('COMPLETED');
    const all = await runtime.explorer.getStagedValues('numbers');
    expect(all.map((e) => e.value)).toEqual(Array.from({ length: 40 }, (_, i) => ({ n: i + 1 })));
    await runtime.close();
  });

  it('reads a store in key order, page by page, and resumes after the last committed key', async () => {
    const runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    const seed = step('seed')
      .chunk<number>(50)
      .reader(() => iterableReader(Array.from({ length: 95 }, (_, i) => i + 1)))
      .writer(storeWriter<number>({ store: 'source', key: pad }))
      .build();
    expect((await runtime.launcher.run(job('seed').start(seed).build())).status).toBe('COMPLETED');

    const copied = listWriter<number>();
    let failOn: number | undefined = 33;
    const copy = step('copy')
      .chunk<number>(10)
      .reader(() => storeReader<number>({ source: runtime.explorer, store: 'source', pageSize: 7, map: (e) => e.value as number }))
      .processor((n) => {
        if (n === failOn) throw new Error('boom');
        return n;
      })
      .writer(copied)
      .build();
    const copyJob = job('copy').start(copy).build();
    runtime.registry.register(copyJob);
    const failed = await runtime.launcher.run(copyJob);
    expect(failed.status).toBe('FAILED');
    expect(failed.stepExecutions[0]!.executionContext.get('storeReader.lastKey')).toBe(pad(30));

    failOn = undefined;
    const done = await runtime.operator.waitFor(await runtime.operator.restart(failed.id));
    expect(done.status).toBe('COMPLETED');
    expect(done.stepExecutions[0]!.readCount).toBe(65);
    expect(copied.written).toEqual(Array.from({ length: 95 }, (_, i) => i + 1));
    await runtime.close();
  });

  it('stops before endBefore', async () => {
    const entries = new Map<string, JsonValue>(Array.from({ length: 10 }, (_, i) => [pad(i), i]));
    const source = {
      async getStagedPage(_store: string, { after, limit }: { after?: string; limit: number }) {
        return [...entries].filter(([key]) => after === undefined || key > after).slice(0, limit).map(([key, value]) => ({ key, value }));
      },
    };
    const reader = storeReader({ source, store: 's', pageSize: 3, endBefore: pad(5) });
    const { ExecutionContext } = await import('../../../src/domain/execution-context.js');
    reader.open(new ExecutionContext());
    const keys: string[] = [];
    for (let entry = await reader.read(); entry; entry = await reader.read()) keys.push(entry.key);
    expect(keys).toEqual([0, 1, 2, 3, 4].map(pad));
  });
});
