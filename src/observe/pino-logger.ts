import { pino, type LevelWithSilent } from 'pino';
import type { Logger } from '../domain/logger.js';

export interface LoggerOptions {
  /** Default: `TSBATCH_LOG_LEVEL`, else `info`. */
  readonly level?: LevelWithSilent;
}

/**
 * The logger the runtime creates when the host gives none: pino at `info`, JSON lines on stderr
 * (stdout is left to the host's own output), no transports or worker threads.
 */
export function createDefaultLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? (process.env['TSBATCH_LOG_LEVEL'] as LevelWithSilent | undefined) ?? 'info';
  return pino({ level, base: { lib: 'tsbatch' } }, pino.destination({ fd: 2, sync: true }));
}

/** A logger that drops everything: `BatchRuntime.open({ logger: false })`. */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
