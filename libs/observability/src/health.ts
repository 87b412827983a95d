import { Controller, Get, Header, HttpCode, HttpException, Inject, Module, type DynamicModule } from '@nestjs/common';
import { Metrics } from './metrics';

/** A readiness probe: resolves true when the dependency is usable. */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<boolean> | boolean;
}

export const READINESS_CHECKS = Symbol('READINESS_CHECKS');

@Controller()
class HealthController {
  constructor(
    @Inject(READINESS_CHECKS) private readonly checks: ReadinessCheck[],
    private readonly metrics: Metrics,
  ) {}

  @Get('healthz')
  @HttpCode(200)
  alive(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('readyz')
  async ready(): Promise<{ status: string; checks: Record<string, boolean> }> {
    const results = await Promise.all(
      this.checks.map(async (c) => [c.name, await Promise.resolve(c.check()).catch(() => false)] as const),
    );
    const checks = Object.fromEntries(results);
    const ok = results.every(([, v]) => v);
    if (!ok) throw new HttpException({ status: 'not_ready', checks }, 503);
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
  static forRoot(metrics: Metrics, checks: ReadinessCheck[]): DynamicModule {
    return {
      module: HealthModule,
      controllers: [HealthController],
      providers: [
        { provide: Metrics, useValue: metrics },
        { provide: READINESS_CHECKS, useValue: checks },
      ],
      exports: [Metrics],
    };
  }
}
