import { loadConfig, parseRoutes } from './config';

describe('transformer config', () => {
  it('defaults to port 8085 with no transforms or routes', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ PORT: 8085, TRANSFORMER_TRANSFORMS: '', TRANSFORMER_ROUTES: '', TRANSFORMER_REPLAY_BATCH: 200 });
  });

  it('parses routes to a version or to the current one', () => {
    expect(parseRoutes(' acme.prices=supplier-prices@2, fx.rates=exchange-rates ')).toEqual(
      new Map([
        ['acme.prices', { name: 'supplier-prices', version: 2 }],
        ['fx.rates', { name: 'exchange-rates' }],
      ]),
    );
  });

  it('names the variable of a bad route', () => {
    expect(() => loadConfig({ TRANSFORMER_ROUTES: 'acme.prices:supplier-prices' })).toThrow(/TRANSFORMER_ROUTES/);
    expect(() => loadConfig({ TRANSFORMER_REPLAY_BATCH: 'lots' })).toThrow(/TRANSFORMER_REPLAY_BATCH/);
  });
});
