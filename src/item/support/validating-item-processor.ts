import type { z } from 'zod';
import { ItemValidationError } from '../../domain/errors.js';
import type { ItemProcessor } from '../item-processor.js';

export interface ValidatingProcessorOptions {
  /**
   * `filter`: an invalid item is dropped and counted as filtered. `fail`: it raises
   * ItemValidationError, which a fault-tolerant step can skip (`.skip(ItemValidationError)`).
   * @default 'fail'
   */
  readonly mode?: 'filter' | 'fail';
}

/**
 * Checks each item against a zod schema and passes on the parsed value (so transforms and
 * defaults of the schema apply). Invalid items are filtered or failed, by option.
 */
export class ValidatingItemProcessor<S extends z.ZodType> implements ItemProcessor<unknown, z.output<S>> {
  private readonly mode: 'filter' | 'fail';

  constructor(
    private readonly schema: S,
    options: ValidatingProcessorOptions = {},
  ) {
    this.mode = options.mode ?? 'fail';
  }

  process(item: unknown): z.output<S> | null {
    const result = this.schema.safeParse(item);
    if (result.success) return result.data;
    if (this.mode === 'filter') return null;
    const issues = result.error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : '(item)'}: ${issue.message}`);
    throw new ItemValidationError(`Item failed validation: ${issues.join('; ')}`, issues, { cause: result.error });
  }
}

export function validatingProcessor<S extends z.ZodType>(schema: S, options?: ValidatingProcessorOptions): ValidatingItemProcessor<S> {
  return new ValidatingItemProcessor(schema, options);
}
