import { Chunk } from '../../domain/chunk.js';
import { InvalidConfigurationError } from '../../domain/errors.js';
import type { ExecutionContext } from '../../domain/execution-context.js';
import type { ItemStream } from '../item-stream.js';
import type { ChunkTransaction, ItemWriter } from '../item-writer.js';

export interface ClassifierWriterOptions<T, K extends string> {
  /** The route of an item: a key of `writers`. */
  readonly classify: (item: T) => K;
  readonly writers: Readonly<Record<K, ItemWriter<T> & ItemStream>>;
}

/**
 * Routes each item to one of several writers. Each writer receives one chunk per write with its
 * items in their original order; all of them write in the same chunk transaction. The writers are
 * named up front so that their streams are opened, updated and closed with the step.
 */
export class ClassifierItemWriter<T, K extends string> implements ItemWriter<T>, ItemStream {
  private readonly writers: ReadonlyMap<K, ItemWriter<T> & ItemStream>;

  constructor(private readonly options: ClassifierWriterOptions<T, K>) {
    this.writers = new Map(Object.entries(options.writers) as Array<[K, ItemWriter<T> & ItemStream]>);
  }

  async write(chunk: Chunk<T>, transaction: ChunkTransaction): Promise<void> {
    const groups = new Map<K, T[]>();
    for (const item of chunk) {
      const route = this.options.classify(item);
      if (!this.writers.has(route)) {
        throw new InvalidConfigurationError(`No writer for route '${route}'; known routes: ${[...this.writers.keys()].join(', ')}.`);
      }
      let group = groups.get(route);
      if (!group) groups.set(route, (group = []));
      group.push(item);
    }
    for (const [route, items] of groups) await this.writers.get(route)!.write(new Chunk(items), transaction);
  }

  async open(context: ExecutionContext): Promise<void> {
    for (const writer of this.writers.values()) await writer.open?.(context);
  }

  async update(context: ExecutionContext): Promise<void> {
    for (const writer of this.writers.values()) await writer.update?.(context);
  }

  async close(): Promise<void> {
    for (const writer of this.writers.values()) await writer.close?.();
  }
}

export function classifierWriter<T, K extends string>(options: ClassifierWriterOptions<T, K>): ClassifierItemWriter<T, K> {
  return new ClassifierItemWriter(options);
}
