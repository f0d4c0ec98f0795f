import type { z } from 'zod';
import { InvalidConfigurationError, JobParametersInvalidError } from '../domain/errors.js';
import { assertJsonValue, type JsonValue } from '../domain/execution-context.js';
import type { Logger } from '../domain/logger.js';
import type { ChunkTransaction } from '../item/item-writer.js';
import type { Awaitable } from '../support/awaitable.js';
import type { BackOffPolicy } from '../support/back-off.js';
import type { StoredWorkStep } from './records.js';

/** The chunk a step is running, as its worker sees it. */
export interface WorkChunkInfo {
  readonly id: string;
  readonly instanceId: string;
  readonly stepId: string;
  /** 1 on the first run, 2 on the first retry, and so on. */
  readonly attempt: number;
}

/** Where a step puts what it produces: each `accept` becomes one chunk of the next step. */
export interface WorkChunkSink<O> {
  accept(data: O): void;
  /** Records a problem that did not stop the chunk: counted in the instance's errors and kept as a warning. */
  recoveredError(message: string): void;
}

/** The last step's sink: it emits nothing, but may still record recovered errors. */
export interface WarningSink {
  recoveredError(message: string): void;
}

export interface FirstStepContext<P> {
  readonly parameters: P;
  readonly chunk: WorkChunkInfo;
  /** Carries definition, instance, chunk and step ids. */
  readonly logger: Logger;
  /** Writes staged here are stored in the chunk's commit: exactly once, whatever crashes. */
  readonly transaction: ChunkTransaction;
}

export interface StepContext<P, I> extends FirstStepContext<P> {
  readonly data: I;
}

/** What a step may return: the records it processed, summed into the instance. */
export type RunOutcome = { readonly recordsProcessed?: number } | void;

export type FirstStepWorker<P, O> = (context: FirstStepContext<P>, sink: WorkChunkSink<O>) => Awaitable<RunOutcome>;
export type IntermediateStepWorker<P, I, O> = (context: StepContext<P, I>, sink: WorkChunkSink<O>) => Awaitable<RunOutcome>;
export type LastStepWorker<P, I> = (context: StepContext<P, I>, sink: WarningSink) => Awaitable<RunOutcome>;

export interface ReducerContext<P> {
  readonly parameters: P;
  readonly instanceId: string;
  readonly logger: Logger;
}

/** The report sink of a reducer: `accept` stores the instance's report. */
export interface ReportSink<R> extends WarningSink {
  accept(report: R): void;
}

/**
 * The final step of a gated job: consumes every output of the step before it, in chunk order, then
 * reports once. With `initial`, the state is stored with each batch of consumed chunks, so a crash
 * resumes where it stopped; without it, a crash starts the reduction again from the first chunk.
 */
export interface WorkChunkReducer<P, I, R, S = JsonValue> {
  initial?(parameters: P): S;
  /** Returns the new state, or nothing when it changed the state in place. */
  consume(data: I, state: S, context: ReducerContext<P>): Awaitable<S | void>;
  complete(sink: ReportSink<R>, state: S, context: ReducerContext<P>): Awaitable<void>;
}

export interface WorkChunkRetryPolicy {
  /** Runs of a chunk, the first included, before it fails for good. @default 3 */
  readonly maxAttempts?: number;
  /** @default exponential from 1 s, capped at 5 min */
  readonly backoff?: BackOffPolicy;
}

/** What completion and error handlers are told. */
export interface WorkChunkInstanceOutcome<P> {
  readonly instanceId: string;
  readonly parameters: P;
  readonly status: 'COMPLETED' | 'FAILED';
  readonly errorMessage: string | null;
  readonly report: JsonValue | null;
}

/** @internal A step as the runtime runs it: its worker with the types erased. */
export type WorkStepDefinition =
  | { readonly id: string; readonly kind: 'first' | 'step' | 'last'; readonly run: (context: StepContext<unknown, unknown>, sink: WorkChunkSink<unknown>) => Awaitable<RunOutcome> }
  | { readonly id: string; readonly kind: 'reduce'; readonly reducer: WorkChunkReducer<unknown, unknown, unknown, JsonValue> };

/** A built, immutable work-chunk job definition. Register it with `runtime.workChunks.register`. */
export interface WorkChunkJobDefinition<P = unknown> {
  readonly id: string;
  readonly version: number;
  readonly description: string | undefined;
  readonly gated: boolean;
  /** @internal */
  readonly steps: readonly WorkStepDefinition[];
  readonly retry: { readonly maxAttempts: number; readonly backoff: BackOffPolicy };
  /** Validates raw parameters (zod schema, then the custom validator); throws JobParametersInvalidError. */
  parseParameters(raw: unknown): P;
  /** @internal */
  readonly onComplete: ((outcome: WorkChunkInstanceOutcome<P>) => Awaitable<void>) | undefined;
  /** @internal */
  readonly onError: ((outcome: WorkChunkInstanceOutcome<P>) => Awaitable<void>) | undefined;
}

const DEFAULT_BACKOFF: BackOffPolicy = { type: 'exponential', initialMs: 1000, maxMs: 300_000 };

interface DraftState {
  readonly id: string;
  readonly version: number;
  description?: string;
  gated: boolean;
  schema?: z.ZodType;
  validator?: (parameters: never) => readonly string[] | string | void;
  readonly steps: WorkStepDefinition[];
  retry?: WorkChunkRetryPolicy;
  onComplete?: (outcome: WorkChunkInstanceOutcome<never>) => Awaitable<void>;
  onError?: (outcome: WorkChunkInstanceOutcome<never>) => Awaitable<void>;
}

/**
 * Starts a work-chunk job definition (HAPI FHIR batch2's model): a typed chain of at least two
 * steps where each `sink.accept` of a step becomes one persisted chunk of the next.
 *
 * @example
 * const exportJob = workChunkJob('bulk-export', 1)
 *   .parameters(z.object({ types: z.array(z.string()) }))
 *   .first<Range>('ranges', ({ parameters }, sink) => { for (const type of parameters.types) sink.accept({ type, from: 0, to: 1000 }); })
 *   .step<Batch>('fetch', async ({ data }, sink) => sink.accept(await fetchBatch(data)))
 *   .last('write', async ({ data, transaction }) => { transaction.put('export', data.key, data.rows); })
 *   .build();
 */
export function workChunkJob(id: string, version: number): WorkChunkJobBuilder<Record<string, JsonValue>> {
  if (typeof id !== 'string' || id.length === 0 || id.length > 100 || /[\u0000-\u001f@/]/.test(id)) {
    throw new InvalidConfigurationError(`A work-chunk job id must be 1 to 100 characters, without '@', '/' or control characters; got ${JSON.stringify(id)}.`);
  }
  if (!Number.isInteger(version) || version < 1) {
    throw new InvalidConfigurationError(`Work-chunk job '${id}': the version must be an integer >= 1; got ${version}.`);
  }
  return new WorkChunkJobBuilder({ id, version, gated: false, steps: [] });
}

function addStep(state: DraftState, step: WorkStepDefinition): void {
  if (state.steps.some((existing) => existing.id === step.id)) {
    throw new InvalidConfigurationError(`Work-chunk job '${state.id}': two steps are named '${step.id}'.`);
  }
  if (!step.id || step.id.includes('\u001f')) throw new InvalidConfigurationError(`Work-chunk job '${state.id}': a step needs a non-empty id.`);
  state.steps.push(step);
}

export class WorkChunkJobBuilder<P> {
  /** @internal */
  constructor(private readonly state: DraftState) {}

  description(text: string): this {
    this.state.description = text;
    return this;
  }

  /** The parameters' zod schema: `start` validates them and names every bad field. */
  parameters<S extends z.ZodType>(schema: S): WorkChunkJobBuilder<z.output<S>> {
    this.state.schema = schema;
    return new WorkChunkJobBuilder<z.output<S>>(this.state);
  }

  /** A check after the schema's: return (or throw) what is wrong, nothing when the parameters are fine. */
  validator(check: (parameters: P) => readonly string[] | string | void): this {
    this.state.validator = check as DraftState['validator'];
    return this;
  }

  /** Each step waits for every chunk of the one before it to complete; required for `reduce`. */
  gated(): this {
    this.state.gated = true;
    return this;
  }

  first<O>(stepId: string, worker: FirstStepWorker<P, O>): WorkChunkStepChain<P, O> {
    addStep(this.state, { id: stepId, kind: 'first', run: worker as never });
    return new WorkChunkStepChain<P, O>(this.state);
  }
}

/** The chain after the first step: `I` is what the previous step emits. */
export class WorkChunkStepChain<P, I> {
  /** @internal */
  constructor(private readonly state: DraftState) {}

  step<O>(stepId: string, worker: IntermediateStepWorker<P, I, O>): WorkChunkStepChain<P, O> {
    addStep(this.state, { id: stepId, kind: 'step', run: worker as never });
    return new WorkChunkStepChain<P, O>(this.state);
  }

  last(stepId: string, worker: LastStepWorker<P, I>): WorkChunkJobTail<P> {
    addStep(this.state, { id: stepId, kind: 'last', run: worker as never });
    return new WorkChunkJobTail<P>(this.state);
  }

  /** A final reducer over every output of the previous step; gated jobs only. */
  /** `S`, the reducer's state, must survive JSON: it is checked each time it is stored. */
  reduce<R, S = JsonValue>(stepId: string, reducer: WorkChunkReducer<P, I, R, S>): WorkChunkJobTail<P> {
    if (!this.state.gated) {
      throw new InvalidConfigurationError(`Work-chunk job '${this.state.id}': reduce('${stepId}') needs a gated job; call .gated() before .first().`);
    }
    addStep(this.state, { id: stepId, kind: 'reduce', reducer: reducer as never });
    return new WorkChunkJobTail<P>(this.state);
  }
}

/** The complete chain: retry policy and handlers, then `build`. */
export class WorkChunkJobTail<P> {
  /** @internal */
  constructor(private readonly state: DraftState) {}

  retry(policy: WorkChunkRetryPolicy): this {
    if (policy.maxAttempts !== undefined && (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1)) {
      throw new InvalidConfigurationError(`Work-chunk job '${this.state.id}': retry.maxAttempts must be an integer >= 1; got ${policy.maxAttempts}.`);
    }
    this.state.retry = policy;
    return this;
  }

  /** Called once, after the instance is stored COMPLETED. */
  onComplete(handler: (outcome: WorkChunkInstanceOutcome<P>) => Awaitable<void>): this {
    this.state.onComplete = handler as DraftState['onComplete'];
    return this;
  }

  /** Called once, after the instance is stored FAILED. */
  onError(handler: (outcome: WorkChunkInstanceOutcome<P>) => Awaitable<void>): this {
    this.state.onError = handler as DraftState['onError'];
    return this;
  }

  build(): WorkChunkJobDefinition<P> {
    const state = this.state;
    const { schema, validator } = state;
    const definition: WorkChunkJobDefinition<P> = {
      id: state.id,
      version: state.version,
      description: state.description,
      gated: state.gated,
      steps: [...state.steps],
      retry: { maxAttempts: state.retry?.maxAttempts ?? 3, backoff: state.retry?.backoff ?? DEFAULT_BACKOFF },
      onComplete: state.onComplete as WorkChunkJobDefinition<P>['onComplete'],
      onError: state.onError as WorkChunkJobDefinition<P>['onError'],
      parseParameters(raw: unknown): P {
        let parameters = raw;
        if (schema) {
          const result = schema.safeParse(raw ?? {});
          if (!result.success) {
            const problems = result.error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : '(parameters)'}: ${issue.message}`);
            throw new JobParametersInvalidError(`Invalid parameters for work-chunk job '${state.id}': ${problems.join('; ')}`, state.id);
          }
          parameters = result.data;
        }
        parameters ??= {};
        if (validator) {
          let problems: readonly string[] | string | void;
          try {
            problems = validator(parameters as never);
          } catch (error) {
            problems = error instanceof Error ? error.message : String(error);
          }
          const list = typeof problems === 'string' ? [problems] : (problems ?? []);
          if (list.length > 0) throw new JobParametersInvalidError(`Invalid parameters for work-chunk job '${state.id}': ${list.join('; ')}`, state.id);
        }
        try {
          assertJsonValue('parameters', parameters);
        } catch (error) {
          throw new JobParametersInvalidError(`Invalid parameters for work-chunk job '${state.id}': ${(error as Error).message}`, state.id, { cause: error });
        }
        return parameters as P;
      },
    };
    return Object.freeze(definition);
  }
}

/** @internal The shape of a definition's steps as stored with each instance. */
export function storedStepsOf(definition: WorkChunkJobDefinition<unknown>): StoredWorkStep[] {
  return definition.steps.map((step) => ({ id: step.id, kind: step.kind }));
}
