import { Catch, type ArgumentsHost } from '@nestjs/common';
import { BaseRpcExceptionFilter } from '@nestjs/microservices';
import { throwError, type Observable } from 'rxjs';
import { JetStreamContext } from './jetstream.context';

/**
 * Nest's default RPC filter replaces any non-RpcException with
 * `{ status: 'error', message: 'Internal server error' }`, which would hide a
 * ValidationError from the JetStreamServer and turn a permanent failure into
 * retries. For JetStream messages this filter passes the original error
 * through; anything else gets Nest's default handling.
 *
 *   app.useGlobalFilters(new JetStreamExceptionFilter());
 */
@Catch()
export class JetStreamExceptionFilter extends BaseRpcExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): Observable<unknown> {
    if (host.getType() === 'rpc' && host.switchToRpc().getContext() instanceof JetStreamContext) {
      return throwError(() => exception);
    }
    return super.catch(exception, host);
  }
}
