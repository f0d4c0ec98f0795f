import { ExecutionContextValueError } from './errors.js';

/** A value that survives a JSON round trip unchanged. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

export type ExecutionContextSnapshot = Readonly<Record<string, JsonValue>>;

/**
 * The key/value state of a job or step execution that is committed with every chunk and handed
 * back on restart. Values are checked when put: anything JSON would alter or drop (undefined,
 * functions, NaN, Dates, Maps, class instances, cycles) is rejected there with the key named,
 * rather than lost silently at commit.
 */
export class ExecutionContext {
  private readonly entries = new Map<string, JsonValue>();
  private dirty = false;

  constructor(initial?: ExecutionContextSnapshot) {
    if (initial) for (const [key, value] of Object.entries(initial)) this.entries.set(key, value);
  }

  get<T extends JsonValue = JsonValue>(key: string): T | undefined {
    return this.entries.get(key) as T | undefined;
  }

  put(key: string, value: JsonValue): void {
    if (typeof key !== 'string' || key.length === 0) {
      throw new ExecutionContextValueError(String(key), 'the key must be a non-empty string');
    }
    assertWellFormedKey(key, key);
    assertJsonSafe(key, value, new Set());
    // A copy, so that changing the object afterwards cannot bypass these checks before the commit.
    this.entries.set(key, typeof value === 'object' && value !== null ? structuredClone(value) : value);
    this.dirty = true;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  remove(key: string): boolean {
    const removed = this.entries.delete(key);
    if (removed) this.dirty = true;
    return removed;
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  get size(): number {
    return this.entries.size;
  }

  /** @internal True when something was put or removed since the last commit. */
  isDirty(): boolean {
    return this.dirty;
  }

  /** @internal */
  clearDirty(): void {
    this.dirty = false;
  }

  /** @internal Returns to a snapshot taken with toJSON(), e.g. when a chunk rolls back. */
  restore(snapshot: ExecutionContextSnapshot): void {
    this.entries.clear();
    for (const [key, value] of Object.entries(snapshot)) this.entries.set(key, value);
  }

  toJSON(): ExecutionContextSnapshot {
    return Object.fromEntries(this.entries);
  }

  copy(): ExecutionContext {
    return new ExecutionContext(this.toJSON());
  }
}

/** Matches a UTF-16 surrogate without its partner: JSON keeps it, but UTF-8 storage cannot. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function assertWellFormedKey(path: string, key: string): void {
  if (key === '__proto__') throw new ExecutionContextValueError(path, "the key '__proto__' cannot be stored");
  if (LONE_SURROGATE.test(key)) throw new ExecutionContextValueError(path, 'the key contains an unpaired UTF-16 surrogate');
}

function assertJsonSafe(key: string, value: unknown, seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
      if (LONE_SURROGATE.test(value)) throw new ExecutionContextValueError(key, 'the string contains an unpaired UTF-16 surrogate');
      return;
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new ExecutionContextValueError(key, `${value} is not a finite number`);
      return;
    case 'undefined':
      throw new ExecutionContextValueError(key, 'undefined is not a JSON value (use remove() or null)');
    case 'bigint':
      throw new ExecutionContextValueError(key, 'a bigint is not a JSON value (store it as a string)');
    case 'function':
    case 'symbol':
      throw new ExecutionContextValueError(key, `a ${typeof value} is not a JSON value`);
    case 'object': {
      if (value === null) return;
      if (seen.has(value)) throw new ExecutionContextValueError(key, 'the value contains a cycle');
      seen.add(value);
      if (Array.isArray(value)) {
        value.forEach((element, index) => assertJsonSafe(`${key}[${index}]`, element, seen));
      } else {
        const prototype = Object.getPrototypeOf(value) as unknown;
        if (prototype !== Object.prototype && prototype !== null) {
          const kind = (value as object).constructor?.name ?? 'object';
          const hint = value instanceof Date ? ' (store date.toISOString())' : '';
          throw new ExecutionContextValueError(key, `a ${kind} is not a plain object${hint}`);
        }
        for (const child of Object.keys(value)) {
          assertWellFormedKey(`${key}.${child}`, child);
          assertJsonSafe(`${key}.${child}`, (value as Record<string, unknown>)[child], seen);
        }
      }
      seen.delete(value);
      return;
    }
  }
}

/**
 * Throws ExecutionContextValueError, naming `path`, when `value` would not survive a JSON round
 * trip unchanged. Work-chunk data and reports are checked with it before they are stored.
 */
export function assertJsonValue(path: string, value: unknown): void {
  assertJsonSafe(path, value, new Set());
}

/**
 * The most a context may hold, as JSON. Every commit writes the whole context, so a context that
 * holds data instead of positions makes every chunk slower; past this it is refused at the commit.
 */
export const MAX_CONTEXT_BYTES = 1024 * 1024;

/** Throws ExecutionContextValueError when a context is over MAX_CONTEXT_BYTES as JSON. */
export function assertContextSize(snapshot: ExecutionContextSnapshot, owner: string): void {
  const size = Buffer.byteLength(JSON.stringify(snapshot));
  if (size > MAX_CONTEXT_BYTES) {
    throw new ExecutionContextValueError(
      `(${owner})`,
      `the whole context is ${size} bytes, over the limit of ${MAX_CONTEXT_BYTES}; keep positions and small state in it, and data elsewhere`,
    );
  }
}
