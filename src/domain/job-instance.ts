/** A job run with one set of identifying parameters; its executions are its attempts. */
export interface JobInstance {
  readonly id: number;
  readonly jobName: string;
  /** The instance key derived from the identifying parameters (see `JobParameters.instanceKey`). */
  readonly instanceKey: string;
}
