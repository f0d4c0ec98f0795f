import { chmodSync, mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ExecutionContext } from '../../../src/domain/execution-context.js';
import { ParseError } from '../../../src/domain/errors.js';
import { csvReader, type CsvItemReader, type CsvRecord } from '../../../src/item/file/csv-item-reader.js';
import { isPromiseLike } from '../../../src/support/awaitable.js';
import { permissionsEnforced, readAcrossRestart, readOutcomes, temporaryDirectory } from './fixtures/files.js';

let dir: ReturnType<typeof temporaryDirectory>;
beforeEach(() => {
  dir = temporaryDirectory('csv-reader');
});
afterEach(() => dir.remove());

function csvFile(name: string, content: string): string {
  const path = dir.file(name);
  writeFileSync(path, content);
  return path;
}

async function readAll<T>(reader: CsvItemReader<T>) {
  const outcomes = await readOutcomes(reader);
  await reader.close();
  return outcomes;
}

describe('CsvItemReader', () => {
  it('maps fields by the names of the header line', async () => {
    const path = csvFile('people.csv', 'id,name,city\n1,Ada,London\n2,Alan,Wilmslow\n');
    const outcomes = await readAll(csvReader({ path, columns: true }));
    expect(outcomes).toEqual([{ item: { id: '1', name: 'Ada', city: 'London' } }, { item: { id: '2', name: 'Alan', city: 'Wilmslow' } }]);
  });

  it('takes explicit column names, reading the first line as data unless header is true', async () => {
    const path = csvFile('plain.csv', 'a,b\n1,2\n');
    expect(await readAll(csvReader({ path, columns: ['x', 'y'] }))).toEqual([{ item: { x: 'a', y: 'b' } }, { item: { x: '1', y: '2' } }]);
    expect(await readAll(csvReader({ path, columns: ['x', 'y'], header: true }))).toEqual([{ item: { x: '1', y: '2' } }]);
  });

  it('reads quoted fields holding delimiters, doubled quotes and line breaks, and counts their lines', async () => {
    const path = csvFile('quoted.csv', 'id,text\n1,"a, b"\n2,"say ""hi"""\n3,"two\nlines"\n4,"crlf\r\ninside"\n5,plain\n');
    const lines: number[] = [];
    const outcomes = await readAll(
      csvReader({
        path,
        columns: true,
        map: (record, line) => {
          lines.push(line);
          return record.text;
        },
      }),
    );
    expect(outcomes).toEqual([{ item: 'a, b' }, { item: 'say "hi"' }, { item: 'two\nlines' }, { item: 'crlf\r\ninside' }, { item: 'plain' }]);
    expect(lines).toEqual([2, 3, 4, 6, 8]);
  });

  it('reads CRLF line endings, a UTF-8 BOM and a missing final line break, and ignores blank lines', async () => {
    const path = csvFile('windows.csv', '\ufeffid,name\r\n1,Ada\r\n\r\n2,Grace');
    const outcomes = await readAll(csvReader({ path, columns: true }));
    expect(outcomes).toEqual([{ item: { id: '1', name: 'Ada' } }, { item: { id: '2', name: 'Grace' } }]);
  });

  it('keeps the last of repeated names, and no field named after Object.prototype members becomes a prototype', async () => {
    const path = csvFile('names.csv', 'a,__proto__,a,toString\n1,2,3,4\n');
    expect(await readAll(csvReader({ path, columns: true }))).toEqual([{ item: { a: '3', toString: '4' } }]);
    const twice = csvFile('twice.csv', 'a,__proto__,__proto__\n1,2,3\n');
    const [outcome] = await readAll(csvReader({ path: twice, columns: true }));
    expect(outcome).toEqual({ item: { a: '1' } });
    expect(Object.getPrototypeOf((outcome as { item: object }).item)).toBe(Object.prototype);
  });

  it('honours another quote, or none', async () => {
    const single = csvFile('single.csv', "id,name\n1,'O\"'Brien, Pat'\n2,\"as is\"\n");
    expect(await readAll(csvReader({ path: single, columns: true, quote: "'" }))).toEqual([
      { item: { id: '1', name: "O'Brien, Pat" } },
      { item: { id: '2', name: '"as is"' } },
    ]);
    const none = csvFile('none.csv', 'id,name\n1,"a"\n');
    expect(await readAll(csvReader({ path: none, columns: true, quote: '' }))).toEqual([{ item: { id: '1', name: '"a"' } }]);
    expect(() => csvReader({ path: none, columns: true, quote: '\n' })).toThrow(/Invalid option quote/);
    expect(() => csvReader({ path: none, columns: true, delimiter: ';', quote: ';' })).toThrow(/could not be told apart/);
  });

  it('reports a malformed header line and still takes its names', async () => {
    const path = csvFile('bad-header.csv', 'id,na"me\n1,a\n2,b\n');
    expect(await readAll(csvReader({ path, columns: true }))).toEqual([
      { parseErrorAt: 1, message: expect.stringContaining(`${path}:1: a quote appears inside an unquoted field (column 1)`) },
      { item: { id: '1', 'na"me': 'a' } },
      { item: { id: '2', 'na"me': 'b' } },
    ]);
  });

  it('honours another delimiter', async () => {
    const path = csvFile('semi.csv', 'id;name\n1;"A;da"\n');
    expect(await readAll(csvReader({ path, columns: true, delimiter: ';' }))).toEqual([{ item: { id: '1', name: 'A;da' } }]);
  });

  it('maps records to typed items, and a rejected record becomes a ParseError naming file and line', async () => {
    const Person = z.object({ id: z.coerce.number().int(), name: z.string().min(1) });
    const path = csvFile('typed.csv', 'id,name\n1,Ada\nx,Bob\n3,\n4,Linus\n');
    const reader = csvReader({ path, columns: true, map: (record) => Person.parse(record) });
    const first = await reader.read();
    expect(first).toEqual({ id: 1, name: 'Ada' });
    const error = await Promise.resolve()
      .then(() => reader.read())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParseError);
    expect(error).toMatchObject({ code: 'PARSE_FAILED', resource: path, lineNumber: 3 });
    expect((error as ParseError).message).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: map\\(\\) rejected the record: id: `));
    const rest = await readAll(reader);
    expect(rest).toEqual([{ parseErrorAt: 4, message: expect.stringContaining('name:') }, { item: { id: 4, name: 'Linus' } }]);
  });

  it('reports malformed records as ParseErrors in file order and reads on after each', async () => {
    const path = csvFile(
      'bad.csv',
      ['id,name', '1,a', '2,b,extra', '3,c', 'x"y,d', '4,"multi', 'line"', '5', '6,f', '7,"never closed', '8,g', ''].join('\n'),
    );
    const outcomes = await readAll(csvReader({ path, columns: true, map: (r) => Number(r.id) }));
    expect(outcomes).toEqual([
      { item: 1 },
      { parseErrorAt: 3, message: `${path}:3: expected 2 fields (id, name), found 3` },
      { item: 3 },
      { parseErrorAt: 5, message: expect.stringContaining(`${path}:5: a quote appears inside an unquoted field`) },
      { item: 4 },
      { parseErrorAt: 8, message: `${path}:8: expected 2 fields (id, name), found 1` },
      { item: 6 },
      { parseErrorAt: 10, message: expect.stringContaining(`${path}:10: a quoted field is not closed`) },
    ]);
  });

  it('reports a field that goes on after its closing quote once, and reads on once the quotes line up again', async () => {
    const path = csvFile('closing.csv', 'id,v\n1,a\n2,"b"c\n3,"d"\n4,e\n');
    const outcomes = await readAll(csvReader({ path, columns: true, map: (r) => Number(r.id) }));
    // csv-parse stays inside the quoted field until the next quote: record 3 is part of the broken stretch.
    expect(outcomes).toEqual([
      { item: 1 },
      { parseErrorAt: 3, message: expect.stringContaining(`${path}:3: a closing quote is followed by other characters`) },
      { item: 4 },
    ]);
  });

  describe('restart', () => {
    const content = [
      'id,text',
      '1,one',
      '2,"multi',
      'line, quoted"',
      '',
      '3,"crlf\r\ninside"\r',
      '4,too,many',
      '5,"x""y"',
      'x"y,stray',
      '6,six',
      '7,"last',
      'record"',
    ].join('\n');

    it('resumes after every position with exactly the remaining records and errors', async () => {
      const path = csvFile('restart.csv', content);
      const create = () => csvReader({ path, columns: true, map: (r, line) => `${r.id}@${line}` });
      const full = await readAll(create());
      expect(full.map((o) => ('item' in o ? o.item : `error@${o.parseErrorAt}`))).toEqual([
        '1@2',
        '2@3',
        '3@6',
        'error@8',
        '5@9',
        'error@10',
        '6@11',
        '7@12',
      ]);
      for (let k = 0; k <= full.length; k++) {
        const { before, after } = await readAcrossRestart(create, k);
        expect([...before, ...after], `restart after ${k} reads`).toEqual(full);
      }
    });

    it('stores the byte offset just after the last record handed out, its line and the header', async () => {
      const path = csvFile('offset.csv', 'id,text\r\n1,"a\r\nb"\r\n2,c\r\n');
      const { context } = await readAcrossRestart(() => csvReader({ path, columns: true, name: 'input' }), 1);
      expect(context.toJSON()).toEqual({
        'input.offset': Buffer.byteLength('id,text\r\n1,"a\r\nb"\r\n'),
        'input.line': 3,
        'input.errors': 0,
        'input.count': 1,
        'input.header': ['id', 'text'],
      });
    });

    it('resumes with explicit columns and a skipped header line', async () => {
      const path = csvFile('explicit.csv', 'ignored,header\n1,a\n2,b\n3,c\n');
      const create = () => csvReader({ path, columns: ['n', 'v'], header: true });
      const { before, after } = await readAcrossRestart(create, 2);
      expect([...before, ...after]).toEqual([{ item: { n: '1', v: 'a' } }, { item: { n: '2', v: 'b' } }, { item: { n: '3', v: 'c' } }]);
    });

    it('parses only what follows the offset when resuming near the end of a large file', async () => {
      const total = 200_000;
      const lines = ['id,name,amount'];
      for (let i = 1; i <= total; i++) lines.push(`${i},"name, ${i}",${i * 7}`);
      const path = csvFile('large.csv', lines.join('\n') + '\n');
      const create = () => csvReader({ path, columns: true, map: (r) => Number(r.id) });

      const context = new ExecutionContext();
      const first = create();
      await first.open(context);
      let last = 0;
      let syncReads = 0;
      for (let i = 0; i < total - 10; i++) {
        const result = first.read();
        if (!isPromiseLike(result)) syncReads++;
        last = (await result) as number;
      }
      first.update(context);
      await first.close();
      expect(last).toBe(total - 10);
      // Reads are served from the buffer, not one disk round trip each.
      expect(syncReads).toBeGreaterThan((total - 10) * 0.95);

      const resumed = create();
      await resumed.open(new ExecutionContext(context.toJSON()));
      const rest = await readOutcomes(resumed);
      expect(rest.map((o) => ('item' in o ? o.item : o))).toEqual(Array.from({ length: 10 }, (_, i) => total - 9 + i));
      expect(resumed.parsedCount).toBe(10);
      expect(resumed.readCount).toBe(total);
      await resumed.close();
    });

    it('parses ahead only a bounded number of records', async () => {
      const lines = ['id'];
      for (let i = 1; i <= 100_000; i++) lines.push(String(i));
      const path = csvFile('bounded.csv', lines.join('\n'));
      const reader = csvReader({ path, columns: true, bufferSize: 100 });
      await reader.open(new ExecutionContext());
      await reader.read();
      await new Promise((resolve) => setTimeout(resolve, 50));
      // The buffer's 100 records plus at most one 64 KiB file chunk's worth.
      expect(reader.parsedCount).toBeLessThan(100 + 65_536 / 2);
      await reader.close();
    });

    it('refuses to resume past the end of a file that was truncated since', async () => {
      const path = csvFile('shrunk.csv', 'id\n1\n2\n3\n');
      const context = new ExecutionContext();
      const reader = csvReader({ path, columns: true });
      await reader.open(context);
      await reader.read();
      await reader.read();
      reader.update(context);
      await reader.close();
      truncateSync(path, 3);
      await expect(csvReader({ path, columns: true }).open(context)).rejects.toMatchObject({
        code: 'ITEM_STREAM_FAILED',
        message: expect.stringMatching(/is 3 bytes long, but the step's last commit had read it up to byte 7/),
      });
    });
  });

  describe('multi-byte text and file chunks', () => {
    /**
     * ~200 KB of records, so that the reader's 64 KiB reads cut through a 3-byte '€' (at 64 KiB)
     * and through a quoted field holding line breaks (at 128 KiB). Gives the byte end of every
     * record, and the indexes of the two cut records.
     */
    function straddlingFile(): { path: string; ends: number[]; cutCharacter: number; cutField: number } {
      const lines: string[] = ['id,text\n'];
      let bytes = Buffer.byteLength('id,text\n');
      const ends: number[] = [];
      const add = (line: string): number => {
        lines.push(line);
        bytes += Buffer.byteLength(line);
        ends.push(bytes);
        return ends.length - 1;
      };
      while (bytes < 65_536 - 100) add(`${ends.length + 1},plain ascii text\n`);
      const prefix = `${ends.length + 1},`;
      const cutCharacter = add(`${prefix}${'x'.repeat(65_536 - 1 - bytes - prefix.length)}€ and ü after\n`);
      while (bytes < 131_072 - 30) add(`${ends.length + 1},"żółw, ""quoted"""\n`);
      const cutField = add(`${ends.length + 1},"a field\r\nholding line breaks\ncrossing the next read"\r\n`);
      while (bytes < 200_000) add(`${ends.length + 1},日本語 ${ends.length + 1}\n`);
      return { path: csvFile('straddling.csv', lines.join('')), ends, cutCharacter, cutField };
    }

    it('decodes characters and quoted fields cut by a read, and saves the exact byte end of each record', async () => {
      const { path, ends, cutCharacter, cutField } = straddlingFile();
      expect(ends[cutCharacter - 1]).toBeLessThan(65_536);
      expect(ends[cutCharacter]).toBeGreaterThan(65_536);
      expect(ends[cutField - 1]).toBeLessThan(131_072);
      expect(ends[cutField]).toBeGreaterThan(131_072);
      const reader = csvReader({ path, columns: true, map: (r) => ({ id: Number(r.id), text: r.text }) });
      const context = new ExecutionContext();
      await reader.open(context);
      const offsets: unknown[] = [];
      const items: { id: number; text: string | undefined }[] = [];
      for (let item = await reader.read(); item !== null; item = await reader.read()) {
        items.push(item);
        reader.update(context);
        offsets.push(context.get('csvReader.offset'));
      }
      await reader.close();
      expect(items.map((i) => i.id)).toEqual(ends.map((_, i) => i + 1));
      expect(offsets).toEqual(ends);
      expect(items[cutCharacter]?.text).toMatch(/^x+€ and ü after$/);
      expect(items[cutCharacter + 1]?.text).toBe('żółw, "quoted"');
      expect(items[cutField]?.text).toBe('a field\r\nholding line breaks\ncrossing the next read');
      expect(items[cutField + 1]?.text).toBe(`日本語 ${cutField + 2}`);
    });

    it('resumes after the records around a cut character or field with the rest of the file and the right line numbers', async () => {
      const { path, ends, cutCharacter, cutField } = straddlingFile();
      const create = () => csvReader({ path, columns: true, map: (r, line) => `${r.id}@${line}` });
      const full = await readAll(create());
      expect(full).toHaveLength(ends.length);
      // Record i is on line i + 2 (the header is line 1), and the cut field spans three lines.
      expect(full[cutField]).toEqual({ item: `${cutField + 1}@${cutField + 2}` });
      expect(full[cutField + 1]).toEqual({ item: `${cutField + 2}@${cutField + 5}` });
      for (const k of [cutCharacter, cutCharacter + 1, cutField, cutField + 1, ends.length - 1]) {
        const { before, after } = await readAcrossRestart(create, k);
        expect([...before, ...after], `restart after ${k} reads`).toEqual(full);
      }
    });

    it('reads Latin-1 and rejects encodings whose line breaks are not single bytes', async () => {
      const path = dir.file('latin1.csv');
      writeFileSync(path, Buffer.from('id,name\n1,Zoë\n2,Çà\n', 'latin1'));
      const { before, after, context } = await readAcrossRestart(() => csvReader({ path, columns: true, encoding: 'latin1' }), 1);
      expect([...before, ...after]).toEqual([{ item: { id: '1', name: 'Zoë' } }, { item: { id: '2', name: 'Çà' } }]);
      expect(context.get('csvReader.offset')).toBe('id,name\n1,Zoë\n'.length);
      expect(() => csvReader({ path, columns: true, encoding: 'utf16le' })).toThrow(/encoding "utf16le" is not supported/);
    });
  });

  describe('open', () => {
    it('fails with an ItemStreamError naming a missing file', async () => {
      const path = dir.file('missing.csv');
      await expect(csvReader({ path, columns: true }).open(new ExecutionContext())).rejects.toMatchObject({
        name: 'ItemStreamError',
        code: 'ITEM_STREAM_FAILED',
        resource: path,
        message: expect.stringContaining(`CSV input '${path}' does not exist`),
      });
    });

    it('fails with an ItemStreamError for a directory', async () => {
      const path = dir.file('folder');
      mkdirSync(path);
      await expect(csvReader({ path, columns: true }).open(new ExecutionContext())).rejects.toMatchObject({
        code: 'ITEM_STREAM_FAILED',
        message: expect.stringContaining(`CSV input '${path}' is a directory`),
      });
    });

    it.skipIf(!permissionsEnforced)('fails with an ItemStreamError for an unreadable file', async () => {
      const path = csvFile('secret.csv', 'id\n1\n');
      chmodSync(path, 0o000);
      await expect(csvReader({ path, columns: true }).open(new ExecutionContext())).rejects.toMatchObject({
        code: 'ITEM_STREAM_FAILED',
        message: expect.stringContaining('permission denied'),
      });
    });

    it('opens on the first read when used outside a step, and refuses reads once closed', async () => {
      const path = csvFile('implicit.csv', 'id\n1\n');
      const reader = csvReader({ path, columns: true });
      expect(await reader.read()).toEqual({ id: '1' } satisfies CsvRecord);
      expect(await reader.read()).toBeNull();
      await reader.close();
      await expect(Promise.resolve().then(() => reader.read())).rejects.toMatchObject({ code: 'ITEM_STREAM_FAILED' });
    });

    it('rejects contradictory options at construction', () => {
      expect(() => csvReader({ path: 'x.csv', columns: true, header: false })).toThrow(/contradicts/);
      expect(() => csvReader({ path: 'x.csv', columns: [] })).toThrow(/non-empty array/);
      expect(() => csvReader({ path: 'x.csv', columns: ['a', 'a'] })).toThrow(/twice/);
      expect(() => csvReader({ path: 'x.csv', columns: true, delimiter: '' })).toThrow(/Invalid option delimiter/);
    });
  });
});
