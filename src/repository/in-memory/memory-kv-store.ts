import type { KvReader, KvStore, KvTransaction, RangeOptions } from '../kv-store.js';

const DELETED = Symbol('deleted');

/**
 * A store that lives and dies with the process: for tests and throwaway runs. Transactions are
 * all-or-nothing like LMDB's, and values are copied in and out so nothing aliases stored state.
 */
export class MemoryKvStore implements KvStore {
  private readonly data = new Map<string, unknown>();

  async write<T>(work: (tx: KvTransaction) => T): Promise<T> {
    const pending = new Map<string, unknown>();
    const tx: KvTransaction = {
      get: <V>(key: string) => {
        const value = pending.has(key) ? pending.get(key) : this.data.get(key);
        return value === DELETED || value === undefined ? undefined : (structuredClone(value) as V);
      },
      range: <V>(prefix: string, options?: RangeOptions) => this.rangeOf<V>(prefix, options, pending),
      put: (key, value) => void pending.set(key, structuredClone(value)),
      remove: (key) => void pending.set(key, DELETED),
    };
    const result = work(tx);
    for (const [key, value] of pending) {
      if (value === DELETED) this.data.delete(key);
      else this.data.set(key, value);
    }
    return result;
  }

  read<T>(work: (tx: KvReader) => T): T {
    return work({
      get: <V>(key: string) => {
        const value = this.data.get(key);
        return value === undefined ? undefined : (structuredClone(value) as V);
      },
      range: <V>(prefix: string, options?: RangeOptions) => this.rangeOf<V>(prefix, options, new Map()),
    });
  }

  async close(): Promise<void> {}

  private rangeOf<V>(prefix: string, options: RangeOptions = {}, pending: Map<string, unknown>) {
    const keys = new Set<string>();
    for (const key of this.data.keys()) if (key.startsWith(prefix)) keys.add(key);
    for (const key of pending.keys()) if (key.startsWith(prefix)) keys.add(key);
    let ordered = [...keys].sort(compareBytewise);
    const start = options.start;
    if (start !== undefined && !options.reverse) ordered = ordered.filter((key) => compareBytewise(key, start) >= 0);
    if (options.reverse) ordered.reverse();
    const entries: Array<{ key: string; value: V }> = [];
    for (const key of ordered) {
      const value = pending.has(key) ? pending.get(key) : this.data.get(key);
      if (value === DELETED || value === undefined) continue;
      entries.push({ key, value: structuredClone(value) as V });
      if (options.limit !== undefined && entries.length >= options.limit) break;
    }
    return entries;
  }
}

function compareBytewise(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
