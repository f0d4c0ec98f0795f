import type { Chunk } from '../domain/chunk.js';
import type { ExitStatus } from '../domain/exit-status.js';
import type { StepListener } from '../domain/listeners.js';
import type { StepExecution } from '../domain/step-execution.js';

type Hook = keyof StepListener;

/**
 * The listeners of one step, called as Spring Batch calls a composite: `before*` in registration
 * order, `after*` and `on*Error` in reverse order. Knowing up front which hooks anyone
 * implements lets the item loop skip listener calls altogether when there are none.
 */
export class StepListeners<I, O> {
  private readonly forward: readonly Partial<StepListener<I, O>>[];
  private readonly reverse: readonly Partial<StepListener<I, O>>[];

  constructor(listeners: readonly Partial<StepListener<I, O>>[]) {
    this.forward = listeners;
    this.reverse = [...listeners].reverse();
  }

  has(hook: Hook): boolean {
    return this.forward.some((listener) => typeof listener[hook] === 'function');
  }

  async beforeStep(step: StepExecution): Promise<void> {
    for (const l of this.forward) await l.beforeStep?.(step);
  }

  /** The ExitStatus values the listeners returned, in call order. */
  async afterStep(step: StepExecution): Promise<ExitStatus[]> {
    const results: ExitStatus[] = [];
    for (const l of this.reverse) {
      const result = await l.afterStep?.(step);
      if (result) results.push(result);
    }
    return results;
  }

  async beforeChunk(chunk: Chunk<I>): Promise<void> {
    for (const l of this.forward) await l.beforeChunk?.(chunk);
  }
  async afterChunk(chunk: Chunk<O>): Promise<void> {
    for (const l of this.reverse) await l.afterChunk?.(chunk);
  }
  async onChunkError(error: unknown, chunk: Chunk<O>): Promise<void> {
    for (const l of this.reverse) await l.onChunkError?.(error, chunk);
  }
  async beforeRead(): Promise<void> {
    for (const l of this.forward) await l.beforeRead?.();
  }
  async afterRead(item: I): Promise<void> {
    for (const l of this.reverse) await l.afterRead?.(item);
  }
  async onReadError(error: unknown): Promise<void> {
    for (const l of this.reverse) await l.onReadError?.(error);
  }
  async beforeProcess(item: I): Promise<void> {
    for (const l of this.forward) await l.beforeProcess?.(item);
  }
  async afterProcess(item: I, result: O | null): Promise<void> {
    for (const l of this.reverse) await l.afterProcess?.(item, result);
  }
  async onProcessError(item: I, error: unknown): Promise<void> {
    for (const l of this.reverse) await l.onProcessError?.(item, error);
  }
  async beforeWrite(chunk: Chunk<O>): Promise<void> {
    for (const l of this.forward) await l.beforeWrite?.(chunk);
  }
  async afterWrite(chunk: Chunk<O>): Promise<void> {
    for (const l of this.reverse) await l.afterWrite?.(chunk);
  }
  async onWriteError(error: unknown, chunk: Chunk<O>): Promise<void> {
    for (const l of this.reverse) await l.onWriteError?.(error, chunk);
  }

  // Skip listeners are called in registration order, as Spring Batch calls them.
  async onSkipInRead(error: unknown): Promise<void> {
    for (const l of this.forward) await l.onSkipInRead?.(error);
  }
  async onSkipInProcess(item: I, error: unknown): Promise<void> {
    for (const l of this.forward) await l.onSkipInProcess?.(item, error);
  }
  async onSkipInWrite(item: O, error: unknown): Promise<void> {
    for (const l of this.forward) await l.onSkipInWrite?.(item, error);
  }
}
