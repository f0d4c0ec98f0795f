/**
 * Properties of the CSV reader's own parser:
 *
 * - on random input (quotes in and out of place, CRLF, LF and lone CR, blank lines, multi-byte and
 *   invalid UTF-8, a BOM), cut into random chunks, it gives the same records as csv-parse configured
 *   as the reader used it before, with the same byte ends (csv-parse's `info.bytes`) and line
 *   numbers, and reports malformed input at the same places;
 * - a reader restarted after any record reads exactly what the uninterrupted reader read after it.
 */
import { writeFileSync } from 'node:fs';
import { Parser, type CsvError, type Options } from 'csv-parse';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EntryEmitter, InputEntry } from '../../src/item/file/abstract-file-item-reader.js';
import { csvReader } from '../../src/item/file/csv-item-reader.js';
import { CsvRecordParser, type CsvRecord } from '../../src/item/file/csv-record-parser.js';
import { LineAlignedDecoder } from '../../src/item/file/text-segment.js';
import { readAcrossRestart, readOutcomes, temporaryDirectory } from '../unit/item/fixtures/files.js';

interface Syntax {
  readonly delimiter: string;
  readonly quote: string;
}

interface Input {
  readonly syntax: Syntax;
  readonly names: readonly string[];
  readonly bytes: Buffer;
  /** Where the bytes are cut into the chunks fed to the parser. */
  readonly cuts: readonly number[];
}

/** What a parse gives, in order; consecutive errors are merged, as one broken stretch may be several csv-parse errors. */
type Outcome = { readonly record: CsvRecord; readonly end: number; readonly line: number; readonly endLine: number } | { readonly error: true };

const syntaxArbitrary = fc.constantFrom<Syntax>(
  { delimiter: ',', quote: '"' },
  { delimiter: ';', quote: '"' },
  { delimiter: '||', quote: '"' },
  { delimiter: ',', quote: "'" },
  { delimiter: ',', quote: '' },
);

function pieceArbitrary(syntax: Syntax): fc.Arbitrary<Buffer> {
  const texts = ['a', 'bc', ' ', 'é', '€', '😀', '|', syntax.delimiter, syntax.delimiter, '"', "'", '\n', '\n', '\r\n', '\r'];
  if (syntax.quote !== '') texts.push(syntax.quote, syntax.quote, `${syntax.quote}x${syntax.quote}`);
  return fc.oneof(
    { weight: 30, arbitrary: fc.constantFrom(...texts).map((t) => Buffer.from(t)) },
    // Invalid UTF-8: a lone continuation byte, a truncated sequence.
    { weight: 1, arbitrary: fc.constantFrom(Buffer.from([0xff]), Buffer.from([0xe2, 0x82])) },
  );
}

const inputArbitrary: fc.Arbitrary<Input> = syntaxArbitrary.chain((syntax) =>
  fc
    .record({
      names: fc.constantFrom(['a'], ['a', 'b'], ['a', 'b', 'c']),
      bom: fc.boolean(),
      pieces: fc.array(pieceArbitrary(syntax), { maxLength: 80 }),
    })
    .chain(({ names, bom, pieces }) => {
      let bytes = Buffer.concat([bom ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0), ...pieces]);
      // A lone CR closing the file is a line break only for the old line counting; leave it out.
      if (bytes.at(-1) === 0x0d) bytes = Buffer.concat([bytes, Buffer.from('a')]);
      return fc
        .uniqueArray(fc.integer({ min: 1, max: Math.max(1, bytes.length - 1) }), { maxLength: 6 })
        .map((cuts) => ({ syntax, names, bytes, cuts: [...cuts].sort((x, y) => x - y) }));
    }),
);

function ours(input: Input): Outcome[] {
  const outcomes: Outcome[] = [];
  const emit: EntryEmitter<CsvRecord> = {
    push: (entry: InputEntry<CsvRecord>) => {
      if (entry.kind === 'record') outcomes.push({ record: entry.value, end: entry.end, line: entry.line, endLine: entry.endLine });
      else if (!('error' in (outcomes.at(-1) ?? {}))) outcomes.push({ error: true });
    },
    end: () => undefined,
    fail: (error) => {
      throw error;
    },
  };
  const decoder = new LineAlignedDecoder(0, 'utf8');
  const parser = new CsvRecordParser(input.syntax, { kind: 'data', names: input.names }, 1, emit);
  let from = 0;
  for (const cut of [...input.cuts, input.bytes.length]) {
    const segment = decoder.write(input.bytes.subarray(from, cut));
    if (segment !== undefined) parser.parse(segment, false);
    from = cut;
  }
  parser.parse(decoder.end(), true);
  return outcomes;
}

/** csv-parse with the options the reader gave it, its records taken where it pushes them (with `info.bytes`). */
function reference(input: Input): Outcome[] {
  const outcomes: Outcome[] = [];
  const error = (): void => {
    if (!('error' in (outcomes.at(-1) ?? {}))) outcomes.push({ error: true });
  };
  const options: Options = {
    delimiter: input.syntax.delimiter,
    quote: input.syntax.quote,
    bom: true,
    record_delimiter: ['\r\n', '\n'],
    columns: [...input.names],
    skip_empty_lines: true,
    skip_records_with_error: true,
    on_skip: (e: CsvError | undefined) => {
      if (e !== undefined) error();
      return undefined;
    },
  };
  const bytes = input.bytes;
  class Positioned extends Parser {
    override push(chunk: unknown): boolean {
      if (chunk === null) return super.push(null);
      const record = chunk as CsvRecord;
      const end = this.info.bytes;
      const endLine = breaks(bytes, end) + (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d) ? 0 : 1);
      outcomes.push({ record, end, line: endLine - Object.values(record).reduce((n, v) => n + breaksInText(v), 0), endLine });
      return true;
    }
  }
  const parser = new Positioned(options);
  parser.on('error', (e) => {
    throw e;
  });
  parser.write(bytes);
  parser.end();
  return outcomes;
}

/** Line breaks (LF, CRLF, lone CR) in bytes[0, end). */
function breaks(bytes: Buffer, end: number): number {
  let count = 0;
  for (let i = 0; i < end; i++) if (bytes[i] === 0x0a || (bytes[i] === 0x0d && bytes[i + 1] !== 0x0a)) count += 1;
  return count;
}

function breaksInText(value: string): number {
  let count = 0;
  for (let i = 0; i < value.length; i++) if (value[i] === '\n' || (value[i] === '\r' && value[i + 1] !== '\n')) count += 1;
  return count;
}

describe('CSV parser', () => {
  it('gives the records, byte ends, lines and faults csv-parse gave, however the input is cut', () => {
    fc.assert(
      fc.property(inputArbitrary, (input) => {
        expect(ours(input)).toEqual(reference(input));
      }),
      { numRuns: 2000 },
    );
  });

  describe('restart', () => {
    let dir: ReturnType<typeof temporaryDirectory>;
    beforeAll(() => {
      dir = temporaryDirectory('csv-parser-property');
    });
    afterAll(() => dir.remove());

    it('a reader resumed after any record reads the rest exactly as the uninterrupted one', async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(inputArbitrary, fc.nat(), async (input, at) => {
          const path = dir.file(`input-${run++}.csv`);
          writeFileSync(path, input.bytes);
          const create = () => csvReader({ path, columns: input.names, ...input.syntax, map: (record, line) => ({ line, record }) });
          const reader = create();
          const full = await readOutcomes(reader);
          await reader.close();
          const k = at % (full.length + 1);
          const { before, after } = await readAcrossRestart(create, k);
          expect([...before, ...after]).toEqual(full);
        }),
        { numRuns: 300 },
      );
    });
  });
});
