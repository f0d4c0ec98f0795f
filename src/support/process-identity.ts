import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/** This process as the operating system and the store know it. */
export interface ProcessIdentity {
  readonly host: string;
  readonly pid: number;
  /** Random per call: tells a restarted process (or a second runtime in one process) apart. */
  readonly token: string;
  /** When the process started (Linux clock ticks since boot), to detect a reused pid; null where unknown. */
  readonly processStart: number | null;
}

/**
 * TSBATCH_HOST overrides the host name: processes that record the same host are judged by their
 * pid, so containers that share a host name but not a pid namespace must set distinct ones (and
 * tests set it to play several hosts on one machine).
 */
export function currentProcessIdentity(): ProcessIdentity {
  const host = process.env['TSBATCH_HOST'] || hostname();
  return { host, pid: process.pid, token: randomUUID(), processStart: processStartOf(process.pid) };
}

/** The start time of a process in clock ticks since boot (Linux), or null where that is not known. */
export function processStartOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses; fields resume after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = Number(fields[19]);
    return Number.isFinite(start) ? start : null;
  } catch {
    return null;
  }
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
