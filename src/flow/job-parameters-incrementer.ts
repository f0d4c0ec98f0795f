import { JobParametersInvalidError } from '../domain/errors.js';
import { JobParameters } from '../domain/job-parameters.js';

/**
 * Makes the parameters of the next instance from those of the last one (or from none), like a
 * database sequence: `operator.startNextInstance(name)` uses it.
 */
export type JobParametersIncrementer = (previous: JobParameters | undefined) => JobParameters;

/**
 * Spring Batch's RunIdIncrementer: `run.id` (or `key`) becomes the previous value + 1, or 1; the
 * other parameters of the previous instance are carried over.
 */
export function runIdIncrementer(key = 'run.id'): JobParametersIncrementer {
  return (previous) => {
    const last = previous?.getParameter(key);
    if (last !== undefined && typeof last.value !== 'number') {
      throw new JobParametersInvalidError(`The incrementer needs a numeric '${key}', but the last instance had ${JSON.stringify(last.value)}.`);
    }
    const next = typeof last?.value === 'number' ? last.value + 1 : 1;
    return (previous ?? JobParameters.EMPTY).with({ [key]: { value: next, identifying: last?.identifying ?? true } });
  };
}
