import { describe, expect, it } from 'vitest';
import { BatchRuntime, RepeatStatus, iterableReader, job, listWriter, step } from '../../src/index.js';

describe('runtime.shutdown', () => {
  it('stops running executions at their next chunk boundary, then closes the store', async () => {
    const runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    const written = listWriter<number>();
    const slow = step('slow')
      .chunk<number>(5)
      .reader(() => iterableReader(() => Array.from({ length: 100_000 }, (_, i) => i)))
      .processor(async (n) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        return n;
      })
      .writer(written)
      .build();
    runtime.registry.register(job('slow').start(slow).build());
    const id = await runtime.operator.start('slow');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const result = await runtime.shutdown({ timeoutMs: 5000 });
    expect(result).toEqual({ stopped: [id], timedOut: [] });
    expect(runtime.state).toBe('CLOSED');
    // The live execution ended STOPPED with exactly the committed chunks written.
    const execution = await runtime.operator.waitFor(id);
    expect(execution.status).toBe('STOPPED');
    expect(written.written.length).toBe(execution.stepExecutions[0]!.commitCount * 5);
    await expect(runtime.launcher.run(job('late').start(slow).build())).rejects.toMatchObject({ code: 'ILLEGAL_STATE' });
  });

  it('reports the executions that did not stop in time and leaves the store open for them', async () => {
    const runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    let release!: () => void;
    const stuck = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const running = new Promise<void>((resolve) => (entered = resolve));
    runtime.registry.register(
      job('stuck')
        .start(
          step('ignoresStop')
            .tasklet(async () => {
              entered();
              await stuck;
              return RepeatStatus.FINISHED;
            })
            .build(),
        )
        .build(),
    );
    const id = await runtime.operator.start('stuck');
    await running;
    const result = await runtime.shutdown({ timeoutMs: 100 });
    expect(result).toEqual({ stopped: [], timedOut: [id] });
    expect(runtime.state).toBe('CLOSING');
    release();
    const execution = await runtime.operator.waitFor(id);
    expect(execution.status).toBe('STOPPED');
  });
});
