/** Bindings that scope a logger: job, execution and step ids are carried this way on every line. */
export type LogBindings = Readonly<Record<string, unknown>>;

type LogMethod = {
  (message: string): void;
  (fields: object, message?: string): void;
};

/**
 * The logging port. A pino logger satisfies it as it is, so a host can pass its own; the runtime
 * never imports pino outside `observe/`.
 */
export interface Logger {
  trace: LogMethod;
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
  fatal: LogMethod;
  child(bindings: LogBindings): Logger;
  isLevelEnabled?(level: string): boolean;
}
