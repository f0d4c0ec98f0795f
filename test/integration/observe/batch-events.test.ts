import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { BATCH_EVENTS_CHANNEL, BatchRuntime, iterableReader, job, step, workChunkJob, type BatchEvent } from '../../../src/index.js';

let runtime: BatchRuntime | undefined;
afterEach(async () => {
  await runtime?.close();
  runtime = undefined;
});

const importJob = () =>
  job('importJob')
    .start(
      step('load')
        .chunk<number, number>(3)
        .reader(() => iterableReader([1, 2, 3, 4, 5, 6, 7], 'numbers'))
        .processor((n) => (n % 2 === 0 ? null : n))
        .writer({ write: () => undefined })
        .build(),
    )
    .next(step('report').tasklet(() => undefined).build())
    .build();

describe('runtime.events', () => {
  it('tells a subscriber when jobs and steps start and end, with their ids, statuses and counts', async () => {
    runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    const events: BatchEvent[] = [];
    const unsubscribeEvents = runtime.events.subscribe((event) => events.push(event));
    const execution = await runtime.launcher.run(importJob());
    unsubscribeEvents();

    const lifecycle = events.filter((e) => e.type !== 'chunk.ended').map((e) => [e.type, 'stepName' in e ? e.stepName : e.type.startsWith('job') ? 'importJob' : '']);
    expect(lifecycle).toEqual([
      ['job.started', 'importJob'],
      ['step.started', 'load'],
      ['step.ended', 'load'],
      ['step.started', 'report'],
      ['step.ended', 'report'],
      ['job.ended', 'importJob'],
    ]);
    const started = events[0];
    expect(started).toMatchObject({ type: 'job.started', jobName: 'importJob', jobExecutionId: execution.id, jobInstanceId: execution.jobInstance.id, restart: false });
    const loadEnded = events.find((e) => e.type === 'step.ended' && e.stepName === 'load');
    expect(loadEnded).toMatchObject({ status: 'COMPLETED', exitCode: 'COMPLETED', counts: { readCount: 7, writeCount: 4, filterCount: 3, commitCount: 3 } });
    expect(events.at(-1)).toMatchObject({ type: 'job.ended', status: 'COMPLETED', exitCode: 'COMPLETED', jobExecutionId: execution.id });

    // Unsubscribed: the next run tells it nothing.
    await runtime.launcher.run(importJob(), { run: 2 });
    expect(events.filter((e) => e.type === 'job.started')).toHaveLength(1);
  });

  it('publishes on the tsbatch:events diagnostics channel for agents that do not know tsbatch', async () => {
    runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    const seen: string[] = [];
    const onMessage = (message: unknown) => seen.push((message as BatchEvent).type);
    subscribe(BATCH_EVENTS_CHANNEL, onMessage);
    try {
      await runtime.launcher.run(importJob());
    } finally {
      unsubscribe(BATCH_EVENTS_CHANNEL, onMessage);
    }
    expect(seen[0]).toBe('job.started');
    expect(seen.at(-1)).toBe('job.ended');
  });

  it('reports a failed job with its exit description, and a listener that throws does not break the run', async () => {
    runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    const ended: BatchEvent[] = [];
    runtime.events.subscribe(() => {
      throw new Error('a broken listener');
    });
    runtime.events.subscribe((event) => void (event.type === 'job.ended' && ended.push(event)));
    const failing = job('failing').start(step('boom').tasklet(() => { throw new Error('disk on fire'); }).build()).build();
    const execution = await runtime.launcher.run(failing);
    expect(execution.status).toBe('FAILED');
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ status: 'FAILED', exitCode: 'FAILED' });
    expect(ended[0] && 'exitDescription' in ended[0] ? ended[0].exitDescription : '').toContain('disk on fire');
  });

  it('tells work-chunk runs and instance ends', async () => {
    runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    const events: BatchEvent[] = [];
    runtime.events.subscribe((event) => events.push(event));
    runtime.workChunks.register(
      workChunkJob('fan', 1)
        .first<number>('emit', (_c, sink) => [1, 2, 3].forEach((n) => sink.accept(n)))
        .last('use', () => undefined)
        .build(),
    );
    const id = await runtime.workChunks.start('fan');
    await runtime.workChunks.waitFor(id);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const runs = events.filter((e) => e.type === 'workchunk.run_ended');
    expect(runs.map((e) => (e.type === 'workchunk.run_ended' ? `${e.stepId}:${e.outcome}` : '')).sort()).toEqual(['emit:succeeded', 'use:succeeded', 'use:succeeded', 'use:succeeded']);
    expect(events.filter((e) => e.type === 'workchunk.instance_ended')).toMatchObject([{ definitionId: 'fan', instanceId: id, status: 'COMPLETED' }]);
  });
});
