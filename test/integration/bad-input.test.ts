import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchRuntime, ChunkTimeoutError, iterableReader, job, listWriter, step, storeWriter } from '../../src/index.js';

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});
function tempDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), 'tsbatch-bad-input-'));
  directories.push(directory);
  return directory;
}

describe('bad input and faults', () => {
  it('a corrupted or foreign file where the store should be is refused with STORE_UNAVAILABLE', async () => {
    const directory = tempDirectory();
    writeFileSync(join(directory, 'tsbatch.mdb'), 'this is not an LMDB environment, just some text '.repeat(200));
    await expect(BatchRuntime.open({ path: directory, logger: false })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });

  it('a store path that is a file is refused, naming the path', async () => {
    const file = join(tempDirectory(), 'store');
    writeFileSync(file, '');
    await expect(BatchRuntime.open({ path: file, logger: false })).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      message: expect.stringContaining(file),
    });
  });

  it('a processor that throws a non-Error value fails the step with a description of that value', async () => {
    const runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    const load = step('load')
      .chunk<number>(2)
      .reader(() => iterableReader([1, 2, 3]))
      .processor((n) => {
        if (n === 3) throw { reason: 'plain object', n };
        return n;
      })
      .writer(listWriter<number>())
      .build();
    const execution = await runtime.launcher.run(job('nonError').start(load).build());
    expect(execution.status).toBe('FAILED');
    expect(execution.stepExecutions[0]!.exitStatus.exitDescription).toContain('NonErrorThrownError');
    expect(execution.stepExecutions[0]!.exitStatus.exitDescription).toContain('{"reason":"plain object","n":3}');
    await runtime.close();
  });

  it('a reader that hangs fails the chunk after chunkTimeoutMs instead of hanging the runtime; a restart resumes', async () => {
    const runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    let hangAt: number | undefined = 7;
    let position = 0;
    const load = step('load')
      .chunk<number>(3)
      .reader(() => ({
        open: (context) => void (position = context.get<number>('position') ?? 0),
        read: () => (position === hangAt ? new Promise<number>(() => undefined) : position < 10 ? ++position : null),
        update: (context) => context.put('position', position),
      }))
      .writer(storeWriter<number>({ store: 'out', key: (n) => String(n).padStart(3, '0') }))
      .chunkTimeout(200)
      .build();
    const hanging = job('hanging').start(load).build();
    runtime.registry.register(hanging);
    const first = await runtime.launcher.run(hanging);
    expect(first.status).toBe('FAILED');
    expect(first.stepExecutions[0]!.exitStatus.exitDescription).toContain('ChunkTimeoutError');
    expect(first.stepExecutions[0]!.commitCount).toBe(2);
    hangAt = undefined;
    const second = await runtime.operator.waitFor(await runtime.operator.restart(first.id));
    expect(second.status).toBe('COMPLETED');
    expect((await runtime.explorer.getStagedValues('out')).map((e) => e.value)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await runtime.close();
  });

  it('a writer that hangs fails the chunk with ChunkTimeoutError and nothing of the chunk commits', async () => {
    const runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    const load = step('load')
      .chunk<number>(2)
      .reader(() => iterableReader([1, 2, 3, 4]))
      .writer({
        write: (chunk, transaction) => {
          for (const n of chunk) transaction.put('out', String(n), n);
          return chunk.items.includes(3) ? new Promise<void>(() => undefined) : undefined;
        },
      })
      .chunkTimeout(150)
      .build();
    const execution = await runtime.launcher.run(job('slowWriter').start(load).build());
    expect(execution.status).toBe('FAILED');
    expect(execution.stepExecutions[0]).toMatchObject({ commitCount: 1, rollbackCount: 1 });
    expect((await runtime.explorer.getStagedValues('out')).map((e) => e.value)).toEqual([1, 2]);
    expect(ChunkTimeoutError.name).toBe('ChunkTimeoutError');
    await runtime.close();
  });
});

describe('an execution context that grows too large', () => {
  it('is refused at the commit with EXECUTION_CONTEXT_VALUE_INVALID; the last good commit stays', async () => {
    const runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    const seen: number[] = [];
    const load = step('load')
      .chunk<number>(1)
      .reader(() => iterableReader([1, 2, 3]))
      .writer({
        write: (chunk) => void seen.push(...chunk.items),
        update: (context) => context.put('history', 'x'.repeat(seen.length >= 2 ? 2 * 1024 * 1024 : 10)),
      })
      .build();
    const execution = await runtime.launcher.run(job('bloated').start(load).build());
    expect(execution.status).toBe('FAILED');
    const stepExecution = execution.stepExecutions[0]!;
    expect(stepExecution.exitStatus.exitDescription).toContain('over the limit');
    expect(stepExecution.commitCount).toBe(1);
    expect((stepExecution.executionContext.get('history') as string).length).toBe(10);
    await runtime.close();
  });
});

describe('very large chunks', () => {
  it('a chunk that stages 200,000 writes commits them all', async () => {
    const runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    const big = step('big')
      .chunk<number>(200_000)
      .reader(() => iterableReader(() => Array.from({ length: 200_000 }, (_, i) => i)))
      .writer({ write: (chunk, transaction) => chunk.items.forEach((n) => transaction.put('big', String(n).padStart(6, '0'), n)) })
      .build();
    const execution = await runtime.launcher.run(job('big').start(big).build());
    expect(execution.status).toBe('COMPLETED');
    expect(execution.stepExecutions[0]).toMatchObject({ writeCount: 200_000, commitCount: 1 });
    expect((await runtime.explorer.getStagedValues('big')).length).toBe(200_000);
    await runtime.close();
  }, 60_000);
});

describe('a store path nobody can create', () => {
  it('is refused with STORE_UNAVAILABLE naming the path (even for root: /proc takes no new directories)', async () => {
    await expect(BatchRuntime.open({ path: '/proc/tsbatch-store', logger: false })).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      message: expect.stringContaining('/proc/tsbatch-store'),
    });
  });
});
