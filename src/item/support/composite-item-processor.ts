import type { ExecutionContext } from '../../domain/execution-context.js';
import { isPromiseLike } from '../../support/awaitable.js';
import { toItemProcessor, type ItemProcessor, type ItemProcessorLike } from '../item-processor.js';
import type { ItemStream } from '../item-stream.js';

/**
 * Runs processors one after another, each on the previous one's output. A processor that filters
 * (returns null) ends the chain for that item. Delegates open/update/close to the processors that
 * are streams, so their state commits with each chunk.
 */
export class CompositeItemProcessor<I, O> implements ItemProcessor<I, O>, ItemStream {
  private readonly processors: readonly ItemProcessor<unknown, unknown>[];

  constructor(processors: readonly ItemProcessorLike<never, unknown>[]) {
    this.processors = processors.map((p) => toItemProcessor(p as ItemProcessorLike<unknown, unknown>));
  }

  process(item: I): O | null | Promise<O | null> {
    let value: unknown = item;
    for (let index = 0; index < this.processors.length; index++) {
      const result = this.processors[index]!.process(value);
      if (isPromiseLike(result)) return this.continueAsync(result, index + 1);
      if (result === null || result === undefined) return null;
      value = result;
    }
    return value as O;
  }

  private async continueAsync(pending: PromiseLike<unknown>, next: number): Promise<O | null> {
    let value = await pending;
    for (let index = next; value !== null && value !== undefined && index < this.processors.length; index++) {
      value = await this.processors[index]!.process(value);
    }
    return value === null || value === undefined ? null : (value as O);
  }

  async open(context: ExecutionContext): Promise<void> {
    for (const p of this.processors) await (p as ItemStream).open?.(context);
  }

  async update(context: ExecutionContext): Promise<void> {
    for (const p of this.processors) await (p as ItemStream).update?.(context);
  }

  async close(): Promise<void> {
    for (const p of this.processors) await (p as ItemStream).close?.();
  }
}

/**
 * Chains processors, typed stage by stage: `compositeProcessor(parse, enrich, validate)`.
 */
export function compositeProcessor<A, B>(p1: ItemProcessorLike<A, B>): CompositeItemProcessor<A, B>;
export function compositeProcessor<A, B, C>(p1: ItemProcessorLike<A, B>, p2: ItemProcessorLike<B, C>): CompositeItemProcessor<A, C>;
export function compositeProcessor<A, B, C, D>(
  p1: ItemProcessorLike<A, B>,
  p2: ItemProcessorLike<B, C>,
  p3: ItemProcessorLike<C, D>,
): CompositeItemProcessor<A, D>;
export function compositeProcessor<A, B, C, D, E>(
  p1: ItemProcessorLike<A, B>,
  p2: ItemProcessorLike<B, C>,
  p3: ItemProcessorLike<C, D>,
  p4: ItemProcessorLike<D, E>,
): CompositeItemProcessor<A, E>;
export function compositeProcessor(...processors: ItemProcessorLike<never, unknown>[]): CompositeItemProcessor<unknown, unknown> {
  return new CompositeItemProcessor(processors);
}
