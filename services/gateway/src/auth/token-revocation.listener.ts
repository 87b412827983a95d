import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { TokenRevoked, type Subjects } from '@steward/contracts';
import { decodeEnvelope } from '@steward/messaging';
import type { Logger } from '@steward/observability';
import type { TokenService } from './token.service';

/**
 * Other replicas learn of a revocation from the `token.revoked` event the
 * relay publishes, and drop their cached verification at once instead of
 * honouring the token until the cache entry expires.
 */
export class TokenRevocationListener {
  private sub?: Subscription;

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly tokens: TokenService,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.sub = this.nc.subscribe(this.subjects.event(TokenRevoked.type), {
      callback: (err, msg) => {
        if (err) return this.logger.warn('token revocation subscription failed', { err });
        try {
          const parsed = TokenRevoked.schema.safeParse(decodeEnvelope(msg).data);
          if (parsed.success) this.tokens.invalidate(parsed.data.tokenId);
        } catch (decodeErr) {
          this.logger.warn('ignoring an undecodable token.revoked event', { err: decodeErr });
        }
      },
    });
  }

  stop(): void {
    this.sub?.unsubscribe();
  }
}
