import { WorkChunkInstanceStatus, type WorkChunkInstance, type WorkChunkView } from '../../index.js';
import { CliError, CliExitCode } from '../cli-error.js';
import { formatDuration, formatTime, renderTable } from '../format.js';
import { openRuntime, type StoreOptions } from '../open-runtime.js';
import { Output, type OutputOptions } from '../output.js';

export interface WorkChunksListOptions extends StoreOptions, OutputOptions {
  readonly definition?: string;
  readonly status?: string;
  readonly limit: number;
}

export interface WorkChunksShowOptions extends StoreOptions, OutputOptions {
  /** Also list the chunks (until they are purged), at most this many. */
  readonly chunks?: number;
}

function parseStatus(status: string | undefined): WorkChunkInstanceStatus | undefined {
  if (status === undefined) return undefined;
  const upper = status.toUpperCase();
  const known = Object.values(WorkChunkInstanceStatus) as string[];
  if (!known.includes(upper)) throw new CliError('USAGE', `Unknown work-chunk instance status '${status}'; use one of ${known.join(', ')}.`);
  return upper as WorkChunkInstanceStatus;
}

const percent = (progress: number) => `${(progress * 100).toFixed(1)}%`;
const eta = (ms: number | undefined) => (ms === undefined ? '' : formatDuration(ms));

function summary(instance: WorkChunkInstance) {
  return {
    ...instance,
    createTime: instance.createTime.toISOString(),
    startTime: instance.startTime?.toISOString() ?? null,
    endTime: instance.endTime?.toISOString() ?? null,
  };
}

function chunkSummary(chunk: WorkChunkView) {
  return {
    ...chunk,
    createTime: chunk.createTime.toISOString(),
    startTime: chunk.startTime?.toISOString() ?? null,
    endTime: chunk.endTime?.toISOString() ?? null,
    lease: chunk.lease && { ...chunk.lease, expiresAt: chunk.lease.expiresAt.toISOString() },
  };
}

/** `tsbatch workchunks list`: work-chunk job instances, newest first. */
export async function workChunksListCommand(options: WorkChunksListOptions): Promise<number> {
  const out = new Output(options);
  const status = parseStatus(options.status);
  const runtime = await openRuntime(options, { create: false, recovery: 'none' });
  try {
    const instances = await runtime.workChunks.list({
      ...(options.definition !== undefined ? { definitionId: options.definition } : {}),
      ...(status ? { status } : {}),
      limit: options.limit > 0 ? options.limit : Number.MAX_SAFE_INTEGER,
    });
    out.document({ instances: instances.map(summary) });
    if (instances.length === 0) {
      out.data('No work-chunk job instances.');
      return CliExitCode.COMPLETED;
    }
    out.data(
      renderTable(
        ['id', 'definition', 'status', 'progress', 'chunks', 'errors', 'created', 'eta'],
        instances.map((i) => [
          i.id,
          `${i.definitionId}@${i.definitionVersion}`,
          i.status,
          percent(i.progress),
          `${i.completedChunks}/${i.totalChunks}`,
          i.errorCount,
          formatTime(i.createTime),
          eta(i.estimatedTimeRemainingMs),
        ]),
        ['left', 'left', 'left', 'right', 'right', 'right', 'left', 'right'],
        out.colour,
      ),
    );
    return CliExitCode.COMPLETED;
  } finally {
    await runtime.close();
  }
}

/** `tsbatch workchunks show <id>`: one instance with its progress, chunk counts per step and errors. */
export async function workChunksShowCommand(id: string, options: WorkChunksShowOptions): Promise<number> {
  const out = new Output(options);
  const runtime = await openRuntime(options, { create: false, recovery: 'none' });
  try {
    const instance = await runtime.workChunks.get(id);
    if (!instance) throw new CliError('NO_SUCH_WORK_CHUNK_INSTANCE', `No work-chunk job instance with id '${id}' in the store.`);
    const chunks = options.chunks ? await runtime.workChunks.chunks(id, { limit: options.chunks }) : [];
    out.document({ instance: summary(instance), ...(options.chunks ? { chunks: chunks.map(chunkSummary) } : {}) });
    const lines = [
      `Instance ${instance.id}  ${instance.definitionId}@${instance.definitionVersion}  ${instance.status}`,
      `  progress ${percent(instance.progress)}  chunks ${instance.completedChunks}/${instance.totalChunks}  ` +
        `records ${instance.recordsProcessed}  ${instance.chunksPerSecond.toFixed(1)} chunks/s` +
        (instance.estimatedTimeRemainingMs !== undefined ? `  eta ${eta(instance.estimatedTimeRemainingMs)}` : ''),
      `  created ${formatTime(instance.createTime)}  started ${formatTime(instance.startTime)}  ended ${formatTime(instance.endTime)}`,
      `  current step ${instance.currentStep}  errors ${instance.errorCount}`,
      `  parameters ${JSON.stringify(instance.parameters)}`,
    ];
    if (instance.errorMessage) lines.push(`  error: ${instance.errorMessage}`);
    for (const warning of instance.warnings.slice(0, 5)) lines.push(`  warning: ${warning}`);
    if (instance.report !== null) lines.push(`  report ${JSON.stringify(instance.report)}`);
    out.data(lines.join('\n'));
    const statuses = [...new Set(Object.values(instance.chunkCounts).flatMap((counts) => Object.keys(counts)))].sort();
    out.data(
      renderTable(
        ['step', ...statuses],
        Object.entries(instance.chunkCounts).map(([step, counts]) => [step, ...statuses.map((s) => (counts as Record<string, number>)[s] ?? 0)]),
        ['left', ...statuses.map(() => 'right' as const)],
        out.colour,
      ),
    );
    if (instance.chunksPurged) out.data('(chunk data purged after the retention period)');
    if (chunks.length) {
      out.data(
        renderTable(
          ['chunk', 'step', 'status', 'attempts', 'errors', 'records', 'error'],
          chunks.map((c) => [c.id, c.stepId, c.status, c.attempts, c.errorCount, c.recordsProcessed, c.errorMessage ?? '']),
          ['left', 'left', 'left', 'right', 'right', 'right', 'left'],
          out.colour,
        ),
      );
    }
    return CliExitCode.COMPLETED;
  } finally {
    await runtime.close();
  }
}

/** `tsbatch workchunks cancel <id>`: CANCELLED now; running chunks finish in their process. */
export async function workChunksCancelCommand(id: string, options: StoreOptions & OutputOptions): Promise<number> {
  const out = new Output(options);
  const runtime = await openRuntime(options, { create: false, recovery: 'none' });
  try {
    const instance = await runtime.workChunks.cancel(id);
    out.document({ instance: summary(instance) });
    out.data(`Work-chunk job instance ${id} CANCELLED: no chunk of it starts any more; chunks already running finish.`);
    return CliExitCode.COMPLETED;
  } finally {
    await runtime.close();
  }
}
