import { Controller, Get, Header, HttpCode, HttpException, Inject, Module, type DynamicModule } from '@nestjs/common';
import { Metrics } from './metrics';
import { redactString } from './redact';

/** A readiness probe: resolves true when the dependency is usable. */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<boolean> | boolean;
}

export const READINESS_CHECKS = Symbol('READINESS_CHECKS');
const HEALTH_OPTIONS = Symbol('HEALTH_OPTIONS');
const DEFAULT_CHECK_TIMEOUT_MS = 2_000;

export interface HealthOptions {
  /** A check that has not answered within this is failing (default 2000 ms). */
  checkTimeoutMs?: number;
}

interface Readiness {
  status: 'ready' | 'not_ready';
  checks: Record<string, boolean>;
  failing?: string[];
  reasons?: Record<string, string>;
}

async function runCheck(c: ReadinessCheck, timeoutMs: number): Promise<{ name: string; ok: boolean; reason?: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const ok = await Promise.race([Promise.resolve().then(() => c.check()), timeout]);
    return ok ? { name: c.name, ok: true } : { name: c.name, ok: false, reason: 'check failed' };
  } catch (err) {
    // Error texts can carry connection strings; the probe is unauthenticated.
    return { name: c.name, ok: false, reason: redactString(err instanceof Error ? err.message : String(err)) };
  } finally {
    clearTimeout(timer);
  }
}

@Controller()
class HealthController {
  constructor(
    @Inject(READINESS_CHECKS) private readonly checks: ReadinessCheck[],
    private readonly metrics: Metrics,
    @Inject(HEALTH_OPTIONS) private readonly options: HealthOptions,
  ) {}

  @Get('healthz')
  @HttpCode(200)
  alive(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /**
   * 200 when every check passes; otherwise 503 naming the failing checks and
   * why. Each check is bounded: a TCP connect to an unreachable Postgres can
   * hang for minutes, and a probe that hangs is a probe that times out
   * without saying which dependency is down.
   */
  @Get('readyz')
  async ready(): Promise<Readiness> {
    const results = await Promise.all(this.checks.map((c) => runCheck(c, this.options.checkTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS)));
    const checks = Object.fromEntries(results.map((r) => [r.name, r.ok]));
    const failing = results.filter((r) => !r.ok);
    if (failing.length > 0) {
      const reasons = Object.fromEntries(failing.map((r) => [r.name, r.reason]));
      throw new HttpException({ status: 'not_ready', failing: failing.map((r) => r.name), reasons, checks }, 503);
    }
    return { status: 'ready', checks };
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  render(): Promise<string> {
    return this.metrics.render();
  }
}

/** /healthz (alive), /readyz (dependencies reachable, consumers bound) and /metrics for a service. */
@Module({})
export class HealthModule {
  static forRoot(metrics: Metrics, checks: ReadinessCheck[], options: HealthOptions = {}): DynamicModule {
    return {
      module: HealthModule,
      controllers: [HealthController],
      providers: [
        { provide: Metrics, useValue: metrics },
        { provide: READINESS_CHECKS, useValue: checks },
        { provide: HEALTH_OPTIONS, useValue: options },
      ],
      exports: [Metrics],
    };
  }
}
