import { formatDuration } from '../input/duration.parse';

/** `GET /replays/:id`, as the API contract defines it. */
export interface ReplayStatus {
  id: string;
  status: string;
  done: number;
  total: number;
  ratePerSec?: number | null;
  etaSeconds?: number | null;
  error?: string | null;
}

export const FINAL_REPLAY_STATES: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled']);

/**
 * `[#####.....] 512/1000 51% 120/s ETA 4s`. Percent rounds down so a bar
 * never says 100% while events remain.
 */
export function formatReplayProgress(status: ReplayStatus, width = 10): string {
  const done = Math.max(0, status.done ?? 0);
  const total = Math.max(0, status.total ?? 0);
  const ratio = total > 0 ? Math.min(1, done / total) : status.status === 'completed' ? 1 : 0;
  const filled = Math.floor(ratio * width);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
  const percent = Math.floor(ratio * 100);
  const rate = status.ratePerSec === undefined || status.ratePerSec === null ? '-' : String(Math.round(status.ratePerSec));
  const eta =
    status.etaSeconds === undefined || status.etaSeconds === null ? '-' : formatDuration(Math.max(0, status.etaSeconds) * 1000);
  return `${bar} ${done}/${total} ${percent}% ${rate}/s ETA ${eta}`;
}
