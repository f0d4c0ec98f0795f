import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BatchRuntime, type Job, type JobExecution, type StepExecution } from '../../src/index.js';
import { capturingLogger } from './fixtures/capturing-logger.js';
import { remotePartitionJob } from './fixtures/remote/remote-partition-job.js';

let runtime: BatchRuntime;

beforeEach(async () => {
  runtime = await BatchRuntime.open({ inMemory: true, logger: false, remote: { pollMs: 20, intervalMs: 100, leaseMs: 1000 } });
});

afterEach(async () => {
  await runtime.close();
});

const partitionsOf = (execution: JobExecution): StepExecution[] =>
  execution.stepExecutions.filter((s) => s.stepName.startsWith('fan-out:')).sort((a, b) => a.stepName.localeCompare(b.stepName));

async function output(): Promise<number[]> {
  return (await runtime.explorer.getStagedValues('out')).map(({ value }) => (value as { n: number }).n);
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Registers the job (workers find it in the registry, as `tsbatch worker` does in its module) and launches it. */
async function launchRegistered(definition: Job) {
  if (!runtime.registry.has(definition.name)) runtime.registry.register(definition);
  return runtime.launcher.launch(definition);
}

describe('remote partitioning (step.partitioner(p, { remote: true }))', () => {
  it('dispatches every partition, a worker runs them, and the manager sums their counts', async () => {
    await runtime.remote.startWorker({ concurrency: 2 });
    const execution = await (await launchRegistered(remotePartitionJob({ items: 400, grid: 4 }))).done;

    expect(execution.status).toBe('COMPLETED');
    const stored = (await runtime.explorer.getJobExecution(execution.id))!;
    const partitions = partitionsOf(stored);
    expect(partitions.map((p) => [p.stepName, p.status, p.readCount, p.writeCount, p.commitCount])).toEqual([
      ['fan-out:partition0', 'COMPLETED', 100, 100, 10],
      ['fan-out:partition1', 'COMPLETED', 100, 100, 10],
      ['fan-out:partition2', 'COMPLETED', 100, 100, 10],
      ['fan-out:partition3', 'COMPLETED', 100, 100, 10],
    ]);
    const manager = stored.stepExecutions.find((s) => s.stepName === 'fan-out')!;
    expect([manager.status, manager.readCount, manager.writeCount]).toEqual(['COMPLETED', 400, 400]);
    expect(await output()).toEqual(range(1, 400));
  });

  it('a stop with no worker running ends the waiting partitions STOPPED; a restart with a worker completes them', async () => {
    const { execution, done } = await launchRegistered(remotePartitionJob({ items: 200, grid: 4 }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await runtime.operator.stop(execution.id);
    const stopped = await done;
    expect(stopped.status).toBe('STOPPED');
    expect(partitionsOf((await runtime.explorer.getJobExecution(execution.id))!).map((p) => p.status)).toEqual(['STOPPED', 'STOPPED', 'STOPPED', 'STOPPED']);

    await runtime.remote.startWorker({ concurrency: 4 });
    const restarted = await runtime.operator.waitFor(await runtime.operator.restart(execution.id));
    expect(restarted.status).toBe('COMPLETED');
    expect(await output()).toEqual(range(1, 200));
  });

  it('a worker that shuts down hands its partitions back; another worker resumes them from their last commit', async () => {
    const first = await runtime.remote.startWorker({ concurrency: 2 });
    const { execution, done } = await launchRegistered(remotePartitionJob({ items: 200, grid: 2, itemMs: 2 }));
    await new Promise((resolve) => setTimeout(resolve, 150));
    await first.stop();
    const handedBack = partitionsOf((await runtime.explorer.getJobExecution(execution.id))!);
    expect(handedBack.map((p) => p.status)).toEqual(['STARTING', 'STARTING']);
    const committedBefore = handedBack.map((p) => p.writeCount);
    expect(committedBefore.every((n) => n > 0 && n < 100)).toBe(true);

    await runtime.remote.startWorker({ concurrency: 2 });
    const ended = await done;
    expect(ended.status).toBe('COMPLETED');
    const partitions = partitionsOf((await runtime.explorer.getJobExecution(execution.id))!);
    expect(partitions.map((p) => [p.status, p.readCount, p.writeCount])).toEqual([
      ['COMPLETED', 100, 100],
      ['COMPLETED', 100, 100],
    ]);
    expect(await output()).toEqual(range(1, 200));
  });

  it('a lost queue (every message purged) is rebuilt by the reconciler from the repository alone', async () => {
    const { execution, done } = await launchRegistered(remotePartitionJob({ items: 120, grid: 3 }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    // @ts-expect-error the store dispatcher's purge, reached for the test
    await (await runtime.remote['dispatcherOpening']).purge();
    await runtime.remote.startWorker({ concurrency: 3 });
    const ended = await done;
    expect(ended.status).toBe('COMPLETED');
    expect(partitionsOf((await runtime.explorer.getJobExecution(execution.id))!).map((p) => p.writeCount)).toEqual([40, 40, 40]);
    expect(await output()).toEqual(range(1, 120));
  });
});

describe('remote partitioning: stop and restart', () => {
  it('a stop reaches partitions running on a worker: each ends STOPPED at a chunk boundary, and a restart finishes them, every item once', async () => {
    await runtime.remote.startWorker({ concurrency: 3 });
    const { execution, done } = await launchRegistered(remotePartitionJob({ items: 300, grid: 3, itemMs: 2 }));
    await new Promise((resolve) => setTimeout(resolve, 120));
    await runtime.operator.stop(execution.id);
    expect((await done).status).toBe('STOPPED');
    const stopped = partitionsOf((await runtime.explorer.getJobExecution(execution.id))!);
    expect(stopped.map((p) => p.status)).toEqual(['STOPPED', 'STOPPED', 'STOPPED']);
    const before = stopped.map((p) => p.writeCount);
    expect(before.every((n) => n % 10 === 0 && n < 100)).toBe(true);

    const restarted = await runtime.operator.waitFor(await runtime.operator.restart(execution.id));
    expect(restarted.status).toBe('COMPLETED');
    const rerun = partitionsOf((await runtime.explorer.getJobExecution(restarted.id))!);
    expect(rerun.map((p) => p.writeCount)).toEqual(before.map((n) => 100 - n));
    expect(await output()).toEqual(range(1, 300));
  });

  it('a restart reruns only the partition that failed, from its last commit', async () => {
    await runtime.remote.startWorker({ concurrency: 3 });
    let failOn: number | undefined = 155;
    const failed = await (await launchRegistered(remotePartitionJob({ name: 'remote-failing', items: 300, grid: 3, failOn: () => failOn }))).done;
    expect(failed.status).toBe('FAILED');
    expect(partitionsOf((await runtime.explorer.getJobExecution(failed.id))!).map((p) => [p.status, p.writeCount])).toEqual([
      ['COMPLETED', 100],
      ['FAILED', 50],
      ['COMPLETED', 100],
    ]);

    failOn = undefined;
    const restarted = await runtime.operator.waitFor(await runtime.operator.restart(failed.id));
    expect(restarted.status).toBe('COMPLETED');
    expect(partitionsOf((await runtime.explorer.getJobExecution(restarted.id))!).map((p) => [p.stepName, p.writeCount])).toEqual([['fan-out:partition1', 50]]);
    expect(await output()).toEqual(range(1, 300));
  });
});

describe('remote partitioning: a stop asked by another process', () => {
  it('ends the partitions no worker has claimed STOPPED, even with no worker running', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'tsbatch-remote-stop-'));
    const launcher = await BatchRuntime.open({ path: directory, logger: false, remote: { pollMs: 20 } });
    const operator = await BatchRuntime.open({ path: directory, logger: false, recovery: 'none' });
    try {
      const definition = remotePartitionJob({ items: 90, grid: 3 });
      launcher.registry.register(definition);
      const { execution, done } = await launcher.launcher.launch(definition);
      await new Promise((resolve) => setTimeout(resolve, 60));
      // The operator's runtime does not run the execution: its stop only turns the stored job STOPPING.
      await operator.operator.stop(execution.id);
      expect((await done).status).toBe('STOPPED');
      const partitions = partitionsOf((await operator.explorer.getJobExecution(execution.id))!);
      expect(partitions.map((p) => [p.status, p.writeCount])).toEqual([
        ['STOPPED', 0],
        ['STOPPED', 0],
        ['STOPPED', 0],
      ]);
    } finally {
      await operator.close();
      await launcher.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe('remote partitioning: what the logs say about a resume', () => {
  it('a partition starts fresh (restart false, resumed false) and a restarted one resumes committed work (true, true)', async () => {
    const { logger, lines } = capturingLogger('info');
    const logged = await BatchRuntime.open({ inMemory: true, logger, remote: { pollMs: 20 } });
    try {
      await logged.remote.startWorker({ concurrency: 2 });
      let failOn: number | undefined = 35;
      const definition = remotePartitionJob({ name: 'remote-logged', items: 100, grid: 2, failOn: () => failOn });
      logged.registry.register(definition);
      const failed = await logged.launcher.run(definition);
      expect(failed.status).toBe('FAILED');
      const claimLines = (name: string) => lines.filter((l) => l.event === 'partition.claimed' && l.stepName === name);
      const claimsOf = (name: string) => claimLines(name).map((l) => l['resumed']);
      // The step's own lines name the worker step ('numbers'); its execution id ties them to the partition.
      const startedOf = (name: string) =>
        claimLines(name).map((claim) => lines.find((l) => l.event === 'step.started' && l.stepExecutionId === claim.stepExecutionId)?.['restart']);
      expect(startedOf('fan-out:partition0')).toEqual([false]);
      expect(claimsOf('fan-out:partition0')).toEqual([false]);

      failOn = undefined;
      expect((await logged.operator.waitFor(await logged.operator.restart(failed.id))).status).toBe('COMPLETED');
      expect(startedOf('fan-out:partition0')).toEqual([false, true]);
      expect(claimsOf('fan-out:partition0')).toEqual([false, true]);
      expect(startedOf('fan-out:partition1')).toEqual([false]);
    } finally {
      await logged.close();
    }
  });
});
