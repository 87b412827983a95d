import { NotFoundException, PayloadTooLargeException } from '@nestjs/common';
import { ConcurrencyError, ForbiddenError, UnavailableError, ValidationError } from '@steward/contracts';
import { RateLimitedError, toHttpError } from './http-error.mapper';

const opts = { bodyLimitLabel: '1mb', method: 'GET', path: '/api/v1/nope' };

describe('HTTP error mapping', () => {
  it('maps the error family to its status with issues and context', () => {
    expect(toHttpError(new ValidationError('query.since: bad', [{ path: 'query.since', message: 'bad' }]), opts)).toMatchObject({
      status: 400,
      body: { error: { code: 'validation', message: 'query.since: bad', issues: [{ path: 'query.since', message: 'bad' }] } },
    });
    expect(toHttpError(new ForbiddenError('no', { role: 'viewer', required: 'admin' }), opts).body).toEqual({
      error: { code: 'forbidden', message: 'no', context: { role: 'viewer', required: 'admin' } },
    });
    expect(toHttpError(new ConcurrencyError('s', '1', 2), opts).status).toBe(409);
    expect(toHttpError(new UnavailableError('down', { service: 'executor' }), opts)).toMatchObject({ status: 503, serverFault: true });
  });

  it('answers 429 with Retry-After, 404 for unknown routes and 413 naming the limit', () => {
    expect(toHttpError(new RateLimitedError(3), opts)).toMatchObject({ status: 429, headers: { 'retry-after': '3' }, body: { error: { code: 'rate_limited' } } });
    expect(toHttpError(new NotFoundException('Cannot GET /x'), opts).body).toEqual({ error: { code: 'not_found', message: 'no route GET /api/v1/nope' } });
    expect(toHttpError(new PayloadTooLargeException(), opts).body.error).toMatchObject({ code: 'validation', message: 'request body exceeds 1mb' });
  });

  it('hides the message of unexpected errors', () => {
    expect(toHttpError(new Error('password=hunter2 in a stack'), opts)).toEqual({
      status: 500,
      body: { error: { code: 'internal', message: 'internal error' } },
      headers: {},
      serverFault: true,
    });
  });
});
