/**
 * unpackValues builds records with code compiled per shape; where a process forbids generating code
 * from strings, it must fall back to assigning the keys one by one and give the same records.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const MODULE = new URL('../../../src/worker/processor-worker.mjs', import.meta.url).href;

const SCRIPT = `
import { packValues, unpackValues } from ${JSON.stringify(MODULE)};
let compiled = true;
try { new Function('return 1'); } catch { compiled = false; }
const values = [{ id: 1, name: 'a"b', '0': true, constructor: 'c' }, null, { id: 2, name: 'é', '0': false, constructor: 'd' }];
const rows = unpackValues(structuredClone(packValues(values)));
process.stdout.write(JSON.stringify({ compiled, rows, keys: rows.map((row) => (row === null ? null : Object.keys(row))) }));
`;

function unpackIn(flags: readonly string[]): { compiled: boolean; rows: unknown[]; keys: unknown[] } {
  return JSON.parse(execFileSync(process.execPath, [...flags, '--input-type=module', '-e', SCRIPT], { encoding: 'utf8' }));
}

describe('unpackValues where code generation is disallowed', () => {
  it('gives the same records, keys in the same order', () => {
    const normal = unpackIn([]);
    const restricted = unpackIn(['--disallow-code-generation-from-strings']);
    expect(normal.compiled).toBe(true);
    expect(restricted.compiled).toBe(false);
    expect(restricted.rows).toEqual(normal.rows);
    expect(restricted.keys).toEqual([['0', 'id', 'name', 'constructor'], null, ['0', 'id', 'name', 'constructor']]);
    expect(normal.rows).toEqual([{ id: 1, name: 'a"b', '0': true, constructor: 'c' }, null, { id: 2, name: 'é', '0': false, constructor: 'd' }]);
  });
});
