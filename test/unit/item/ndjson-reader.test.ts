import { mkdirSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ExecutionContext } from '../../../src/domain/execution-context.js';
import { ParseError } from '../../../src/domain/errors.js';
import { ndjsonReader } from '../../../src/item/file/ndjson-item-reader.js';
import { readAcrossRestart, readOutcomes, temporaryDirectory } from './fixtures/files.js';

let dir: ReturnType<typeof temporaryDirectory>;
beforeEach(() => {
  dir = temporaryDirectory('ndjson-reader');
});
afterEach(() => dir.remove());

function ndjsonFile(name: string, content: string): string {
  const path = dir.file(name);
  writeFileSync(path, content);
  return path;
}

describe('NdjsonItemReader', () => {
  it('reads one JSON value per line, ignoring blank lines, CRLF endings and a BOM', async () => {
    const path = ndjsonFile('values.ndjson', '\ufeff{"id":1}\r\n\r\n  \n[1,2]\n"text"\n\t\n42\nnull\n{"last":true}');
    const reader = ndjsonReader({ path });
    expect(await readOutcomes(reader)).toEqual([
      { item: { id: 1 } },
      { item: [1, 2] },
      { item: 'text' },
      { item: 42 },
      // null would read as the end of the input: it is reported, and reading goes on.
      { parseErrorAt: 8, message: expect.stringContaining(':8: the record gives null, which a reader cannot return') },
      { item: { last: true } },
    ]);
    await reader.close();
  });

  it('reports a line that is not JSON as a ParseError naming file and line, then reads on', async () => {
    const path = ndjsonFile('broken.ndjson', '{"id":1}\n{"id":2\n\n{"id":3}\n');
    const reader = ndjsonReader({ path });
    expect(await reader.read()).toEqual({ id: 1 });
    const error = await Promise.resolve()
      .then(() => reader.read())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParseError);
    expect(error).toMatchObject({ code: 'PARSE_FAILED', resource: path, lineNumber: 2, input: '{"id":2' });
    expect((error as Error).message).toContain(`${path}:2: not valid JSON`);
    expect(await reader.read()).toEqual({ id: 3 });
    expect(await reader.read()).toBeNull();
    await reader.close();
  });

  it('maps and validates values; a rejected value is a ParseError with the failing field', async () => {
    const Order = z.object({ id: z.number().int(), total: z.number().nonnegative() });
    const path = ndjsonFile('orders.ndjson', '{"id":1,"total":9.5}\n{"id":2,"total":-1}\n{"id":3,"total":0}\n');
    const reader = ndjsonReader({ path, map: (value, line) => ({ ...Order.parse(value), line }) });
    expect(await readOutcomes(reader)).toEqual([
      { item: { id: 1, total: 9.5, line: 1 } },
      { parseErrorAt: 2, message: expect.stringMatching(/:2: map\(\) rejected the value: total: /) },
      { item: { id: 3, total: 0, line: 3 } },
    ]);
    await reader.close();
  });

  it('decodes multi-byte characters of lines longer than a file chunk', async () => {
    const long = '€'.repeat(40_000); // 120,000 bytes: spans two 64 KiB chunks
    const path = ndjsonFile('long.ndjson', `${JSON.stringify({ long })}\n${JSON.stringify({ short: 'ü' })}\n`);
    const reader = ndjsonReader({ path });
    expect(await readOutcomes(reader)).toEqual([{ item: { long } }, { item: { short: 'ü' } }]);
    await reader.close();
  });

  it('resumes after every position with exactly the remaining lines and errors', async () => {
    const path = ndjsonFile('restart.ndjson', '\ufeff{"n":1}\r\n\nnot json\n{"n":2}\n   \n{"n":3}\n{"n":\n{"n":4}');
    const create = () => ndjsonReader({ path, map: (v, line) => `${(v as { n: number }).n}@${line}` });
    const full = await readOutcomes(create());
    expect(full.map((o) => ('item' in o ? o.item : `error@${o.parseErrorAt}`))).toEqual(['1@1', 'error@3', '2@4', '3@6', 'error@7', '4@8']);
    for (let k = 0; k <= full.length; k++) {
      const { before, after } = await readAcrossRestart(create, k);
      expect([...before, ...after], `restart after ${k} reads`).toEqual(full);
    }
  });

  it('stores the byte offset just after the last line handed out', async () => {
    const path = ndjsonFile('offset.ndjson', '{"a":"é"}\r\n{"b":2}\n');
    const { context } = await readAcrossRestart(() => ndjsonReader({ path, name: 'events' }), 1);
    expect(context.toJSON()).toEqual({ 'events.offset': Buffer.byteLength('{"a":"é"}\r\n'), 'events.line': 1, 'events.errors': 0, 'events.count': 1 });
  });

  it('parses only what follows the offset when resuming near the end of a large file', async () => {
    const total = 200_000;
    const lines: string[] = [];
    for (let i = 1; i <= total; i++) lines.push(JSON.stringify({ id: i, name: `name ${i}` }));
    const path = ndjsonFile('large.ndjson', lines.join('\n') + '\n');
    const create = () => ndjsonReader({ path, map: (v) => (v as { id: number }).id });
    const context = new ExecutionContext();
    const first = create();
    await first.open(context);
    for (let i = 0; i < total - 5; i++) await first.read();
    first.update(context);
    await first.close();

    const resumed = create();
    await resumed.open(new ExecutionContext(context.toJSON()));
    expect(await readOutcomes(resumed)).toEqual([1, 2, 3, 4, 5].map((i) => ({ item: total - 5 + i })));
    expect(resumed.parsedCount).toBe(5);
    await resumed.close();
  });

  it('fails to open a missing file or a directory with an ItemStreamError naming the path', async () => {
    const missing = dir.file('missing.ndjson');
    await expect(ndjsonReader({ path: missing }).open(new ExecutionContext())).rejects.toMatchObject({
      code: 'ITEM_STREAM_FAILED',
      message: expect.stringContaining(`NDJSON input '${missing}' does not exist`),
    });
    const folder = dir.file('folder');
    mkdirSync(folder);
    await expect(ndjsonReader({ path: folder }).open(new ExecutionContext())).rejects.toMatchObject({
      code: 'ITEM_STREAM_FAILED',
      message: expect.stringContaining('is a directory'),
    });
  });
});
