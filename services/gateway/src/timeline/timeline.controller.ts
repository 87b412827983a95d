import { Controller, Inject, Req, Res } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { Endpoint, Input } from '../http/endpoint.decorator';
import { TimelinePageSchema, TimelineQuery, TimelineStreamQuery } from './timeline.schemas';
import { TimelineService } from './timeline.service';
import { TimelineStreams } from './timeline-stream.service';

@Controller()
export class TimelineController {
  constructor(
    @Inject(TimelineService) private readonly timeline: TimelineService,
    @Inject(TimelineStreams) private readonly streams: TimelineStreams,
  ) {}

  @Endpoint({
    method: 'GET',
    path: '/timeline',
    tag: 'timeline',
    role: 'viewer',
    summary: 'Everything that happened to a run, correlation, workflow or alert, across all services, in commit order',
    query: TimelineQuery,
    response: TimelinePageSchema,
  })
  list(@Input('query') query: z.output<typeof TimelineQuery>) {
    return this.timeline.page(query);
  }

  @Endpoint({
    method: 'GET',
    path: '/timeline/stream',
    tag: 'timeline',
    role: 'viewer',
    summary: 'Server-Sent Events: each new timeline entry as `data: <entry JSON>`',
    query: TimelineStreamQuery,
    produces: 'text/event-stream',
  })
  follow(@Input('query') query: z.output<typeof TimelineStreamQuery>, @Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    return this.streams.follow(query, req, res);
  }
}
