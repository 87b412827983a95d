import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@steward/observability';
import type { TimelineCursor } from './timeline.cursor';
import type { TimelineQueryInput, TimelineSelector, TimelineService } from './timeline.service';

export interface TimelineStreamOptions {
  pollMs: number;
  keepaliveMs: number;
}

const BATCH = 500;

/**
 * Server-Sent Events for `timeline --follow`. Polls the store in
 * commit-safe order (a NOTIFY per append would serialise every writer's
 * commit, see the event store README), writes `data: <entry>` per entry and
 * a comment as keep-alive so proxies do not cut a quiet stream. Stops when
 * the client goes away or the gateway shuts down.
 */
export class TimelineStreams {
  private readonly open = new Set<() => void>();

  constructor(
    private readonly timeline: TimelineService,
    private readonly options: TimelineStreamOptions,
    private readonly logger: Logger,
  ) {}

  get count(): number {
    return this.open.size;
  }

  /** Resolves where to start (400 before any byte is sent when `after` is not in this timeline), then streams. */
  async follow(query: TimelineQueryInput & { after?: string }, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { selector, cursor } = await this.timeline.streamStart(query);
    await this.serve(req, res, selector, cursor);
  }

  async serve(req: IncomingMessage, res: ServerResponse, selector: TimelineSelector, start: TimelineCursor): Promise<void> {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(': following\n\n');
    let stopped = false;
    let wake: (() => void) | undefined;
    const stop = () => {
      stopped = true;
      wake?.();
    };
    this.open.add(stop);
    req.on('close', stop);
    res.on('close', stop);
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), this.options.keepaliveMs);
    let cursor = start;
    try {
      while (!stopped) {
        let more = false;
        try {
          const chunk = await this.timeline.read(selector, cursor, BATCH);
          for (const item of chunk.items) {
            // A slow client: wait for the socket to drain, or for it to go away (then no drain comes).
            if (!res.write(`data: ${JSON.stringify(item)}\n\n`)) {
              await new Promise<void>((resolve) => {
                res.once('drain', resolve);
                res.once('close', resolve);
              });
            }
            if (stopped) break;
          }
          cursor = chunk.cursor;
          more = chunk.more;
        } catch (err) {
          // A database blip should not end a follower's stream; it resumes from the same cursor.
          this.logger.warn('timeline stream read failed; retrying', { err, selector: `${selector.kind}:${selector.id}` });
        }
        if (!more && !stopped) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, this.options.pollMs);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
        }
      }
    } finally {
      clearInterval(keepalive);
      this.open.delete(stop);
      if (!res.writableEnded) res.end();
    }
  }

  /** Ends every open stream; called before the HTTP server closes, which would otherwise wait for them. */
  closeAll(): void {
    for (const stop of [...this.open]) stop();
  }
}
