/**
 * The OpenTelemetry and Prometheus adapters against real runs. Every metric name and attribute key
 * is pinned to METRICS (metric-catalog.ts), and METRICS to the README's table, so neither the
 * adapters nor the docs can drift from it.
 */
import { readFileSync } from 'node:fs';
import { SpanStatusCode } from '@opentelemetry/api';
import { MeterProvider, MetricReader, type DataPoint, type MetricData } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Registry, register as globalRegistry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchRuntime, iterableReader, job, step, workChunkJob, ParseError } from '../../../src/index.js';
import { instrumentOpenTelemetry, METRICS } from '../../../src/otel.js';
import { prometheusLabel, prometheusName, registerPrometheus } from '../../../src/prometheus.js';

class TestReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

let runtime: BatchRuntime | undefined;
afterEach(async () => {
  await runtime?.close();
  runtime = undefined;
});

const CATALOG = Object.values(METRICS);

class TransientError extends Error {
  override readonly name = 'TransientError';
}

/** 10 numbers, chunk 4; odd ones filtered; 7 is a bad record skipped in read; one transient write failure retried. */
function numbersJob(name = 'numbers') {
  let writeFailures = 1;
  return job(name)
    .start(
      step('load')
        .chunk<number, number>(4)
        .reader(() => {
          const source = iterableReader(Array.from({ length: 10 }, (_, i) => i + 1), 'numbers');
          return {
            ...source,
            read: () => {
              const n = source.read();
              if (n === 7) throw new ParseError('numbers.txt', 7, 'seven is not a number we like');
              return n;
            },
          };
        })
        .processor((n) => (n % 2 === 1 ? null : n * 10))
        .writer({
          write: () => {
            if (writeFailures-- > 0) throw new TransientError('the database blinked');
          },
        })
        .faultTolerant()
        .skip(ParseError)
        .retry(TransientError)
        .retryLimit(2)
        .build(),
    )
    .build();
}

const failingJob = () => job('failing').start(step('explode').tasklet(() => { throw new Error('no disk'); }).build()).build();

const fanOut = workChunkJob('fan', 1)
  .first<number>('emit', (_c, sink) => [1, 2, 3].forEach((n) => sink.accept(n)))
  .last('use', () => undefined)
  .build();

function pointsOf(metrics: MetricData[], name: string): DataPoint<unknown>[] {
  return metrics.filter((m) => m.descriptor.name === name).flatMap((m) => m.dataPoints as DataPoint<unknown>[]);
}

describe('OpenTelemetry (tsbatch/otel)', () => {
  it('records only catalogued metrics, each with exactly its catalogued attributes and unit', async () => {
    runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const instrumentation = instrumentOpenTelemetry(runtime, { meterProvider });
    runtime.workChunks.register(fanOut);

    expect((await runtime.launcher.run(numbersJob())).status).toBe('COMPLETED');
    expect((await runtime.launcher.run(failingJob())).status).toBe('FAILED');
    const id = await runtime.workChunks.start('fan');
    await runtime.workChunks.waitFor(id);
    await new Promise((resolve) => setTimeout(resolve, 20));

    const { resourceMetrics } = await reader.collect();
    const metrics = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics);
    for (const metric of metrics) {
      const entry = CATALOG.find((m) => m.name === metric.descriptor.name);
      expect(entry, `${metric.descriptor.name} is not in METRICS`).toBeDefined();
      expect(metric.descriptor.unit).toBe(entry!.unit);
      for (const point of metric.dataPoints) expect(Object.keys(point.attributes).sort(), metric.descriptor.name).toEqual([...entry!.attributes].sort());
    }
    const emitted = new Set(metrics.filter((m) => m.dataPoints.length > 0).map((m) => m.descriptor.name));
    for (const name of ['tsbatch.job.duration', 'tsbatch.job.active', 'tsbatch.job.launches', 'tsbatch.step.duration', 'tsbatch.step.active', 'tsbatch.workchunk.run.duration', 'tsbatch.instances.ended']) {
      expect(emitted, name).toContain(name);
    }

    const jobDurations = pointsOf(metrics, 'tsbatch.job.duration');
    expect(jobDurations.map((p) => [p.attributes['tsbatch.job.name'], p.attributes['tsbatch.job.status'], (p.value as { count: number }).count]).sort()).toEqual([
      ['failing', 'FAILED', 1],
      // The exit code, as Spring Batch tags its timers: a step that skipped makes it COMPLETED WITH SKIPS.
      ['numbers', 'COMPLETED WITH SKIPS', 1],
    ]);
    expect(pointsOf(metrics, 'tsbatch.job.active').every((p) => p.value === 0)).toBe(true);
    const runs = pointsOf(metrics, 'tsbatch.workchunk.run.duration');
    expect(runs.map((p) => [p.attributes['tsbatch.workchunk.step'], (p.value as { count: number }).count]).sort()).toEqual([
      ['emit', 1],
      ['use', 3],
    ]);
    instrumentation.stop();
  });

  it('counts items, skips, chunks and retries once per chunk from the chunk step', async () => {
    runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    const reader = new TestReader();
    instrumentOpenTelemetry(runtime, { meterProvider: new MeterProvider({ readers: [reader] }) });
    const execution = await runtime.launcher.run(numbersJob());
    const load = execution.stepExecutions[0]!;
    const { resourceMetrics } = await reader.collect();
    const metrics = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics);
    const byOp = Object.fromEntries(pointsOf(metrics, 'tsbatch.items').map((p) => [p.attributes['tsbatch.item.op'], p.value]));
    expect(byOp).toEqual({ read: load.readCount, written: load.writeCount, filtered: load.filterCount });
    expect(pointsOf(metrics, 'tsbatch.items.skipped').map((p) => [p.attributes['tsbatch.skip.phase'], p.value])).toEqual([['read', load.readSkipCount]]);
    const chunks = Object.fromEntries(pointsOf(metrics, 'tsbatch.chunks').map((p) => [p.attributes['tsbatch.chunk.outcome'], p.value]));
    expect(chunks['committed']).toBe(load.commitCount);
    expect(pointsOf(metrics, 'tsbatch.retries').map((p) => [p.attributes['error.type'], p.value])).toEqual([['TransientError', 1]]);
    const commits = pointsOf(metrics, 'tsbatch.chunk.commit.duration');
    expect((commits[0]?.value as { count: number }).count).toBe(load.commitCount);
  });

  it('traces a job execution as a span with one child span per step; a failed job is an error span', async () => {
    runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    instrumentOpenTelemetry(runtime, { tracerProvider, meterProvider: new MeterProvider() });
    const execution = await runtime.launcher.run(numbersJob());
    await runtime.launcher.run(failingJob());

    const spans = exporter.getFinishedSpans();
    const jobSpan = spans.find((s) => s.name === 'tsbatch.job numbers')!;
    expect(jobSpan.attributes).toMatchObject({ 'tsbatch.job.execution_id': execution.id, 'tsbatch.job.instance_id': execution.jobInstance.id, 'tsbatch.status': 'COMPLETED' });
    const stepSpan = spans.find((s) => s.name === 'tsbatch.step load')!;
    expect(stepSpan.parentSpanContext?.spanId).toBe(jobSpan.spanContext().spanId);
    expect(stepSpan.spanContext().traceId).toBe(jobSpan.spanContext().traceId);
    expect(stepSpan.attributes['tsbatch.step.read_count']).toBe(execution.stepExecutions[0]!.readCount);
    const failed = spans.find((s) => s.name === 'tsbatch.job failing')!;
    expect(failed.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed.status.message).toContain('no disk');
  });
});

describe('Prometheus (tsbatch/prometheus)', () => {
  it("registers on the host's registry only, with Prometheus names, and unregisters on stop", async () => {
    runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    const registry = new Registry();
    const registration = registerPrometheus(registry, runtime);
    const execution = await runtime.launcher.run(numbersJob());
    const load = execution.stepExecutions[0]!;

    const text = await registry.metrics();
    expect(text).toContain(`tsbatch_items_total{tsbatch_job_name="numbers",tsbatch_step_name="load",tsbatch_item_op="read"} ${load.readCount}`);
    expect(text).toContain(`tsbatch_job_duration_seconds_count{tsbatch_job_name="numbers",tsbatch_job_status="COMPLETED WITH SKIPS"} 1`);
    expect(text).toContain('tsbatch_job_active{tsbatch_job_name="numbers"} 0');
    for (const metric of CATALOG) expect(text).toContain(`# TYPE ${prometheusName(metric)} `);
    expect(await globalRegistry.metrics()).not.toContain('tsbatch_');

    registration.stop();
    expect(await registry.metrics()).not.toContain('tsbatch_');
  });

  it('reads work-chunk gauges from the store at each scrape', async () => {
    runtime = await BatchRuntime.open({ inMemory: true, logger: false });
    const registry = new Registry();
    registerPrometheus(registry, runtime);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    runtime.workChunks.register(
      workChunkJob('slow', 1)
        .first<number>('emit', (_c, sink) => [1, 2, 3, 4, 5, 6].forEach((n) => sink.accept(n)))
        .last('wait', () => gate)
        .build(),
    );
    const id = await runtime.workChunks.start('slow');
    let text = '';
    for (let i = 0; i < 100 && !text.includes('tsbatch_workchunk_step="wait",tsbatch_workchunk_state="IN_PROGRESS"'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      text = await registry.metrics();
    }
    expect(text).toContain('tsbatch_workchunk_count{tsbatch_job_definition="slow",tsbatch_workchunk_step="emit",tsbatch_workchunk_state="COMPLETED"} 1');
    expect(text).toMatch(/tsbatch_workchunk_count\{tsbatch_job_definition="slow",tsbatch_workchunk_step="wait",tsbatch_workchunk_state="IN_PROGRESS"\} \d/);
    expect(text).toMatch(/tsbatch_instance_progress_ratio\{tsbatch_job_definition="slow"\} 0\.\d+/);
    release();
    await runtime.workChunks.waitFor(id);
    expect(await registry.metrics()).not.toContain('tsbatch_workchunk_count{');
  });
});

describe('the README metrics table', () => {
  it('lists every catalogued metric with its type, unit, Prometheus name and attributes, and nothing else', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const rows = readme.split('\n').filter((line) => line.startsWith('| `tsbatch.'));
    expect(rows).toHaveLength(CATALOG.length);
    for (const metric of CATALOG) {
      const row = rows.find((line) => line.startsWith(`| \`${metric.name}\` |`));
      expect(row, metric.name).toBeDefined();
      const cells = row!.split('|').map((cell) => cell.trim());
      expect(cells[2]).toBe(metric.kind);
      expect(cells[3]).toBe(`\`${metric.unit}\``);
      expect(cells[4]).toBe(`\`${prometheusName(metric)}\``);
      expect(cells[5]).toBe(metric.attributes.map((a) => `\`${a}\``).join(', '));
      expect(metric.attributes.map(prometheusLabel).every((label) => /^[a-z_]+$/.test(label))).toBe(true);
    }
  });
});
