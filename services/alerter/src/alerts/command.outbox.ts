import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Pool } from 'pg';
import type { Subjects } from '@steward/contracts';
import { commandHeaders, type CommandEnvelope } from '@steward/messaging';
import type { Clock } from '../clock';

/** Sends the commands alert actions queued (alerter_outbox_commands), at least once, deduped by command id. */
export class CommandOutbox {
  private readonly js: JetStreamClient;

  constructor(
    private readonly pool: Pool,
    nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly clock: Clock,
  ) {
    this.js = jetstream(nc);
  }

  async flush(): Promise<number> {
    const { rows } = await this.pool.query<{ command_id: string; service: string; name: string; payload: unknown; correlation_id: string }>(
      `SELECT command_id, service, name, payload, correlation_id FROM alerter_outbox_commands WHERE sent_at IS NULL ORDER BY created_at LIMIT 50`,
    );
    for (const r of rows) {
      const command: CommandEnvelope = { commandId: r.command_id, service: r.service, name: r.name, payload: r.payload, actor: 'alerter', correlationId: r.correlation_id, issuedAt: this.clock.now().toISOString() };
      // Nats-Msg-Id = command id: a re-send after a crash is dropped by the stream's duplicate window.
      await this.js.publish(this.subjects.command(r.service, r.name), new TextEncoder().encode(JSON.stringify(command)), { msgID: r.command_id, headers: commandHeaders(command) });
      await this.pool.query(`UPDATE alerter_outbox_commands SET sent_at = $2 WHERE command_id = $1`, [r.command_id, this.clock.now()]);
    }
    return rows.length;
  }
}
