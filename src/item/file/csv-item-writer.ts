import { stringify, type Options as CsvStringifyOptions } from 'csv-stringify/sync';
import { InvalidConfigurationError, ItemStreamError } from '../../domain/errors.js';
import type { ExecutionContext } from '../../domain/execution-context.js';
import { AbstractFileItemWriter, type FileWriterOptions } from './abstract-file-item-writer.js';
import { messageOf } from './file-access.js';

/** A field of `T` that can be a CSV column. */
export type CsvColumnKey<T> = T extends readonly unknown[] ? never : Extract<keyof T, string>;

/** A column: the field's name, or the field with the header label to print for it. */
export type CsvColumn<T> = CsvColumnKey<T> | { readonly key: CsvColumnKey<T>; readonly header?: string };

export interface CsvWriterOptions<T> extends FileWriterOptions {
  /**
   * Which fields of each item to write, in order. Without it, array items are written as they are
   * and object items by the keys of the first item ever written (remembered across restarts).
   */
  readonly columns?: readonly CsvColumn<T>[];
  /**
   * `true`: a header line with the columns' labels; a function: a header text of your own; written
   * once, when a first run starts an empty file.
   * @default true when `columns` is given, else false
   */
  readonly header?: boolean | (() => string);
  /** @default ',' */
  readonly delimiter?: string;
  /** @default '\n' */
  readonly recordDelimiter?: string;
  /** Quote every non-empty field, not only those that need it. @default false */
  readonly quoted?: boolean;
  /** Start a new file with a UTF-8 byte order mark (for spreadsheet programs). @default false */
  readonly bom?: boolean;
}

/**
 * Writes items as CSV lines with csv-stringify (quoting fields that hold the delimiter, quotes or
 * line breaks), exactly once across crashes and restarts (see {@link AbstractFileItemWriter}).
 * Booleans are written `true`/`false`, dates as ISO 8601, nested objects as JSON.
 *
 * Context keys besides `<name>.offset` and `<name>.written`: `<name>.columns` when the columns
 * were taken from the first item, so a restart writes the same columns.
 *
 * @example
 * const out = csvWriter<Person>({ path: 'out.csv', columns: ['id', { key: 'name', header: 'Full name' }] });
 */
export class CsvItemWriter<T> extends AbstractFileItemWriter<T> {
  private readonly configuredColumns: readonly { key: string; header: string }[] | undefined;
  private inferredColumns: readonly string[] | undefined;
  private readonly header: boolean | (() => string);
  private readonly recordDelimiter: string;
  private readonly bom: boolean;
  private readonly stringifyOptions: CsvStringifyOptions;

  constructor(options: CsvWriterOptions<T>) {
    super(options, 'csvWriter', 'CSV output');
    const columns = options.columns?.map((column) =>
      typeof column === 'string' ? { key: column, header: column } : { key: column.key as string, header: column.header ?? (column.key as string) },
    );
    if (columns !== undefined && (columns.length === 0 || columns.some((c) => typeof c.key !== 'string' || c.key === ''))) {
      throw new InvalidConfigurationError(`CSV writer '${options.path}': 'columns' must be a non-empty list of field names.`);
    }
    const header = options.header ?? columns !== undefined;
    if (header === true && columns === undefined) {
      throw new InvalidConfigurationError(
        `CSV writer '${options.path}': 'header: true' prints the columns' labels, so it needs 'columns'. Pass 'columns', or 'header: () => text'.`,
      );
    }
    if (typeof header !== 'boolean' && typeof header !== 'function') {
      throw new InvalidConfigurationError(`CSV writer '${options.path}': 'header' must be a boolean or a function returning the header text.`);
    }
    this.configuredColumns = columns;
    this.header = header;
    this.recordDelimiter = options.recordDelimiter ?? '\n';
    this.bom = options.bom ?? false;
    this.stringifyOptions = {
      delimiter: options.delimiter ?? ',',
      record_delimiter: this.recordDelimiter,
      quoted: options.quoted ?? false,
      eof: true,
      header: false,
      cast: {
        boolean: (value) => (value ? 'true' : 'false'),
        date: (value) => value.toISOString(),
        object: (value) => JSON.stringify(value),
      },
    };
  }

  protected override headerText(): string | undefined {
    const header = this.header;
    let text: string | undefined;
    if (typeof header === 'function') text = this.endLine(header());
    else if (header && this.configuredColumns !== undefined) {
      text = stringify([this.configuredColumns.map((c) => c.header)], { ...this.stringifyOptions, cast: {} });
    }
    if (!this.bom) return text;
    return `\ufeff${text ?? ''}`;
  }

  protected override endLine(text: string): string {
    return text.endsWith(this.recordDelimiter) || text.endsWith('\n') ? text : `${text}${this.recordDelimiter}`;
  }

  protected override restoreState(context: ExecutionContext): void {
    const stored = context.get(this.key('columns'));
    this.inferredColumns = Array.isArray(stored) && stored.every((c) => typeof c === 'string') ? (stored as string[]) : undefined;
  }

  protected override saveState(context: ExecutionContext): void {
    if (this.configuredColumns === undefined && this.inferredColumns !== undefined) context.put(this.key('columns'), [...this.inferredColumns]);
  }

  protected format(items: readonly T[]): string {
    let columns: readonly { key: string }[] | readonly string[] | undefined = this.configuredColumns;
    if (columns === undefined) {
      const first = items[0];
      if (!Array.isArray(first) && typeof first === 'object' && first !== null) {
        this.inferredColumns ??= Object.keys(first);
        columns = this.inferredColumns;
      }
    }
    try {
      return stringify(items as unknown[], columns === undefined ? this.stringifyOptions : { ...this.stringifyOptions, columns });
    } catch (error) {
      throw new ItemStreamError(this.path, `CSV output '${this.path}': a chunk of ${items.length} item(s) cannot be written as CSV: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }
}

/**
 * A {@link CsvItemWriter}.
 *
 * @example
 * const out = csvWriter<Person>({ path: 'people.csv', columns: ['id', 'name'], footer: (n) => `# ${n} people` });
 */
export function csvWriter<T>(options: CsvWriterOptions<T>): CsvItemWriter<T> {
  return new CsvItemWriter<T>(options);
}
