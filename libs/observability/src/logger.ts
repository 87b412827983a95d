import type { LoggerService } from '@nestjs/common';
import { redact } from './redact';
import { currentTraceId } from './trace.context';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50 };

/** The fields DESIGN.md asks every log line to carry when they apply. */
export interface LogFields {
  workflow?: string;
  run_id?: string;
  task_id?: string;
  trace_id?: string;
  status?: string;
  duration_ms?: number;
  err?: unknown;
  [key: string]: unknown;
}

export interface LoggerOptions {
  service: string;
  level?: LogLevel;
  /** Where lines go; stdout by default (one JSON object per line). */
  write?: (line: string) => void;
  base?: LogFields;
}

/** Structured JSON logger: one object a line, secrets redacted before serialisation. */
export class Logger {
  private readonly min: number;
  private readonly write: (line: string) => void;

  constructor(private readonly options: LoggerOptions) {
    this.min = RANK[options.level ?? 'info'];
    this.write = options.write ?? ((line) => process.stdout.write(line + '\n'));
  }

  child(fields: LogFields): Logger {
    return new Logger({ ...this.options, base: { ...this.options.base, ...fields } });
  }

  isEnabled(level: LogLevel): boolean {
    return RANK[level] >= this.min;
  }

  log(level: LogLevel, msg: string, fields: LogFields = {}): void {
    if (!this.isEnabled(level)) return;
    // Inside a handled message or request the active span names the trace; an explicit trace_id wins.
    const traceId = fields.trace_id ?? this.options.base?.trace_id ?? currentTraceId();
    const line = {
      timestamp: new Date().toISOString(),
      level,
      service: this.options.service,
      msg,
      ...(traceId !== undefined && { trace_id: traceId }),
      ...(redact({ ...this.options.base, ...fields }) as object),
    };
    this.write(JSON.stringify(line));
  }

  trace(msg: string, fields?: LogFields): void {
    this.log('trace', msg, fields);
  }
  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }
}

/** Nest's start-up chatter (every module and route) is debug, not info. */
const NEST_BOOT_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestFactory', 'NestMicroservice']);

/** Routes Nest's own log calls into the JSON logger. */
export class NestJsonLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, context?: string): void {
    if (context !== undefined && NEST_BOOT_CONTEXTS.has(context)) this.logger.debug(String(message), { context });
    else this.logger.info(String(message), { context });
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error(String(message), { context, ...(trace && { err: { stack: trace } }) });
  }
  warn(message: unknown, context?: string): void {
    this.logger.warn(String(message), { context });
  }
  debug(message: unknown, context?: string): void {
    this.logger.debug(String(message), { context });
  }
  verbose(message: unknown, context?: string): void {
    this.logger.trace(String(message), { context });
  }
}
