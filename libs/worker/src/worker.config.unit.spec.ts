import { parseWorkerConfig } from './worker.config';

describe('worker config', () => {
  const base = { STEWARD_HANDLERS: '/srv/handlers' };

  it('defaults to warm isolation with 100 attempts per task process', () => {
    expect(parseWorkerConfig(base)).toMatchObject({ WORKER_ISOLATION: 'warm', WORKER_ISOLATE_MAX_ATTEMPTS: 1000 });
    expect(parseWorkerConfig({ ...base, WORKER_ISOLATION: 'attempt', WORKER_ISOLATE_MAX_ATTEMPTS: '5' })).toMatchObject({
      WORKER_ISOLATION: 'attempt',
      WORKER_ISOLATE_MAX_ATTEMPTS: 5,
    });
  });

  it('names the variable when the isolation settings are bad', () => {
    expect(() => parseWorkerConfig({ ...base, WORKER_ISOLATION: 'process' })).toThrow(/WORKER_ISOLATION/);
    expect(() => parseWorkerConfig({ ...base, WORKER_ISOLATE_MAX_ATTEMPTS: '0' })).toThrow(/WORKER_ISOLATE_MAX_ATTEMPTS/);
  });
});
