import type { ExecutionContext, JsonValue } from '../domain/execution-context.js';
import type { Logger } from '../domain/logger.js';
import { RepeatStatus } from '../domain/repeat-status.js';
import { StepContribution } from '../domain/step-contribution.js';
import type { StepExecution } from '../domain/step-execution.js';
import type { ItemStream } from '../item/item-stream.js';
import type { ChunkTransaction } from '../item/item-writer.js';
import type { StagedWrite } from '../repository/records.js';
import type { Awaitable } from '../support/awaitable.js';
import { AbstractStep, type StepRunParts, type StepSettings } from './abstract-step.js';
import { commitContribution } from './chunk/chunk-oriented-step.js';
import { nextChunkKey } from './chunk-sequence.js';
import type { StepEnvironment } from './step.js';
import type { StepListeners } from './step-listeners.js';

/** What a tasklet sees of its surroundings on each iteration. */
export interface ChunkContext {
  readonly stepExecution: StepExecution;
  /** The step's context: committed after every iteration, handed back on restart. */
  readonly stepContext: ExecutionContext;
  /** The job execution's context, shared by all steps and carried over on restart. */
  readonly jobContext: ExecutionContext;
  /** Carries job, execution and step ids on every line. */
  readonly logger: Logger;
  /** Puts staged here commit with this iteration, or not at all. */
  readonly transaction: ChunkTransaction;
  /**
   * True once a stop was requested. A long tasklet should check it and return (FINISHED or
   * CONTINUABLE) at a safe point; the step then ends STOPPED after this iteration commits.
   */
  readonly stopRequested: boolean;
}

/**
 * A step's whole work as one function, called until it returns FINISHED (returning nothing means
 * FINISHED). Each call is one transaction: one commit, or one rollback if it throws.
 */
export type Tasklet = (contribution: StepContribution, chunkContext: ChunkContext) => Awaitable<RepeatStatus | void | undefined>;

export interface TaskletStepParts extends StepRunParts {
  readonly tasklet: Tasklet;
  readonly listeners: StepListeners<unknown, unknown>;
  readonly streams: readonly ItemStream[];
}

/** A step that runs a tasklet, one commit per iteration, stopping at an iteration boundary when asked. */
export class TaskletStep extends AbstractStep<TaskletStepParts> {
  constructor(
    settings: StepSettings,
    private readonly partsFactory: (stepExecution: StepExecution) => TaskletStepParts,
  ) {
    super(settings);
  }

  protected createParts(stepExecution: StepExecution): TaskletStepParts {
    return this.partsFactory(stepExecution);
  }

  protected async doExecute(step: StepExecution, parts: TaskletStepParts, environment: StepEnvironment, logger: Logger): Promise<void> {
    while (!step.terminateOnly) {
      const contribution = new StepContribution();
      const staged: StagedWrite[] = [];
      const committedContext = step.executionContext.toJSON();
      let status: RepeatStatus | void | undefined;
      try {
        status = await parts.tasklet(contribution, {
          get stopRequested() {
            return step.terminateOnly;
          },
          stepExecution: step,
          stepContext: step.executionContext,
          jobContext: environment.jobExecution.executionContext,
          logger,
          transaction: {
            chunkKey: nextChunkKey(step),
            put: (store: string, key: string, value: JsonValue) => void staged.push({ kind: 'put', store, key, value }),
            remove: (store: string, key: string) => void staged.push({ kind: 'remove', store, key }),
          },
        });
        for (const stream of parts.streams) await stream.update?.(step.executionContext);
      } catch (error) {
        step.executionContext.restore(committedContext);
        step.apply(contribution);
        step.rollbackCount += 1;
        throw error;
      }
      step.exitStatus = step.exitStatus.and(contribution.exitStatus);
      await commitContribution(step, contribution, staged, committedContext, environment, logger);
      if (status !== RepeatStatus.CONTINUABLE) return;
    }
  }
}
