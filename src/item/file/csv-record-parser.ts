import type { EntryEmitter, InputEntry } from './abstract-file-item-reader.js';
import { excerpt } from './rejection-reason.js';
import { byteOffsetIn, type TextSegment } from './text-segment.js';

/** A CSV record as parsed: field values by column name, all strings. */
export type CsvRecord = Record<string, string>;

const LF = 0x0a;
const CR = 0x0d;
/** csv-parse's default escape character, kept whatever the quote (see CsvRecordParser). */
const ESCAPE = '"';
/** What quotedField returns when the field runs past the segment, or to the end of the file. */
const SUSPENDED = -1;
const NOT_CLOSED = -2;

/** How to read the records. @internal */
export interface CsvSyntax {
  /** Separates fields; one character or more, no line break. */
  readonly delimiter: string;
  /** Surrounds a field that holds delimiters, quotes or line breaks; '' turns quoting off. */
  readonly quote: string;
}

/** What the parser does with the first record. @internal */
export type CsvFirstRecord =
  /** Data: the field names are known. */
  | { readonly kind: 'data'; readonly names: readonly string[] }
  /** A header line that names the fields; `onHeader` receives the names. */
  | { readonly kind: 'names'; readonly onHeader: (names: readonly string[]) => void }
  /** A header line to skip; the field names are known. */
  | { readonly kind: 'skip'; readonly names: readonly string[] };

/** The first fault found in a record: the record is reported once, at the first one. */
interface Fault {
  readonly line: number;
  readonly reason: string;
}

/** A record whose quoted field runs past the end of a segment (it holds line breaks). */
interface OpenRecord {
  readonly fields: string[];
  readonly line: number;
  fault: Fault | undefined;
  /** The quoted field being read: its value so far, and the line its opening quote is on. */
  value: string;
  fieldLine: number;
}

/**
 * A record entry whose byte end is worked out only when asked: the reader asks once per commit,
 * for the last record it handed out, so a multi-byte segment's scan is not paid for every record.
 */
class RecordEntry {
  readonly kind = 'record' as const;

  constructor(
    readonly value: CsvRecord,
    readonly line: number,
    readonly endLine: number,
    private readonly segment: TextSegment,
    private readonly endIndex: number,
  ) {}

  get end(): number {
    return byteOffsetIn(this.segment, this.endIndex);
  }
}

/**
 * A CSV parser over {@link TextSegment}s, written for this reader rather than borrowed: it keeps
 * the grammar and the error handling the reader had with csv-parse (RFC 4180 quoting, CRLF and LF
 * ends mixed freely, a lone CR kept as data, blank lines skipped, a record with the wrong number of
 * fields or a stray quote reported and skipped) while giving each record the line it starts on and
 * its end in the file at no extra cost. csv-parse parses this machine's benchmark file at ~230k
 * records/s, under the 300k target before any other work. papaparse is faster, but it fixes one
 * line ending per file (a file mixing CRLF and LF lines comes out garbled), accepts a stray quote
 * in an unquoted field without a word, and reports neither lines nor positions per record, which a
 * restart and the error messages need; working around each would give back its speed.
 *
 * The common record, a line without the quote character, is cut by `indexOf` and `split`; only a
 * line holding a quote goes through the field-by-field path. Grammar details kept from csv-parse:
 * a quote opens a quoted field only as its first character; inside one, a doubled quote is a quote
 * (with a quote other than '"', `"` escapes the character after it, as csv-parse's default escape
 * does); a closing quote must be followed by a delimiter, a line end or the end of the file, and if
 * it is not, the field goes on to the next quote (that record is reported). Line numbers count LF,
 * CRLF and a lone CR as one line break each.
 *
 * Field values are slices of the decoded text: a value kept long after its chunk keeps its 64 KiB
 * segment in memory.
 *
 * @internal
 */
export class CsvRecordParser {
  private readonly delimiter: string;
  private readonly quote: string;
  private readonly escapeIsQuote: boolean;
  private names: readonly string[] | undefined;
  private first: CsvFirstRecord | undefined;
  /** Line number of the next character to parse. */
  private line: number;
  private open: OpenRecord | undefined;
  private build: RecordBuilder | undefined;

  // The segment being parsed, and the next position at or after the parse position of a line feed,
  // a carriage return, the quote and the delimiter (text.length when there is none): each is
  // searched once per occurrence, not once per record.
  private text = '';
  private nextLF = 0;
  private nextCR = 0;
  private nextQuote = 0;
  private nextDelimiter = 0;
  private nextEscape = 0;

  constructor(
    syntax: CsvSyntax,
    first: CsvFirstRecord,
    /** Line number of the first character fed. */
    firstLine: number,
    private readonly emit: EntryEmitter<CsvRecord>,
  ) {
    this.delimiter = syntax.delimiter;
    this.quote = syntax.quote;
    this.escapeIsQuote = syntax.quote === ESCAPE;
    this.first = first.kind === 'data' ? undefined : first;
    this.names = first.kind === 'names' ? undefined : first.names;
    this.line = firstLine;
  }

  /** Parses a segment; the last one (`final`) is the end of the input. */
  parse(segment: TextSegment, final: boolean): void {
    const text = segment.text;
    const length = text.length;
    this.text = text;
    this.nextLF = -1;
    this.nextCR = -1;
    this.nextQuote = this.quote === '' ? length : -1;
    this.nextDelimiter = -1;
    this.nextEscape = -1;
    let pos = 0;
    if (this.open !== undefined) {
      pos = this.fields(segment, 0, final, this.open, true);
      if (pos === -1) return;
    }
    while (pos < length) {
      const lineEnd = this.lf(pos);
      if (lineEnd === pos || (lineEnd === pos + 1 && text.charCodeAt(pos) === CR)) {
        // A blank line: no record.
        this.line += 1;
        pos = lineEnd + 1;
        continue;
      }
      if (this.quoteAt(pos) < lineEnd) {
        pos = this.fields(segment, pos, final, { fields: [], line: this.line, fault: undefined, value: '', fieldLine: this.line }, false);
        if (pos === -1) return;
        continue;
      }
      const contentEnd = lineEnd < length && text.charCodeAt(lineEnd - 1) === CR ? lineEnd - 1 : lineEnd;
      const line = this.line;
      if (this.cr(pos) < contentEnd) this.line += this.loneCRs(pos, contentEnd);
      const endLine = this.line;
      let end = length;
      if (lineEnd < length) {
        end = lineEnd + 1;
        this.line += 1;
      }
      this.record(text.slice(pos, contentEnd).split(this.delimiter), line, endLine, undefined, segment, end);
      pos = end;
    }
  }

  /**
   * Parses a record field by field from `pos`, the start of a field (or, with `inQuotes`, a point
   * inside a quoted field); returns where the next record starts, or -1 when a quoted field runs
   * past the segment (the record then waits in `open` for the next one).
   */
  private fields(segment: TextSegment, start: number, final: boolean, record: OpenRecord, inQuotes: boolean): number {
    const text = segment.text;
    const length = text.length;
    const quote = this.quote;
    let pos = start;
    let quoted = inQuotes;
    for (;;) {
      if (quoted || (quote !== '' && text.startsWith(quote, pos))) {
        if (!quoted) {
          record.value = '';
          record.fieldLine = this.line;
          pos += quote.length;
        }
        quoted = false;
        const after = this.quotedField(segment, pos, final, record);
        if (after < 0) return after === SUSPENDED ? -1 : length;
        if (after >= length) return this.recordEnd(segment, record, length);
        if (text.charCodeAt(after) === LF) return this.recordEnd(segment, record, after);
        if (text.charCodeAt(after) === CR && text.charCodeAt(after + 1) === LF) return this.recordEnd(segment, record, after + 1);
        pos = after + this.delimiter.length;
        continue;
      }
      const lineEnd = this.lf(pos);
      const delimiter = this.delimiterAt(pos);
      if (delimiter < lineEnd) {
        record.fields.push(this.unquoted(record, pos, delimiter));
        pos = delimiter + this.delimiter.length;
        continue;
      }
      const contentEnd = lineEnd < length && lineEnd > pos && text.charCodeAt(lineEnd - 1) === CR ? lineEnd - 1 : lineEnd;
      record.fields.push(this.unquoted(record, pos, contentEnd));
      return this.recordEnd(segment, record, lineEnd);
    }
  }

  /** An unquoted field's value; a quote inside it is a fault. */
  private unquoted(record: OpenRecord, from: number, to: number): string {
    const value = this.text.slice(from, to);
    if (record.fault === undefined && this.quote !== '' && this.quoteAt(from) < to) {
      record.fault = {
        line: this.line,
        reason: `a quote appears inside an unquoted field${this.column(record.fields.length)}; quote the whole field and double any quote inside it ("")`,
      };
    }
    if (this.cr(from) < to) this.line += this.loneCRs(from, to);
    return value;
  }

  /**
   * Goes on with a quoted field from `start` (just after its opening quote, or the start of the
   * next segment) to its closing quote, and adds its value to the record. Returns the position just
   * after the closing quote (a delimiter, a line end or the end of the file is there), SUSPENDED
   * when the field runs past the segment, or NOT_CLOSED when it runs to the end of the file.
   */
  private quotedField(segment: TextSegment, start: number, final: boolean, record: OpenRecord): number {
    const text = segment.text;
    const length = text.length;
    const quote = this.quote;
    let pos = start;
    let value = record.value;
    for (;;) {
      const close = this.quoteAt(pos);
      if (!this.escapeIsQuote) {
        const escape = this.escapeAt(pos);
        if (escape <= close && escape + 1 < length) {
          value += text.slice(pos, escape) + text[escape + 1];
          this.line += this.breaks(pos, escape + 2);
          pos = escape + 2;
          continue;
        }
      }
      if (close === length) {
        value += text.slice(pos);
        this.line += this.breaks(pos, length);
        if (final) {
          this.open = undefined;
          this.fault(record.fault ?? notClosed(record.line));
          return NOT_CLOSED;
        }
        record.value = value;
        this.open = record;
        return SUSPENDED;
      }
      value += text.slice(pos, close);
      this.line += this.breaks(pos, close);
      const after = close + quote.length;
      if (this.escapeIsQuote && text.startsWith(quote, after)) {
        value += quote;
        pos = after + quote.length;
        continue;
      }
      // A segment that is not the last ends with a line feed, so `after` is inside it unless the file ends here.
      const next = text.charCodeAt(after);
      if (after >= length || next === LF || (next === CR && text.charCodeAt(after + 1) === LF) || text.startsWith(this.delimiter, after)) {
        record.fields.push(value);
        this.open = undefined;
        return after;
      }
      // Not a closing quote after all: the quote is data and the field goes on, as in csv-parse.
      record.fault ??= {
        line: record.fieldLine,
        reason: `a closing quote is followed by other characters instead of a delimiter or a line end${this.column(record.fields.length)}`,
      };
      value += quote;
      pos = after;
    }
  }

  /** Ends a record whose last field ends at `lineEnd` (its line feed, or the end of the text). */
  private recordEnd(segment: TextSegment, record: OpenRecord, lineEnd: number): number {
    const endLine = this.line;
    let end = lineEnd;
    if (lineEnd < segment.text.length) {
      end = lineEnd + 1;
      this.line += 1;
    }
    this.record(record.fields, record.line, endLine, record.fault, segment, end);
    return end;
  }

  private record(fields: string[], line: number, endLine: number, fault: Fault | undefined, segment: TextSegment, end: number): void {
    const first = this.first;
    if (first !== undefined) {
      this.first = undefined;
      if (fault !== undefined) this.fault(fault);
      if (first.kind === 'names') {
        this.names = fields;
        first.onHeader(fields);
      }
      return;
    }
    if (fault !== undefined) {
      this.fault(fault);
      return;
    }
    const names = this.names as readonly string[];
    if (fields.length !== names.length) {
      this.emit.push({
        kind: 'error',
        line,
        reason: `expected ${names.length} fields (${names.join(', ')}), found ${fields.length}`,
        input: excerpt(JSON.stringify(fields)),
      });
      return;
    }
    const build = (this.build ??= recordBuilder(names));
    this.emit.push(new RecordEntry(build(fields), line, endLine, segment, end) satisfies InputEntry<CsvRecord>);
  }

  private fault(fault: Fault): void {
    this.emit.push({ kind: 'error', line: fault.line, reason: fault.reason });
  }

  /** ` (column "name")` for a fault in field `index`, as far as the names are known. */
  private column(index: number): string {
    const names = this.names;
    if (names === undefined) return ` (column ${index})`;
    return index < names.length ? ` (column ${JSON.stringify(names[index])})` : '';
  }

  /** Line breaks in text[from, to): LF, CRLF and a lone CR count one each. */
  private breaks(from: number, to: number): number {
    let count = 0;
    for (let i = this.lf(from); i < to; i = this.lf(i + 1)) count += 1;
    if (this.cr(from) < to) count += this.loneCRs(from, to);
    return count;
  }

  /** Carriage returns in text[from, to) not followed by a line feed. */
  private loneCRs(from: number, to: number): number {
    const text = this.text;
    let count = 0;
    for (let i = this.cr(from); i < to; i = this.cr(i + 1)) if (text.charCodeAt(i + 1) !== LF) count += 1;
    return count;
  }

  private lf(pos: number): number {
    if (this.nextLF < pos) this.nextLF = found(this.text.indexOf('\n', pos), this.text.length);
    return this.nextLF;
  }

  private cr(pos: number): number {
    if (this.nextCR < pos) this.nextCR = found(this.text.indexOf('\r', pos), this.text.length);
    return this.nextCR;
  }

  private quoteAt(pos: number): number {
    if (this.nextQuote < pos) this.nextQuote = found(this.text.indexOf(this.quote, pos), this.text.length);
    return this.nextQuote;
  }

  private escapeAt(pos: number): number {
    if (this.nextEscape < pos) this.nextEscape = found(this.text.indexOf(ESCAPE, pos), this.text.length);
    return this.nextEscape;
  }

  private delimiterAt(pos: number): number {
    if (this.nextDelimiter < pos) this.nextDelimiter = found(this.text.indexOf(this.delimiter, pos), this.text.length);
    return this.nextDelimiter;
  }
}

type RecordBuilder = (fields: readonly string[]) => CsvRecord;

/**
 * Builds records as one object literal, `{ "id": f[0], "name": f[1], ... }`, compiled once per
 * header: every record then has the same shape from the start, which takes a third off the
 * parser's time per record against assigning the keys one by one (measured on the benchmark
 * file). The names come from the file, but JSON.stringify makes each one a string literal that
 * nothing can break out of. Where code cannot be generated (a duplicated "__proto__", or
 * `--disallow-code-generation-from-strings`), the keys are assigned in a loop, with the same result.
 */
function recordBuilder(names: readonly string[]): RecordBuilder {
  try {
    const body = names.map((name, i) => `${JSON.stringify(name)}: f[${i}]`).join(', ');
    return new Function('f', `return { ${body} };`) as RecordBuilder;
  } catch {
    return (fields) => {
      const value: CsvRecord = {};
      for (let i = 0; i < fields.length; i++) value[names[i] as string] = fields[i] as string;
      return value;
    };
  }
}

function notClosed(line: number): Fault {
  return { line, reason: 'a quoted field is not closed: the quote opened here runs to the end of the file' };
}

function found(index: number, none: number): number {
  return index === -1 ? none : index;
}
