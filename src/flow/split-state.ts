import { InvalidConfigurationError } from '../domain/errors.js';
import type { Flow } from './flow.js';
import { maxFlowStatus, type FlowStatus } from './flow-status.js';
import type { FlowContext, State } from './state.js';

/**
 * Runs several flows at once (at most `concurrency` at a time) and waits for all of them. Its
 * status is the worst of theirs (COMPLETED < STOPPED < FAILED < UNKNOWN); if a flow throws, the
 * others still finish and the first error is raised.
 */
export class SplitState implements State {
  readonly isEnd = false;

  constructor(
    readonly name: string,
    readonly flows: readonly Flow[],
    private readonly concurrency: number,
  ) {
    if (flows.length === 0) throw new InvalidConfigurationError(`Split '${name}' has no flows; add them with .add(flow).`);
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new InvalidConfigurationError(`Split '${name}': concurrency must be an integer >= 1, got ${String(concurrency)}.`);
    }
  }

  async handle(context: FlowContext): Promise<FlowStatus> {
    const results: Array<PromiseSettledResult<{ status: FlowStatus; context: FlowContext }>> = new Array(this.flows.length);
    let nextIndex = 0;
    const worker = async () => {
      while (nextIndex < this.flows.length) {
        const index = nextIndex++;
        // Each flow keeps its own "last step"; they share the job's exit status as it builds up.
        const branch: FlowContext = { ...context, lastStepExecution: context.lastStepExecution };
        try {
          const status = await this.flows[index]!.run(branch);
          results[index] = { status: 'fulfilled', value: { status, context: branch } };
        } catch (error) {
          results[index] = { status: 'rejected', reason: error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, this.flows.length) }, worker));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
    let status: FlowStatus = 'COMPLETED';
    for (const result of results as Array<PromiseFulfilledResult<{ status: FlowStatus; context: FlowContext }>>) {
      status = maxFlowStatus(status, result.value.status);
      context.exitStatus = context.exitStatus.and(result.value.context.exitStatus);
    }
    const lastBranch = (results as Array<PromiseFulfilledResult<{ context: FlowContext }>>).at(-1)?.value.context;
    context.lastStepExecution = lastBranch?.lastStepExecution ?? context.lastStepExecution;
    return status;
  }
}
