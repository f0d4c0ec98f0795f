import { InvalidConfigurationError, ItemStreamError } from '../../domain/errors.js';
import type { ExecutionContext } from '../../domain/execution-context.js';
import {
  AbstractFileItemReader,
  type ByteSink,
  type EntryEmitter,
  type FileReaderOptions,
  type ResumePoint,
} from './abstract-file-item-reader.js';
import { CsvRecordParser, type CsvFirstRecord, type CsvRecord, type CsvSyntax } from './csv-record-parser.js';
import { excerpt, rejectionReason } from './rejection-reason.js';
import { LINE_SAFE_ENCODINGS, LineAlignedDecoder } from './text-segment.js';

export type { CsvRecord } from './csv-record-parser.js';

/** Turns a parsed record into an item; a throw becomes a ParseError naming the file and line. */
export type CsvRecordMapper<T> = (record: CsvRecord, lineNumber: number) => T;

export interface CsvReaderOptions<T> extends FileReaderOptions {
  /**
   * `true`: the first line is a header that names the fields. An array: the field names in order;
   * the first line is then data unless `header` is true.
   */
  readonly columns: true | readonly string[];
  /**
   * With explicit `columns`, skip the file's first line (a header whose names are ignored).
   * @default false (with `columns: true` the header is always read)
   */
  readonly header?: boolean;
  /**
   * Turns each record into an item (parse numbers, dates, validate with zod...). Without it the
   * items are the records themselves. A throw rejects that record only: `read()` throws a
   * ParseError naming the file and line, and the next `read()` goes on.
   */
  readonly map?: CsvRecordMapper<T>;
  /** @default ',' */
  readonly delimiter?: string;
  /** '' turns quoting off. @default '"' */
  readonly quote?: string;
  /**
   * 'utf8', 'latin1' or 'ascii' (or their aliases 'utf-8' and 'binary'): the encodings that write
   * line breaks as the single bytes LF and CR, which restart offsets rely on. @default 'utf8'
   */
  readonly encoding?: BufferEncoding;
}

/**
 * Reads a CSV file record by record (streaming: quoting, embedded delimiters and line breaks, LF or
 * CRLF line endings, even mixed, a UTF-8 BOM, blank lines ignored), and restarts by byte offset: a
 * restart starts parsing right after the last committed record instead of re-parsing the file.
 * Lines ended by a lone CR (classic Mac OS) are not recognised. The parser is the reader's own
 * (csv-record-parser.ts says why), with the grammar and messages the reader had with csv-parse.
 *
 * A malformed record (wrong number of fields, a quote left open, a stray quote) makes `read()`
 * throw a ParseError with the file, the 1-based line on which the record starts and the reason;
 * reading continues after it, in file order, so `.faultTolerant().skip(ParseError)` loses only the
 * bad record.
 *
 * Besides the keys of {@link AbstractFileItemReader} it stores `<name>.header`, the header's
 * names, because a restart starts past the header line.
 *
 * Prefer {@link csvReader}, whose overloads demand a `map` whenever the item type is not the
 * plain record; `new CsvItemReader<T>(options)` without `map` trusts you that records are `T`.
 *
 * @example
 * const reader = csvReader({
 *   path: 'people.csv',
 *   columns: true,
 *   map: (r, line) => ({ id: Number(r.id), name: r.name }),
 * });
 */
export class CsvItemReader<T> extends AbstractFileItemReader<CsvRecord, T> {
  private readonly columns: true | readonly string[];
  private readonly skipHeaderLine: boolean;
  private readonly map: CsvRecordMapper<T> | undefined;
  private readonly syntax: CsvSyntax;
  private readonly encoding: BufferEncoding;
  private header: readonly string[] | undefined;

  constructor(options: CsvReaderOptions<T>) {
    super(options, 'csvReader', 'CSV input');
    const { columns, header } = options;
    if (columns === true) {
      if (header === false) {
        throw new InvalidConfigurationError(
          `CSV reader '${options.path}': 'columns: true' takes the names from the header line, so 'header: false' contradicts it. Pass the names as 'columns: [...]' instead.`,
        );
      }
    } else if (!Array.isArray(columns) || columns.length === 0 || columns.some((c) => typeof c !== 'string' || c === '')) {
      throw new InvalidConfigurationError(
        `CSV reader '${options.path}': 'columns' must be true (names from the header line) or a non-empty array of non-empty names.`,
      );
    } else if (new Set(columns).size !== columns.length) {
      throw new InvalidConfigurationError(`CSV reader '${options.path}': 'columns' names a field twice: ${columns.join(', ')}.`);
    }
    if (options.map !== undefined && typeof options.map !== 'function') {
      throw new InvalidConfigurationError(`CSV reader '${options.path}': 'map' must be a function (record, lineNumber) => item.`);
    }
    this.columns = columns === true ? true : [...columns];
    this.skipHeaderLine = columns === true || header === true;
    this.map = options.map;
    this.syntax = {
      delimiter: checkedSyntax(options.path, 'delimiter', options.delimiter ?? ',', false),
      quote: checkedSyntax(options.path, 'quote', options.quote ?? '"', true),
    };
    if (this.syntax.quote !== '' && this.syntax.delimiter.includes(this.syntax.quote)) {
      throw new InvalidConfigurationError(
        `CSV reader '${options.path}': the delimiter ${JSON.stringify(this.syntax.delimiter)} holds the quote ${JSON.stringify(this.syntax.quote)}, so fields could not be told apart.`,
      );
    }
    const encoding = (options.encoding ?? 'utf8').toLowerCase() as BufferEncoding;
    if (!LINE_SAFE_ENCODINGS.includes(encoding)) {
      throw new InvalidConfigurationError(
        `CSV reader '${options.path}': encoding ${JSON.stringify(encoding)} is not supported; use one of ${LINE_SAFE_ENCODINGS.join(', ')} ` +
          `(restart offsets need line breaks written as the single bytes LF and CR), or convert the file first.`,
      );
    }
    this.encoding = encoding;
  }

  /** The header's names in header mode, once read (or restored from the context); otherwise the configured columns. */
  get fieldNames(): readonly string[] | undefined {
    return this.columns === true ? this.header : this.columns;
  }

  protected override restoreState(context: ExecutionContext, start: ResumePoint): void {
    this.header = undefined;
    if (this.columns !== true || start.offset === 0) return;
    const stored = context.get(this.key('header'));
    if (!Array.isArray(stored) || stored.length === 0 || stored.some((c) => typeof c !== 'string')) {
      throw new ItemStreamError(
        this.path,
        `CSV reader '${this.name}' resumes at byte ${start.offset} of '${this.path}' but the step's context has no header names under ` +
          `'${this.key('header')}'. Was the context written by a reader with other settings? Give each reader its own name.`,
      );
    }
    this.header = stored as string[];
  }

  protected override saveState(context: ExecutionContext): void {
    if (this.columns === true && this.header !== undefined) context.put(this.key('header'), [...this.header]);
  }

  protected createSink(start: ResumePoint, emit: EntryEmitter<CsvRecord>): ByteSink {
    const parser = new CsvRecordParser(this.syntax, this.firstRecord(start), start.line + 1, emit);
    return new CsvSink(new LineAlignedDecoder(start.offset, this.encoding), parser, emit);
  }

  protected convert(record: CsvRecord, line: number): T {
    const map = this.map;
    if (map === undefined) return record as unknown as T;
    try {
      return map(record, line);
    } catch (error) {
      throw this.parseError(line, `map() rejected the record: ${rejectionReason(error)}`, excerpt(JSON.stringify(record)), error);
    }
  }

  /** What the first record of a run starting at `start` is: a restart starts past the header line. */
  private firstRecord(start: ResumePoint): CsvFirstRecord {
    const columns = this.columns;
    if (start.offset > 0) return { kind: 'data', names: columns === true ? [...(this.header ?? [])] : columns };
    if (columns === true) {
      return {
        kind: 'names',
        onHeader: (names) => {
          this.header = [...names];
        },
      };
    }
    return this.skipHeaderLine ? { kind: 'skip', names: columns } : { kind: 'data', names: columns };
  }
}

/** Feeds the file's bytes, cut at line ends and decoded, to the parser. */
class CsvSink implements ByteSink {
  constructor(
    private readonly decoder: LineAlignedDecoder,
    private readonly parser: CsvRecordParser,
    private readonly emit: EntryEmitter<CsvRecord>,
  ) {}

  write(chunk: Buffer): void {
    const segment = this.decoder.write(chunk);
    if (segment !== undefined) this.parser.parse(segment, false);
  }

  end(): void {
    this.parser.parse(this.decoder.end(), true);
    this.emit.end();
  }

  destroy(): void {}
}

/** A delimiter or quote option, checked: a string without line breaks (the parser cuts the file at line feeds). */
function checkedSyntax(path: string, option: 'delimiter' | 'quote', value: unknown, mayBeEmpty: boolean): string {
  if (typeof value !== 'string' || (value === '' && !mayBeEmpty) || /[\r\n]/.test(value)) {
    throw new InvalidConfigurationError(
      `CSV reader '${path}': Invalid option ${option}: expected a ${mayBeEmpty ? '' : 'non-empty '}string without line breaks, got ${JSON.stringify(value)}.` +
        (mayBeEmpty ? ` ('' turns quoting off.)` : ''),
    );
  }
  return value;
}

/**
 * A {@link CsvItemReader}. With `map`, items are what it returns; without, they are the records.
 *
 * @example
 * const people = csvReader({ path: 'people.csv', columns: true, map: (r) => Person.parse(r) });
 * const raw = csvReader({ path: 'raw.csv', columns: ['id', 'name'] }); // CsvItemReader<CsvRecord>
 */
export function csvReader<T>(options: CsvReaderOptions<T> & { readonly map: CsvRecordMapper<T> }): CsvItemReader<T>;
export function csvReader(options: CsvReaderOptions<CsvRecord> & { readonly map?: undefined }): CsvItemReader<CsvRecord>;
export function csvReader<T>(options: CsvReaderOptions<T>): CsvItemReader<T> {
  return new CsvItemReader<T>(options);
}
