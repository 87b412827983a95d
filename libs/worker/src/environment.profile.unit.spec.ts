import { EnvironmentProfileResolver, scrubSecrets, SecretMissingError, secretEnvName } from './environment.profile';
import { stepCommandId } from './step-command.publisher';
import { isUuidV7 } from '@steward/contracts';

describe('environment profiles', () => {
  const resolver = new EnvironmentProfileResolver(
    {
      '*': { env: { REGION: 'eu-central', LOG_FORMAT: 'json' } },
      'supplier-prices': { env: { REGION: 'us-east', API_TOKEN: { secretRef: 'prices-api' }, RETRIES: 3 } },
      broken: { env: { API_TOKEN: { secretRef: 'absent' } } },
    },
    { STEWARD_SECRET_PRICES_API: 'tok-123456' },
  );

  it('layers the workflow profile over the default one and resolves secret references from the worker environment', () => {
    expect(resolver.resolve('supplier-prices')).toEqual({
      env: { REGION: 'us-east', LOG_FORMAT: 'json', API_TOKEN: 'tok-123456', RETRIES: '3' },
      secrets: ['tok-123456'],
    });
    expect(resolver.resolve('other')).toEqual({ env: { REGION: 'eu-central', LOG_FORMAT: 'json' }, secrets: [] });
  });

  it('names the variable and the expected worker variable when a secret is missing, never a value', () => {
    expect(() => resolver.resolve('broken')).toThrow(SecretMissingError);
    expect(() => resolver.resolve('broken')).toThrow('variable API_TOKEN references secret "absent", which this worker does not hold (set STEWARD_SECRET_ABSENT)');
    expect(secretEnvName('prices-api.v2')).toBe('STEWARD_SECRET_PRICES_API_V2');
  });

  it('scrubs secret values wherever they appear in text', () => {
    expect(scrubSecrets('Bearer tok-123456 and again tok-123456', ['tok-123456'])).toBe('Bearer [REDACTED] and again [REDACTED]');
  });
});

describe('step command ids', () => {
  const identity = { runId: 'r1', stepId: 'publish', workflowId: 'w', attempt: 2 };

  it('are UUIDv7, the same for the same attempt and report, and different otherwise', () => {
    const id = stepCommandId(identity, 'result', '2026-03-01T10:00:00.000Z');
    expect(isUuidV7(id)).toBe(true);
    expect(stepCommandId(identity, 'result', '2026-03-01T10:00:00.000Z')).toBe(id);
    expect(stepCommandId(identity, 'started', '2026-03-01T10:00:00.000Z')).not.toBe(id);
    expect(stepCommandId({ ...identity, attempt: 3 }, 'result', '2026-03-01T10:00:00.000Z')).not.toBe(id);
  });
});
