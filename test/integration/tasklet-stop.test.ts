import { describe, expect, it } from 'vitest';
import { BatchRuntime, RepeatStatus, job, step } from '../../src/index.js';

describe('a tasklet and a stop request', () => {
  it('sees the stop signal, returns at a safe point, and the step ends STOPPED after that iteration commits', async () => {
    const runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    let iterations = 0;
    let sawStop = false;
    const poll = step('poll')
      .tasklet(async (_contribution, context) => {
        iterations += 1;
        context.stepContext.put('iterations', iterations);
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (context.stopRequested) {
          sawStop = true;
          return RepeatStatus.FINISHED;
        }
        return RepeatStatus.CONTINUABLE;
      })
      .build();
    runtime.registry.register(job('polling').start(poll).build());
    const id = await runtime.operator.start('polling');
    await new Promise((resolve) => setTimeout(resolve, 40));
    await runtime.operator.stop(id);
    const stopped = await runtime.operator.waitFor(id);
    expect(sawStop).toBe(true);
    expect(stopped.status).toBe('STOPPED');
    const stepExecution = stopped.stepExecutions[0]!;
    expect(stepExecution.status).toBe('STOPPED');
    expect(stepExecution.commitCount).toBe(iterations);
    expect(stepExecution.executionContext.get('iterations')).toBe(iterations);
    await runtime.close();
  });
});
