/**
 * The store refusing a work-chunk commit (a full disk, a lost connection) is not the job's fault:
 * nothing of that transaction was written, so the work is committed or run again, and the
 * instance still completes with every output counted once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BatchRuntime, workChunkJob } from '../../src/index.js';
import { FaultPoint, FaultPoints } from '../../src/testing.js';

let runtime: BatchRuntime | undefined;
afterEach(async () => {
  await runtime?.close();
  runtime = undefined;
});

function summing(consumed: number[]) {
  return workChunkJob('sum', 1)
    .gated()
    .first<number>('emit', (_c, sink) => {
      for (let i = 1; i <= 250; i++) sink.accept(i);
    })
    .step<number>('square', ({ data }, sink) => sink.accept(data * data))
    .reduce<{ total: number; count: number }, { total: number; count: number }>('total', {
      initial: () => ({ total: 0, count: 0 }),
      consume: (n, state) => {
        consumed.push(n);
        return { total: state.total + n, count: state.count + 1 };
      },
      complete: (sink, state) => sink.accept(state),
    })
    .build();
}

const expectedTotal = Array.from({ length: 250 }, (_, i) => (i + 1) ** 2).reduce((a, b) => a + b, 0);

describe('work chunks when the store refuses a commit', () => {
  it('a refused chunk commit is retried with the next one; nothing is lost or doubled', async () => {
    const faults = new FaultPoints();
    faults.arm({ point: FaultPoint.IN_CHUNK_COMMIT, onHit: 40, action: { kind: 'throw' } });
    runtime = await BatchRuntime.open({ inMemory: true, logger: false, faults });
    runtime.workChunks.register(summing([]));
    const done = await runtime.workChunks.waitFor(await runtime.workChunks.start('sum'), { timeoutMs: 30_000 });
    expect(done.status).toBe('COMPLETED');
    expect(done.report).toEqual({ total: expectedTotal, count: 250 });
    expect(done.chunkCounts).toEqual({ emit: { COMPLETED: 1 }, square: { COMPLETED: 250 }, total: { COMPLETED: 250 } });
  });

  it('a refused reducer commit does not fail the instance: the reduction resumes from its last stored state', async () => {
    const faults = new FaultPoints();
    const consumed: number[] = [];
    // 251 chunk runs commit first (1 emit + 250 square), each hitting the point once; then the
    // reducer commits batches of 100, 100 and 50. The 253rd hit is its second batch.
    faults.arm({ point: FaultPoint.IN_CHUNK_COMMIT, onHit: 253, action: { kind: 'throw' } });
    runtime = await BatchRuntime.open({ inMemory: true, logger: false, faults });
    runtime.workChunks.register(summing(consumed));
    const done = await runtime.workChunks.waitFor(await runtime.workChunks.start('sum'), { timeoutMs: 30_000 });
    expect(done.status, done.errorMessage ?? '').toBe('COMPLETED');
    expect(done.report).toEqual({ total: expectedTotal, count: 250 });
    expect(done.errorCount).toBe(0);
    // 100 consumed and committed, 100 consumed and lost with the refused transaction, then the
    // rerun resumes from the stored state: those 100 again and the last 50. From scratch it would be 450.
    expect(consumed).toHaveLength(350);
  });
});

describe('work chunks and the event loop', () => {
  it('a pool of synchronous steps still lets timers run while it works', async () => {
    runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    runtime.workChunks.register(
      workChunkJob('sync-steps', 1)
        .first<number>('emit', (_c, sink) => {
          for (let i = 0; i < 2000; i++) sink.accept(i);
        })
        .last('noop', () => undefined)
        .build(),
    );
    const order: string[] = [];
    const id = await runtime.workChunks.start('sync-steps');
    runtime.workChunks.onProgress((event) => void (event.type === 'ended' && event.instance.id === id && order.push('ended')));
    setTimeout(() => order.push('timer'), 0);
    await runtime.workChunks.waitFor(id);
    // Before the fix the pool ran on microtasks alone: the timer fired only after the 2001 chunks.
    expect(order).toEqual(['timer', 'ended']);
  });
});
