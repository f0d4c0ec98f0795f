/**
 * A Logger (the runtime's logging port) that keeps only lines carrying an `event` field, at info
 * and above, stamped with this host's clock (`t`, epoch ms) and the process id. Worker processes
 * write them to stdout as JSON lines; the benchmark reads them to learn which process holds which
 * partition and when it claimed and finished it. Errors without an event still go to stderr.
 */
import type { Logger, LogBindings } from '../../src/index.js';

export interface EventLine {
  readonly event: string;
  readonly t: number;
  readonly pid: number;
  readonly level: string;
  readonly stepExecutionId?: number;
  readonly attempt?: number;
  readonly [field: string]: unknown;
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

export function eventLogger(sink: (line: EventLine) => void, bindings: LogBindings = {}): Logger {
  const method =
    (level: (typeof LEVELS)[number]) =>
    (fields: object | string, message?: string): void => {
      if (level === 'trace' || level === 'debug') return;
      const record = typeof fields === 'string' ? { msg: fields } : { ...fields, ...(message ? { msg: message } : {}) };
      const event = (record as { event?: unknown }).event;
      if (typeof event === 'string') {
        const { err, ...rest } = record as Record<string, unknown>;
        sink({ ...bindings, ...rest, ...(err ? { err: String((err as Error)?.message ?? err) } : {}), event, level, t: Date.now(), pid: process.pid });
      } else if (level === 'error' || level === 'fatal') {
        process.stderr.write(`[${process.pid}] ${level}: ${JSON.stringify(record)}\n`);
      }
    };
  return {
    trace: method('trace') as Logger['trace'],
    debug: method('debug') as Logger['debug'],
    info: method('info') as Logger['info'],
    warn: method('warn') as Logger['warn'],
    error: method('error') as Logger['error'],
    fatal: method('fatal') as Logger['fatal'],
    child: (more) => eventLogger(sink, { ...bindings, ...more }),
    isLevelEnabled: (level) => level !== 'trace' && level !== 'debug',
  };
}
