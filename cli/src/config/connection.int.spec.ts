import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeGateway, steward, tempHome } from '../fake-gateway.fixture';

// Three real servers stand for three different gateways: which one answered tells which URL won.
describe('connection settings precedence', () => {
  const fromFile = new FakeGateway();
  const fromEnv = new FakeGateway();
  const fromFlag = new FakeGateway();
  const home = tempHome();
  const configDir = join(home.dir, 'xdg');

  beforeAll(async () => {
    for (const g of [fromFile, fromEnv, fromFlag]) {
      await g.start();
      g.on('GET', '/tokens', { status: 200, body: { items: [] } });
    }
    mkdirSync(join(configDir, 'steward'), { recursive: true });
    writeFileSync(join(configDir, 'steward', 'config.json'), JSON.stringify({ apiUrl: fromFile.url, token: 'file-token' }));
  });
  afterEach(() => {
    for (const g of [fromFile, fromEnv, fromFlag]) g.requests.length = 0;
  });
  afterAll(async () => {
    await Promise.all([fromFile.stop(), fromEnv.stop(), fromFlag.stop()]);
    home.cleanup();
  });

  it('uses the config file when nothing else is set', async () => {
    expect((await steward(['tokens', 'list'], { env: { XDG_CONFIG_HOME: configDir } })).code).toBe(0);
    expect(fromFile.requests).toHaveLength(1);
    expect(fromFile.requests[0]!.headers.authorization).toBe('Bearer file-token');
  });

  it('finds ~/.config/steward/config.json through HOME when XDG_CONFIG_HOME is unset', async () => {
    const otherHome = tempHome();
    mkdirSync(join(otherHome.dir, '.config', 'steward'), { recursive: true });
    writeFileSync(join(otherHome.dir, '.config', 'steward', 'config.json'), JSON.stringify({ apiUrl: fromFile.url, token: 'home-token' }));
    await steward(['tokens', 'list'], { env: { HOME: otherHome.dir } });
    otherHome.cleanup();
    expect(fromFile.requests[0]!.headers.authorization).toBe('Bearer home-token');
  });

  it('lets the environment win over the file, per setting', async () => {
    await steward(['tokens', 'list'], { env: { XDG_CONFIG_HOME: configDir, STEWARD_API_URL: fromEnv.url } });
    expect(fromFile.requests).toHaveLength(0);
    expect(fromEnv.requests[0]!.headers.authorization).toBe('Bearer file-token');

    await steward(['tokens', 'list'], { env: { XDG_CONFIG_HOME: configDir, STEWARD_TOKEN: 'env-token' } });
    expect(fromFile.requests[0]!.headers.authorization).toBe('Bearer env-token');
  });

  it('lets flags win over the environment and the file', async () => {
    const env = { XDG_CONFIG_HOME: configDir, STEWARD_API_URL: fromEnv.url, STEWARD_TOKEN: 'env-token' };
    await steward(['tokens', 'list', '--api-url', fromFlag.url, '--token', 'flag-token'], { env });
    expect(fromEnv.requests).toHaveLength(0);
    expect(fromFlag.requests[0]!.headers.authorization).toBe('Bearer flag-token');
    // Global flags may also come before the command.
    await steward(['--token', 'flag-2', 'tokens', 'list'], { env });
    expect(fromEnv.requests[0]!.headers.authorization).toBe('Bearer flag-2');
  });

  it('sends no Authorization header when no token is configured anywhere', async () => {
    await steward(['tokens', 'list'], { env: { STEWARD_API_URL: fromEnv.url, XDG_CONFIG_HOME: join(home.dir, 'empty') } });
    expect(fromEnv.requests[0]!.headers.authorization).toBeUndefined();
  });

  it('exits 2 naming the file when the config file is not JSON, without any request', async () => {
    const broken = join(home.dir, 'broken');
    mkdirSync(join(broken, 'steward'), { recursive: true });
    writeFileSync(join(broken, 'steward', 'config.json'), '{ apiUrl: ');
    const r = await steward(['tokens', 'list'], { env: { XDG_CONFIG_HOME: broken, STEWARD_API_URL: fromEnv.url } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`the config file ${join(broken, 'steward', 'config.json')} is not valid JSON`);
    expect(fromEnv.requests).toHaveLength(0);
  });

  it('exits 2 naming where a bad URL came from', async () => {
    const r = await steward(['tokens', 'list'], { env: { STEWARD_API_URL: 'gateway:8080x', XDG_CONFIG_HOME: configDir } });
    expect(r).toMatchObject({ code: 2 });
    expect(r.stderr).toMatch(/STEWARD_API_URL (is not a URL|must be an http\(s\) URL)/);
  });
});
