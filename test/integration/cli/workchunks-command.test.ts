/**
 * `tsbatch workchunks list|show|cancel` against a store that a running runtime in this process
 * writes to: the command is a second process, so a cancel crosses processes through the store.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BatchRuntime, workChunkJob } from '../../../src/index.js';
import { cleanUp, cli, json, newWorkspace } from './cli-harness.js';

afterEach(cleanUp);

const quick = workChunkJob('quick', 1)
  .first<number>('emit', (_context, sink) => {
    for (let i = 0; i < 4; i++) sink.accept(i);
  })
  .last('check', ({ data }) => {
    if (data === 2) throw new Error('record 2 is broken');
    return { recordsProcessed: 1 };
  })
  .retry({ maxAttempts: 2, backoff: { type: 'none' } })
  .build();

const started: number[] = [];
const slow = workChunkJob('slow', 1)
  .first<number>('emit', (_context, sink) => {
    for (let i = 0; i < 2000; i++) sink.accept(i);
  })
  .last('wait', async () => {
    started.push(Date.now());
    await new Promise((resolve) => setTimeout(resolve, 50));
  })
  .build();

describe('tsbatch workchunks', () => {
  it('lists, shows, and cancels from another process', async () => {
    const { store } = newWorkspace();
    const runtime = await BatchRuntime.open({ path: store, logger: false, workChunks: { concurrency: 2, pollIntervalMs: 50 } });
    try {
      runtime.workChunks.register(quick);
      runtime.workChunks.register(slow);
      const failedId = await runtime.workChunks.start('quick');
      expect((await runtime.workChunks.waitFor(failedId)).status).toBe('FAILED');
      const slowId = await runtime.workChunks.start('slow');
      while (started.length < 4) await new Promise((resolve) => setTimeout(resolve, 20));

      const list = await cli(['workchunks', 'list', '--store', store, '--json']);
      expect(list.code, list.stderr).toBe(0);
      const instances = json<{ instances: Array<{ id: string; status: string; definitionId: string }> }>(list).instances;
      expect(instances.map((i) => [i.definitionId, i.status])).toEqual([
        ['slow', 'IN_PROGRESS'],
        ['quick', 'FAILED'],
      ]);
      const onlyFailed = await cli(['workchunks', 'list', '--store', store, '--status', 'failed']);
      expect(onlyFailed.stdout).toContain(failedId);
      expect(onlyFailed.stdout).not.toContain(slowId);

      const show = await cli(['workchunks', 'show', failedId, '--store', store, '--chunks', '10']);
      expect(show.code, show.stderr).toBe(0);
      expect(show.stdout).toContain('quick@1  FAILED');
      expect(show.stdout).toContain("error: Chunk 0.2 of step 'check' failed after 2 attempt(s): Error: record 2 is broken");
      expect(show.stdout).toMatch(/│ check\s+│\s+3 │\s+1 │/);

      const cancel = await cli(['workchunks', 'cancel', slowId, '--store', store, '--json']);
      const cancelledAt = Date.now();
      expect(cancel.code, cancel.stderr).toBe(0);
      expect(json<{ instance: { status: string } }>(cancel).instance.status).toBe('CANCELLED');
      const done = await runtime.workChunks.waitFor(slowId);
      expect(done.status).toBe('CANCELLED');
      // The runtime sees the cancel at its next claim (a write transaction, so never a stale
      // read): nothing starts once the cancel is stored, far short of 2000 chunks (50 s of work).
      await new Promise((resolve) => setTimeout(resolve, 200));
      const afterCancel = started.filter((t) => t > cancelledAt).length;
      expect(afterCancel).toBe(0);
      expect(started.length).toBeLessThan(2000);

      const again = await cli(['workchunks', 'cancel', slowId, '--store', store]);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('WORK_CHUNK_INSTANCE_ENDED');
      const unknown = await cli(['workchunks', 'show', 'no-such-id', '--store', store]);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('NO_SUCH_WORK_CHUNK_INSTANCE');
    } finally {
      await runtime.close();
    }
  }, 60_000);
});
