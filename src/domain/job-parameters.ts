import { createHash } from 'node:crypto';
import { JobParametersInvalidError } from './errors.js';

export type JobParameterValue = string | number | boolean | Date;
export type JobParameterType = 'string' | 'number' | 'boolean' | 'date';

export interface JobParameter {
  readonly value: JobParameterValue;
  readonly type: JobParameterType;
  /** Identifying parameters make up the job instance's identity; others are stored but ignored for it. */
  readonly identifying: boolean;
}

/** What `JobParameters.of` accepts per key: a value, or a value with its identifying flag. */
export type JobParameterInput = JobParameterValue | { readonly value: JobParameterValue; readonly identifying?: boolean };

/** The stored form of one parameter (dates as ISO strings). */
export interface StoredJobParameter {
  readonly value: string | number | boolean;
  readonly type: JobParameterType;
  readonly identifying: boolean;
}

/**
 * The parameters of a job execution. The identifying ones, with the job name, identify the job
 * instance: running the same job with the same identifying parameters again is a restart.
 */
export class JobParameters {
  static readonly EMPTY = new JobParameters(new Map());

  private constructor(private readonly parameters: ReadonlyMap<string, JobParameter>) {}

  /**
   * @example
   * JobParameters.of({ 'run.date': '2024-01-01', attempt: { value: 2, identifying: false } })
   */
  static of(record: Readonly<Record<string, JobParameterInput>> = {}): JobParameters {
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      throw new JobParametersInvalidError('Job parameters must be given as a plain object of name → value.');
    }
    const parameters = new Map<string, JobParameter>();
    for (const name of Object.keys(record).sort()) {
      const input = record[name];
      const boxed = typeof input === 'object' && input !== null && !(input instanceof Date) && !Array.isArray(input) && 'value' in input;
      const value = boxed ? (input as { value: unknown }).value : input;
      const identifying = boxed ? ((input as { identifying?: unknown }).identifying ?? true) : true;
      if (typeof identifying !== 'boolean') {
        throw new JobParametersInvalidError(`Job parameter '${name}': 'identifying' must be a boolean.`);
      }
      parameters.set(name, { value: checkValue(name, value), type: typeOf(value as JobParameterValue), identifying });
    }
    return new JobParameters(parameters);
  }

  /** @internal Rebuilds parameters from their stored form. */
  static fromStored(stored: Readonly<Record<string, StoredJobParameter>>): JobParameters {
    const parameters = new Map<string, JobParameter>();
    for (const name of Object.keys(stored).sort()) {
      const { value, type, identifying } = stored[name]!;
      parameters.set(name, { value: type === 'date' ? new Date(value as string) : value, type, identifying });
    }
    return new JobParameters(parameters);
  }

  get(name: string): JobParameterValue | undefined {
    return this.parameters.get(name)?.value;
  }

  getParameter(name: string): JobParameter | undefined {
    return this.parameters.get(name);
  }

  has(name: string): boolean {
    return this.parameters.has(name);
  }

  names(): string[] {
    return [...this.parameters.keys()];
  }

  get size(): number {
    return this.parameters.size;
  }

  isEmpty(): boolean {
    return this.parameters.size === 0;
  }

  /** Only the identifying parameters. */
  identifying(): JobParameters {
    return new JobParameters(new Map([...this.parameters].filter(([, p]) => p.identifying)));
  }

  /** A plain record of the values, for user code. */
  toRecord(): Record<string, JobParameterValue> {
    return Object.fromEntries([...this.parameters].map(([name, p]) => [name, p.value]));
  }

  /** A new JobParameters with `record` added over these. */
  with(record: Readonly<Record<string, JobParameterInput>>): JobParameters {
    const merged: Record<string, JobParameterInput> = {};
    for (const [name, p] of this.parameters) merged[name] = { value: p.value, identifying: p.identifying };
    return JobParameters.of({ ...merged, ...record });
  }

  /**
   * A stable key for the job instance: a SHA-256 over the identifying parameters in name order,
   * with their types, so `{a: 1, b: 2}` and `{b: 2, a: 1}` are the same instance and `1` and `'1'`
   * are not.
   */
  instanceKey(): string {
    const canonical = [...this.parameters]
      .filter(([, p]) => p.identifying)
      .map(([name, p]) => [name, p.type, serialise(p.value)]);
    return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
  }

  toStored(): Record<string, StoredJobParameter> {
    const stored: Record<string, StoredJobParameter> = {};
    for (const [name, p] of this.parameters) stored[name] = { value: serialise(p.value), type: p.type, identifying: p.identifying };
    return stored;
  }

  equals(other: JobParameters): boolean {
    return JSON.stringify(this.toStored()) === JSON.stringify(other.toStored());
  }

  toString(): string {
    return [...this.parameters]
      .map(([name, p]) => `${name}=${p.value instanceof Date ? p.value.toISOString() : String(p.value)}${p.identifying ? '' : ' (non-identifying)'}`)
      .join(', ');
  }
}

function checkValue(name: string, value: unknown): JobParameterValue {
  if (typeof value === 'string') {
    if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(value)) {
      throw new JobParametersInvalidError(`Job parameter '${name}' contains an unpaired UTF-16 surrogate; it cannot be stored.`);
    }
    return value;
  }
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new JobParametersInvalidError(`Job parameter '${name}' is ${value}; numbers must be finite.`);
    return value;
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new JobParametersInvalidError(`Job parameter '${name}' is an invalid Date.`);
    return value;
  }
  const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : typeof value;
  throw new JobParametersInvalidError(
    `Job parameter '${name}' is ${kind}; parameters must be a string, number, boolean or Date.`,
  );
}

function typeOf(value: JobParameterValue): JobParameterType {
  if (value instanceof Date) return 'date';
  return typeof value as 'string' | 'number' | 'boolean';
}

function serialise(value: JobParameterValue): string | number | boolean {
  return value instanceof Date ? value.toISOString() : value;
}
