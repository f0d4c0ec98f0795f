import { JobParameters, type JobParameterInput, type JobParameterType, type JobParameterValue } from '../index.js';
import { CliError } from './cli-error.js';

const TYPES: readonly JobParameterType[] = ['string', 'number', 'boolean', 'date'];

function asType(token: string): JobParameterType | undefined {
  const lower = token.trim().toLowerCase();
  if (lower === '') return 'string';
  return TYPES.find((type) => type === lower);
}

function invalid(argument: string, reason: string): CliError {
  return new CliError('JOB_PARAMETERS_INVALID', `Bad job parameter '${argument}': ${reason}`);
}

function convert(argument: string, raw: string, type: JobParameterType): JobParameterValue {
  switch (type) {
    case 'string':
      return raw;
    case 'number': {
      const value = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(value)) throw invalid(argument, `'${raw}' is not a finite number.`);
      return value;
    }
    case 'boolean': {
      const lower = raw.trim().toLowerCase();
      if (lower !== 'true' && lower !== 'false') throw invalid(argument, `'${raw}' is not a boolean (true or false).`);
      return lower === 'true';
    }
    case 'date': {
      const value = new Date(raw);
      if (raw.trim() === '' || Number.isNaN(value.getTime())) throw invalid(argument, `'${raw}' is not a date (use ISO 8601, e.g. 2024-01-31 or 2024-01-31T12:00:00Z).`);
      return value;
    }
  }
}

/** One parsed `key=value[,type[,identifying]]` argument. */
export interface ParsedParameter {
  readonly name: string;
  readonly value: JobParameterValue;
  readonly identifying: boolean;
}

/**
 * Parses one command-line job parameter in Spring Batch's `name=value,type,identifying` form:
 * `type` is string (the default), number, boolean or date; `identifying` is true (the default) or
 * false. The type and flag are read from the end, and only when they are one of those words, so a
 * plain string value may contain commas (`tags=a,b`); `name=value,,false` is a non-identifying string.
 *
 * @example
 * parseParameter('count=10,number')         // { name: 'count', value: 10, identifying: true }
 * parseParameter('run.date=2024-01-01,date,false')
 */
export function parseParameter(argument: string): ParsedParameter {
  const equals = argument.indexOf('=');
  if (equals < 0) throw invalid(argument, "expected name=value (optionally name=value,type or name=value,type,identifying).");
  const name = argument.slice(0, equals).trim();
  if (name === '') throw invalid(argument, 'the name before "=" is empty.');
  const rest = argument.slice(equals + 1);
  const tokens = rest.split(',');

  let raw = rest;
  let type: JobParameterType = 'string';
  let identifying = true;
  const last = tokens[tokens.length - 1]!;
  const beforeLast = tokens.length >= 3 ? tokens[tokens.length - 2]! : undefined;
  const flagType = beforeLast === undefined ? undefined : asType(beforeLast);
  const isFlag = /^(true|false)$/i.test(last.trim());
  // An empty type (`value,,false`) only counts when a flag follows, so `a,,b` stays a plain string.
  if (flagType !== undefined && beforeLast !== undefined && (isFlag || beforeLast.trim() !== '')) {
    // name=value,type,identifying
    const flag = last.trim().toLowerCase();
    if (flag !== 'true' && flag !== 'false') throw invalid(argument, `the identifying flag must be true or false, not '${last}'.`);
    type = flagType;
    identifying = flag === 'true';
    raw = tokens.slice(0, -2).join(',');
  } else if (tokens.length >= 2 && last.trim() !== '' && asType(last) !== undefined) {
    // name=value,type
    type = asType(last)!;
    raw = tokens.slice(0, -1).join(',');
  }
  return { name, value: convert(argument, raw, type), identifying };
}

/** Parses every `key=value[,type[,identifying]]` argument into JobParameters; a repeated name is an error. */
export function parseParameters(argumentsList: readonly string[]): JobParameters {
  const record: Record<string, JobParameterInput> = {};
  for (const argument of argumentsList) {
    const { name, value, identifying } = parseParameter(argument);
    if (name in record) throw invalid(argument, `parameter '${name}' is given more than once.`);
    record[name] = identifying ? value : { value, identifying };
  }
  try {
    return JobParameters.of(record);
  } catch (error) {
    throw new CliError('JOB_PARAMETERS_INVALID', error instanceof Error ? error.message : String(error), undefined, { cause: error });
  }
}
