import { loadConfig } from './config';

describe('collector config', () => {
  it('has the documented defaults', () => {
    expect(loadConfig({})).toMatchObject({ PORT: 8084, COLLECTOR_INLINE_MAX_BYTES: 65_536, COLLECTOR_ALLOW_CIDRS: '', COLLECTOR_MAX_REDIRECTS: 5, COLLECTOR_LIMIT_MAX_WAIT_MS: 5_000 });
  });

  it('names each bad variable', () => {
    expect(() => loadConfig({ COLLECTOR_ALLOW_CIDRS: '127.0.0.0/8,10.0.0.0/40', COLLECTOR_INLINE_MAX_BYTES: '2000000' })).toThrow(
      expect.objectContaining({ message: expect.stringMatching(/COLLECTOR_ALLOW_CIDRS[\s\S]*10\.0\.0\.0\/40[\s\S]*COLLECTOR_INLINE_MAX_BYTES|COLLECTOR_INLINE_MAX_BYTES[\s\S]*COLLECTOR_ALLOW_CIDRS/) }),
    );
  });
});
