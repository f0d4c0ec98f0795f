/**
 * Work-chunk jobs: throughput, per-chunk overhead and the cost of a maintenance pass.
 *
 *   npm run bench:workchunks                         # 100,000 chunks (~1-2 min on the 2-core machine)
 *   WORKCHUNKS_FANOUT=100,99 npm run bench:workchunks # a quick run (~10,000 chunks)
 *
 * tsbatch: a 3-step non-gated job with trivial work on a fresh LMDB store (durable commits):
 * `first` emits A chunks, `step` emits B chunks for each, `last` does nothing; 1 + A + A*B
 * chunks in all (A=100, B=999: 100,001). Timed from `start` to the instance's end; checked
 * COMPLETED with every chunk counted. Settings: WORKCHUNKS_CONCURRENCY (default "4,64").
 *
 * baseline: a hand-written LMDB work queue doing the same durable work per chunk, without the
 * runtime: each chunk is stored when its parent completes, claimed (rewritten IN_PROGRESS, queue
 * entry removed) and completed (rewritten COMPLETED), with finished chunks committed and the next
 * ones claimed in one transaction per round of `concurrency` chunks, as the runtime's pool does.
 *
 * maintenance: `runtime.workChunks.maintain()` is timed (a) during the run, at growing numbers of
 * completed chunks, and (b) after it, with 100,001 completed chunks in the store and one new active
 * instance. Its cost must not grow with the completed chunks.
 *
 * stdout: tables, then one JSON line with every figure.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import { BatchRuntime, workChunkJob, type WorkChunkMaintenanceReport } from '../src/index.js';

const [A = 100, B = 999] = (process.env['WORKCHUNKS_FANOUT'] ?? '100,999').split(',').map(Number);
const CONCURRENCIES = (process.env['WORKCHUNKS_CONCURRENCY'] ?? '4,64').split(',').map(Number);
const TOTAL = 1 + A + A * B;
const progress = (text: string) => process.stderr.write(`${text}\n`);
const load = () => loadavg().map((n) => n.toFixed(2)).join(' ');

const definition = workChunkJob('bench-fanout', 1)
  .first<number>('emit', (_context, sink) => {
    for (let i = 0; i < A; i++) sink.accept(i);
  })
  .step<number>('fan', ({ data }, sink) => {
    for (let j = 0; j < B; j++) sink.accept(data * B + j);
  })
  .last('noop', () => undefined)
  .build();

interface MaintenanceSample {
  readonly completedChunks: number;
  readonly durationMs: number;
  readonly activeInstances: number;
}

async function runTsbatch(concurrency: number): Promise<{ seconds: number; chunksPerSec: number; samples: MaintenanceSample[]; after: MaintenanceSample[] }> {
  const directory = mkdtempSync(join(tmpdir(), 'tsbatch-wc-bench-'));
  // Maintenance is called by the benchmark only, so each pass is timed alone.
  const runtime = await BatchRuntime.open({ path: directory, logger: false, workChunks: { concurrency, maintenanceIntervalMs: 3_600_000 } });
  try {
    runtime.workChunks.register(definition);
    await runtime.workChunks.maintain();
    const started = performance.now();
    const id = await runtime.workChunks.start('bench-fanout');
    const samples: MaintenanceSample[] = [];
    let finished = false;
    const sampler = (async () => {
      while (!finished) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        if (finished) break;
        const instance = await runtime.workChunks.get(id);
        const report: WorkChunkMaintenanceReport = await runtime.workChunks.maintain();
        samples.push({ completedChunks: instance?.completedChunks ?? 0, durationMs: report.durationMs, activeInstances: report.activeInstances });
      }
    })();
    const done = await runtime.workChunks.waitFor(id);
    const seconds = (performance.now() - started) / 1000;
    finished = true;
    await sampler;
    if (done.status !== 'COMPLETED' || done.completedChunks !== TOTAL) throw new Error(`tsbatch run ended ${done.status} with ${done.completedChunks}/${TOTAL} chunks`);
    // With every chunk of the run completed in the store: one more instance, then passes.
    const tiny = workChunkJob('bench-tiny', 1).first<number>('a', (_c, sink) => sink.accept(1)).last('b', () => new Promise((r) => setTimeout(r, 50))).build();
    runtime.workChunks.register(tiny);
    const after: MaintenanceSample[] = [];
    const tinyId = await runtime.workChunks.start('bench-tiny');
    for (let i = 0; i < 5; i++) {
      const report = await runtime.workChunks.maintain();
      after.push({ completedChunks: TOTAL, durationMs: report.durationMs, activeInstances: report.activeInstances });
    }
    await runtime.workChunks.waitFor(tinyId);
    return { seconds, chunksPerSec: TOTAL / seconds, samples, after };
  } finally {
    await runtime.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

function runBaseline(concurrency: number): { seconds: number; chunksPerSec: number } {
  const directory = mkdtempSync(join(tmpdir(), 'tsbatch-wc-baseline-'));
  const db = open({ path: directory, compression: false });
  try {
    const started = performance.now();
    type Chunk = { id: string; step: number; data: number | null; status: string; attempts: number };
    let queue: string[] = [];
    db.transactionSync(() => {
      db.putSync('c/0', { id: '0', step: 0, data: null, status: 'READY', attempts: 0 } satisfies Chunk);
      db.putSync('q/0', null);
    });
    queue.push('0');
    let running: Chunk[] = [];
    let completed = 0;
    while (queue.length > 0 || running.length > 0) {
      const finished = running;
      running = [];
      const claim = queue.splice(0, concurrency);
      const created: string[] = [];
      db.transactionSync(() => {
        for (const chunk of finished) {
          const children = chunk.step === 0 ? A : chunk.step === 1 ? B : 0;
          for (let i = 0; i < children; i++) {
            const id = `${chunk.id}.${i}`;
            const data = chunk.step === 0 ? i : (chunk.data ?? 0) * B + i;
            db.putSync(`c/${id}`, { id, step: chunk.step + 1, data, status: 'READY', attempts: 0 } satisfies Chunk);
            db.putSync(`q/${id}`, null);
            created.push(id);
          }
          db.putSync(`c/${chunk.id}`, { ...chunk, status: 'COMPLETED' });
          completed += 1;
        }
        for (const id of claim) {
          const chunk = db.get(`c/${id}`) as Chunk;
          db.removeSync(`q/${id}`);
          const claimed = { ...chunk, status: 'IN_PROGRESS', attempts: chunk.attempts + 1 };
          db.putSync(`c/${id}`, claimed);
          running.push(claimed);
        }
      });
      queue = queue.concat(created);
    }
    const seconds = (performance.now() - started) / 1000;
    if (completed !== TOTAL) throw new Error(`baseline completed ${completed}/${TOTAL}`);
    return { seconds, chunksPerSec: TOTAL / seconds };
  } finally {
    db.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

progress(`work-chunk benchmark: ${TOTAL} chunks (1 + ${A} + ${A}x${B}), concurrency ${CONCURRENCIES.join(', ')}; load ${load()}`);
const results = [];
for (const concurrency of CONCURRENCIES) {
  progress(`  concurrency ${concurrency}: baseline...`);
  const baseline = runBaseline(concurrency);
  progress(`    baseline ${Math.round(baseline.chunksPerSec)} chunks/s; tsbatch...`);
  const tsbatch = await runTsbatch(concurrency);
  progress(`    tsbatch ${Math.round(tsbatch.chunksPerSec)} chunks/s; load ${load()}`);
  results.push({ concurrency, baseline, tsbatch });
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const lines = [
  '',
  `tsbatch work-chunk benchmark, Node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), ${new Date().toISOString()}, load after ${load()}`,
  '',
  `| concurrency | chunks | tsbatch chunks/s | baseline chunks/s | ratio | tsbatch us/chunk | overhead us/chunk |`,
  `|--:|--:|--:|--:|--:|--:|--:|`,
  ...results.map(({ concurrency, baseline, tsbatch }) =>
    `| ${concurrency} | ${fmt(TOTAL)} | ${fmt(tsbatch.chunksPerSec)} | ${fmt(baseline.chunksPerSec)} | ${(tsbatch.chunksPerSec / baseline.chunksPerSec).toFixed(2)} | ${((tsbatch.seconds * 1e6) / TOTAL).toFixed(1)} | ${(((tsbatch.seconds - baseline.seconds) * 1e6) / TOTAL).toFixed(1)} |`,
  ),
  '',
  '| concurrency | when | completed chunks in store | active instances | maintenance pass ms |',
  '|--:|--|--:|--:|--:|',
  ...results.flatMap(({ concurrency, tsbatch }) => [
    ...tsbatch.samples.map((s) => `| ${concurrency} | during the run | ${fmt(s.completedChunks)} | ${s.activeInstances} | ${s.durationMs.toFixed(2)} |`),
    ...tsbatch.after.map((s) => `| ${concurrency} | after, new instance | ${fmt(s.completedChunks)} | ${s.activeInstances} | ${s.durationMs.toFixed(2)} |`),
  ]),
  '',
];
process.stdout.write(lines.join('\n'));
process.stdout.write(`${JSON.stringify({ benchmark: 'workchunks', chunks: TOTAL, results })}\n`);
