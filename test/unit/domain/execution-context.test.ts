import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExecutionContextValueError } from '../../../src/domain/errors.js';
import { ExecutionContext, type JsonValue } from '../../../src/domain/execution-context.js';

function rejected(key: string, value: unknown): ExecutionContextValueError {
  const context = new ExecutionContext();
  try {
    context.put(key, value as JsonValue);
  } catch (error) {
    expect(error).toBeInstanceOf(ExecutionContextValueError);
    expect(context.has(key)).toBe(false);
    return error as ExecutionContextValueError;
  }
  throw new Error(`put('${key}', ${String(value)}) was accepted`);
}

/** JSON has no -0 (it serialises as 0, and -0 === 0), so the round trip is compared with -0 read as 0. */
function withoutNegativeZero(value: unknown): unknown {
  if (Object.is(value, -0)) return 0;
  if (Array.isArray(value)) return value.map(withoutNegativeZero);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutNegativeZero(v)]));
  }
  return value;
}

class Cursor {
  constructor(readonly offset: number) {}
}

describe('ExecutionContext put/get/has/remove', () => {
  it('stores and returns values by key', () => {
    const context = new ExecutionContext();
    context.put('reader.read.count', 42);
    context.put('file', 'orders.csv');
    context.put('done', false);
    context.put('nothing', null);
    expect(context.get('reader.read.count')).toBe(42);
    expect(context.get<string>('file')).toBe('orders.csv');
    expect(context.get('done')).toBe(false);
    expect(context.get('nothing')).toBeNull();
    expect(context.has('nothing')).toBe(true);
    expect(context.has('missing')).toBe(false);
    expect(context.get('missing')).toBeUndefined();
    expect(context.size).toBe(4);
    expect(context.keys()).toEqual(['reader.read.count', 'file', 'done', 'nothing']);
  });

  it('put overwrites; remove deletes and reports whether the key was there', () => {
    const context = new ExecutionContext({ a: 1 });
    context.put('a', 2);
    expect(context.get('a')).toBe(2);
    expect(context.remove('a')).toBe(true);
    expect(context.has('a')).toBe(false);
    expect(context.remove('a')).toBe(false);
    expect(context.size).toBe(0);
  });

  it('accepts nested JSON: arrays, plain and null-prototype objects, shared (acyclic) references', () => {
    const context = new ExecutionContext();
    const shared = { x: 1 };
    const bare = Object.assign(Object.create(null) as Record<string, JsonValue>, { k: 'v' });
    const value = { list: [1, 'two', true, null, { deep: [[], {}] }], shared, again: shared, bare, n: -1.5e10 };
    context.put('state', value);
    expect(context.get('state')).toEqual(value);
    expect(JSON.parse(JSON.stringify(context.toJSON()))).toEqual({ state: JSON.parse(JSON.stringify(value)) });
  });
});

describe('ExecutionContext rejects values that would not survive JSON', () => {
  const cycle: Record<string, unknown> = { a: 1 };
  cycle.self = cycle;
  const arrayCycle: unknown[] = [];
  arrayCycle.push(arrayCycle);

  it.each([
    ['undefined', undefined],
    ['a function', () => 1],
    ['a symbol', Symbol('s')],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['a bigint', 12n],
    ['a Date', new Date(0)],
    ['a Map', new Map([['a', 1]])],
    ['a Set', new Set([1])],
    ['a class instance', new Cursor(3)],
    ['a cyclic object', cycle],
    ['a cyclic array', arrayCycle],
  ])('%s, with EXECUTION_CONTEXT_VALUE_INVALID naming the key', (_label, value) => {
    const error = rejected('writer.state', value);
    expect(error.code).toBe('EXECUTION_CONTEXT_VALUE_INVALID');
    expect(error.message).toContain("'writer.state");
  });

  it('names the path of a bad value nested in objects and arrays', () => {
    const error = rejected('k', { a: { b: [1, undefined] } });
    expect(error.code).toBe('EXECUTION_CONTEXT_VALUE_INVALID');
    expect(error.key).toBe('k.a.b[1]');
    expect(error.message).toContain("'k.a.b[1]'");
  });

  it('names the path of a nested Date and hints at toISOString', () => {
    const error = rejected('cursor', { last: { at: new Date(0) } });
    expect(error.key).toBe('cursor.last.at');
    expect(error.message).toContain('toISOString');
  });

  it('keeps the previous value when a put is rejected', () => {
    const context = new ExecutionContext();
    context.put('k', 'good');
    expect(() => context.put('k', { bad: Number.NaN })).toThrow(ExecutionContextValueError);
    expect(context.get('k')).toBe('good');
  });

  it('rejects an empty key', () => {
    const context = new ExecutionContext();
    expect(() => context.put('', 1)).toThrow(expect.objectContaining({ code: 'EXECUTION_CONTEXT_VALUE_INVALID' }));
  });
});

describe('ExecutionContext toJSON and copy', () => {
  it('toJSON is a plain snapshot that rebuilds an equal context', () => {
    const context = new ExecutionContext();
    context.put('a', 1);
    context.put('b', { c: ['d'] });
    const snapshot = context.toJSON();
    expect(snapshot).toEqual({ a: 1, b: { c: ['d'] } });
    const rebuilt = new ExecutionContext(JSON.parse(JSON.stringify(snapshot)));
    expect(rebuilt.toJSON()).toEqual(snapshot);
  });

  it('copy is independent: puts and removes on one do not show in the other', () => {
    const original = new ExecutionContext({ a: 1, b: 2 });
    const copy = original.copy();
    copy.put('a', 10);
    copy.remove('b');
    copy.put('c', 3);
    expect(original.toJSON()).toEqual({ a: 1, b: 2 });
    expect(copy.toJSON()).toEqual({ a: 10, c: 3 });
  });

  it('any JSON value put and round-tripped through JSON comes back equal (property)', () => {
    fc.assert(
      // '__proto__' keys are refused at put (storage would rename them); see the repository contract.
      fc.property(fc.string({ minLength: 1 }).filter((k) => k !== '__proto__'), fc.jsonValue().filter((v) => !JSON.stringify(v).includes('"__proto__"')), (key, value) => {
        const context = new ExecutionContext();
        context.put(key, value as JsonValue);
        expect(context.get(key)).toEqual(value);
        const restored = new ExecutionContext(JSON.parse(JSON.stringify(context.toJSON())));
        expect(restored.has(key)).toBe(true);
        expect(restored.get(key)).toEqual(withoutNegativeZero(value));
      }),
      { numRuns: 300 },
    );
  });
});
