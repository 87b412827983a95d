/**
 * The few log calls this package makes. Services pass their own logger (the
 * observability lib will provide one); the default writes one JSON object a
 * line, the format DESIGN.md asks of every service.
 */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface JsonLoggerOptions {
  service?: string;
  level?: LogLevel;
  /** Where lines go; stdout by default. */
  write?: (line: string) => void;
}

/** Errors do not survive JSON.stringify; keep what an operator needs (never the payload). */
export function serializeError(err: unknown): Record<string, unknown> | string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, message: err.message, ...(code !== undefined && { code }) };
  }
  if (typeof err === 'object' && err !== null) return err as Record<string, unknown>;
  return String(err);
}

export function createJsonLogger(options: JsonLoggerOptions = {}): Logger {
  const min = RANK[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const log = (level: LogLevel) => (message: string, fields: Record<string, unknown> = {}) => {
    if (RANK[level] < min) return;
    const { err, ...rest } = fields;
    write(
      JSON.stringify({
        timestamp: new Date().toISOString(),
        level,
        ...(options.service !== undefined && { service: options.service }),
        msg: message,
        ...rest,
        ...(err !== undefined && { err: serializeError(err) }),
      }),
    );
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}
