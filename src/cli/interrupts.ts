import { CliExitCode } from './cli-error.js';

/**
 * Ctrl-C handling for `run`: the first SIGINT or SIGTERM asks for a graceful stop (the job ends
 * STOPPED at its next chunk boundary, after the chunk in flight has committed) and the command exits
 * 130 once the job has ended; a second signal exits 130 at once.
 */
export class InterruptHandler {
  private count = 0;
  private readonly listener = (signal: NodeJS.Signals) => this.onSignal(signal);

  constructor(
    private readonly onFirst: (signal: NodeJS.Signals) => void,
    private readonly say: (text: string) => void,
  ) {
    process.on('SIGINT', this.listener);
    process.on('SIGTERM', this.listener);
  }

  /** True once a signal has arrived. */
  get interrupted(): boolean {
    return this.count > 0;
  }

  private onSignal(signal: NodeJS.Signals): void {
    this.count += 1;
    if (this.count > 1) {
      this.say(`${signal} again: exiting now; the execution stays as the store last recorded it (see 'tsbatch recover').`);
      process.exit(CliExitCode.INTERRUPTED);
    }
    this.say(`${signal}: stopping at the next chunk boundary (press Ctrl-C again to exit at once).`);
    this.onFirst(signal);
  }

  dispose(): void {
    process.off('SIGINT', this.listener);
    process.off('SIGTERM', this.listener);
  }
}
