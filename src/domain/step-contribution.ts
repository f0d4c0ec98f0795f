import { ExitStatus } from './exit-status.js';

/**
 * What one chunk (or one tasklet iteration) adds to its StepExecution. The counts are applied
 * to the StepExecution when the chunk ends, whether it committed or rolled back, as Spring Batch does.
 */
export class StepContribution {
  readCount = 0;
  writeCount = 0;
  filterCount = 0;
  readSkipCount = 0;
  processSkipCount = 0;
  writeSkipCount = 0;
  exitStatus: ExitStatus = ExitStatus.EXECUTING;

  incrementReadCount(by = 1): void {
    this.readCount += by;
  }

  incrementWriteCount(by = 1): void {
    this.writeCount += by;
  }

  incrementFilterCount(by = 1): void {
    this.filterCount += by;
  }

  get skipCount(): number {
    return this.readSkipCount + this.processSkipCount + this.writeSkipCount;
  }
}
