import type { z } from 'zod';
import { InvalidConfigurationError, JobParametersInvalidError } from '../domain/errors.js';
import type { JobParameters } from '../domain/job-parameters.js';
import type { JobParametersValidator } from './job.js';

export interface ParametersSpec {
  /** Keys that must be present. */
  readonly required?: readonly string[];
  /** Keys that may be present; with `required`, any other key draws a warning (not an error, as in Spring Batch). */
  readonly optional?: readonly string[];
  /** A zod schema for the parameter values as a record (`{ name: value }`); every issue is reported, by field. */
  readonly schema?: z.ZodType;
}

/**
 * Spring Batch's DefaultJobParametersValidator, plus an optional zod schema: missing required keys
 * and schema issues refuse the launch with JobParametersInvalidError, naming every offending key;
 * keys that are neither required nor optional are reported back as warnings.
 */
export function parametersValidator(jobName: string, spec: ParametersSpec): JobParametersValidator {
  const required = [...(spec.required ?? [])];
  const optional = spec.optional ? [...spec.optional] : undefined;
  const overlap = required.filter((key) => optional?.includes(key));
  if (overlap.length > 0) {
    throw new InvalidConfigurationError(`Job '${jobName}': parameters ${overlap.join(', ')} are both required and optional.`);
  }
  return (parameters: JobParameters) => {
    const missing = required.filter((key) => !parameters.has(key));
    if (missing.length > 0) {
      throw new JobParametersInvalidError(
        `Job '${jobName}': the parameters do not contain required keys: ${missing.join(', ')}. Given: ${parameters.names().join(', ') || '(none)'}.`,
        jobName,
      );
    }
    if (spec.schema) {
      const result = spec.schema.safeParse(parameters.toRecord());
      if (!result.success) {
        const issues = result.error.issues.map((issue) => `${issue.path.join('.') || '(parameters)'}: ${issue.message}`);
        throw new JobParametersInvalidError(`Job '${jobName}': invalid parameters: ${issues.join('; ')}.`, jobName, { cause: result.error });
      }
    }
    if (!optional) return [];
    const known = new Set([...required, ...optional]);
    return parameters
      .names()
      .filter((key) => !known.has(key))
      .map((key) => `Job '${jobName}': parameter '${key}' is neither required nor optional.`);
  };
}
