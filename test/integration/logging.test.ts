import { capturingLogger } from './fixtures/capturing-logger.js';
import { describe, expect, it } from 'vitest';
import { BatchRuntime, iterableReader, job, listWriter, step } from '../../src/index.js';



async function runSmallJob(level: 'info' | 'debug', items: number, chunkSize: number) {
  const { logger, lines } = capturingLogger(level);
  const runtime = await BatchRuntime.open({ inMemory: true, logger });
  const load = step('load').chunk<number>(chunkSize).reader(() => iterableReader(Array.from({ length: items }, (_, i) => i))).writer(listWriter<number>()).build();
  const execution = await runtime.launcher.run(job('loggedJob').start(load).build());
  await runtime.close();
  await new Promise((resolve) => setImmediate(resolve));
  return { execution, lines };
}

describe('logging', () => {
  it('puts job name and execution id on every line, and the step name on every step line', async () => {
    const { execution, lines } = await runSmallJob('debug', 10, 3);
    expect(execution.status).toBe('COMPLETED');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line.jobName, JSON.stringify(line)).toBe('loggedJob');
      expect(line.jobExecutionId, JSON.stringify(line)).toBe(execution.id);
      if (line.event?.startsWith('step.') || line.event?.startsWith('chunk.')) {
        expect(line.stepName, JSON.stringify(line)).toBe('load');
        expect(line.stepExecutionId).toBe(execution.stepExecutions[0]!.id);
      }
    }
  });

  it('logs per job, step and chunk, never per item', async () => {
    const { lines } = await runSmallJob('debug', 1000, 100);
    const events = lines.map((l) => l.event);
    expect(events.filter((e) => e === 'job.started')).toHaveLength(1);
    expect(events.filter((e) => e === 'job.ended')).toHaveLength(1);
    expect(events.filter((e) => e === 'step.started')).toHaveLength(1);
    expect(events.filter((e) => e === 'step.ended')).toHaveLength(1);
    expect(events.filter((e) => e === 'chunk.committed')).toHaveLength(10);
    expect(lines.length).toBeLessThan(20);
  });

  it('reports the step counts at info level when the step ends', async () => {
    const { lines } = await runSmallJob('info', 25, 10);
    expect(lines.some((l) => l.event === 'chunk.committed')).toBe(false);
    const ended = lines.find((l) => l.event === 'step.ended')!;
    expect(ended).toMatchObject({ status: 'COMPLETED', exitCode: 'COMPLETED', readCount: 25, writeCount: 25, commitCount: 3 });
  });
});
