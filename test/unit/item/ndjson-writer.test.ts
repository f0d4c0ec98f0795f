import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Chunk } from '../../../src/domain/chunk.js';
import { ExecutionContext } from '../../../src/domain/execution-context.js';
import { ndjsonReader } from '../../../src/item/file/ndjson-item-reader.js';
import { ndjsonWriter } from '../../../src/item/file/ndjson-item-writer.js';
import { readOutcomes, temporaryDirectory } from './fixtures/files.js';
import { watchDurability } from './fixtures/durability.js';

interface Order {
  readonly id: number;
  readonly note: string;
}

let dir: ReturnType<typeof temporaryDirectory>;
beforeEach(() => {
  dir = temporaryDirectory('ndjson-writer');
});
afterEach(() => {
  vi.restoreAllMocks();
  dir.remove();
});

const orders = (from: number, to: number): Order[] => Array.from({ length: to - from + 1 }, (_, i) => ({ id: from + i, note: `line\n${from + i} "€"` }));
const lines = (items: readonly unknown[]) => items.map((item) => `${JSON.stringify(item)}\n`).join('');

describe('NdjsonItemWriter', () => {
  it('writes one JSON value per line that the NDJSON reader reads back', async () => {
    const path = dir.file('orders.ndjson');
    const writer = ndjsonWriter<Order>({ path });
    await writer.open(new ExecutionContext());
    await writer.write(new Chunk(orders(1, 3)));
    await writer.close();
    expect(readFileSync(path, 'utf8')).toBe(lines(orders(1, 3)));
    expect(await readOutcomes(ndjsonReader({ path }))).toEqual(orders(1, 3).map((item) => ({ item })));
  });

  it('writes what map returns', async () => {
    const path = dir.file('mapped.ndjson');
    const writer = ndjsonWriter<Order>({ path, map: (order) => ({ orderId: order.id }) });
    await writer.open(new ExecutionContext());
    await writer.write(new Chunk(orders(1, 2)));
    await writer.close();
    expect(readFileSync(path, 'utf8')).toBe('{"orderId":1}\n{"orderId":2}\n');
  });

  it('overwrites an existing file on a first run, and appends to it in append mode', async () => {
    const path = dir.file('existing.ndjson');
    writeFileSync(path, '{"old":true}\n');
    const overwrite = ndjsonWriter<Order>({ path });
    await overwrite.open(new ExecutionContext());
    await overwrite.write(new Chunk(orders(1, 1)));
    await overwrite.close();
    expect(readFileSync(path, 'utf8')).toBe(lines(orders(1, 1)));
    const append = ndjsonWriter<Order>({ path, mode: 'append' });
    await append.open(new ExecutionContext());
    await append.write(new Chunk(orders(2, 2)));
    await append.close();
    expect(readFileSync(path, 'utf8')).toBe(lines(orders(1, 2)));
  });

  it('writes the header when it starts a file and the footer with the count on close', async () => {
    const path = dir.file('framed.ndjson');
    const writer = ndjsonWriter<Order>({ path, header: () => '{"type":"header"}', footer: (n) => JSON.stringify({ type: 'footer', count: n }) });
    await writer.open(new ExecutionContext());
    await writer.write(new Chunk(orders(1, 2)));
    await writer.close();
    expect(readFileSync(path, 'utf8')).toBe(`{"type":"header"}\n${lines(orders(1, 2))}{"type":"footer","count":2}\n`);
  });

  it('truncates on reopen to the committed offset, so a chunk that did not commit is written once', async () => {
    const path = dir.file('restart.ndjson');
    const context = new ExecutionContext();
    const crashed = ndjsonWriter<Order>({ path, name: 'out' });
    await crashed.open(context);
    await crashed.write(new Chunk(orders(1, 2)));
    crashed.update(context);
    await crashed.write(new Chunk(orders(3, 4)));
    crashed.update(context);
    const committed = context.toJSON();
    await crashed.write(new Chunk(orders(5, 6)));
    expect(readFileSync(path, 'utf8')).toBe(lines(orders(1, 6)));

    const restarted = ndjsonWriter<Order>({ path, name: 'out' });
    await restarted.open(new ExecutionContext(committed));
    expect(readFileSync(path, 'utf8')).toBe(lines(orders(1, 4)));
    await restarted.write(new Chunk(orders(5, 6)));
    restarted.update(context);
    await restarted.close();
    expect(readFileSync(path, 'utf8')).toBe(lines(orders(1, 6)));
    expect(context.toJSON()).toEqual({ 'out.offset': Buffer.byteLength(lines(orders(1, 6))), 'out.written': 6 });
    await crashed.close(); // only releases the dead run's file handle
  });

  it('has every chunk on disk when write() returns', async () => {
    const durability = await watchDurability(dir.file('.probe'));
    const writer = ndjsonWriter<Order>({ path: dir.file('synced.ndjson') });
    await writer.open(new ExecutionContext());
    for (let chunk = 1; chunk <= 3; chunk++) {
      const mark = durability.mark();
      await writer.write(new Chunk(orders(chunk, chunk)));
      expect(durability.durableSince(mark)).toBe(true);
    }
    await writer.close();
  });

  it('writes every chunk byte for byte as its JSON lines, whatever the characters and sizes, larger and smaller chunks alternating', async () => {
    // Strings over all of UTF-16 (lone surrogates included), and items big enough to outgrow the
    // writer's reused buffer: each chunk's bytes are encoded into the space of the chunk before.
    const text = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.string({ unit: fc.constantFrom('€', '😀', '\ud800', '"', '\\', '\n') }));
    const item = fc.oneof(
      fc.record({ id: fc.integer(), note: text }),
      fc.jsonValue(),
      text.map((t) => t.repeat(1 + (t.length > 0 ? Math.floor(70_000 / t.length) : 0))),
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(item, { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 6 }), async (chunks) => {
        const path = dir.file(`property-${run++}.ndjson`);
        const writer = ndjsonWriter<unknown>({ path });
        await writer.open(new ExecutionContext());
        for (const items of chunks) await writer.write(new Chunk(items));
        await writer.close();
        expect(readFileSync(path).equals(Buffer.from(chunks.map(lines).join(''), 'utf8'))).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('runs overlapping write() calls one after the other, in call order, each chunk once', async () => {
    const path = dir.file('overlapping.ndjson');
    const writer = ndjsonWriter<Order>({ path });
    // Not opened first: the first write opens the file as a first run, the others wait for it.
    await Promise.all([writer.write(new Chunk(orders(1, 3))), writer.write(new Chunk(orders(4, 4))), writer.write(new Chunk(orders(5, 9)))]);
    const context = new ExecutionContext();
    writer.update(context);
    await writer.close();
    expect(readFileSync(path, 'utf8')).toBe(lines(orders(1, 9)));
    expect(context.get('ndjsonWriter.offset')).toBe(Buffer.byteLength(lines(orders(1, 9))));
    expect(writer.writtenCount).toBe(9);
  });

  it('close() lets a write still in flight finish first, so the footer follows the chunk and counts it', async () => {
    const path = dir.file('closing.ndjson');
    const writer = ndjsonWriter<Order>({ path, footer: (count) => `{"count":${count}}` });
    await writer.open(new ExecutionContext());
    const writing = writer.write(new Chunk(orders(1, 3)));
    await writer.close();
    await writing;
    expect(readFileSync(path, 'utf8')).toBe(`${lines(orders(1, 3))}{"count":3}\n`);
  });

  it('rejects a chunk holding an item JSON cannot represent before touching the file', async () => {
    const path = dir.file('bigint.ndjson');
    const writer = ndjsonWriter<{ id: number | bigint }>({ path });
    await writer.open(new ExecutionContext());
    await expect(writer.write(new Chunk([{ id: 1 }, { id: 2n }]))).rejects.toMatchObject({
      code: 'ITEM_STREAM_FAILED',
      message: expect.stringContaining('item 2 of a chunk of 2 cannot be written as JSON'),
    });
    expect(readFileSync(path, 'utf8')).toBe('');
    await writer.close();
  });

  it('fails to open with an ItemStreamError naming a directory or a missing directory', async () => {
    const folder = dir.file('folder');
    mkdirSync(folder);
    await expect(ndjsonWriter({ path: folder }).open(new ExecutionContext())).rejects.toMatchObject({
      code: 'ITEM_STREAM_FAILED',
      message: expect.stringContaining(`NDJSON output '${folder}' is a directory`),
    });
    const nowhere = dir.file('missing/out.ndjson');
    await expect(ndjsonWriter({ path: nowhere }).open(new ExecutionContext())).rejects.toMatchObject({
      code: 'ITEM_STREAM_FAILED',
      message: expect.stringContaining('does not exist'),
    });
  });
});
