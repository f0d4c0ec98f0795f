/**
 * Values cross to and from worker threads packed as records (columns) when they share one shape.
 * Whatever the values, unpacking a structured clone of the packed form must give what a structured
 * clone of the values themselves gives: the same keys in the same order, the same values (-0, NaN,
 * nested objects, dates, undefined), and null where a value was null.
 */
import { inspect, isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { packValues, unpackValues } from '../../../src/worker/processor-worker.mjs';

/** Through the thread boundary and back, as postMessage would copy it. */
const crossed = (values: readonly unknown[], start?: number, end?: number): unknown[] => unpackValues(structuredClone(packValues(values, start, end)));

/**
 * What structured clone gives, key order included. isDeepStrictEqual rather than toStrictEqual:
 * it tells -0 from 0 and compares prototypes, where toStrictEqual reads an own `constructor` key
 * as the object's class.
 */
function expectSameAsClone(actual: unknown[], values: readonly unknown[]): void {
  const expected = structuredClone(values);
  if (!isDeepStrictEqual(actual, expected)) expect.fail(`${inspect(actual)} is not ${inspect(expected)}`);
  actual.forEach((value, index) => {
    if (value !== null && typeof value === 'object') expect(Object.keys(value)).toEqual(Object.keys(expected[index] as object));
  });
}

describe('packValues / unpackValues', () => {
  it('packs records of one shape as columns: numbers, strings, and anything else', () => {
    const values = [
      { n: 1, h: 'a1', when: new Date(1), tags: ['x'] },
      null,
      { n: -0, h: '', when: new Date(2), tags: [] },
      { n: NaN, h: 'é😀', when: null, tags: undefined },
    ];
    const packed = packValues(values);
    expect(Array.isArray(packed)).toBe(false);
    expect(packed).toMatchObject({
      kind: 'records',
      length: 4,
      keys: ['n', 'h', 'when', 'tags'],
      nulls: [1],
      columns: [{ kind: 'numbers' }, { kind: 'strings' }, { kind: 'values' }, { kind: 'values' }],
    });
    expectSameAsClone(crossed(values), values);
  });

  it('demotes a column that mixes kinds to plain values', () => {
    const values = [
      { a: 1, b: 'x' },
      { a: 'two', b: 2 },
      { a: 3, b: 'z' },
    ];
    expect(packValues(values)).toMatchObject({ columns: [{ kind: 'values' }, { kind: 'values' }] });
    expectSameAsClone(crossed(values), values);
  });

  it('leaves values without one shared shape as they are', () => {
    class Point {
      constructor(readonly x: number) {}
    }
    for (const values of [
      [{ a: 1 }, { b: 1 }],
      [{ a: 1, b: 2 }, { b: 2, a: 1 }],
      [{ a: 1 }, { a: 1, b: 2 }],
      [{ a: 1 }, new Point(1)],
      [1, 2, 3],
      ['a', 'b'],
      [[1], [2]],
      [{}, {}],
      [null, null],
      [{ a: 1 }],
      [JSON.parse('{"__proto__": 1}'), JSON.parse('{"__proto__": 2}')],
    ]) {
      expect(Array.isArray(packValues(values))).toBe(true);
      expect(crossed(values)).toStrictEqual(structuredClone(values));
    }
  });

  it('ignores what structured clone ignores: inherited, non-enumerable and symbol keys', () => {
    const hidden = Symbol('hidden');
    const values = [1, 2, 3].map((n) => {
      const value: Record<string | symbol, unknown> = Object.assign(Object.create(null) as object, { n });
      Object.defineProperty(value, 'secret', { value: n, enumerable: false });
      value[hidden] = n;
      return value;
    });
    expect(crossed(values)).toStrictEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it('packs a range of the values', () => {
    const values = Array.from({ length: 10 }, (_, i) => ({ i, s: `v${i}` }));
    expect(crossed(values, 3, 7)).toStrictEqual(values.slice(3, 7));
    expect(crossed(values, 9, 10)).toStrictEqual(values.slice(9, 10));
    expect(crossed(values, 4, 4)).toStrictEqual([]);
  });

  it('keeps one copy of an object that several records share, as structured clone does', () => {
    const shared = { config: true };
    const [first, second] = crossed([
      { n: 1, shared },
      { n: 2, shared },
    ]) as Array<{ shared: object }>;
    expect(first!.shared).toBe(second!.shared);
  });

  it('gives what structured clone gives, whatever the values (property)', () => {
    const field = fc.oneof(
      fc.double(),
      fc.integer(),
      fc.string(),
      fc.string({ unit: 'binary', maxLength: 5 }),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.bigInt(),
      fc.date({ noInvalidDate: true }),
      fc.array(fc.integer(), { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }),
    );
    const keys = fc.uniqueArray(fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('0', '7', '10', 'constructor', 'toString')), { minLength: 1, maxLength: 5 });
    const records = keys.chain((names) =>
      fc.array(
        fc.oneof(
          { weight: 8, arbitrary: fc.tuple(...names.map(() => field)).map((fields) => Object.fromEntries(names.map((name, i) => [name, fields[i]]))) },
          { weight: 1, arbitrary: fc.constant(null) },
          { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 3 }), field, { maxKeys: 3 }) },
        ),
        { maxLength: 30 },
      ),
    );
    fc.assert(
      fc.property(records, (values) => {
        expectSameAsClone(crossed(values), values);
      }),
      { numRuns: 300 },
    );
  });
});
