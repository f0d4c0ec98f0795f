import { mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Chunk } from '../../../src/domain/chunk.js';
import { ExecutionContext } from '../../../src/domain/execution-context.js';
import { csvReader } from '../../../src/item/file/csv-item-reader.js';
import { csvWriter } from '../../../src/item/file/csv-item-writer.js';
import { readOutcomes, temporaryDirectory } from './fixtures/files.js';
import { failMidWrite, watchDurability } from './fixtures/durability.js';

interface Person {
  readonly id: number;
  readonly name: string;
  readonly active: boolean;
}

let dir: ReturnType<typeof temporaryDirectory>;
beforeEach(() => {
  dir = temporaryDirectory('csv-writer');
});
afterEach(() => {
  vi.restoreAllMocks();
  dir.remove();
});

const people = (from: number, to: number): Person[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ id: from + i, name: `person ${from + i}`, active: (from + i) % 2 === 0 }));

describe('CsvItemWriter', () => {
  it('writes a header from the columns and quotes fields that need it', async () => {
    const path = dir.file('out.csv');
    const writer = csvWriter<{ id: number; text: string; when: Date; tags: string[] }>({
      path,
      columns: ['id', { key: 'text', header: 'Text' }, 'when', 'tags'],
    });
    await writer.open(new ExecutionContext());
    await writer.write(
      new Chunk([
        { id: 1, text: 'comma, inside', when: new Date('2024-01-02T03:04:05Z'), tags: ['a'] },
        { id: 2, text: 'quote " and\nline break', when: new Date(0), tags: [] },
      ]),
    );
    await writer.close();
    expect(readFileSync(path, 'utf8')).toBe(
      'id,Text,when,tags\n' + '1,"comma, inside",2024-01-02T03:04:05.000Z,"[""a""]"\n' + '2,"quote "" and\nline break",1970-01-01T00:00:00.000Z,[]\n',
    );
    const back = await readOutcomes(csvReader({ path, columns: true, map: (r) => r.Text }));
    expect(back).toEqual([{ item: 'comma, inside' }, { item: 'quote " and\nline break' }]);
  });

  it('selects and orders fields by columns, writing booleans as true/false', async () => {
    const path = dir.file('selected.csv');
    const writer = csvWriter<Person>({ path, columns: ['name', 'active'], header: false });
    await writer.open(new ExecutionContext());
    await writer.write(new Chunk(people(1, 2)));
    await writer.close();
    expect(readFileSync(path, 'utf8')).toBe('person 1,false\nperson 2,true\n');
  });

  it('overwrites an existing file on a first run, and appends to it in append mode', async () => {
    const path = dir.file('existing.csv');
    writeFileSync(path, 'old content\n');
    const overwrite = csvWriter<Person>({ path, columns: ['id', 'name'] });
    await overwrite.open(new ExecutionContext());
    await overwrite.write(new Chunk(people(1, 1)));
    await overwrite.close();
    expect(readFileSync(path, 'utf8')).toBe('id,name\n1,person 1\n');

    const append = csvWriter<Person>({ path, columns: ['id', 'name'], mode: 'append' });
    await append.open(new ExecutionContext());
    await append.write(new Chunk(people(2, 2)));
    await append.close();
    // The file was not empty, so no second header.
    expect(readFileSync(path, 'utf8')).toBe('id,name\n1,person 1\n2,person 2\n');

    const fresh = dir.file('fresh.csv');
    const appendNew = csvWriter<Person>({ path: fresh, columns: ['id'], mode: 'append' });
    await appendNew.open(new ExecutionContext());
    await appendNew.write(new Chunk(people(1, 1)));
    await appendNew.close();
    expect(readFileSync(fresh, 'utf8')).toBe('id\n1\n');
  });

  it('writes a custom header and, on close, a footer with the count of all items written', async () => {
    const path = dir.file('framed.csv');
    const create = () => csvWriter<Person>({ path, columns: ['id'], header: () => '# people export', footer: (count) => `# ${count} people` });
    const context = new ExecutionContext();
    const first = create();
    await first.open(context);
    await first.write(new Chunk(people(1, 2)));
    first.update(context);
    await first.close();
    expect(first.footerWritten).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe('# people export\n1\n2\n# 2 people\n');

    // A restart cuts the footer (it lies past the committed offset) and writes it again at the end.
    const second = create();
    await second.open(new ExecutionContext(context.toJSON()));
    await second.write(new Chunk(people(3, 3)));
    second.update(context);
    await second.close();
    expect(readFileSync(path, 'utf8')).toBe('# people export\n1\n2\n3\n# 3 people\n');
  });

  it('takes the columns of object items from the first item and keeps them across a restart', async () => {
    const path = dir.file('inferred.csv');
    const context = new ExecutionContext();
    const first = csvWriter<Record<string, unknown>>({ path });
    await first.open(context);
    await first.write(new Chunk([{ b: 1, a: 2 }]));
    first.update(context);
    expect(context.get('csvWriter.columns')).toEqual(['b', 'a']);
    const second = csvWriter<Record<string, unknown>>({ path });
    await second.open(new ExecutionContext(context.toJSON()));
    await second.write(new Chunk([{ a: 4, b: 3, c: 5 }]));
    await second.close();
    expect(readFileSync(path, 'utf8')).toBe('1,2\n3,4\n');
  });

  it('truncates on reopen to the committed offset, so a chunk that did not commit is written once', async () => {
    const path = dir.file('restart.csv');
    const create = () => csvWriter<Person>({ path, columns: ['id', 'name'] });
    const context = new ExecutionContext();
    const crashed = create();
    await crashed.open(context);
    await crashed.write(new Chunk(people(1, 2)));
    crashed.update(context);
    await crashed.write(new Chunk(people(3, 4)));
    crashed.update(context);
    const committed = context.toJSON(); // the commit of chunk 2
    await crashed.write(new Chunk(people(5, 6))); // chunk 3 reaches the file, then the process dies
    expect(readFileSync(path, 'utf8')).toContain('6,person 6');

    const restarted = create();
    await restarted.open(new ExecutionContext(committed));
    expect(readFileSync(path, 'utf8')).toBe('id,name\n1,person 1\n2,person 2\n3,person 3\n4,person 4\n');
    await restarted.write(new Chunk(people(5, 6)));
    restarted.update(context);
    await restarted.close();
    expect(readFileSync(path, 'utf8')).toBe('id,name\n' + people(1, 6).map((p) => `${p.id},${p.name}\n`).join(''));
    expect(context.get('csvWriter.written')).toBe(6);
    expect(context.get('csvWriter.offset')).toBe(readFileSync(path).length);
    await crashed.close(); // only releases the dead run's file handle: this writer has no footer
  });

  it('has every chunk on disk when write() returns', async () => {
    const durability = await watchDurability(dir.file('.probe'));
    const writer = csvWriter<Person>({ path: dir.file('synced.csv'), columns: ['id'] });
    await writer.open(new ExecutionContext());
    for (let chunk = 1; chunk <= 3; chunk++) {
      const mark = durability.mark();
      await writer.write(new Chunk(people(chunk, chunk)));
      expect(durability.durableSince(mark)).toBe(true);
    }
    await writer.close();
  });

  it('leaves nothing of a chunk whose write fails halfway, so a retry writes it once', async () => {
    const path = dir.file('failing.csv');
    const writer = csvWriter<Person>({ path, columns: ['id'] });
    await writer.open(new ExecutionContext());
    await writer.write(new Chunk(people(1, 1)));
    const write = await failMidWrite(dir.file('.probe'));
    await expect(writer.write(new Chunk(people(2, 3)))).rejects.toMatchObject({ code: 'ITEM_STREAM_FAILED', message: expect.stringContaining(path) });
    expect(write).toHaveBeenCalledTimes(2);
    expect(readFileSync(path, 'utf8')).toBe('id\n1\n');
    await writer.write(new Chunk(people(2, 3)));
    await writer.close();
    expect(readFileSync(path, 'utf8')).toBe('id\n1\n2\n3\n');
  });

  it('fails to open with an ItemStreamError naming the path when it cannot write there', async () => {
    const folder = dir.file('folder');
    mkdirSync(folder);
    await expect(csvWriter<Person>({ path: folder }).open(new ExecutionContext())).rejects.toMatchObject({
      code: 'ITEM_STREAM_FAILED',
      message: expect.stringContaining(`CSV output '${folder}' is a directory`),
    });
    const nowhere = dir.file('no/such/dir/out.csv');
    await expect(csvWriter<Person>({ path: nowhere }).open(new ExecutionContext())).rejects.toMatchObject({
      code: 'ITEM_STREAM_FAILED',
      resource: nowhere,
      message: expect.stringMatching(/cannot be created: the directory '.*no\/such\/dir' does not exist/),
    });
  });

  it('refuses to restart when the file is gone or shorter than what was committed', async () => {
    const path = dir.file('gone.csv');
    const context = new ExecutionContext();
    const writer = csvWriter<Person>({ path, columns: ['id'] });
    await writer.open(context);
    await writer.write(new Chunk(people(1, 3)));
    writer.update(context);
    await writer.close();
    truncateSync(path, 4);
    await expect(csvWriter<Person>({ path, columns: ['id'] }).open(context)).rejects.toMatchObject({
      code: 'ITEM_STREAM_FAILED',
      message: expect.stringContaining('is 4 bytes long, but the step\'s last commit had written 9 bytes'),
    });
    rmSync(path);
    await expect(csvWriter<Person>({ path, columns: ['id'] }).open(context)).rejects.toMatchObject({
      code: 'ITEM_STREAM_FAILED',
      message: expect.stringContaining('no longer exists'),
    });
  });

  it('rejects a header row without columns at construction', () => {
    expect(() => csvWriter<Person>({ path: 'x.csv', header: true })).toThrow(/needs 'columns'/);
  });
});
