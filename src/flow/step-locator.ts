import type { Step } from '../step/step.js';
import { Flow } from './flow.js';
import { FlowJob } from './flow-job.js';
import { FlowState } from './flow-state.js';
import type { Job } from './job.js';
import { SimpleJob } from './simple-job.js';
import { SplitState } from './split-state.js';
import { StepState } from './step-state.js';

/**
 * Finds a step of a job by name, through flows, splits and nested flows (Spring Batch's
 * StepLocator): a worker process runs the partitions of a step it finds this way in its own copy
 * of the job definition.
 */
export function locateStep(job: Job, stepName: string): Step | undefined {
  const steps = job instanceof SimpleJob ? job.steps : job instanceof FlowJob ? stepsOfFlow(job.flow) : [];
  return steps.find((step) => step.name === stepName);
}

function stepsOfFlow(flow: Flow, seen = new Set<Flow>()): Step[] {
  if (seen.has(flow)) return [];
  seen.add(flow);
  const steps: Step[] = [];
  for (const state of flow.allStates()) {
    if (state instanceof StepState) steps.push(state.step);
    else if (state instanceof SplitState) for (const inner of state.flows) steps.push(...stepsOfFlow(inner, seen));
    else if (state instanceof FlowState) steps.push(...stepsOfFlow(state.flow, seen));
  }
  return steps;
}
