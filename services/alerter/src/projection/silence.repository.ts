import type { Queryable } from '@steward/event-store';
import type { Matcher } from '../domain/matchers';

export interface SilenceRow {
  silenceId: string;
  matchers: Matcher[];
  startsAt: Date;
  endsAt: Date;
  createdBy: string;
  comment: string | null;
  createdAt: Date;
  expiredAt: Date | null;
  expiredBy: string | null;
}

interface Row {
  silence_id: string;
  matchers: Matcher[];
  starts_at: Date;
  ends_at: Date;
  created_by: string;
  comment: string | null;
  created_at: Date;
  expired_at: Date | null;
  expired_by: string | null;
}

const toSilence = (r: Row): SilenceRow => ({
  silenceId: r.silence_id,
  matchers: r.matchers,
  startsAt: r.starts_at,
  endsAt: r.ends_at,
  createdBy: r.created_by,
  comment: r.comment,
  createdAt: r.created_at,
  expiredAt: r.expired_at,
  expiredBy: r.expired_by,
});

/** alerter_silences: kept after they expire, for audit. */
export class SilenceRepository {
  async insert(tx: Queryable, s: SilenceRow): Promise<void> {
    await tx.query(
      `INSERT INTO alerter_silences (silence_id, matchers, starts_at, ends_at, created_by, comment, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [s.silenceId, JSON.stringify(s.matchers), s.startsAt, s.endsAt, s.createdBy, s.comment, s.createdAt],
    );
  }

  async find(tx: Queryable, silenceId: string): Promise<SilenceRow | undefined> {
    const { rows } = await tx.query<Row>(`SELECT * FROM alerter_silences WHERE silence_id = $1 FOR UPDATE`, [silenceId]);
    return rows[0] && toSilence(rows[0]);
  }

  /** Silences not expired yet (some may start later). */
  async findUnexpired(tx: Queryable): Promise<SilenceRow[]> {
    const { rows } = await tx.query<Row>(`SELECT * FROM alerter_silences WHERE expired_at IS NULL`);
    return rows.map(toSilence);
  }

  async findEnded(tx: Queryable, now: Date): Promise<SilenceRow[]> {
    const { rows } = await tx.query<Row>(`SELECT * FROM alerter_silences WHERE expired_at IS NULL AND ends_at <= $1 ORDER BY ends_at LIMIT 100 FOR UPDATE SKIP LOCKED`, [now]);
    return rows.map(toSilence);
  }

  async markExpired(tx: Queryable, silenceId: string, at: Date, by: string | null): Promise<void> {
    await tx.query(`UPDATE alerter_silences SET expired_at = $2, expired_by = $3, ends_at = LEAST(ends_at, $2) WHERE silence_id = $1`, [silenceId, at, by]);
  }
}
