/**
 * A bulk export as a work-chunk job (the HAPI FHIR batch2 model): one chunk per step output,
 * each stored, claimed, retried and counted on its own.
 *
 *   ranges  one chunk: cuts each resource type's id space into ranges of 500
 *   fetch   one chunk per range: "fetches" the resources (1 in 6 fetches fails once, like a
 *           flaky server, and is retried with back-off)
 *   write   one chunk per batch: writes an NDJSON file named after the chunk, so a chunk that
 *           runs again after a crash overwrites its own file instead of adding a second one
 *   report  the reducer (gated job): sums the files into the export's report
 *
 * Run: npx tsx examples/bulk-export.ts [output directory]
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { BatchRuntime, workChunkJob } from '../src/index.js';

interface Range {
  readonly type: string;
  readonly from: number;
  readonly to: number;
}
interface Batch {
  readonly type: string;
  readonly from: number;
  readonly resources: ReadonlyArray<{ readonly resourceType: string; readonly id: string }>;
}
interface WrittenFile {
  readonly type: string;
  readonly file: string;
  readonly count: number;
}
interface ExportReport {
  readonly files: number;
  readonly resources: Record<string, number>;
}

const outputDirectory = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'tsbatch-export-'));
mkdirSync(outputDirectory, { recursive: true });

const bulkExport = workChunkJob('bulk-export', 1)
  .description('Export resources of some types as NDJSON files')
  .parameters(z.object({ types: z.array(z.string().min(1)).min(1), resourcesPerType: z.number().int().positive() }))
  .gated()
  .first<Range>('ranges', ({ parameters }, sink) => {
    for (const type of parameters.types) {
      for (let from = 0; from < parameters.resourcesPerType; from += 500) sink.accept({ type, from, to: Math.min(from + 500, parameters.resourcesPerType) });
    }
  })
  .step<Batch>('fetch', async ({ data, chunk }, sink) => {
    await new Promise((resolve) => setTimeout(resolve, 5)); // the round trip to the server
    if (chunk.attempt === 1 && (data.from / 500) % 6 === 1) throw new Error(`503 Service Unavailable while fetching ${data.type} ${data.from}..${data.to}`);
    const resources = Array.from({ length: data.to - data.from }, (_, i) => ({ resourceType: data.type, id: `${data.type.toLowerCase()}-${data.from + i}` }));
    sink.accept({ type: data.type, from: data.from, resources });
    return { recordsProcessed: resources.length };
  })
  .step<WrittenFile>('write', ({ data, chunk }, sink) => {
    const file = join(outputDirectory, `${data.type}-${chunk.id}.ndjson`);
    writeFileSync(file, data.resources.map((resource) => JSON.stringify(resource)).join('\n') + '\n');
    sink.accept({ type: data.type, file, count: data.resources.length });
    return { recordsProcessed: data.resources.length };
  })
  .reduce<ExportReport, ExportReport>('report', {
    initial: () => ({ files: 0, resources: {} }),
    consume: (written: WrittenFile, report) => ({
      files: report.files + 1,
      resources: { ...report.resources, [written.type]: (report.resources[written.type] ?? 0) + written.count },
    }),
    complete: (sink, report) => sink.accept(report),
  })
  .retry({ maxAttempts: 3, backoff: { type: 'exponential', initialMs: 50, maxMs: 1000 } })
  .build();

const storeDirectory = mkdtempSync(join(tmpdir(), 'tsbatch-store-'));
const runtime = await BatchRuntime.open({ path: storeDirectory, logger: false, workChunks: { concurrency: 8 } });
try {
  runtime.workChunks.register(bulkExport);
  let lastShown = -1;
  runtime.workChunks.onProgress(({ instance }) => {
    const percent = Math.floor(instance.progress * 10) * 10;
    if (percent === lastShown) return;
    lastShown = percent;
    process.stderr.write(`  ${instance.status.padEnd(11)} ${String(percent).padStart(3)}%  step ${instance.currentStep.padEnd(7)} chunks ${instance.completedChunks}/${instance.totalChunks}\n`);
  });

  const id = await runtime.workChunks.start('bulk-export', { types: ['Patient', 'Observation'], resourcesPerType: 6000 });
  const done = await runtime.workChunks.waitFor(id);

  console.log(`\nInstance ${done.id}: ${done.status}`);
  console.log(`  chunks per step: ${JSON.stringify(done.chunkCounts)}`);
  console.log(`  records processed: ${done.recordsProcessed}, errors retried: ${done.errorCount}`);
  console.log(`  report: ${JSON.stringify(done.report)}`);
  console.log(`  files in ${outputDirectory}: ${readdirSync(outputDirectory).length}`);
  if (done.status !== 'COMPLETED') process.exitCode = 1;
} finally {
  await runtime.close();
  rmSync(storeDirectory, { recursive: true, force: true });
  if (!process.argv[2]) rmSync(outputDirectory, { recursive: true, force: true });
}
