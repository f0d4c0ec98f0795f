import { colourEnabled } from './format.js';

/** Output options every command accepts. */
export interface OutputOptions {
  /** One JSON document on stdout instead of human output. */
  readonly json?: boolean;
  /** False after `--no-color`. */
  readonly color?: boolean;
}

/**
 * Where a command writes (https://clig.dev/): data on stdout (tables, summaries, or with `--json`
 * exactly one JSON document and nothing else), messages and progress on stderr.
 */
export class Output {
  readonly json: boolean;
  readonly colour: boolean;

  constructor(options: OutputOptions = {}) {
    this.json = options.json === true;
    this.colour = !this.json && colourEnabled(process.stdout, options.color !== false);
  }

  /** Human output on stdout; ignored in JSON mode. */
  data(text: string): void {
    if (!this.json) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** The one JSON document of the command on stdout; ignored in human mode. */
  document(value: unknown): void {
    if (this.json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** A message for the person at the terminal, on stderr, in both modes. */
  message(text: string): void {
    process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  }
}
