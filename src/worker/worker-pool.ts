import { Piscina } from 'piscina';
import type { ProcessChunkRequest, ProcessChunkResponse } from './protocol.js';

/**
 * The lifecycle of a worker pool:
 * - `OPEN`: tasks are accepted.
 * - `CLOSED`: the threads are gone; a task fails at once.
 */
export type WorkerPoolState = 'OPEN' | 'CLOSED';

const WORKER_ENTRY = new URL('./processor-worker.mjs', import.meta.url).href;

/**
 * A pool of worker threads (piscina) that processes chunks. A thread that dies takes only its
 * task with it: the task's promise rejects (never hangs) and piscina replaces the thread.
 */
export class WorkerPool {
  private readonly piscina: Piscina<ProcessChunkRequest, ProcessChunkResponse>;
  private currentState: WorkerPoolState = 'OPEN';

  constructor(threads: number) {
    // Two tasks per thread: a thread that finishes one task finds the next one already posted,
    // instead of waiting for the main thread (busy reading, or committing) to hand it over.
    // Without Atomics, a thread takes its tasks one message at a time and sends each result as soon
    // as its task ends: with them, two tasks taken together answer together, the first one late by
    // the whole second one, and the chunk waiting for it holds up the pipeline.
    this.piscina = new Piscina({
      filename: WORKER_ENTRY,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: 30_000,
      concurrentTasksPerWorker: 2,
      atomics: 'disabled',
    });
    // Errors of the pool itself (a message for a task it has already given up on while it is being
    // destroyed) concern no task; unheard, piscina would turn them into an uncaught exception.
    this.piscina.on('error', () => undefined);
  }

  get state(): WorkerPoolState {
    return this.currentState;
  }

  run(request: ProcessChunkRequest): Promise<ProcessChunkResponse> {
    if (this.currentState !== 'OPEN') return Promise.reject(new Error('The worker pool is closed.'));
    return this.piscina.run(request);
  }

  async close(): Promise<void> {
    if (this.currentState === 'CLOSED') return;
    this.currentState = 'CLOSED';
    await this.piscina.destroy();
  }
}
