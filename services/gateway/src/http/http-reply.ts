import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { map, type Observable } from 'rxjs';

/** A handler result whose status is only known at run time (200 with an outcome, 202 pending). */
export class HttpReply {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}

/** Applies an HttpReply's status; every other result keeps the route's @HttpCode. */
export class HttpReplyInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      map((result: unknown) => {
        if (!(result instanceof HttpReply)) return result;
        context.switchToHttp().getResponse<ServerResponse>().statusCode = result.status;
        return result.body;
      }),
    );
  }
}
