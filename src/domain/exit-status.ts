/** The standard exit codes; steps, listeners and deciders may use any other string as well. */
export const ExitCode = {
  UNKNOWN: 'UNKNOWN',
  EXECUTING: 'EXECUTING',
  COMPLETED: 'COMPLETED',
  NOOP: 'NOOP',
  FAILED: 'FAILED',
  STOPPED: 'STOPPED',
} as const;

export type StandardExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Severity for `and()`: the codes are matched by prefix, so `COMPLETED WITH SKIPS` ranks as COMPLETED. */
const SEVERITY_BY_PREFIX: ReadonlyArray<readonly [string, number]> = [
  ['EXECUTING', 1],
  ['COMPLETED', 2],
  ['NOOP', 3],
  ['STOPPED', 4],
  ['FAILED', 5],
  ['UNKNOWN', 6],
];
const CUSTOM_SEVERITY = 7;

function severity(code: string): number {
  for (const [prefix, rank] of SEVERITY_BY_PREFIX) if (code.startsWith(prefix)) return rank;
  return CUSTOM_SEVERITY;
}

/** Stored descriptions are bounded so that a long chain of stack traces cannot bloat every record. */
const MAX_DESCRIPTION_LENGTH = 2500;

/**
 * How an execution ended, as a code that flows can branch on and a human-readable description.
 * Immutable: every operation returns a new value.
 */
export class ExitStatus {
  static readonly UNKNOWN = new ExitStatus('UNKNOWN');
  static readonly EXECUTING = new ExitStatus('EXECUTING');
  static readonly COMPLETED = new ExitStatus('COMPLETED');
  static readonly NOOP = new ExitStatus('NOOP');
  static readonly FAILED = new ExitStatus('FAILED');
  static readonly STOPPED = new ExitStatus('STOPPED');
  /** The code a chunk step ends with when it completed but skipped items. */
  static readonly COMPLETED_WITH_SKIPS = new ExitStatus('COMPLETED WITH SKIPS');

  readonly exitDescription: string;

  constructor(
    readonly exitCode: string,
    exitDescription = '',
  ) {
    this.exitDescription = truncate(exitDescription);
  }

  static of(exitCode: string, exitDescription = ''): ExitStatus {
    return new ExitStatus(exitCode, exitDescription);
  }

  /**
   * Combines two statuses: the more severe code wins (custom codes outrank the standard ones; at
   * equal severity the lexicographically greater code wins), and the descriptions are joined.
   */
  and(other: ExitStatus): ExitStatus {
    const description = joinDescriptions(this.exitDescription, other.exitDescription);
    const code = this.compareTo(other) < 0 ? other.exitCode : this.exitCode;
    return new ExitStatus(code, description);
  }

  /** Negative when `other` is more severe (or equally severe and greater by name). */
  compareTo(other: ExitStatus): number {
    const bySeverity = severity(this.exitCode) - severity(other.exitCode);
    if (bySeverity !== 0) return bySeverity;
    return this.exitCode < other.exitCode ? -1 : this.exitCode > other.exitCode ? 1 : 0;
  }

  replaceExitCode(exitCode: string): ExitStatus {
    return new ExitStatus(exitCode, this.exitDescription);
  }

  /** Appends a description; an error contributes its stack with every `cause` below it. */
  addExitDescription(description: string | Error): ExitStatus {
    const text = typeof description === 'string' ? description : describeError(description);
    return new ExitStatus(this.exitCode, joinDescriptions(this.exitDescription, text));
  }

  /** EXECUTING and UNKNOWN are the codes of an execution that has not ended cleanly. */
  isRunning(): boolean {
    return this.exitCode === 'EXECUTING' || this.exitCode === 'UNKNOWN';
  }

  equals(other: ExitStatus): boolean {
    return this.exitCode === other.exitCode && this.exitDescription === other.exitDescription;
  }

  toJSON(): { exitCode: string; exitDescription: string } {
    return { exitCode: this.exitCode, exitDescription: this.exitDescription };
  }

  toString(): string {
    return this.exitDescription ? `${this.exitCode} (${this.exitDescription})` : this.exitCode;
  }
}

function joinDescriptions(a: string, b: string): string {
  if (!a) return truncate(b);
  if (!b || a === b || a.includes(b)) return truncate(a);
  return truncate(`${a}; ${b}`);
}

function truncate(text: string): string {
  return text.length > MAX_DESCRIPTION_LENGTH ? text.slice(0, MAX_DESCRIPTION_LENGTH) : text;
}

/** A stack trace followed by its `Caused by:` chain, so a stored description explains the root cause. */
export function describeError(error: unknown): string {
  const lines: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 8; depth++) {
    const text =
      current instanceof Error ? (current.stack ?? `${current.name}: ${current.message}`) : String(current);
    lines.push(depth === 0 ? text : `Caused by: ${text}`);
    current = current instanceof Error ? current.cause : undefined;
  }
  return lines.join('\n');
}
