import { loadConfig } from './config';

describe('gateway config', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      PORT: 8080,
      COMMAND_TIMEOUT_MS: 5000,
      RATE_LIMIT_RPS: 20,
      RATE_LIMIT_BURST: 60,
      BODY_LIMIT: { label: '1mb', bytes: 1024 * 1024 },
      MIGRATE_ON_START: false,
      STEWARD_NAMESPACE: '',
    });
    expect(c.STEWARD_BOOTSTRAP_TOKEN).toBeUndefined();
    expect(loadConfig({ STEWARD_BOOTSTRAP_TOKEN: '' }).STEWARD_BOOTSTRAP_TOKEN).toBeUndefined();
    expect(loadConfig({ BODY_LIMIT: '256kb' }).BODY_LIMIT).toEqual({ label: '256kb', bytes: 256 * 1024 });
  });

  it('fails fast naming every bad variable', () => {
    expect(() => loadConfig({ PORT: 'x', BODY_LIMIT: 'huge', STEWARD_BOOTSTRAP_TOKEN: 'short' })).toThrow(
      expect.objectContaining({
        issues: expect.arrayContaining([
          expect.objectContaining({ path: 'PORT' }),
          expect.objectContaining({ path: 'BODY_LIMIT' }),
          expect.objectContaining({ path: 'STEWARD_BOOTSTRAP_TOKEN' }),
        ]),
      }),
    );
    expect(loadConfig({ STEWARD_BOOTSTRAP_TOKEN: 'stw_0123456789abcdef_' + 'a'.repeat(43) }).STEWARD_BOOTSTRAP_TOKEN).toBeDefined();
  });
});
